#include "sluice/salesforce/errors.h"

#include <rapidjson/document.h>

#include <array>
#include <cctype>

#include "json_util.h"

namespace sluice::salesforce {
namespace {

struct CodeClass {
  std::string_view code;
  ErrorClass error_class;
};

// Codes with a fixed class. REQUEST_LIMIT_EXCEEDED and DUPLICATE_VALUE depend on their message
// or context and are decided in ClassifyCode.
constexpr std::array kTable = {
    CodeClass{"UNABLE_TO_LOCK_ROW", ErrorClass::kRetryableRecord},
    CodeClass{"ALL_OR_NONE_OPERATION_ROLLED_BACK", ErrorClass::kRetryableRecord},
    CodeClass{"UNKNOWN_EXCEPTION", ErrorClass::kRetryableRecord},
    CodeClass{"SERVER_UNAVAILABLE", ErrorClass::kRetryableOrg},
    CodeClass{"INVALID_SESSION_ID", ErrorClass::kAuth},
    CodeClass{"INVALID_AUTH_HEADER", ErrorClass::kAuth},
    CodeClass{"API_DISABLED_FOR_ORG", ErrorClass::kAuth},
    CodeClass{"API_CURRENTLY_DISABLED", ErrorClass::kAuth},
    CodeClass{"REQUIRED_FIELD_MISSING", ErrorClass::kPermanent},
    CodeClass{"INVALID_FIELD", ErrorClass::kPermanent},
    CodeClass{"STRING_TOO_LONG", ErrorClass::kPermanent},
    CodeClass{"MALFORMED_ID", ErrorClass::kPermanent},
    CodeClass{"INVALID_TYPE", ErrorClass::kPermanent},
    CodeClass{"INVALID_TYPE_ON_FIELD_IN_RECORD", ErrorClass::kPermanent},
    CodeClass{"NOT_FOUND", ErrorClass::kPermanent},
    CodeClass{"JSON_PARSER_ERROR", ErrorClass::kPermanent},
    CodeClass{"INVALID_FIELD_FOR_INSERT_UPDATE", ErrorClass::kPermanent},
    CodeClass{"FIELD_CUSTOM_VALIDATION_EXCEPTION", ErrorClass::kPermanent},
    CodeClass{"FIELD_INTEGRITY_EXCEPTION", ErrorClass::kPermanent},
    CodeClass{"INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ErrorClass::kPermanent},
    CodeClass{"INVALID_EMAIL_ADDRESS", ErrorClass::kPermanent},
    CodeClass{"NUMBER_OUTSIDE_VALID_RANGE", ErrorClass::kPermanent},
    CodeClass{"INVALID_CROSS_REFERENCE_KEY", ErrorClass::kPermanent},
    CodeClass{"INVALID_ID_FIELD", ErrorClass::kPermanent},
    CodeClass{"INSUFFICIENT_ACCESS_OR_READONLY", ErrorClass::kPermanent},
    CodeClass{"INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", ErrorClass::kPermanent},
    CodeClass{"ENTITY_IS_DELETED", ErrorClass::kPermanent},
    CodeClass{"EXCEEDED_ID_LIMIT", ErrorClass::kPermanent},
    CodeClass{"METHOD_NOT_ALLOWED", ErrorClass::kPermanent},
    CodeClass{"CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY", ErrorClass::kPermanent},
    CodeClass{"OPERATION_ENQUEUED", ErrorClass::kNone},
};

int Rank(ErrorClass c) {
  switch (c) {
    case ErrorClass::kNone:
      return 0;
    case ErrorClass::kRetryableRecord:
      return 1;
    case ErrorClass::kPermanent:
      return 2;
    case ErrorClass::kRetryableOrg:
      return 3;
    case ErrorClass::kBudgetExhausted:
      return 4;
    case ErrorClass::kAuth:
      return 5;
  }
  return 0;
}

std::string UpperSnake(std::string_view name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (i > 0 && std::isupper(static_cast<unsigned char>(c))) out += '_';
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string GetString(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

// The first error of a top-level error body: Salesforce's array
// [{"message","errorCode","fields"}], a single such object, or an OAuth {"error",
// "error_description"} object. Returns false when the body is none of those.
bool FirstError(std::string_view body, SfError& out) {
  if (body.empty() || body.size() > (1u << 20)) return false;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(body.data(), body.size());
  if (doc.HasParseError()) return false;
  const rapidjson::Value* first = nullptr;
  if (doc.IsArray() && !doc.Empty() && doc[0].IsObject()) first = &doc[0];
  if (doc.IsObject()) first = &doc;
  if (first == nullptr) return false;
  std::string code = GetString(*first, "errorCode");
  if (code.empty()) code = GetString(*first, "statusCode");
  std::string message = GetString(*first, "message");
  if (code.empty()) {
    code = GetString(*first, "error");
    message = GetString(*first, "error_description");
  }
  if (code.empty()) return false;
  out.code = internal::Excerpt(code, 100);
  out.message = internal::Excerpt(message, 1000);
  auto fields = first->FindMember("fields");
  if (fields != first->MemberEnd() && fields->value.IsArray()) {
    for (const auto& f : fields->value.GetArray()) {
      if (f.IsString()) out.fields.emplace_back(f.GetString(), f.GetStringLength());
    }
  }
  return true;
}

}  // namespace

std::string_view ErrorClassName(ErrorClass c) {
  switch (c) {
    case ErrorClass::kNone:
      return "none";
    case ErrorClass::kRetryableRecord:
      return "retryable_record";
    case ErrorClass::kRetryableOrg:
      return "retryable_org";
    case ErrorClass::kBudgetExhausted:
      return "budget_exhausted";
    case ErrorClass::kAuth:
      return "auth";
    case ErrorClass::kPermanent:
      return "permanent";
  }
  return "unknown";
}

Classifier::Classifier(ClassifierOptions options) : options_(std::move(options)) {}

ErrorClass Classifier::Worse(ErrorClass a, ErrorClass b) { return Rank(a) >= Rank(b) ? a : b; }

ErrorClass Classifier::ClassifyCode(std::string_view code, std::string_view message,
                                    const ErrorContext& context,
                                    const std::vector<std::string>& fields) const {
  if (auto it = options_.overrides.find(code); it != options_.overrides.end()) return it->second;
  if (code == "REQUEST_LIMIT_EXCEEDED") {
    // "TotalRequests Limit exceeded." is the daily allocation; everything else (concurrent
    // long-running requests and older spellings) is momentary pressure on the org.
    if (message.find("TotalRequests") != std::string_view::npos) {
      return ErrorClass::kBudgetExhausted;
    }
    return ErrorClass::kRetryableOrg;
  }
  if (code == "DUPLICATE_VALUE") {
    // Two upserts creating the same new external id at once: the loser's retry finds the record
    // and updates it. A duplicate on any other unique field will not go away.
    if (context.operation == Operation::kUpsert && !context.external_id_field.empty()) {
      bool on_key = false;
      for (const auto& f : fields) on_key = on_key || f == context.external_id_field;
      // Salesforce's message: "duplicate value found: <Field> duplicates value on record ...".
      std::string needle = "found: " + std::string(context.external_id_field) + " duplicates";
      on_key = on_key || message.find(needle) != std::string_view::npos;
      if (on_key) return ErrorClass::kRetryableRecord;
    }
    return ErrorClass::kPermanent;
  }
  for (const auto& entry : kTable) {
    if (entry.code == code) return entry.error_class;
  }
  return options_.unknown_code;
}

SfError Classifier::ClassifyResponse(int http_status, std::string_view body,
                                     const ErrorContext& context) const {
  SfError error;
  error.http_status = http_status;
  bool has_code = FirstError(body, error);
  if (!has_code) {
    error.code = "HTTP_" + std::to_string(http_status);
    error.message = internal::Excerpt(body);
  }
  // Statuses that decide on their own, whatever the body says (a 503 maintenance page is HTML).
  if (http_status == 401) {
    error.error_class = ErrorClass::kAuth;
    return error;
  }
  if (http_status == 429 || http_status == 502 || http_status == 503 || http_status == 504) {
    error.error_class = ErrorClass::kRetryableOrg;
    return error;
  }
  if (http_status == 300) {
    if (!has_code) error.code = "MULTIPLE_CHOICES";
    error.error_class = ErrorClass::kPermanent;
    return error;
  }
  if (has_code) {
    bool known = options_.overrides.count(error.code) > 0 ||
                 error.code == "REQUEST_LIMIT_EXCEEDED" || error.code == "DUPLICATE_VALUE";
    for (const auto& entry : kTable) known = known || entry.code == error.code;
    if (known) {
      error.error_class = ClassifyCode(error.code, error.message, context, error.fields);
      if (error.error_class == ErrorClass::kNone) error.error_class = options_.unknown_code;
      return error;
    }
  }
  if (http_status == 400 || http_status == 404 || http_status == 405 || http_status == 413 ||
      http_status == 414 || http_status == 415 || http_status == 431) {
    error.error_class = ErrorClass::kPermanent;
  } else if (http_status == 500) {
    error.error_class = ErrorClass::kRetryableRecord;
  } else if (http_status >= 300 && http_status < 400) {
    error.error_class = ErrorClass::kRetryableOrg;  // a redirect we do not follow: configuration
  } else if (http_status > 500) {
    error.error_class = ErrorClass::kRetryableOrg;
  } else {
    error.error_class = options_.unknown_code;
  }
  return error;
}

SfError Classifier::ClassifyTransport(const Status& status) const {
  SfError error;
  error.error_class = ErrorClass::kRetryableOrg;
  error.code = "TRANSPORT_" + UpperSnake(StatusCodeName(status.code()));
  error.message = status.message();
  return error;
}

}  // namespace sluice::salesforce

#include "sluice/salesforce/client.h"

#include <rapidjson/document.h>

#include <future>
#include <utility>

#include "authorized_call.h"
#include "json_util.h"

namespace sluice::salesforce {
namespace {

using http::HttpRequest;
using http::HttpResponse;
using internal::Call;

bool ValidApiVersion(std::string_view v) {
  size_t dot = v.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size() || v.size() > 8) {
    return false;
  }
  for (size_t i = 0; i < v.size(); ++i) {
    if (i != dot && (v[i] < '0' || v[i] > '9')) return false;
  }
  return true;
}

SfError LocalError(std::string code, std::string message) {
  SfError e;
  e.error_class = ErrorClass::kPermanent;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

std::string StringMember(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || !it->value.IsString()) return {};
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace

// Stateless apart from its immutable options: every call carries its own state in a Call.
// Thread-safety: as SalesforceClient.
class SalesforceClient::Impl {
 public:
  Impl(SalesforceClientOptions options, http::HttpTransport& transport, TokenProvider& tokens,
       SalesforceStats* stats)
      : options_(std::move(options)),
        classifier_(options_.classifier),
        stats_(stats),
        base_path_("/services/data/v" + options_.api_version),
        caller_(transport, tokens, stats, options_.request_timeout) {}

  void WriteCollection(Operation op, std::string_view sobject, std::string_view ext_field,
                       std::span<const RecordInput> records, WriteCallback done);
  void WriteOne(Operation op, std::string_view sobject, std::string_view ext_field,
                const RecordInput& record, WriteCallback done);
  void GetLimits(LimitsCallback done);
  const Classifier& classifier() const { return classifier_; }

 private:
  void Execute(std::shared_ptr<Call> call) { caller_.Execute(std::move(call)); }
  void Count(std::optional<SfError>& request_error, std::vector<RecordResult>& records);
  std::optional<LimitInfo> NoteLimits(const HttpResponse& response);

  // Parses one entry of a results array (collections) or a single-record answer.
  RecordResult ParseRecord(const rapidjson::Value& v, const ErrorContext& context) const;

  const SalesforceClientOptions options_;
  const Classifier classifier_;
  SalesforceStats* stats_;
  const std::string base_path_;
  internal::AuthorizedCaller caller_;
};

std::optional<LimitInfo> SalesforceClient::Impl::NoteLimits(const HttpResponse& response) {
  auto header = response.headers.Get("Sforce-Limit-Info");
  if (!header) return std::nullopt;
  auto info = ParseLimitInfo(*header);
  if (info && stats_ != nullptr) {
    stats_->api_usage_used.store(info->api_used, std::memory_order_relaxed);
    stats_->api_usage_max.store(info->api_max, std::memory_order_relaxed);
  }
  return info;
}

void SalesforceClient::Impl::Count(std::optional<SfError>& request_error,
                                   std::vector<RecordResult>& records) {
  if (stats_ == nullptr) return;
  ErrorClass request_class = request_error ? request_error->error_class : ErrorClass::kNone;
  stats_->requests_by_class[static_cast<size_t>(request_class)].fetch_add(
      1, std::memory_order_relaxed);
  for (const auto& r : records) {
    stats_->records_by_class[static_cast<size_t>(r.error.error_class)].fetch_add(
        1, std::memory_order_relaxed);
  }
}

RecordResult SalesforceClient::Impl::ParseRecord(const rapidjson::Value& v,
                                                 const ErrorContext& context) const {
  RecordResult r;
  bool success_flag = false;
  if (auto it = v.FindMember("success"); it != v.MemberEnd() && it->value.IsBool()) {
    success_flag = it->value.GetBool();
  }
  r.id = StringMember(v, "id");
  if (auto it = v.FindMember("created"); it != v.MemberEnd() && it->value.IsBool()) {
    r.created = it->value.GetBool();
  }
  bool only_enqueued = true;
  ErrorClass worst = ErrorClass::kNone;
  if (auto it = v.FindMember("errors"); it != v.MemberEnd() && it->value.IsArray()) {
    for (const auto& e : it->value.GetArray()) {
      if (!e.IsObject()) continue;
      SfError error;
      error.code = internal::Excerpt(StringMember(e, "statusCode"), 100);
      if (error.code.empty()) error.code = internal::Excerpt(StringMember(e, "errorCode"), 100);
      if (error.code.empty()) error.code = "UNKNOWN_ERROR";
      error.message = internal::Excerpt(StringMember(e, "message"), 1000);
      if (auto f = e.FindMember("fields"); f != e.MemberEnd() && f->value.IsArray()) {
        for (const auto& field : f->value.GetArray()) {
          if (field.IsString())
            error.fields.emplace_back(field.GetString(), field.GetStringLength());
        }
      }
      error.error_class =
          classifier_.ClassifyCode(error.code, error.message, context, error.fields);
      if (error.code != "OPERATION_ENQUEUED") only_enqueued = false;
      if (error.error_class != ErrorClass::kNone &&
          Classifier::Worse(error.error_class, worst) == error.error_class &&
          error.error_class != worst) {
        worst = error.error_class;
        r.error = error;
      }
      r.errors.push_back(std::move(error));
    }
  }
  // Success as Salesforce says it; a platform event whose only "errors" are OPERATION_ENQUEUED
  // was accepted too.
  r.success = success_flag || (!r.errors.empty() && only_enqueued);
  if (r.success) {
    r.error = SfError();
  } else if (worst == ErrorClass::kNone) {
    r.error.code = "UNKNOWN_ERROR";
    r.error.message = "success:false without an error";
    r.error.error_class = classifier_.options().unknown_code;
  }
  return r;
}

void SalesforceClient::Impl::WriteCollection(Operation op, std::string_view sobject,
                                             std::string_view ext_field,
                                             std::span<const RecordInput> records,
                                             WriteCallback done) {
  WriteResult result;
  result.records.resize(records.size());
  if (!internal::IsApiName(sobject) ||
      (op == Operation::kUpsert && !internal::IsApiName(ext_field))) {
    result.request_error = LocalError(
        "INVALID_REQUEST", "sObject or external id field name '" + internal::Excerpt(sobject, 80) +
                               "'/'" + internal::Excerpt(ext_field, 80) + "' is not an API name");
  } else if (records.size() > options_.max_batch_records) {
    result.request_error =
        LocalError("INVALID_REQUEST", "batch of " + std::to_string(records.size()) +
                                          " records is over the limit of " +
                                          std::to_string(options_.max_batch_records));
  }
  if (result.request_error) {
    for (auto& r : result.records) r.error = *result.request_error;
    Count(result.request_error, result.records);
    done(std::move(result));
    return;
  }

  // Build the body: {"allOrNone":false,"records":[{"attributes":{"type":"T"},"Ext":"v",<fields>}]}
  // with each record's fields spliced in as they are (validated, not re-serialised).
  std::string type_json;
  internal::AppendJsonString(type_json, sobject);
  std::string ext_key_json;
  if (op == Operation::kUpsert) internal::AppendJsonString(ext_key_json, ext_field);
  size_t estimate = 64;
  for (const auto& r : records) estimate += r.fields_json.size() + r.external_id.size() + 64;
  auto call = std::make_shared<Call>();
  std::string& body = call->body;
  body.reserve(estimate);
  body += options_.all_or_none ? R"({"allOrNone":true,"records":[)"
                               : R"({"allOrNone":false,"records":[)";
  std::vector<size_t> sent;  // input positions of the records in the body, in body order
  sent.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordInput& in = records[i];
    if (in.fields_json.size() > options_.max_record_bytes) {
      result.records[i].error =
          LocalError("RECORD_TOO_LARGE", "fields are " + std::to_string(in.fields_json.size()) +
                                             " bytes, over the limit of " +
                                             std::to_string(options_.max_record_bytes));
      continue;
    }
    auto check =
        internal::ValidateFieldsObject(in.fields_json, op == Operation::kUpsert ? ext_field : "");
    if (!check.ok()) {
      result.records[i].error = LocalError("INVALID_RECORD_INPUT", check.status().message());
      continue;
    }
    if (op == Operation::kUpsert) {
      if (in.external_id.empty()) {
        result.records[i].error = LocalError("INVALID_RECORD_INPUT", "external id is empty");
        continue;
      }
      if (check->has_external_id && check->external_id_value != in.external_id) {
        result.records[i].error = LocalError(
            "INVALID_RECORD_INPUT", "fields hold a different value for the external id field");
        continue;
      }
    }
    size_t rollback = body.size();
    if (!sent.empty()) body += ',';
    body += R"({"attributes":{"type":)";
    body += type_json;
    body += '}';
    if (op == Operation::kUpsert && !check->has_external_id) {
      body += ',';
      body += ext_key_json;
      body += ':';
      if (!internal::AppendJsonString(body, in.external_id)) {
        body.resize(rollback);
        result.records[i].error = LocalError("INVALID_RECORD_INPUT", "external id is not UTF-8");
        continue;
      }
    }
    if (!check->members.empty()) {
      body += ',';
      body += check->members;
    }
    body += '}';
    sent.push_back(i);
  }
  body += "]}";
  if (stats_ != nullptr) {
    stats_->records_rejected_locally.fetch_add(records.size() - sent.size(),
                                               std::memory_order_relaxed);
  }
  if (sent.empty()) {  // nothing left to send (or an empty batch)
    Count(result.request_error, result.records);
    done(std::move(result));
    return;
  }

  call->method = op == Operation::kUpsert ? "PATCH" : "POST";
  call->path = base_path_ + "/composite/sobjects";
  if (op == Operation::kUpsert) {
    call->path += '/';
    call->path += sobject;
    call->path += '/';
    call->path += ext_field;
  }
  ErrorContext context{op, ""};
  std::string ext_field_copy(ext_field);
  call->finish = [this, result = std::move(result), sent = std::move(sent), context, ext_field_copy,
                  done = std::move(done)](Result<HttpResponse> response,
                                          std::optional<SfError> token_error,
                                          int attempts) mutable {
    context.external_id_field = ext_field_copy;
    result.attempts = attempts;
    auto fail_all = [&](SfError error) {
      result.request_error = error;
      for (size_t i : sent) result.records[i].error = error;
    };
    if (token_error) {
      fail_all(*token_error);
    } else if (!response.ok()) {
      fail_all(classifier_.ClassifyTransport(response.status()));
    } else {
      result.http_status = response->status;
      result.limit_info = NoteLimits(*response);
      if (response->status < 200 || response->status >= 300) {
        fail_all(classifier_.ClassifyResponse(response->status, response->body, context));
      } else if (response->body.size() > options_.max_response_bytes) {
        SfError e;
        e.error_class = ErrorClass::kRetryableRecord;
        e.code = "MALFORMED_RESPONSE";
        e.message =
            "collections answer over " + std::to_string(options_.max_response_bytes) + " bytes";
        e.http_status = response->status;
        fail_all(e);
      } else {
        rapidjson::Document doc;
        // In place: the body is ours, and strings then need no copies.
        response->body.push_back('\0');
        doc.ParseInsitu<rapidjson::kParseIterativeFlag>(response->body.data());
        SfError e;
        e.error_class = ErrorClass::kRetryableRecord;
        e.http_status = response->status;
        if (doc.HasParseError() || !doc.IsArray()) {
          e.code = "MALFORMED_RESPONSE";
          e.message = "collections answer is not a JSON array";
          fail_all(e);
        } else if (doc.Size() != sent.size()) {
          // Never guess which result belongs to which record.
          e.code = "RESULT_COUNT_MISMATCH";
          e.message = "sent " + std::to_string(sent.size()) + " records, got " +
                      std::to_string(doc.Size()) + " results";
          fail_all(e);
        } else {
          bool all_objects = true;
          for (const auto& v : doc.GetArray()) all_objects = all_objects && v.IsObject();
          if (!all_objects) {
            e.code = "MALFORMED_RESPONSE";
            e.message = "a collections result is not a JSON object";
            fail_all(e);
          } else {
            for (size_t k = 0; k < sent.size(); ++k) {
              result.records[sent[k]] =
                  ParseRecord(doc[static_cast<rapidjson::SizeType>(k)], context);
            }
          }
        }
      }
    }
    Count(result.request_error, result.records);
    done(std::move(result));
  };
  Execute(std::move(call));
}

void SalesforceClient::Impl::WriteOne(Operation op, std::string_view sobject,
                                      std::string_view ext_field, const RecordInput& record,
                                      WriteCallback done) {
  WriteResult result;
  result.records.resize(1);
  RecordResult& r = result.records[0];
  if (!internal::IsApiName(sobject) ||
      (op == Operation::kUpsert && !internal::IsApiName(ext_field))) {
    result.request_error = LocalError(
        "INVALID_REQUEST", "sObject or external id field name '" + internal::Excerpt(sobject, 80) +
                               "'/'" + internal::Excerpt(ext_field, 80) + "' is not an API name");
    r.error = *result.request_error;
  } else if (record.fields_json.size() > options_.max_record_bytes) {
    r.error =
        LocalError("RECORD_TOO_LARGE", "fields are " + std::to_string(record.fields_json.size()) +
                                           " bytes, over the limit of " +
                                           std::to_string(options_.max_record_bytes));
  } else if (auto check = internal::ValidateFieldsObject(record.fields_json, ""); !check.ok()) {
    r.error = LocalError("INVALID_RECORD_INPUT", check.status().message());
  } else if (op == Operation::kUpsert && record.external_id.empty()) {
    r.error = LocalError("INVALID_RECORD_INPUT", "external id is empty");
  }
  if (r.error.error_class != ErrorClass::kNone) {
    if (!result.request_error && stats_ != nullptr) {
      stats_->records_rejected_locally.fetch_add(1, std::memory_order_relaxed);
    }
    Count(result.request_error, result.records);
    done(std::move(result));
    return;
  }
  auto call = std::make_shared<Call>();
  call->body = std::string(record.fields_json);
  call->path = base_path_ + "/sobjects/" + std::string(sobject) + "/";
  if (op == Operation::kUpsert) {
    call->method = "PATCH";
    call->path += std::string(ext_field) + "/" + http::EscapeUrlComponent(record.external_id);
  } else {
    call->method = "POST";
  }
  ErrorContext context{op, ""};
  std::string ext_field_copy(ext_field);
  call->finish = [this, op, result = std::move(result), context, ext_field_copy,
                  done = std::move(done)](Result<HttpResponse> response,
                                          std::optional<SfError> token_error,
                                          int attempts) mutable {
    context.external_id_field = ext_field_copy;
    result.attempts = attempts;
    RecordResult& r = result.records[0];
    if (token_error) {
      result.request_error = *token_error;
    } else if (!response.ok()) {
      result.request_error = classifier_.ClassifyTransport(response.status());
    } else {
      result.http_status = response->status;
      result.limit_info = NoteLimits(*response);
      int status = response->status;
      if (status >= 200 && status < 300) {
        // The status is authoritative: a 2xx wrote the record, whatever the body looks like.
        rapidjson::Document doc;
        if (!response->body.empty() && response->body.size() <= options_.max_response_bytes) {
          doc.Parse<rapidjson::kParseIterativeFlag>(response->body.data(), response->body.size());
        }
        if (!response->body.empty() && !doc.HasParseError() && doc.IsObject()) {
          r = ParseRecord(doc, context);
          if (!r.success && r.errors.empty()) {
            // A body without success/errors (an older or terser answer): trust the status.
            r.success = true;
            r.error = SfError();
          }
        } else {
          r.success = true;
        }
        if (op == Operation::kUpsert && status == 201) r.created = true;
        if (op == Operation::kCreate || op == Operation::kPublish) r.created = r.success;
      } else {
        SfError e = classifier_.ClassifyResponse(status, response->body, context);
        // Errors about the record itself belong to the record; the rest to the request.
        if (e.error_class == ErrorClass::kPermanent ||
            e.error_class == ErrorClass::kRetryableRecord) {
          r.error = e;
          r.errors.push_back(std::move(e));
        } else {
          result.request_error = std::move(e);
        }
      }
    }
    if (result.request_error) r.error = *result.request_error;
    Count(result.request_error, result.records);
    done(std::move(result));
  };
  Execute(std::move(call));
}

void SalesforceClient::Impl::GetLimits(LimitsCallback done) {
  auto call = std::make_shared<Call>();
  call->method = "GET";
  call->path = base_path_ + "/limits";
  call->finish = [this, done = std::move(done)](Result<HttpResponse> response,
                                                std::optional<SfError> token_error, int) {
    LimitsResult result;
    if (token_error) {
      result.request_error = *token_error;
    } else if (!response.ok()) {
      result.request_error = classifier_.ClassifyTransport(response.status());
    } else {
      result.http_status = response->status;
      result.limit_info = NoteLimits(*response);
      if (response->status != 200) {
        result.request_error = classifier_.ClassifyResponse(response->status, response->body);
      } else {
        rapidjson::Document doc;
        if (response->body.size() <= options_.max_response_bytes) {
          doc.Parse<rapidjson::kParseIterativeFlag>(response->body.data(), response->body.size());
        }
        if (response->body.size() > options_.max_response_bytes || doc.HasParseError() ||
            !doc.IsObject()) {
          SfError e;
          e.error_class = ErrorClass::kRetryableOrg;
          e.code = "MALFORMED_RESPONSE";
          e.message = "limits answer is not a JSON object";
          e.http_status = 200;
          result.request_error = e;
        } else {
          for (const auto& m : doc.GetObject()) {
            if (!m.value.IsObject()) continue;
            auto max = m.value.FindMember("Max");
            auto remaining = m.value.FindMember("Remaining");
            if (max == m.value.MemberEnd() || remaining == m.value.MemberEnd() ||
                !max->value.IsInt64() || !remaining->value.IsInt64()) {
              continue;
            }
            result.limits[std::string(m.name.GetString(), m.name.GetStringLength())] =
                OrgLimit{max->value.GetInt64(), remaining->value.GetInt64()};
          }
        }
      }
    }
    if (stats_ != nullptr) {
      ErrorClass c = result.request_error ? result.request_error->error_class : ErrorClass::kNone;
      stats_->requests_by_class[static_cast<size_t>(c)].fetch_add(1, std::memory_order_relaxed);
    }
    done(std::move(result));
  };
  Execute(std::move(call));
}

// ---------------------------------------------------------------------------------------------

SalesforceClient::SalesforceClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
SalesforceClient::~SalesforceClient() = default;

Result<std::unique_ptr<SalesforceClient>> SalesforceClient::Create(SalesforceClientOptions options,
                                                                   http::HttpTransport& transport,
                                                                   TokenProvider& tokens,
                                                                   SalesforceStats* stats) {
  if (!ValidApiVersion(options.api_version)) {
    return InvalidArgumentError("api_version must look like \"62.0\", got '" +
                                internal::Excerpt(options.api_version, 20) + "'");
  }
  if (options.max_batch_records < 1 || options.max_batch_records > 200) {
    return InvalidArgumentError("max_batch_records must be 1..200");
  }
  return std::unique_ptr<SalesforceClient>(
      new SalesforceClient(std::make_unique<Impl>(std::move(options), transport, tokens, stats)));
}

void SalesforceClient::UpsertCollection(std::string_view sobject,
                                        std::string_view external_id_field,
                                        std::span<const RecordInput> records, WriteCallback done) {
  impl_->WriteCollection(Operation::kUpsert, sobject, external_id_field, records, std::move(done));
}

void SalesforceClient::CreateCollection(std::string_view sobject,
                                        std::span<const RecordInput> records, WriteCallback done) {
  impl_->WriteCollection(Operation::kCreate, sobject, "", records, std::move(done));
}

void SalesforceClient::Upsert(std::string_view sobject, std::string_view external_id_field,
                              const RecordInput& record, WriteCallback done) {
  impl_->WriteOne(Operation::kUpsert, sobject, external_id_field, record, std::move(done));
}

void SalesforceClient::Create(std::string_view sobject, std::string_view fields_json,
                              WriteCallback done) {
  impl_->WriteOne(Operation::kCreate, sobject, "", RecordInput{fields_json, ""}, std::move(done));
}

void SalesforceClient::Publish(std::string_view event_name, std::string_view fields_json,
                               WriteCallback done) {
  impl_->WriteOne(Operation::kPublish, event_name, "", RecordInput{fields_json, ""},
                  std::move(done));
}

void SalesforceClient::GetLimits(LimitsCallback done) { impl_->GetLimits(std::move(done)); }

namespace {
template <typename R, typename Start>
R Wait(Start start) {
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  start([promise](R r) { promise->set_value(std::move(r)); });
  return future.get();
}
}  // namespace

WriteResult SalesforceClient::UpsertCollectionSync(std::string_view sobject,
                                                   std::string_view external_id_field,
                                                   std::span<const RecordInput> records) {
  return Wait<WriteResult>(
      [&](WriteCallback cb) { UpsertCollection(sobject, external_id_field, records, cb); });
}

WriteResult SalesforceClient::CreateCollectionSync(std::string_view sobject,
                                                   std::span<const RecordInput> records) {
  return Wait<WriteResult>([&](WriteCallback cb) { CreateCollection(sobject, records, cb); });
}

WriteResult SalesforceClient::UpsertSync(std::string_view sobject,
                                         std::string_view external_id_field,
                                         const RecordInput& record) {
  return Wait<WriteResult>(
      [&](WriteCallback cb) { Upsert(sobject, external_id_field, record, cb); });
}

WriteResult SalesforceClient::CreateSync(std::string_view sobject, std::string_view fields_json) {
  return Wait<WriteResult>([&](WriteCallback cb) { Create(sobject, fields_json, cb); });
}

WriteResult SalesforceClient::PublishSync(std::string_view event_name,
                                          std::string_view fields_json) {
  return Wait<WriteResult>([&](WriteCallback cb) { Publish(event_name, fields_json, cb); });
}

LimitsResult SalesforceClient::GetLimitsSync() {
  return Wait<LimitsResult>([&](LimitsCallback cb) { GetLimits(cb); });
}

const Classifier& SalesforceClient::classifier() const { return impl_->classifier(); }

}  // namespace sluice::salesforce

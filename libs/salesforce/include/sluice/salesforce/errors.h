// Classification of Salesforce failures into sluice's error classes (DESIGN.md "Error classes"):
// what the relay does with an event follows from the class alone.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::salesforce {

enum class ErrorClass {
  kNone = 0,         // not an error (delivered)
  kRetryableRecord,  // this record may succeed later: backoff with jitter, charged, then DLQ
  kRetryableOrg,     // the org or the network is in trouble: circuit breaker, AIMD, not charged
  kBudgetExhausted,  // daily API allocation used up: pause until it returns, not charged
  kAuth,             // credentials rejected: refresh once, then pause
  kPermanent,        // the record's own content is refused: DLQ at once
};
inline constexpr size_t kErrorClassCount = 6;

// "none", "retryable_record", "retryable_org", "budget_exhausted", "auth", "permanent" — the
// spelling used in metrics labels and in the DLQ's sluice.error.class header.
std::string_view ErrorClassName(ErrorClass c);

// What kind of write failed: some codes mean different things for different operations.
enum class Operation { kUpsert, kCreate, kPublish, kOther };

struct ErrorContext {
  Operation operation = Operation::kOther;
  // The upsert's external id field; a DUPLICATE_VALUE on it is a race between two upserts of the
  // same new key, which a retry resolves (the retry finds the record and updates it).
  std::string_view external_id_field;
};

// One failure, as Salesforce (or the transport) reported it, with its class.
// Thread-safety: a value type.
struct SfError {
  ErrorClass error_class = ErrorClass::kNone;
  // Salesforce's errorCode/statusCode (e.g. "UNABLE_TO_LOCK_ROW"), or a sluice code for failures
  // without one: "HTTP_<status>", "TRANSPORT_<STATUS_CODE>" (e.g. "TRANSPORT_UNAVAILABLE"),
  // "MALFORMED_RESPONSE", "RESULT_COUNT_MISMATCH", "AUTH_FAILED", "INVALID_RECORD_INPUT", ...
  std::string code;
  std::string message;
  std::vector<std::string> fields;
  // HTTP status of the response it came from; 0 for transport and local errors.
  int http_status = 0;
};

struct ClassifierOptions {
  // Class of Salesforce codes this classifier does not know. Default kRetryableRecord: such a
  // record is retried within its attempt budget and then dead-lettered — never lost, never
  // blocking the org. (A 400 or 404 answer to a whole request with an unknown code is
  // kPermanent regardless: the status itself says the request is refused.)
  ErrorClass unknown_code = ErrorClass::kRetryableRecord;
  // Per-code overrides, consulted before the built-in table.
  std::map<std::string, ErrorClass, std::less<>> overrides;
};

// Maps codes, HTTP answers and transport failures to classes.
// Built-in table (overridable per code):
//   retryable record: UNABLE_TO_LOCK_ROW, ALL_OR_NONE_OPERATION_ROLLED_BACK, UNKNOWN_EXCEPTION,
//     a 500 answer, DUPLICATE_VALUE on the upsert's own external id field
//   retryable org: SERVER_UNAVAILABLE, REQUEST_LIMIT_EXCEEDED (concurrency:
//   ConcurrentPerOrgLongTxn,
//     ConcurrentRequests, or any other than TotalRequests), 429/502/503/504 answers (HTML bodies
//     too), other 3xx answers, every transport failure
//   budget exhausted: REQUEST_LIMIT_EXCEEDED whose message names TotalRequests
//   auth: INVALID_SESSION_ID, INVALID_AUTH_HEADER, API_DISABLED_FOR_ORG, API_CURRENTLY_DISABLED,
//     a 401 answer
//   permanent: REQUIRED_FIELD_MISSING, INVALID_FIELD, STRING_TOO_LONG, MALFORMED_ID, INVALID_TYPE,
//     INVALID_TYPE_ON_FIELD_IN_RECORD, DUPLICATE_VALUE (other fields, or on a create), NOT_FOUND,
//     JSON_PARSER_ERROR, INVALID_FIELD_FOR_INSERT_UPDATE, FIELD_CUSTOM_VALIDATION_EXCEPTION,
//     FIELD_INTEGRITY_EXCEPTION, INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST, INVALID_EMAIL_ADDRESS,
//     NUMBER_OUTSIDE_VALID_RANGE, INVALID_CROSS_REFERENCE_KEY, INVALID_ID_FIELD,
//     INSUFFICIENT_ACCESS_OR_READONLY, INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY,
//     ENTITY_IS_DELETED, EXCEEDED_ID_LIMIT, METHOD_NOT_ALLOWED,
//     CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY, a 300 answer (several records match the external id),
//     400/404 answers with unknown codes
//   none: OPERATION_ENQUEUED (a platform event accepted for publishing)
// Thread-safety: immutable after construction; safe from any number of threads.
class Classifier {
 public:
  explicit Classifier(ClassifierOptions options = {});

  // One code with its message, as found in a per-record `errors` entry or a top-level array.
  ErrorClass ClassifyCode(std::string_view code, std::string_view message,
                          const ErrorContext& context = {},
                          const std::vector<std::string>& fields = {}) const;

  // A non-2xx answer to a whole request. The body may be Salesforce's error array, an OAuth error
  // object, HTML (maintenance page), empty, or garbage; never throws, never fails.
  SfError ClassifyResponse(int http_status, std::string_view body,
                           const ErrorContext& context = {}) const;

  // A request that got no HTTP answer (the transport's Status). Always kRetryableOrg: nothing
  // about the records is known, so no attempt should be charged to them.
  SfError ClassifyTransport(const Status& status) const;

  // The class that decides a record with several errors: the org-wide classes (auth, budget,
  // org) outrank permanent, which outranks retryable record.
  static ErrorClass Worse(ErrorClass a, ErrorClass b);

  const ClassifierOptions& options() const { return options_; }

 private:
  ClassifierOptions options_;
};

}  // namespace sluice::salesforce

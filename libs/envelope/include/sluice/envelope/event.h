// The event envelope: the JSON value of every record on an sf.<object>.events topic.
//
// schemas/event.schema.json is the contract; ParseEvent checks a record against it (plus the rules
// draft-04 cannot express) and hands the relay a typed Event. An event that fails is the event's
// own fault and goes to the DLQ with class "invalid_envelope" and one of the codes below; see
// schemas/dlq-headers.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::envelope {

// Kafka record headers, in order (the shape libs/kafka uses).
using Headers = std::vector<std::pair<std::string, std::string>>;

// The header that, when present, must equal the envelope's event_id (compared case-insensitively,
// as UUIDs are). Matched case-insensitively by name.
inline constexpr char kIdempotencyKeyHeader[] = "idempotency-key";

// Error class and codes for envelopes that fail (see schemas/dlq-headers.md).
inline constexpr char kInvalidEnvelope[] = "invalid_envelope";
inline constexpr char kCodeNotJson[] = "not_json";
inline constexpr char kCodeTooLarge[] = "too_large";
inline constexpr char kCodeTooDeep[] = "too_deep";
inline constexpr char kCodeInvalidUtf8[] = "invalid_utf8";
inline constexpr char kCodeSchema[] = "schema";
inline constexpr char kCodeMissingEventId[] = "missing_event_id";
inline constexpr char kCodeIdempotencyKeyMismatch[] = "idempotency_key_mismatch";

enum class Operation { kUpsert, kCreate, kPublish };

// "upsert", "create", "publish".
std::string_view OperationName(Operation op);

// A parsed, valid event.
// Thread-safety: a value type.
struct Event {
  std::string event_id;  // UUID, lower-cased
  Operation operation = Operation::kUpsert;
  std::string sobject;            // e.g. "Contact"
  std::string external_id_field;  // e.g. "Sluice_Key__c"; empty when the event has none
  std::string external_id;        // e.g. "C-000123"; empty when the event has none
  // The "fields" object as compact JSON, e.g. {"LastName":"Ng","Age__c":42}, ready to splice into
  // a Salesforce request body. Numbers keep their value as a double or 64-bit integer.
  std::string fields_json = "{}";
  std::string occurred_at;     // as sent, RFC 3339
  int64_t occurred_at_ms = 0;  // the same instant in milliseconds since the Unix epoch
  std::string source;          // empty when absent
  int version = 1;

  friend bool operator==(const Event&, const Event&) = default;
};

// Limits and schema for ParseEvent. Thread-safety: a value type.
struct EnvelopeOptions {
  // JSON Schema to validate against. Default empty: the copy of schemas/event.schema.json compiled
  // into the library (services need no file at run time). Tests pass the source tree's file.
  std::string schema_path;
  // Values longer than this are refused before parsing (code too_large). Default 1 MiB.
  size_t max_bytes = 1024 * 1024;
  // Deeper nesting of objects and arrays is refused before parsing (code too_deep). A valid event
  // nests 2 levels. Default 8.
  int max_depth = 8;
};

// Why an envelope was refused. Thread-safety: a value type.
struct EnvelopeError {
  std::string code;   // kCodeNotJson, kCodeSchema, ...
  std::string field;  // JSON pointer of the offending field ("/event_id"); "" for the whole value
  // For people: "<field>: <what is wrong>" (just the latter for the whole value), control
  // characters escaped, at most about 400 bytes.
  std::string message;
};

// Parses and validates one record value.
//  - InvalidArgument: the envelope is invalid (the event's fault; dead-letter it). The message is
//    "invalid_envelope/<code>: <field>: <what is wrong>" (field percent-encoded, "/" for the whole
//    value); GetEnvelopeError recovers the parts.
//  - FailedPrecondition: the schema could not be loaded or compiled; the event is not at fault
//    (do not dead-letter it).
// The compiled schema is cached per schema_path for the life of the process.
// Thread-safety: safe to call from any number of threads at once.
Result<Event> ParseEvent(std::string_view value, const Headers& headers,
                         const EnvelopeOptions& options = {});

// The parts of a ParseEvent failure; nullopt for a Status that is not an envelope error.
std::optional<EnvelopeError> GetEnvelopeError(const Status& status);

// The envelope as compact JSON; ParseEvent(SerializeEvent(e)) == e for every event ParseEvent
// returns. `fields_json` is copied verbatim and must be a JSON object (as ParseEvent and
// MakeFieldsJson produce); external_id_field/external_id/source are omitted when empty.
std::string SerializeEvent(const Event& event);

// A "fields" object of string values, as compact JSON (for tools that generate events).
std::string MakeFieldsJson(const std::map<std::string, std::string>& fields);

// The text of schemas/event.schema.json as compiled into the library.
std::string_view EmbeddedEventSchema();

}  // namespace sluice::envelope

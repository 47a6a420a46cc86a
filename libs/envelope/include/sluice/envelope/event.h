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
#include <string>
#include <string_view>
#include <utility>
#include <variant>
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

// Why an envelope was refused: the event's own fault, so it goes to the DLQ with class
// kInvalidEnvelope and this code. Thread-safety: a value type.
struct EnvelopeError {
  std::string code;   // kCodeNotJson, kCodeSchema, ...
  std::string field;  // JSON pointer of the offending field ("/event_id"); "" for the whole value
  // For people: "<field>: <what is wrong>" (just the latter for the whole value), control
  // characters escaped, at most about 400 bytes.
  std::string message;

  friend bool operator==(const EnvelopeError&, const EnvelopeError&) = default;
};

// What ParseEvent found. Exactly one of three: a valid event; an EnvelopeError (the event's
// fault: dead-letter it); or a failure that is not the event's (the schema could not be loaded or
// compiled: do not dead-letter it). Shaped like Result<Event> so callers that only need the event
// read the same. Thread-safety: a value type.
class ParsedEvent {
 public:
  ParsedEvent(Event event) : v_(std::move(event)) {}          // NOLINT: implicit on purpose
  ParsedEvent(EnvelopeError error) : v_(std::move(error)) {}  // NOLINT
  // `failure` is not OK.
  ParsedEvent(Status failure) : v_(std::move(failure)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  const Event& value() const& { return std::get<Event>(v_); }
  Event&& value() && { return std::get<Event>(std::move(v_)); }
  const Event& operator*() const& { return value(); }
  const Event* operator->() const { return &value(); }
  // Why the envelope was refused; null when it is valid or the failure is not the event's.
  const EnvelopeError* error() const { return std::get_if<EnvelopeError>(&v_); }
  // Ok; InvalidArgument "invalid_envelope/<code>: <message>" when error() is set; otherwise the
  // FailedPrecondition failure. For people and logs: read error() for the parts.
  Status status() const;

 private:
  std::variant<Event, EnvelopeError, Status> v_;
};

// Parses and validates one record value. The compiled schema is cached per schema_path for the
// life of the process.
// Thread-safety: safe to call from any number of threads at once.
ParsedEvent ParseEvent(std::string_view value, const Headers& headers,
                       const EnvelopeOptions& options = {});

// The envelope as compact JSON; ParseEvent(SerializeEvent(e)) == e for every event ParseEvent
// returns. `fields_json` is copied verbatim and must be a JSON object (as ParseEvent and
// MakeFieldsJson produce); external_id_field/external_id/source are omitted when empty.
std::string SerializeEvent(const Event& event);

// A "fields" object of string values, as compact JSON (for tools that generate events).
std::string MakeFieldsJson(const std::map<std::string, std::string>& fields);

// The text of schemas/event.schema.json as compiled into the library.
std::string_view EmbeddedEventSchema();

}  // namespace sluice::envelope

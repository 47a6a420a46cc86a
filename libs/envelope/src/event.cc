#include "sluice/envelope/event.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_set>

#include "sluice/config/json_schema.h"
#include "sluice/core/utf8.h"
#include "sluice/envelope/dlq.h"
#include "sluice/schemas/schemas.h"
#include "text.h"

namespace sluice::envelope {
namespace {

using config::JsonSchema;

constexpr size_t kMaxMessageBytes = 300;
constexpr size_t kMaxFieldBytes = 120;

using Refusal = std::optional<EnvelopeError>;

EnvelopeError Fail(std::string_view code, std::string_view field, std::string_view message) {
  EnvelopeError e;
  e.code = std::string(code);
  e.field = SanitizeUtf8(field, kMaxFieldBytes);
  // The message names the field, so it reads well alone (e.g. in sluice.error.message).
  e.message = SanitizeUtf8(internal::EscapeControls(message), kMaxMessageBytes);
  if (!e.field.empty()) e.message = internal::EscapeControls(e.field) + ": " + e.message;
  return e;
}

// The compiled schema for `path` ("" = embedded), compiled once per process.
Result<JsonSchema> SchemaFor(const std::string& path) {
  // Destroyed at exit on purpose: RapidJSON 1.1 packs flags into the high bits of its pointers, so
  // LeakSanitizer cannot see that a live schema still owns its strings. Callers hold their own
  // reference (JsonSchema copies share the compiled schema) while they validate.
  static std::mutex mu;
  static std::map<std::string, JsonSchema> cache_storage;
  std::map<std::string, JsonSchema>* cache = &cache_storage;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache->find(path);
  if (it != cache->end()) return it->second;
  auto schema = path.empty()
                    ? JsonSchema::FromString(EmbeddedEventSchema(), "<embedded event schema>")
                    : JsonSchema::FromFile(path);
  if (!schema.ok()) {
    return FailedPreconditionError("event schema unusable: " + schema.status().message());
  }
  cache->emplace(path, *schema);
  return schema;
}

// Deepest nesting of objects/arrays, scanning the raw text (strings skipped), so a hostile value
// never reaches a recursive parser or destructor. Returns the offset where `max_depth` is passed.
std::optional<size_t> FindTooDeep(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) return i;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return std::nullopt;
}

bool IsIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 80) return false;
  if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    char c = s[i];
    bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (dash ? c != '-' : !hex) return false;
  }
  return true;
}

std::string_view Str(const rapidjson::Value& v) {
  return std::string_view(v.GetString(), v.GetStringLength());
}

const rapidjson::Value* Get(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  // Howard Hinnant's algorithm (public domain): days since 1970-01-01 in the proleptic Gregorian
  // calendar; std::chrono's calendar types would do, but need the year/month/day split anyway.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Checks the calendar (the schema's pattern checks the shape) and converts to epoch ms.
std::optional<int64_t> ParseRfc3339(std::string_view s) {
  auto num = [&](size_t pos, size_t len) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20) return std::nullopt;
  int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 ||
      minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int days_in_month = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
  if (day > days_in_month) return std::nullopt;
  size_t pos = 19;
  int millis = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 3; ++d) millis *= 10;
  }
  int offset_minutes = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos + 6 == s.size() && (s[pos] == '+' || s[pos] == '-') && s[pos + 3] == ':') {
    int oh = num(pos + 1, 2), om = num(pos + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset_minutes = (s[pos] == '-' ? -1 : 1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t seconds =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

// Rules draft-04 cannot state (or that RapidJSON's NUL-terminated regex could let slip). Returns
// the first violation, or nullopt.
Refusal CheckInCode(const rapidjson::Value& doc) {
  const rapidjson::Value* id = Get(doc, "event_id");
  if (id != nullptr && id->IsString() && !IsUuid(Str(*id))) {
    return Fail(kCodeSchema, "/event_id", "event_id must be a UUID");
  }
  const rapidjson::Value* op = Get(doc, "operation");
  const rapidjson::Value* sobject = Get(doc, "sobject");
  if (sobject != nullptr && sobject->IsString() && !IsIdentifier(Str(*sobject))) {
    return Fail(kCodeSchema, "/sobject",
                "sobject must be an API name matching ^[A-Za-z][A-Za-z0-9_]{0,79}$");
  }
  const rapidjson::Value* ext_field = Get(doc, "external_id_field");
  if (ext_field != nullptr && ext_field->IsString() && !IsIdentifier(Str(*ext_field))) {
    return Fail(kCodeSchema, "/external_id_field",
                "external_id_field must be an API name matching ^[A-Za-z][A-Za-z0-9_]{0,79}$");
  }
  if (op != nullptr && op->IsString()) {
    std::string_view operation = Str(*op);
    if (operation == "upsert") {
      if (ext_field == nullptr) {
        return Fail(
            kCodeSchema, "/external_id_field",
            "missing required key \"external_id_field\" (required when operation is upsert)");
      }
      if (Get(doc, "external_id") == nullptr) {
        return Fail(kCodeSchema, "/external_id",
                    "missing required key \"external_id\" (required when operation is upsert)");
      }
    } else if (operation == "publish" && sobject != nullptr && sobject->IsString()) {
      std::string_view name = Str(*sobject);
      if (name.size() < 3 || name.substr(name.size() - 3) != "__e") {
        return Fail(kCodeSchema, "/sobject",
                    "operation publish needs a Platform Event sobject ending in __e, got \"" +
                        std::string(name) + "\"");
      }
    }
  }
  for (const char* name : {"external_id", "source", "occurred_at"}) {
    const rapidjson::Value* v = Get(doc, name);
    if (v != nullptr && v->IsString() && Str(*v).find('\0') != std::string_view::npos) {
      return Fail(kCodeSchema, std::string("/") + name,
                  std::string(name) + " contains a NUL character");
    }
  }
  const rapidjson::Value* occurred = Get(doc, "occurred_at");
  if (occurred != nullptr && occurred->IsString() && !ParseRfc3339(Str(*occurred))) {
    return Fail(kCodeSchema, "/occurred_at",
                "occurred_at \"" + std::string(Str(*occurred).substr(0, 64)) +
                    "\" is not an RFC 3339 date-time (e.g. 2026-11-21T05:52:18.123Z)");
  }
  const rapidjson::Value* fields = Get(doc, "fields");
  if (fields != nullptr && fields->IsObject()) {
    for (const auto& m : fields->GetObject()) {
      std::string_view name = Str(m.name);
      std::string pointer = "/fields/" + std::string(name);
      if (!IsIdentifier(name)) {
        return Fail(kCodeSchema, pointer,
                    "field name \"" + std::string(name.substr(0, 64)) +
                        "\" is not an API name matching ^[A-Za-z][A-Za-z0-9_]{0,79}$");
      }
      if (m.value.IsString() && Str(m.value).find('\0') != std::string_view::npos) {
        return Fail(kCodeSchema, pointer,
                    "field " + std::string(name) + " contains a NUL character");
      }
    }
  }
  return std::nullopt;
}

// Code points in a string RapidJSON has validated as UTF-8 (how draft-04's maxLength counts).
size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// occurred_at's pattern in schemas/event.schema.json, spelled out:
// ^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:
// ([0-5][0-9]|60)(\.[0-9]{1,9})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$
bool MatchesTimestampPattern(std::string_view s) {
  auto digit = [&](size_t i) { return i < s.size() && s[i] >= '0' && s[i] <= '9'; };
  auto two = [&](size_t i, int lo, int hi) {
    if (!digit(i) || !digit(i + 1)) return false;
    const int v = (s[i] - '0') * 10 + (s[i + 1] - '0');
    return v >= lo && v <= hi;
  };
  auto is = [&](size_t i, char a, char b = 0) {
    return i < s.size() && (s[i] == a || (b != 0 && s[i] == b));
  };
  if (!(digit(0) && digit(1) && digit(2) && digit(3) && is(4, '-') && two(5, 1, 12) && is(7, '-') &&
        two(8, 1, 31) && is(10, 'T', 't') && two(11, 0, 23) && is(13, ':') && two(14, 0, 59) &&
        is(16, ':') && two(17, 0, 60))) {
    return false;
  }
  size_t pos = 19;
  if (is(pos, '.')) {
    size_t digits = 0;
    while (digit(pos + 1 + digits)) ++digits;
    if (digits < 1 || digits > 9) return false;
    pos += 1 + digits;
  }
  if (is(pos, 'Z', 'z')) return pos + 1 == s.size();
  return is(pos, '+', '-') && two(pos + 1, 0, 23) && is(pos + 3, ':') && two(pos + 4, 0, 59) &&
         pos + 6 == s.size();
}

// True only when `doc` certainly conforms to the embedded schema (schemas/event.schema.json),
// checked by hand: RapidJSON's schema validator is the largest single cost of parsing an event,
// and nearly every event is valid. Anything this does not accept goes through the validator, so
// errors read as before; tests/unit/envelope compares the two on thousands of envelopes.
bool ConformsToEmbeddedSchema(const rapidjson::Value& doc) {
  if (!doc.IsObject()) return false;
  auto plain_string = [](const rapidjson::Value* v, size_t min_points, size_t max_points) {
    if (v == nullptr || !v->IsString()) return false;
    const std::string_view s = Str(*v);
    if (s.find('\0') != std::string_view::npos) return false;  // the validator's business
    const size_t n = CodePoints(s);
    return n >= min_points && n <= max_points;
  };
  const rapidjson::Value *event_id = nullptr, *operation = nullptr, *sobject = nullptr,
                         *external_id_field = nullptr, *external_id = nullptr, *fields = nullptr,
                         *occurred_at = nullptr, *source = nullptr, *version = nullptr;
  for (const auto& m : doc.GetObject()) {
    const std::string_view name = Str(m.name);
    const rapidjson::Value** slot = name == "event_id"            ? &event_id
                                    : name == "operation"         ? &operation
                                    : name == "sobject"           ? &sobject
                                    : name == "external_id_field" ? &external_id_field
                                    : name == "external_id"       ? &external_id
                                    : name == "fields"            ? &fields
                                    : name == "occurred_at"       ? &occurred_at
                                    : name == "source"            ? &source
                                    : name == "version"           ? &version
                                                                  : nullptr;
    if (slot == nullptr || *slot != nullptr) return false;  // unknown or repeated key
    *slot = &m.value;
  }
  if (event_id == nullptr || !event_id->IsString() || !IsUuid(Str(*event_id))) return false;
  if (operation == nullptr || !operation->IsString()) return false;
  const std::string_view op = Str(*operation);
  if (op != "create" && op != "upsert" && op != "publish") return false;
  if (sobject == nullptr || !sobject->IsString() || !IsIdentifier(Str(*sobject))) return false;
  if (external_id_field != nullptr &&
      !(external_id_field->IsString() && IsIdentifier(Str(*external_id_field)))) {
    return false;
  }
  if (external_id != nullptr && !plain_string(external_id, 1, 255)) return false;
  if (source != nullptr && !plain_string(source, 0, 255)) return false;
  if (!plain_string(occurred_at, 0, SIZE_MAX) || !MatchesTimestampPattern(Str(*occurred_at))) {
    return false;
  }
  if (version != nullptr && !(version->IsInt() && version->GetInt() == 1)) return false;
  if (fields == nullptr || !fields->IsObject() || fields->MemberCount() > 1000) return false;
  for (const auto& m : fields->GetObject()) {
    if (!(m.value.IsString() || m.value.IsNumber() || m.value.IsBool() || m.value.IsNull())) {
      return false;
    }
  }
  if (op == "upsert") return external_id_field != nullptr && external_id != nullptr;
  if (op == "publish") return Str(*sobject).ends_with("__e");
  return true;
}

Refusal CheckDuplicateKeys(const rapidjson::Value& object, const std::string& pointer) {
  std::unordered_set<std::string_view> names;
  names.reserve(object.MemberCount());
  for (const auto& m : object.GetObject()) {
    if (!names.insert(Str(m.name)).second) {
      return Fail(kCodeSchema, pointer + "/" + std::string(Str(m.name)),
                  "duplicate key \"" + std::string(Str(m.name).substr(0, 64)) + "\"");
    }
  }
  return std::nullopt;
}

std::string Compact(const rapidjson::Value& v) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  v.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace

std::string_view OperationName(Operation op) {
  switch (op) {
    case Operation::kUpsert:
      return "upsert";
    case Operation::kCreate:
      return "create";
    case Operation::kPublish:
      return "publish";
  }
  return "unknown";
}

std::string_view EmbeddedEventSchema() {
  // schemas/ always holds it (tests/unit/schemas checks the list), so value() cannot throw.
  return schemas::Get("event.schema.json").value();
}

Status ParsedEvent::status() const {
  if (const auto* failure = std::get_if<Status>(&v_)) return *failure;
  if (const EnvelopeError* e = error()) {
    return InvalidArgumentError(std::string(kInvalidEnvelope) + "/" + e->code + ": " + e->message);
  }
  return Status::Ok();
}

ParsedEvent ParseEvent(std::string_view value, const Headers& headers,
                       const EnvelopeOptions& options) {
  auto compiled = SchemaFor(options.schema_path);
  if (!compiled.ok()) return compiled.status();
  const JsonSchema& schema = *compiled;

  if (value.size() > options.max_bytes) {
    return Fail(kCodeTooLarge, "",
                "value is " + std::to_string(value.size()) + " bytes; the limit is " +
                    std::to_string(options.max_bytes));
  }
  if (value.empty()) return Fail(kCodeNotJson, "", "value is empty");
  if (auto bad = FindInvalidUtf8(value)) {
    return Fail(kCodeInvalidUtf8, "", "invalid UTF-8 at byte " + std::to_string(*bad));
  }
  if (size_t nul = value.find('\0'); nul != std::string_view::npos) {
    return Fail(kCodeNotJson, "", "NUL byte at byte " + std::to_string(nul));
  }
  if (auto deep = FindTooDeep(value, options.max_depth)) {
    return Fail(kCodeTooDeep, "",
                "nested deeper than " + std::to_string(options.max_depth) + " levels at byte " +
                    std::to_string(*deep));
  }

  rapidjson::Document doc;
  // No kParseValidateEncodingFlag: FindInvalidUtf8 above has checked every byte with the same
  // decoder, and a second pass cost ~5% of the relay's CPU per event.
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseFullPrecisionFlag>(value.data(),
                                                                                 value.size());
  if (doc.HasParseError()) {
    return Fail(kCodeNotJson, "",
                std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at byte " +
                    std::to_string(doc.GetErrorOffset()));
  }
  if (doc.IsObject()) {
    // JSON allows repeated keys and consumers disagree on which wins (RapidJSON finds the first);
    // an event whose meaning depends on that is refused.
    if (Refusal e = CheckDuplicateKeys(doc, "")) return *e;
    if (const rapidjson::Value* fields = Get(doc, "fields"); fields && fields->IsObject()) {
      if (Refusal e = CheckDuplicateKeys(*fields, "/fields")) return *e;
    }
    const rapidjson::Value* id = Get(doc, "event_id");
    if (id == nullptr || id->IsNull()) {
      return Fail(kCodeMissingEventId, "/event_id", "missing required key \"event_id\"");
    }
  }
  const bool conforms = options.schema_path.empty() && ConformsToEmbeddedSchema(doc);
  if (auto violation = conforms ? std::nullopt : schema.Validate(doc)) {
    if (violation->pointer.empty() &&
        (violation->keyword == "anyOf" || violation->keyword == "oneOf")) {
      // The conditional rules: the code check names the field.
      if (Refusal e = CheckInCode(doc)) return *e;
    }
    return Fail(kCodeSchema, violation->pointer, violation->message);
  }
  if (Refusal e = CheckInCode(doc)) return *e;

  // The schema guarantees these types; a custom schema_path might not, so check anyway.
  auto string_field = [&](const char* name, bool required, std::string* out) -> Refusal {
    const rapidjson::Value* v = Get(doc, name);
    if (v == nullptr && !required) return std::nullopt;
    if (v == nullptr || !v->IsString()) {
      return Fail(kCodeSchema, std::string("/") + name, std::string(name) + " must be a string");
    }
    *out = std::string(Str(*v));
    return std::nullopt;
  };
  Event event;
  std::string operation;
  if (Refusal e = string_field("event_id", true, &event.event_id)) return *e;
  event.event_id = internal::ToLowerAscii(event.event_id);
  if (Refusal e = string_field("operation", true, &operation)) return *e;
  if (Refusal e = string_field("sobject", true, &event.sobject)) return *e;
  if (Refusal e = string_field("external_id_field", false, &event.external_id_field)) return *e;
  if (Refusal e = string_field("external_id", false, &event.external_id)) return *e;
  if (Refusal e = string_field("occurred_at", true, &event.occurred_at)) return *e;
  if (Refusal e = string_field("source", false, &event.source)) return *e;
  if (operation == "upsert") {
    event.operation = Operation::kUpsert;
  } else if (operation == "create") {
    event.operation = Operation::kCreate;
  } else if (operation == "publish") {
    event.operation = Operation::kPublish;
  } else {
    return Fail(kCodeSchema, "/operation", "operation must be upsert, create or publish");
  }
  const rapidjson::Value* fields = Get(doc, "fields");
  if (fields == nullptr || !fields->IsObject()) {
    return Fail(kCodeSchema, "/fields", "fields must be an object");
  }
  event.fields_json = Compact(*fields);
  event.occurred_at_ms = ParseRfc3339(event.occurred_at).value_or(0);
  if (const rapidjson::Value* v = Get(doc, "version")) {
    if (!v->IsInt()) return Fail(kCodeSchema, "/version", "version must be an integer");
    event.version = v->GetInt();
  }

  // RapidJSON 1.1 turns an escaped lone low surrogate (\udc00) into bytes that are not UTF-8.
  for (const auto* text : {&event.fields_json, &event.external_id, &event.source}) {
    if (auto bad = FindInvalidUtf8(*text)) {
      return Fail(kCodeInvalidUtf8,
                  text == &event.fields_json ? "/fields"
                  : text == &event.source    ? "/source"
                                             : "/external_id",
                  "an escape decodes to invalid UTF-8 (a lone surrogate?)");
    }
  }

  for (const auto& [name, header_value] : headers) {
    if (internal::ToLowerAscii(name) != kIdempotencyKeyHeader) continue;
    if (internal::ToLowerAscii(header_value) != event.event_id) {
      return Fail(kCodeIdempotencyKeyMismatch, "/event_id",
                  "header idempotency-key \"" + SanitizeUtf8(header_value, 64) +
                      "\" does not match event_id \"" + event.event_id + "\"");
    }
  }
  return event;
}

std::string SerializeEvent(const Event& event) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&](std::string_view s) {
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  };
  w.StartObject();
  w.Key("event_id");
  str(event.event_id);
  w.Key("operation");
  str(OperationName(event.operation));
  w.Key("sobject");
  str(event.sobject);
  if (!event.external_id_field.empty()) {
    w.Key("external_id_field");
    str(event.external_id_field);
  }
  if (!event.external_id.empty()) {
    w.Key("external_id");
    str(event.external_id);
  }
  w.Key("fields");
  const std::string& fields = event.fields_json.empty() ? std::string("{}") : event.fields_json;
  w.RawValue(fields.data(), fields.size(), rapidjson::kObjectType);
  w.Key("occurred_at");
  str(event.occurred_at);
  if (!event.source.empty()) {
    w.Key("source");
    str(event.source);
  }
  w.Key("version");
  w.Int(event.version);
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string MakeFieldsJson(const std::map<std::string, std::string>& fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [name, value] : fields) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.String(value.data(), static_cast<rapidjson::SizeType>(value.size()));
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace sluice::envelope

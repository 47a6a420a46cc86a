#include "sluice/envelope/event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace sluice::envelope {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char kId[] = "0f8fad5b-d9cb-469f-a165-70867728950e";

std::string Valid() {
  return R"({"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e","operation":"upsert",)"
         R"("sobject":"Contact","external_id_field":"Sluice_Key__c","external_id":"C-000123",)"
         R"("fields":{"LastName":"Ng","Age__c":42,"Score__c":1.5,"Active__c":true,"Note__c":null},)"
         R"("occurred_at":"2026-11-21T05:52:18.123Z","source":"crm-sync","version":1})";
}

// The options for the source tree's schema file.
EnvelopeOptions FileSchema() {
  EnvelopeOptions o;
  o.schema_path = SLUICE_EVENT_SCHEMA_PATH;
  return o;
}

// Parses `value`, expecting an envelope error; returns it.
EnvelopeError ExpectInvalid(std::string_view value, const Headers& headers = {},
                            const EnvelopeOptions& options = FileSchema()) {
  auto r = ParseEvent(value, headers, options);
  EXPECT_FALSE(r.ok()) << value.substr(0, 200);
  if (r.ok()) return {};
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status();
  const EnvelopeError* e = r.error();
  EXPECT_NE(e, nullptr) << r.status();
  if (e == nullptr) return {};
  // The status carries the same parts, for logs.
  EXPECT_EQ(r.status().message(),
            std::string(kInvalidEnvelope) + "/" + e->code + ": " + e->message);
  return *e;
}

// `base` with key `key` replaced by the raw JSON `json` (or removed when json is empty).
std::string WithIn(std::string v, const std::string& key, const std::string& json) {
  std::string needle = "\"" + key + "\":";
  size_t start = v.find(needle);
  EXPECT_NE(start, std::string::npos) << key;
  size_t value_start = start + needle.size();
  size_t end = value_start;
  int depth = 0;
  bool in_string = false;
  for (; end < v.size(); ++end) {
    char c = v[end];
    if (in_string) {
      if (c == '\\') {
        ++end;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    if (c == '{' || c == '[') ++depth;
    if (c == '}' || c == ']') {
      if (depth == 0) break;
      --depth;
    }
    if (c == ',' && depth == 0) break;
  }
  if (json.empty()) {
    // Drop the member and one adjacent comma.
    if (v[end] == ',') return v.substr(0, start) + v.substr(end + 1);
    return v.substr(0, start - 1) + v.substr(end);
  }
  return v.substr(0, value_start) + json + v.substr(end);
}

// `Valid()` with key `key` replaced by the raw JSON `json` (or removed when json is empty).
std::string With(const std::string& key, const std::string& json) {
  return WithIn(Valid(), key, json);
}

TEST(ParseEventTest, ParsesAValidEvent) {
  auto r = ParseEvent(Valid(), {}, FileSchema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->event_id, kId);
  EXPECT_EQ(r->operation, Operation::kUpsert);
  EXPECT_EQ(r->sobject, "Contact");
  EXPECT_EQ(r->external_id_field, "Sluice_Key__c");
  EXPECT_EQ(r->external_id, "C-000123");
  EXPECT_EQ(r->fields_json,
            R"({"LastName":"Ng","Age__c":42,"Score__c":1.5,"Active__c":true,"Note__c":null})");
  EXPECT_EQ(r->occurred_at, "2026-11-21T05:52:18.123Z");
  EXPECT_EQ(r->occurred_at_ms, 1795240338123);
  EXPECT_EQ(r->source, "crm-sync");
  EXPECT_EQ(r->version, 1);
}

TEST(ParseEventTest, EmbeddedSchemaIsTheSourceFile) {
  std::ifstream in(SLUICE_EVENT_SCHEMA_PATH);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(EmbeddedEventSchema(), text.str());
  auto embedded = ParseEvent(Valid(), {}, EnvelopeOptions{});
  ASSERT_TRUE(embedded.ok()) << embedded.status();
  EXPECT_EQ(*embedded, *ParseEvent(Valid(), {}, FileSchema()));
  // The embedded schema rejects like the file does.
  EXPECT_FALSE(ParseEvent(With("operation", R"("delete")"), {}, EnvelopeOptions{}).ok());
}

TEST(ParseEventTest, OptionalFieldsAndOperations) {
  std::string create = With("operation", R"("create")");
  create = With("source", "");  // drops source
  auto r = ParseEvent(create, {}, FileSchema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->source, "");

  std::string minimal =
      R"({"event_id":"0F8FAD5B-D9CB-469F-A165-70867728950E","operation":"create",)"
      R"("sobject":"Order__c","fields":{},"occurred_at":"2026-01-01T00:00:00+02:00"})";
  r = ParseEvent(minimal, {}, FileSchema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->event_id, kId);  // lower-cased
  EXPECT_EQ(r->operation, Operation::kCreate);
  EXPECT_EQ(r->version, 1);
  EXPECT_EQ(r->external_id_field, "");
  EXPECT_EQ(r->fields_json, "{}");
  EXPECT_EQ(r->occurred_at_ms, 1767218400000);  // 2025-12-31T22:00:00Z

  std::string publish =
      R"({"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e","operation":"publish",)"
      R"("sobject":"Campaign_Burst__e","fields":{"Wave__c":3},)"
      R"("occurred_at":"2026-11-21T05:52:18Z"})";
  r = ParseEvent(publish, {}, FileSchema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->operation, Operation::kPublish);
}

TEST(ParseEventTest, SerializeRoundTrips) {
  auto r = ParseEvent(Valid(), {}, FileSchema());
  ASSERT_TRUE(r.ok());
  std::string json = SerializeEvent(*r);
  auto again = ParseEvent(json, {}, FileSchema());
  ASSERT_TRUE(again.ok()) << again.status() << " " << json;
  EXPECT_EQ(*again, *r);
  EXPECT_EQ(SerializeEvent(*again), json);

  Event built;
  built.event_id = kId;
  built.operation = Operation::kCreate;
  built.sobject = "Lead";
  built.fields_json = MakeFieldsJson({{"Company", "Acme \"Q\" \xC3\xA9"}, {"LastName", "Ng"}});
  built.occurred_at = "2026-11-21T05:52:18.5Z";
  auto parsed = ParseEvent(SerializeEvent(built), {}, FileSchema());
  ASSERT_TRUE(parsed.ok()) << parsed.status() << SerializeEvent(built);
  EXPECT_EQ(parsed->fields_json, built.fields_json);
  EXPECT_EQ(parsed->occurred_at_ms, 1795240338500);
  built.occurred_at_ms = parsed->occurred_at_ms;
  EXPECT_EQ(*parsed, built);
}

TEST(ParseEventTest, IdempotencyKeyHeaderMustMatch) {
  EXPECT_TRUE(ParseEvent(Valid(), {{"idempotency-key", kId}, {"other", "x"}}, FileSchema()).ok());
  EXPECT_TRUE(ParseEvent(Valid(), {{"Idempotency-Key", "0F8FAD5B-D9CB-469F-A165-70867728950E"}},
                         FileSchema())
                  .ok());
  EnvelopeError e = ExpectInvalid(Valid(), {{"idempotency-key", "something-else"}});
  EXPECT_EQ(e.code, kCodeIdempotencyKeyMismatch);
  EXPECT_EQ(e.field, "/event_id");
  EXPECT_THAT(e.message, HasSubstr("something-else"));
  // A second, different header is a mismatch too.
  e = ExpectInvalid(Valid(), {{"idempotency-key", kId}, {"idempotency-key", "x\n\x01"}});
  EXPECT_EQ(e.code, kCodeIdempotencyKeyMismatch);
  EXPECT_THAT(e.message, Not(HasSubstr("\n")));
}

// ---- hostile input ----

TEST(ParseEventHostileTest, NotJson) {
  for (const std::string& bad :
       {std::string(""), std::string("   "), std::string("{"), std::string("not json"),
        std::string("{\"event_id\": }"), std::string("{} {}"), std::string("[1,2"),
        std::string("{\"a\":1,}"), std::string("\"str\"x")}) {
    EnvelopeError e = ExpectInvalid(bad);
    EXPECT_EQ(e.code, kCodeNotJson) << bad;
    EXPECT_EQ(e.field, "") << bad;
    EXPECT_FALSE(e.message.empty());
  }
  EXPECT_EQ(ExpectInvalid("").message, "value is empty");
}

TEST(ParseEventHostileTest, GarbageBytes) {
  std::string garbage;
  uint32_t x = 7;
  for (int i = 0; i < 10'000; ++i) {
    x = x * 1664525 + 1013904223;
    garbage.push_back(static_cast<char>(x >> 24));
  }
  EnvelopeError e = ExpectInvalid(garbage);
  EXPECT_TRUE(e.code == kCodeInvalidUtf8 || e.code == kCodeNotJson) << e.code;
  // ASCII garbage.
  e = ExpectInvalid("\x01\x02 GET / HTTP/1.1\r\n");
  EXPECT_EQ(e.code, kCodeNotJson);
}

TEST(ParseEventHostileTest, NulBytes) {
  std::string v = Valid() + std::string("\0trailing", 9);
  EXPECT_EQ(ExpectInvalid(v).code, kCodeNotJson);
  v = Valid();
  v.insert(5, 1, '\0');
  EXPECT_EQ(ExpectInvalid(v).code, kCodeNotJson);
  // Escaped NUL inside strings parses, but no identifier, id or value may hold one.
  for (const auto& [key, json] : std::vector<std::pair<std::string, std::string>>{
           {"sobject", R"("Contact\u0000x")"},
           {"external_id_field", R"("Key__c\u0000")"},
           {"external_id", R"("C-1\u0000; DROP")"},
           {"event_id", R"("0f8fad5b-d9cb-469f-a165-70867728950e\u0000")"},
           {"occurred_at", R"("2026-11-21T05:52:18Z\u0000")"},
           {"source", R"("crm\u0000")"},
           {"fields", R"({"LastName":"N\u0000g"})"},
       }) {
    EnvelopeError e = ExpectInvalid(With(key, json));
    EXPECT_EQ(e.code, kCodeSchema) << key;
    EXPECT_THAT(e.field, HasSubstr("/" + key)) << key;
  }
}

TEST(ParseEventHostileTest, TooLargeIsRefusedBeforeParsing) {
  std::string big =
      With("fields", "{\"Description\":\"" + std::string(2 * 1024 * 1024, 'a') + "\"}");
  EnvelopeError e = ExpectInvalid(big);
  EXPECT_EQ(e.code, kCodeTooLarge);
  EXPECT_THAT(e.message, HasSubstr("limit is 1048576"));
  // Not even JSON: the size check comes first.
  EXPECT_EQ(ExpectInvalid(std::string(2 * 1024 * 1024, '\xff')).code, kCodeTooLarge);
  EnvelopeOptions small = FileSchema();
  small.max_bytes = 100;
  EXPECT_EQ(ExpectInvalid(Valid(), {}, small).code, kCodeTooLarge);
}

TEST(ParseEventHostileTest, DeepNesting) {
  EnvelopeError e = ExpectInvalid(std::string(10'000, '['));
  EXPECT_EQ(e.code, kCodeTooDeep);
  e = ExpectInvalid(std::string(10'000, '[') + std::string(10'000, ']'));
  EXPECT_EQ(e.code, kCodeTooDeep);
  e = ExpectInvalid(With("fields", R"({"A":[[[[[[[[[[1]]]]]]]]]]})"));
  EXPECT_EQ(e.code, kCodeTooDeep);
  // Brackets inside strings do not count.
  EXPECT_TRUE(ParseEvent(With("fields", "{\"A\":\"" + std::string(1000, '[') + "\\\"[\"}"), {},
                         FileSchema())
                  .ok());
}

TEST(ParseEventHostileTest, InvalidUtf8) {
  for (const std::string& bytes :
       {std::string("\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
        std::string("\xe2\x82"), std::string("\xf4\x90\x80\x80")}) {
    EnvelopeError e = ExpectInvalid(With("external_id", "\"C-" + bytes + "\""));
    EXPECT_EQ(e.code, kCodeInvalidUtf8);
    EXPECT_THAT(e.message, HasSubstr("at byte"));
  }
  // Escaped lone surrogates are not valid text either.
  EnvelopeError e = ExpectInvalid(With("external_id", R"("C-\ud800")"));
  EXPECT_EQ(e.code, kCodeNotJson);
  // RapidJSON decodes an escaped lone low surrogate to non-UTF-8 bytes; caught after parsing.
  e = ExpectInvalid(With("fields", R"({"LastName":"\udc00"})"));
  EXPECT_EQ(e.code, kCodeInvalidUtf8);
  EXPECT_EQ(e.field, "/fields");
  EXPECT_EQ(ExpectInvalid(With("external_id", R"("\udc00")")).field, "/external_id");
  // Valid multi-byte text is fine.
  EXPECT_TRUE(
      ParseEvent(With("external_id", "\"C-\xC3\xA9\xF0\x9F\x8C\x8A\""), {}, FileSchema()).ok());
}

TEST(ParseEventHostileTest, MissingEachRequiredField) {
  EnvelopeError e = ExpectInvalid(With("event_id", ""));
  EXPECT_EQ(e.code, kCodeMissingEventId);
  EXPECT_EQ(e.field, "/event_id");
  EXPECT_EQ(ExpectInvalid(With("event_id", "null")).code, kCodeMissingEventId);
  for (const char* key : {"operation", "sobject", "fields", "occurred_at"}) {
    e = ExpectInvalid(With(key, ""));
    EXPECT_EQ(e.code, kCodeSchema) << key;
    EXPECT_EQ(e.field, std::string("/") + key);
    EXPECT_THAT(e.message, HasSubstr(std::string("missing required key \"") + key + "\""));
  }
  // Upsert needs the external id pair; the message names the field.
  for (const char* key : {"external_id_field", "external_id"}) {
    e = ExpectInvalid(With(key, ""));
    EXPECT_EQ(e.code, kCodeSchema) << key;
    EXPECT_EQ(e.field, std::string("/") + key);
    EXPECT_THAT(e.message, HasSubstr("required when operation is upsert"));
  }
  // ...create does not.
  std::string create = With("operation", R"("create")");
  size_t at = create.find(R"("external_id_field")");
  create.erase(at, create.find(R"("fields")") - at);
  EXPECT_TRUE(ParseEvent(create, {}, FileSchema()).ok()) << create;
}

TEST(ParseEventHostileTest, WrongTypesForEveryField) {
  for (const auto& [key, json] : std::vector<std::pair<std::string, std::string>>{
           {"event_id", "12345"},
           {"event_id", "[]"},
           {"operation", "1"},
           {"operation", R"("delete")"},
           {"operation", R"("UPSERT")"},
           {"sobject", "true"},
           {"sobject", R"({"a":1})"},
           {"external_id_field", "5"},
           {"external_id", "123"},
           {"external_id", R"("")"},
           {"fields", R"("LastName=Ng")"},
           {"fields", "[]"},
           {"fields", "null"},
           {"occurred_at", "1795240338123"},
           {"source", "7"},
           {"version", R"("1")"},
           {"version", "1.5"},
           {"version", "2"},
           {"version", "0"},
       }) {
    EnvelopeError e = ExpectInvalid(With(key, json));
    EXPECT_EQ(e.code, kCodeSchema) << key << "=" << json;
    EXPECT_EQ(e.field, "/" + key) << key << "=" << json;
    EXPECT_THAT(e.message, HasSubstr(key)) << key << "=" << json;
  }
  EnvelopeError e = ExpectInvalid(With("fields", R"({"Tags":["a"]})"));
  EXPECT_EQ(e.field, "/fields/Tags");
  EXPECT_EQ(e.message, "/fields/Tags: expected string, number, boolean or null, got array");
  e = ExpectInvalid(With("fields", R"({"Addr":{"City":"X"}})"));
  EXPECT_EQ(e.field, "/fields/Addr");
  e = ExpectInvalid("[1,2,3]");
  EXPECT_EQ(e.code, kCodeSchema);
  EXPECT_EQ(e.field, "");
  EXPECT_THAT(e.message, HasSubstr("expected object, got array"));
  EXPECT_EQ(ExpectInvalid("42").code, kCodeSchema);
  EXPECT_EQ(ExpectInvalid("null").code, kCodeSchema);
}

TEST(ParseEventHostileTest, BadIdsNamesAndTimes) {
  for (const char* id :
       {R"("not-a-uuid")", R"("0f8fad5b-d9cb-469f-a165-70867728950")",
        R"("0f8fad5b-d9cb-469f-a165-70867728950e0")", R"("0f8fad5bd9cb469fa16570867728950e")",
        R"("0f8fad5b-d9cb-469f-a165-70867728950g")", R"(" 0f8fad5b-d9cb-469f-a165-70867728950e")",
        R"("")"}) {
    EnvelopeError e = ExpectInvalid(With("event_id", id));
    EXPECT_EQ(e.code, kCodeSchema) << id;
    EXPECT_EQ(e.field, "/event_id") << id;
  }
  for (const char* name : {R"("1Contact")", R"("Con tact")", R"("Contact;DROP")", R"("")",
                           R"("Contact/../x")", R"("Kontakt\u00e9")"}) {
    EXPECT_EQ(ExpectInvalid(With("sobject", name)).field, "/sobject") << name;
    EXPECT_EQ(ExpectInvalid(With("external_id_field", name)).field, "/external_id_field") << name;
  }
  EXPECT_EQ(ExpectInvalid(With("sobject", "\"" + std::string(81, 'A') + "\"")).field, "/sobject");
  EXPECT_TRUE(
      ParseEvent(With("sobject", "\"" + std::string(80, 'A') + "\""), {}, FileSchema()).ok());
  for (const char* t :
       {R"("2026-11-21")", R"("2026-11-21 05:52:18Z")", R"("2026-13-01T00:00:00Z")",
        R"("2026-02-30T00:00:00Z")", R"("2025-02-29T00:00:00Z")", R"("2026-11-21T24:00:00Z")",
        R"("2026-11-21T05:52:18")", R"("2026-11-21T05:52:18.Z")", R"("yesterday")"}) {
    EnvelopeError e = ExpectInvalid(With("occurred_at", t));
    EXPECT_EQ(e.code, kCodeSchema) << t;
    EXPECT_EQ(e.field, "/occurred_at") << t;
  }
  EXPECT_TRUE(
      ParseEvent(With("occurred_at", R"("2024-02-29T23:59:60.999999999-05:30")"), {}, FileSchema())
          .ok());
  // publish needs a Platform Event.
  EnvelopeError e = ExpectInvalid(With("operation", R"("publish")"));
  EXPECT_EQ(e.field, "/sobject");
  EXPECT_THAT(e.message, HasSubstr("__e"));
}

TEST(ParseEventHostileTest, UnknownKeysAndFieldNames) {
  std::string v = Valid();
  v.insert(1, R"("extra":1,)");
  EnvelopeError e = ExpectInvalid(v);
  EXPECT_EQ(e.code, kCodeSchema);
  EXPECT_EQ(e.field, "/extra");
  EXPECT_THAT(e.message, HasSubstr("unknown key \"extra\""));
  // A key built to confuse the "code: field: message" format round-trips intact.
  v = Valid();
  v.insert(1, R"("a: b%3A c":1,)");
  e = ExpectInvalid(v);
  EXPECT_EQ(e.field, "/a: b%3A c");
  for (const char* name : {R"("1st")", R"("Last Name")", R"("a.b")", R"("")", R"("x\ny")"}) {
    e = ExpectInvalid(With("fields", std::string("{") + name + ":1}"));
    EXPECT_EQ(e.code, kCodeSchema) << name;
    EXPECT_THAT(e.field, HasSubstr("/fields/")) << name;
    EXPECT_THAT(e.message, Not(HasSubstr("\n")));
  }
}

TEST(ParseEventHostileTest, HugeFieldCounts) {
  auto fields = [](int n) {
    std::string f = "{";
    for (int i = 0; i < n; ++i) f += (i ? ",\"F" : "\"F") + std::to_string(i) + "\":1";
    return f + "}";
  };
  EXPECT_TRUE(ParseEvent(With("fields", fields(1000)), {}, FileSchema()).ok());
  EnvelopeError e = ExpectInvalid(With("fields", fields(1001)));
  EXPECT_EQ(e.code, kCodeSchema);
  EXPECT_EQ(e.field, "/fields");
  EXPECT_THAT(e.message, HasSubstr("at most 1000 keys"));
  e = ExpectInvalid(With("fields", fields(50'000)));  // ~500 KB, under max_bytes
  EXPECT_EQ(e.code, kCodeSchema);
  EXPECT_THAT(e.message, HasSubstr("got 50000"));
  // Duplicate field names: the JSON is legal, the event is not ambiguous: refused.
  e = ExpectInvalid(With("fields", R"({"A":1,"A":2})"));
  EXPECT_EQ(e.code, kCodeSchema);
}

TEST(ParseEventHostileTest, NumbersWhereStringsGoAndViceVersa) {
  EXPECT_EQ(ExpectInvalid(With("external_id", "1e400")).code, kCodeNotJson);  // not a double
  EXPECT_EQ(ExpectInvalid(With("fields", R"({"N":1e400})")).code, kCodeNotJson);
  auto r = ParseEvent(With("fields", R"({"Big":9223372036854775807,"Neg":-1,"E":1e-7})"), {},
                      FileSchema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->fields_json, R"({"Big":9223372036854775807,"Neg":-1,"E":1e-7})");
}

TEST(ParsedEventTest, ValidEventHasNoError) {
  auto r = ParseEvent(Valid(), {}, FileSchema());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r.error(), nullptr);
  EXPECT_TRUE(r.status().ok());
}

TEST(ParsedEventTest, FieldWithDelimitersTravelsIntact) {
  // ": " and "%" in a field name are kept as they are: the parts never pass through a message.
  EnvelopeError e = ExpectInvalid(With("fields", R"({"a: b%20":1})"));
  EXPECT_EQ(e.code, kCodeSchema);
  EXPECT_EQ(e.field, "/fields/a: b%20");
}

TEST(ParseEventTest, UnusableSchemaIsNotTheEventsFault) {
  EnvelopeOptions o;
  o.schema_path = "/nonexistent/event.schema.json";
  auto r = ParseEvent(Valid(), {}, o);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(r.error(), nullptr);
}

}  // namespace
}  // namespace sluice::envelope

namespace sluice::envelope {
namespace {

// The embedded schema is checked by hand for events it accepts (the validator only sees the rest),
// so the two must agree: on thousands of envelopes mutated around every rule's edges, the embedded
// path and the validator (the same schema from its file) give the same event or the same error.
TEST(ParseEventTest, HandCheckedSchemaAgreesWithTheValidator) {
  const std::string long80(80, 'a');
  const std::string ee = "\xC3\xA9";  // é: two bytes, one code point
  std::string points255, points256;
  for (int i = 0; i < 255; ++i) points255 += ee;
  points256 = points255 + "x";
  const std::map<std::string, std::vector<std::string>> candidates = {
      {"event_id",
       {R"("0F8FAD5B-D9CB-469F-A165-70867728950E")", R"("0f8fad5b-d9cb-469f-a165-70867728950")",
        R"("0f8fad5b-d9cb-469f-a165-70867728950e ")", R"("0f8fad5bxd9cb-469f-a165-70867728950e")",
        R"("0f8fad5b-d9cb-469f-a165-70867728950g")", "42", "null", R"("")"}},
      {"operation", {R"("create")", R"("upsert")", R"("publish")", R"("Upsert")", "1", "null"}},
      {"sobject",
       {R"("Contact")", R"("Burst__e")", R"("X__e")", R"("__e")", R"("1Contact")",
        "\"" + long80 + "\"", "\"" + long80 + "a\"", R"("Con tact")", R"("")", "[]",
        "\"Caf" + ee + "\""}},
      {"external_id_field",
       {R"("Sluice_Key__c")", R"("_x")", "\"" + long80 + "\"", "\"" + long80 + "b\"", "7",
        R"("")"}},
      {"external_id",
       {R"("C-1")", R"("")", "\"" + points255 + "\"", "\"" + points256 + "\"", R"("a\u0000b")",
        "123", "null", R"("\ud83d\ude00")"}},
      {"fields",
       {"{}", R"({"A":"x","B":1,"C":1.5e300,"D":false,"E":null})", R"({"A":{"x":1}})",
        R"({"A":[1]})", R"({"1A":"x"})", R"({"A b":"x"})", R"({"A":"x\u0000"})", "[]",
        R"("fields")"}},
      {"occurred_at",
       {R"("2026-11-21T05:52:18Z")",
        R"("2026-11-21t05:52:18z")",
        R"("2026-11-21T05:52:60Z")",
        R"("2026-11-21T05:52:61Z")",
        R"("2026-11-21T24:00:00Z")",
        R"("2026-13-01T00:00:00Z")",
        R"("2026-02-29T00:00:00Z")",
        R"("2024-02-29T00:00:00Z")",
        R"("2026-11-31T00:00:00Z")",
        R"("2026-11-21T05:52:18.123456789Z")",
        R"("2026-11-21T05:52:18.1234567890Z")",
        R"("2026-11-21T05:52:18.Z")",
        R"("2026-11-21T05:52:18+23:59")",
        R"("2026-11-21T05:52:18-24:00")",
        R"("2026-11-21T05:52:18+0100")",
        R"("2026-11-21 05:52:18Z")",
        R"("2026/11/21T05:52:18Z")",
        R"("2026-11-21T05:52:18")",
        R"("2026-11-21T05:52:18Zx")",
        R"("x2026-11-21T05:52:18Z")",
        "1700000000",
        "null"}},
      {"source", {R"("crm")", R"("")", "\"" + points255 + "\"", "\"" + points256 + "\"", "false"}},
      {"version", {"1", "2", "0", "1.0", "-1", R"("1")", "null", "1e0"}},
  };
  std::mt19937 rng(20261121);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int compared = 0, accepted = 0;
  for (int round = 0; round < 6000; ++round) {
    std::string v = Valid();
    const int changes = 1 + static_cast<int>(pick(3));
    for (int c = 0; c < changes; ++c) {
      auto it = std::next(candidates.begin(), static_cast<long>(pick(candidates.size())));
      const std::string needle = "\"" + it->first + "\":";
      const int what = static_cast<int>(pick(10));
      if (v.find(needle) == std::string::npos) {
        // Removed earlier: add it back at the end.
        v = v.substr(0, v.size() - 1) + "," + needle + it->second[pick(it->second.size())] + "}";
      } else if (what == 0) {
        v = WithIn(v, it->first, "");
      } else {
        v = WithIn(v, it->first, it->second[pick(it->second.size())]);
      }
    }
    if (pick(20) == 0) v = v.substr(0, v.size() - 1) + R"(,"extra":1})";
    auto embedded = ParseEvent(v, {}, EnvelopeOptions{});
    auto file = ParseEvent(v, {}, FileSchema());
    ++compared;
    ASSERT_EQ(embedded.ok(), file.ok())
        << v << "\nembedded: " << embedded.status() << "\nfile: " << file.status();
    if (embedded.ok()) {
      ++accepted;
      EXPECT_EQ(*embedded, *file) << v;
    } else {
      EXPECT_EQ(embedded.status().message(), file.status().message()) << v;
    }
  }
  EXPECT_EQ(compared, 6000);
  // Both sides are exercised: plenty of envelopes pass, plenty fail.
  EXPECT_GT(accepted, 300);
  EXPECT_LT(accepted, 5700);
}

}  // namespace
}  // namespace sluice::envelope

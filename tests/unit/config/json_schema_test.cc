#include "sluice/config/json_schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sluice::config {
namespace {

using ::testing::HasSubstr;

rapidjson::Document Json(const char* text) {
  rapidjson::Document d;
  d.Parse(text);
  EXPECT_FALSE(d.HasParseError()) << text;
  return d;
}

// RapidJSON 1.1 keeps regex match state in the compiled schema: unguarded, threads validating
// patterns at once get wrong answers or crash.
TEST(JsonSchemaTest, ValidatesPatternsFromManyThreadsAtOnce) {
  auto schema = JsonSchema::FromString(
      R"({"properties": {"id": {"type": "string", "pattern": "^[0-9a-f]{8}-[0-9a-f]{4}$"}}})");
  ASSERT_TRUE(schema.ok()) << schema.status();
  const rapidjson::Document good = Json(R"({"id": "0123abcd-ef01"})");
  const rapidjson::Document bad = Json(R"({"id": "0123abcd-ef0g"})");
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (schema->Validate(good).has_value()) ++wrong;
        if (!schema->Validate(bad).has_value()) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(JsonSchemaTest, RefusesBrokenSchemas) {
  EXPECT_THAT(JsonSchema::FromString("{", "s.json").status().message(),
              HasSubstr("s.json: schema is not JSON"));
  EXPECT_THAT(JsonSchema::FromString("[]", "s.json").status().message(),
              HasSubstr("not a JSON object"));
  // RapidJSON would silently skip a pattern its engine cannot compile; refuse it instead.
  Status s = JsonSchema::FromString(
                 R"({"properties": {"id": {"type": "string", "pattern": "^\\d+$"}}})", "s.json")
                 .status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("s.json: /properties/id/pattern"));
  s = JsonSchema::FromString(R"({"patternProperties": {"^\\w+$": {}}})", "s.json").status();
  EXPECT_THAT(s.message(), HasSubstr("not supported by RapidJSON's regex engine"));
  // RapidJSON 1.1 mis-validates this combination; it is refused, not silently wrong.
  s = JsonSchema::FromString(
          R"({"properties": {"m": {"patternProperties": {"^a": {}}, "additionalProperties": false}}})",
          "s.json")
          .status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("s.json: /properties/m: \"patternProperties\" with"));
  EXPECT_EQ(JsonSchema::FromFile("/nonexistent.json").status().code(), StatusCode::kNotFound);
}

TEST(JsonSchemaTest, ReportsTheFirstViolationReadably) {
  auto schema = JsonSchema::FromString(R"({
    "type": "object", "additionalProperties": {"type": "boolean"}, "required": ["id"],
    "properties": {
      "id": {"type": "string", "pattern": "^[0-9]+$"},
      "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2, "uniqueItems": true},
      "n": {"type": ["integer", "null"], "multipleOf": 5},
      "m": {"type": "object", "maxProperties": 1},
      "s": {"type": "string", "maxLength": 3},
      "x": {"not": {"type": "string"}},
      "y": {"anyOf": [{"type": "string"}, {"type": "boolean"}]}
    },
    "patternProperties": {"^ext_": {"type": "integer"}}
  })");
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_FALSE(schema->Validate(Json(R"({"id": "12", "ext_a": 1, "n": null})")).has_value());

  auto check = [&](const char* doc, const char* pointer, const char* keyword, const char* message) {
    auto v = schema->Validate(Json(doc));
    ASSERT_TRUE(v.has_value()) << doc;
    EXPECT_EQ(v->pointer, pointer) << doc;
    EXPECT_EQ(v->keyword, keyword) << doc;
    EXPECT_EQ(v->message, message) << doc;
  };
  check(R"({})", "/id", "required", "missing required key \"id\"");
  check(R"({"id": 12})", "/id", "type", "expected string, got integer 12");
  check(R"({"id": "1a"})", "/id", "pattern", "string \"1a\" does not match pattern ^[0-9]+$");
  check(R"({"id": "1", "zz": {"a": 1}})", "/zz", "type", "expected boolean, got object");
  check(R"({"id": "1", "ext_b": "s"})", "/ext_b", "patternProperties",
        "string \"s\" does not satisfy \"patternProperties\"");
  check(R"({"id": "1", "tags": ["a", 1]})", "/tags/1", "type", "expected string, got integer 1");
  check(R"({"id": "1", "tags": ["a", "b", "c"]})", "/tags", "maxItems",
        "expected at most 2 items, got 3");
  check(R"({"id": "1", "tags": ["a", "a"]})", "/tags/1", "uniqueItems",
        "repeats an earlier item; items must be unique");
  check(R"({"id": "1", "n": 1.5})", "/n", "type", "expected integer or null, got number 1.5");
  check(R"({"id": "1", "n": 7})", "/n", "multipleOf", "expected a multiple of 5, got integer 7");
  check(R"({"id": "1", "m": {"a": 1, "b": 2}})", "/m", "maxProperties",
        "expected at most 1 keys, got 2");
  check(R"({"id": "1", "s": "abcd"})", "/s", "maxLength",
        "expected at most 3 characters, got string \"abcd\"");
  check(R"({"id": "1", "x": "str"})", "/x", "not",
        "string \"str\" matches a schema it must not match");
  check(R"({"id": "1", "y": 5})", "/y", "anyOf", "integer 5 does not satisfy \"anyOf\"");
  std::string long_value = R"({"id": ")" + std::string(500, '7') + "x\"}";
  auto v = schema->Validate(Json(long_value.c_str()));
  ASSERT_TRUE(v.has_value());
  EXPECT_LT(v->message.size(), 200u);  // long values are cut short
}

}  // namespace
}  // namespace sluice::config

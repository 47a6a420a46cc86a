#include "sluice/gateway/body.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "test_events.h"

namespace sluice::gateway {
namespace {

using testing::ContactEvent;
using testing::EventId;
using ::testing::HasSubstr;

std::string Array(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) s += (i ? "," : "") + ContactEvent(i);
  return s + "]";
}

std::string Lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += ContactEvent(i) + "\n";
  return s;
}

TEST(FormOfTest, KnowsTheThreeFormsAndRefusesTheRest) {
  EXPECT_EQ(FormOf("application/json"), BodyForm::kJson);
  EXPECT_EQ(FormOf("Application/JSON; charset=UTF-8"), BodyForm::kJson);
  EXPECT_EQ(FormOf("application/cloudevents+json"), BodyForm::kJson);
  EXPECT_EQ(FormOf("application/x-ndjson"), BodyForm::kNdjson);
  EXPECT_EQ(FormOf("application/jsonl"), BodyForm::kNdjson);
  EXPECT_EQ(FormOf("text/plain"), std::nullopt);
  EXPECT_EQ(FormOf("application/json; charset=latin1"), std::nullopt);
  EXPECT_EQ(FormOf(""), std::nullopt);
  EXPECT_EQ(FormOf("application/+json"), std::nullopt);
  EXPECT_EQ(FormOf("multipart/form-data; boundary=x"), std::nullopt);
}

TEST(ParseBodyTest, OneEnvelope) {
  ParsedBody b = ParseBody(BodyForm::kJson, ContactEvent(1), std::nullopt, {});
  ASSERT_TRUE(b.ok()) << b.problem->ToJson();
  ASSERT_EQ(b.events.size(), 1u);
  EXPECT_EQ(b.events[0].event_id, EventId(1));
  EXPECT_EQ(b.events[0].external_id, "K-1");
}

TEST(ParseBodyTest, ArrayAndNdjsonGiveTheSameEventsInOrder) {
  ParsedBody a = ParseBody(BodyForm::kJson, " \n" + Array(50) + "\n ", std::nullopt, {});
  ParsedBody l = ParseBody(BodyForm::kNdjson, Lines(50), std::nullopt, {});
  ASSERT_TRUE(a.ok()) << a.problem->ToJson();
  ASSERT_TRUE(l.ok()) << l.problem->ToJson();
  ASSERT_EQ(a.events.size(), 50u);
  EXPECT_EQ(a.events, l.events);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.events[i].event_id, EventId(i));
}

TEST(ParseBodyTest, NdjsonSkipsBlankLinesAndCrlf) {
  ParsedBody b = ParseBody(
      BodyForm::kNdjson, "\r\n" + ContactEvent(1) + "\r\n\r\n" + ContactEvent(2), std::nullopt, {});
  ASSERT_TRUE(b.ok()) << b.problem->ToJson();
  EXPECT_EQ(b.events.size(), 2u);
}

TEST(ParseBodyTest, CommasAndBracketsInsideStringsDoNotCut) {
  std::string e = ContactEvent(1);
  e.replace(e.find("\"Ng\""), 4, "\"N,]}[{\\\"g\"");
  ParsedBody b =
      ParseBody(BodyForm::kJson, "[" + e + "," + ContactEvent(2) + "]", std::nullopt, {});
  ASSERT_TRUE(b.ok()) << b.problem->ToJson();
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_THAT(b.events[0].fields_json, HasSubstr("N,]}[{"));
}

TEST(ParseBodyTest, AnyBadEventRefusesTheWholeBatchListingEachIndexAndField) {
  std::string bad_id = ContactEvent(3);
  bad_id.replace(bad_id.find(EventId(3)), EventId(3).size(), "not-a-uuid");
  std::string body =
      "[" + ContactEvent(0) + "," + ContactEvent(1) + ",{\"x\":1}," + bad_id + ",\"text\",  ]";
  // A trailing comma leaves an empty element: also an error of its own index.
  ParsedBody b = ParseBody(BodyForm::kJson, body, std::nullopt, {});
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(b.events.empty());
  EXPECT_EQ(b.problem->status, 400);
  ASSERT_EQ(b.problem->errors.size(), 4u) << b.problem->ToJson();
  EXPECT_EQ(b.problem->errors[0].index, 2u);
  EXPECT_EQ(b.problem->errors[1].index, 3u);
  EXPECT_EQ(b.problem->errors[1].field, "/event_id");
  EXPECT_EQ(b.problem->errors[2].index, 4u);
  EXPECT_EQ(b.problem->errors[3].index, 5u);
  EXPECT_EQ(b.problem->errors[3].code, "not_json");
  EXPECT_THAT(b.problem->ToJson(), HasSubstr("\"index\":3,\"field\":\"/event_id\""));
}

TEST(ParseBodyTest, NdjsonErrorsNameTheLineIndex) {
  std::string body = ContactEvent(0) + "\n{not json\n" + ContactEvent(2) + "\n";
  ParsedBody b = ParseBody(BodyForm::kNdjson, body, std::nullopt, {});
  ASSERT_FALSE(b.ok());
  ASSERT_EQ(b.problem->errors.size(), 1u);
  EXPECT_EQ(b.problem->errors[0].index, 1u);
  EXPECT_EQ(b.problem->errors[0].code, "not_json");
}

TEST(ParseBodyTest, EmptyAndEventlessBodiesAre400) {
  for (const char* body : {"", "   \n", "[]", " [ ] "}) {
    ParsedBody b = ParseBody(BodyForm::kJson, body, std::nullopt, {});
    ASSERT_FALSE(b.ok()) << body;
    EXPECT_EQ(b.problem->status, 400) << body;
  }
  ParsedBody b = ParseBody(BodyForm::kNdjson, "\n\n\n", std::nullopt, {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.problem->status, 400);
}

TEST(ParseBodyTest, BrokenArraysAre400) {
  for (std::string body :
       {"[" + ContactEvent(1), "[" + ContactEvent(1) + "] x", "[" + ContactEvent(1) + "}]",
        std::string("[\"unterminated]"), std::string("{\"a\":")}) {
    ParsedBody b = ParseBody(BodyForm::kJson, body, std::nullopt, {});
    ASSERT_FALSE(b.ok()) << body;
    EXPECT_EQ(b.problem->status, 400) << body;
  }
}

TEST(ParseBodyTest, InvalidUtf8Is400NamingTheByte) {
  std::string body = ContactEvent(1);
  body[body.find("Ng")] = '\xC3';
  ParsedBody b = ParseBody(BodyForm::kJson, body, std::nullopt, {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.problem->status, 400);
  EXPECT_THAT(b.problem->detail, HasSubstr("invalid UTF-8 at byte"));
  for (const char* bad : {"\xff\xfe", "\xed\xa0\x80", "\xc0\xaf", "\xf4\x90\x80\x80"}) {
    ParsedBody c = ParseBody(BodyForm::kNdjson, bad, std::nullopt, {});
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.problem->status, 400);
  }
}

TEST(ParseBodyTest, NestingTenThousandDeepIsRefusedWithoutRecursion) {
  const std::string deep = std::string(10000, '[') + std::string(10000, ']');
  for (BodyForm form : {BodyForm::kJson, BodyForm::kNdjson}) {
    ParsedBody b = ParseBody(form, deep, std::nullopt, {});
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.problem->status, 400);
  }
  const std::string objects = std::string(10000, '{') + std::string(10000, '}');
  ParsedBody o = ParseBody(BodyForm::kJson, objects, std::nullopt, {});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.problem->status, 400);
  // Deep inside an array element: that element's index, code too_deep.
  std::string e = ContactEvent(1);
  e.insert(e.find("{\"LastName\""), std::string(9000, '['));
  ParsedBody a =
      ParseBody(BodyForm::kJson, "[" + ContactEvent(0) + "," + e + "]", std::nullopt, {});
  ASSERT_FALSE(a.ok());
  ASSERT_EQ(a.problem->errors.size(), 1u);
  EXPECT_EQ(a.problem->errors[0].index, 1u);
  EXPECT_EQ(a.problem->errors[0].code, "too_deep");
}

TEST(ParseBodyTest, AHundredThousandTinyEventsAre413BeforeAnyIsParsed) {
  std::string array = "[";
  std::string lines;
  for (int i = 0; i < 100000; ++i) {
    array += i ? ",{}" : "{}";
    lines += "{}\n";
  }
  array += "]";
  for (auto [form, body] : {std::pair{BodyForm::kJson, array}, {BodyForm::kNdjson, lines}}) {
    ParsedBody b = ParseBody(form, body, std::nullopt, {});
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.problem->status, 413);
    EXPECT_EQ(b.problem->slug, "too-many-events");
  }
}

TEST(ParseBodyTest, MaxEventsIsInclusive) {
  BodyLimits limits;
  limits.max_events = 10;
  EXPECT_TRUE(ParseBody(BodyForm::kJson, Array(10), std::nullopt, limits).ok());
  ParsedBody b = ParseBody(BodyForm::kJson, Array(11), std::nullopt, limits);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.problem->status, 413);
  EXPECT_EQ(ParseBody(BodyForm::kNdjson, Lines(11), std::nullopt, limits).problem->status, 413);
}

TEST(ParseBodyTest, AnOversizedEventIs413NamingItsIndex) {
  BodyLimits limits;
  limits.max_event_bytes = 1000;
  std::string big = ContactEvent(1);
  big.replace(big.find("\"Ng\""), 4, "\"" + std::string(2000, 'x') + "\"");
  ParsedBody b =
      ParseBody(BodyForm::kJson, "[" + ContactEvent(0) + "," + big + "]", std::nullopt, limits);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.problem->status, 413);
  ASSERT_EQ(b.problem->errors.size(), 1u);
  EXPECT_EQ(b.problem->errors[0].index, 1u);
  EXPECT_EQ(b.problem->errors[0].code, "too_large");
  // Mixed with an invalid event: a 400 listing both.
  ParsedBody m = ParseBody(BodyForm::kJson, "[{\"a\":1}," + big + "]", std::nullopt, limits);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.problem->status, 400);
  EXPECT_EQ(m.problem->errors.size(), 2u);
}

TEST(ParseBodyTest, IdempotencyKeyMustMatchASingleEvent) {
  EXPECT_TRUE(ParseBody(BodyForm::kJson, ContactEvent(1), EventId(1), {}).ok());
  std::string upper = EventId(1);
  for (char& c : upper) c = static_cast<char>(std::toupper(c));
  EXPECT_TRUE(ParseBody(BodyForm::kJson, ContactEvent(1), upper, {}).ok());
  ParsedBody b = ParseBody(BodyForm::kJson, ContactEvent(1), EventId(2), {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.problem->status, 400);
  ASSERT_EQ(b.problem->errors.size(), 1u);
  EXPECT_EQ(b.problem->errors[0].code, "idempotency_key_mismatch");
  // One-element array: the same rule.
  EXPECT_FALSE(ParseBody(BodyForm::kJson, "[" + ContactEvent(1) + "]", EventId(2), {}).ok());
  // A batch with the header: 400.
  ParsedBody batch = ParseBody(BodyForm::kJson, Array(2), EventId(0), {});
  ASSERT_FALSE(batch.ok());
  EXPECT_EQ(batch.problem->slug, "idempotency-key-on-batch");
}

TEST(ParseBodyTest, DuplicateEventIdsInOneRequestAre400) {
  ParsedBody b = ParseBody(BodyForm::kNdjson,
                           ContactEvent(1) + "\n" + ContactEvent(2) + "\n" + ContactEvent(1),
                           std::nullopt, {});
  ASSERT_FALSE(b.ok());
  ASSERT_EQ(b.problem->errors.size(), 1u);
  EXPECT_EQ(b.problem->errors[0].index, 2u);
  EXPECT_EQ(b.problem->errors[0].code, "duplicate_event_id");
}

TEST(ParseBodyTest, ListsAtMostAHundredErrorsButCountsAll) {
  std::string body;
  for (int i = 0; i < 500; ++i) body += "{}\n";
  ParsedBody b = ParseBody(BodyForm::kNdjson, body, std::nullopt, {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.problem->error_count, 500u);
  const std::string json = b.problem->ToJson();
  EXPECT_THAT(json, HasSubstr("\"error_count\":500"));
  EXPECT_THAT(json, HasSubstr("\"index\":99,"));
  EXPECT_THAT(json, ::testing::Not(HasSubstr("\"index\":100,")));
}

}  // namespace
}  // namespace sluice::gateway

#include "sluice/envelope/dlq.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace sluice::envelope {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;

DlqInfo Sample() {
  DlqInfo info;
  info.error_class = kClassPermanent;
  info.error_code = "REQUIRED_FIELD_MISSING";
  info.error_message = "Required fields are missing: [LastName]";
  info.attempts = 1;
  info.first_attempt_ms = 1795240338123;
  info.last_attempt_ms = 1795240338456;
  info.source_topic = "sf.contact.events";
  info.source_partition = 7;
  info.source_offset = 123456789012;
  info.source_timestamp_ms = 1795240338000;
  info.relay_instance = "relay-0@host-a";
  return info;
}

TEST(DlqHeadersTest, KeepsOriginalHeadersAndAppendsOursInOrder) {
  Headers original = {{"idempotency-key", "abc"}, {"traceparent", "00-1-2-01"}};
  Headers h = MakeDlqHeaders(original, Sample());
  EXPECT_THAT(
      h, ElementsAre(Pair("idempotency-key", "abc"), Pair("traceparent", "00-1-2-01"),
                     Pair(kHeaderErrorClass, "permanent"),
                     Pair(kHeaderErrorCode, "REQUIRED_FIELD_MISSING"),
                     Pair(kHeaderErrorMessage, "Required fields are missing: [LastName]"),
                     Pair(kHeaderAttempts, "1"), Pair(kHeaderFirstAttemptMs, "1795240338123"),
                     Pair(kHeaderLastAttemptMs, "1795240338456"),
                     Pair(kHeaderSourceTopic, "sf.contact.events"),
                     Pair(kHeaderSourcePartition, "7"), Pair(kHeaderSourceOffset, "123456789012"),
                     Pair(kHeaderSourceTimestampMs, "1795240338000"),
                     Pair(kHeaderRelayInstance, "relay-0@host-a")));
}

TEST(DlqHeadersTest, RoundTrips) {
  DlqInfo info = Sample();
  auto parsed = ParseDlqHeaders(MakeDlqHeaders({}, info));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->error_class, info.error_class);
  EXPECT_EQ(parsed->error_code, info.error_code);
  EXPECT_EQ(parsed->error_message, info.error_message);
  EXPECT_EQ(parsed->attempts, info.attempts);
  EXPECT_EQ(parsed->first_attempt_ms, info.first_attempt_ms);
  EXPECT_EQ(parsed->last_attempt_ms, info.last_attempt_ms);
  EXPECT_EQ(parsed->source_topic, info.source_topic);
  EXPECT_EQ(parsed->source_partition, info.source_partition);
  EXPECT_EQ(parsed->source_offset, info.source_offset);
  EXPECT_EQ(parsed->source_timestamp_ms, info.source_timestamp_ms);
  EXPECT_EQ(parsed->relay_instance, info.relay_instance);
  EXPECT_THAT(parsed->warnings, IsEmpty());

  // Defaults (never attempted, unknown numbers) survive too.
  DlqInfo blank;
  blank.error_class = kInvalidEnvelope;
  blank.error_code = "not_json";
  parsed = ParseDlqHeaders(MakeDlqHeaders({}, blank));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->first_attempt_ms, -1);
  EXPECT_EQ(parsed->source_partition, -1);
  EXPECT_THAT(parsed->warnings, IsEmpty());
}

TEST(DlqHeadersTest, ReplacesAnEarlierSetInsteadOfStackingASecond) {
  Headers first = MakeDlqHeaders({{"k", "v"}, {"sluice.replay.count", "1"}}, Sample());
  // A stray header in one of our namespaces goes too.
  first.emplace_back("sluice.error.extra", "old");
  DlqInfo again = Sample();
  again.error_class = kClassRetryExhausted;
  again.attempts = 9;
  Headers second = MakeDlqHeaders(first, again);
  int classes = 0;
  for (const auto& [name, value] : second) {
    if (name == kHeaderErrorClass) ++classes;
    EXPECT_NE(name, "sluice.error.extra");
  }
  EXPECT_EQ(classes, 1);
  EXPECT_EQ(second.size(), 2u + 11u);  // k, sluice.replay.count, ours
  EXPECT_EQ(second[0], (std::pair<std::string, std::string>("k", "v")));
  EXPECT_EQ(second[1].first, "sluice.replay.count");  // not ours: kept
  auto parsed = ParseDlqHeaders(second);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->error_class, kClassRetryExhausted);
  EXPECT_EQ(parsed->attempts, 9);
  EXPECT_THAT(parsed->warnings, IsEmpty());
}

TEST(DlqHeadersTest, LongAndInvalidTextIsCutAtACharacterBoundary) {
  DlqInfo info = Sample();
  std::string euro = "\xE2\x82\xAC";  // 3 bytes
  info.error_message.clear();
  for (int i = 0; i < 2000; ++i) info.error_message += euro;
  info.error_code = std::string("bad\xff\xfe", 5);
  info.source_topic = std::string(10'000, 't');
  Headers h = MakeDlqHeaders({}, info);
  auto parsed = ParseDlqHeaders(h);
  ASSERT_TRUE(parsed.ok());
  EXPECT_LE(parsed->error_message.size(), kMaxDlqMessageBytes);
  EXPECT_GE(parsed->error_message.size(), kMaxDlqMessageBytes - 6);
  EXPECT_EQ(parsed->error_message.substr(parsed->error_message.size() - 3), "...");
  std::string body = parsed->error_message.substr(0, parsed->error_message.size() - 3);
  EXPECT_EQ(body.size() % 3, 0u);  // whole euro signs only
  EXPECT_EQ(parsed->error_code, "bad\xEF\xBF\xBD\xEF\xBF\xBD");
  EXPECT_LE(parsed->source_topic.size(), kMaxDlqFieldBytes);
}

TEST(SanitizeUtf8Test, Cases) {
  EXPECT_EQ(SanitizeUtf8("plain", 100), "plain");
  EXPECT_EQ(SanitizeUtf8("", 10), "");
  EXPECT_EQ(SanitizeUtf8("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(SanitizeUtf8("abcdefghijk", 10), "abcdefg...");
  EXPECT_EQ(SanitizeUtf8("\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", 7), "\xC3\xA9\xC3\xA9...");
  EXPECT_EQ(SanitizeUtf8("a\xC3", 10), "a\xEF\xBF\xBD");  // truncated sequence
  EXPECT_EQ(SanitizeUtf8("\xed\xa0\x80", 20).find("\xed\xa0"), std::string::npos);  // surrogate
  EXPECT_EQ(SanitizeUtf8("\xff\xff\xff\xff", 6), "\xEF\xBF\xBD...");  // grew past the limit
  EXPECT_EQ(SanitizeUtf8("abc", 2), "ab");                            // no room for "..."
}

TEST(ParseDlqHeadersTest, NotADlqRecord) {
  auto r = ParseDlqHeaders({});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("sluice.error.class"));
  r = ParseDlqHeaders({{"content-type", "json"}, {"sluice.attempts", "3"}});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

TEST(ParseDlqHeadersTest, GarbageGivesWarningsNotFailures) {
  Headers h = {
      {kHeaderErrorClass, "weird"},
      {kHeaderAttempts, "three"},
      {kHeaderFirstAttemptMs, "99999999999999999999999"},
      {kHeaderLastAttemptMs, ""},
      {kHeaderSourcePartition, "4294967296"},  // beyond int32
      {kHeaderSourceOffset, "12abc"},
      {kHeaderSourceOffset, "-5"},  // repeated: last wins
      {kHeaderSourceTimestampMs, " 17"},
      {kHeaderRelayInstance, std::string("r\0\x1b[2J", 6)},
      {"sluice.error.bogus", "x"},
  };
  auto r = ParseDlqHeaders(h);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->error_class, "weird");
  EXPECT_EQ(r->attempts, 0);
  EXPECT_EQ(r->first_attempt_ms, -1);
  EXPECT_EQ(r->last_attempt_ms, -1);
  EXPECT_EQ(r->source_partition, -1);
  EXPECT_EQ(r->source_offset, -5);
  EXPECT_EQ(r->source_timestamp_ms, -1);
  EXPECT_EQ(r->relay_instance.size(), 6u);
  std::string all;
  for (const auto& w : r->warnings) all += w + "\n";
  for (const char* expected :
       {"sluice.error.code: missing", "sluice.error.message: missing",
        "sluice.source.topic: missing", "sluice.attempts: \"three\" is not an integer",
        "sluice.last.attempt.ms: \"\" is not", "sluice.source.partition: \"4294967296\" is not",
        "sluice.source.offset: appears 2 times", "sluice.source.timestamp.ms: \" 17\" is not",
        "unknown class \"weird\"", "sluice.error.bogus: unknown sluice header"}) {
    EXPECT_THAT(all, HasSubstr(expected));
  }
  // Hostile bytes never reach a warning raw.
  for (const auto& w : r->warnings) EXPECT_EQ(w.find('\x1b'), std::string::npos) << w;
}

TEST(ParseDlqHeadersTest, RandomHeadersNeverCrash) {
  uint32_t x = 99;
  auto next = [&] {
    x = x * 1103515245 + 12345;
    return x >> 16;
  };
  const char* names[] = {kHeaderErrorClass,   kHeaderAttempts,   kHeaderSourceOffset,
                         kHeaderErrorMessage, "sluice.source.x", "other"};
  for (int round = 0; round < 500; ++round) {
    Headers h;
    int n = static_cast<int>(next() % 20);
    for (int i = 0; i < n; ++i) {
      std::string value;
      int len = static_cast<int>(next() % 40);
      for (int k = 0; k < len; ++k) value.push_back(static_cast<char>(next()));
      h.emplace_back(names[next() % 6], value);
    }
    auto r = ParseDlqHeaders(h);
    if (r.ok()) {
      for (const auto& w : r->warnings) EXPECT_FALSE(w.empty());
      Headers again = MakeDlqHeaders(h, *r);  // and writing it back never crashes either
      EXPECT_TRUE(ParseDlqHeaders(again).ok());
    }
  }
}

}  // namespace
}  // namespace sluice::envelope

// Inspect: reading DLQ records as the relay writes them, and hostile ones, without crashing.
#include "sluice/dlq/record.h"

#include <gtest/gtest.h>

#include <string>

#include "test_records.h"

namespace sluice::dlq {
namespace {

using testing::DlqSpec;
using testing::MakeDlqMessage;

bool HasWarning(const DlqRecord& r, const std::string& needle) {
  for (const auto& w : r.warnings) {
    if (w.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(InspectTest, ReadsWhatTheRelayWrites) {
  DlqSpec spec;
  spec.partition = 3;
  spec.offset = 41;
  DlqRecord r = Inspect(MakeDlqMessage(spec));
  EXPECT_TRUE(r.is_dlq);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  EXPECT_EQ(r.info.error_class, "permanent");
  EXPECT_EQ(r.info.error_code, "REQUIRED_FIELD_MISSING");
  EXPECT_EQ(r.info.source_topic, "sf.contact.events");
  EXPECT_EQ(r.info.source_partition, 2);
  EXPECT_EQ(r.sobject, "Contact");
  EXPECT_EQ(r.event_id, "0b7e2c6a-1f1e-4c5a-9d7e-3f2a1b0c9d8e");
  EXPECT_EQ(r.failed_at_ms, spec.last_attempt_ms);
  EXPECT_EQ(r.replay_count, 0);
  EXPECT_TRUE(r.replay_count_valid);
  ASSERT_TRUE(r.key.has_value());
  EXPECT_EQ(*r.key, "K-1");
  EXPECT_EQ(r.Location(), "sf.contact.events.dlq/3/41");
}

TEST(InspectTest, NeverAttemptedRecordsFailAtTheirTimestamp) {
  DlqSpec spec;
  spec.error_class = "invalid_envelope";
  spec.last_attempt_ms = -1;
  kafka::Message m = MakeDlqMessage(spec);
  m.timestamp_ms = 1763700000123;
  EXPECT_EQ(Inspect(m).failed_at_ms, 1763700000123);
}

TEST(InspectTest, ReadsTheReplayCount) {
  DlqSpec spec;
  spec.replay_count = 2;
  DlqRecord r = Inspect(MakeDlqMessage(spec));
  EXPECT_EQ(r.replay_count, 2);
  EXPECT_TRUE(r.replay_count_valid);
}

TEST(InspectTest, GarbageReplayCountIsFlaggedNotTrusted) {
  for (const std::string bad : {"", "-1", "abc", "3 ", "+3", "99999999999999999999", "1e3"}) {
    kafka::Message m = MakeDlqMessage({});
    m.headers.emplace_back("sluice.replay.count", bad);
    DlqRecord r = Inspect(m);
    EXPECT_FALSE(r.replay_count_valid) << "'" << bad << "'";
    EXPECT_TRUE(HasWarning(r, "sluice.replay.count")) << bad;
  }
}

TEST(InspectTest, RepeatedReplayCountTakesTheLargest) {
  kafka::Message m = MakeDlqMessage({});
  m.headers.emplace_back("sluice.replay.count", "1");
  m.headers.emplace_back("sluice.replay.count", "4");
  m.headers.emplace_back("sluice.replay.count", "2");
  DlqRecord r = Inspect(m);
  EXPECT_EQ(r.replay_count, 4);
  EXPECT_TRUE(HasWarning(r, "appears 3 times"));
}

TEST(InspectTest, RecordWithoutSluiceHeadersIsListedWithAWarning) {
  kafka::Message m;
  m.topic = "t.dlq";
  m.partition = 0;
  m.offset = 7;
  m.key = "k";
  m.value = "hello";
  DlqRecord r = Inspect(m);
  EXPECT_FALSE(r.is_dlq);
  EXPECT_TRUE(HasWarning(r, "not a sluice DLQ record"));
  EXPECT_EQ(r.sobject, "");
}

TEST(InspectTest, MissingAndGarbageHeadersBecomeWarnings) {
  kafka::Message m;
  m.topic = "t.dlq";
  m.headers = {{"sluice.error.class", "permanent"},
               {"sluice.attempts", "lots"},
               {"sluice.source.partition", "\x1b[31mred"},
               {"sluice.last.attempt.ms", "99999999999999999999999"}};
  DlqRecord r = Inspect(m);
  EXPECT_TRUE(r.is_dlq);
  EXPECT_FALSE(r.warnings.empty());
  EXPECT_EQ(r.info.attempts, 0);
  EXPECT_EQ(r.info.source_partition, -1);
  for (const auto& w : r.warnings) EXPECT_EQ(w.find('\x1b'), std::string::npos) << w;
}

TEST(InspectTest, NullKeyAndValue) {
  kafka::Message m = MakeDlqMessage({});
  m.key_is_null = true;
  m.key.clear();
  m.value_is_null = true;
  m.value.clear();
  DlqRecord r = Inspect(m);
  EXPECT_FALSE(r.key.has_value());
  EXPECT_FALSE(r.value.has_value());
  EXPECT_EQ(r.sobject, "");
}

TEST(InspectTest, ValueOmittedByTheRelay) {
  kafka::Message m = MakeDlqMessage({});
  m.value_is_null = true;
  m.value.clear();
  m.headers.emplace_back("sluice.value.omitted", "the original value (2000000 bytes) is too large");
  DlqRecord r = Inspect(m);
  EXPECT_TRUE(r.value_omitted);
  EXPECT_TRUE(HasWarning(r, "left the value out"));
}

TEST(InspectTest, HostileValuesDoNotCrash) {
  std::vector<std::string> values = {
      std::string(200000, '['),                              // deep nesting
      "{\"sobject\":" + std::string(100000, '{'),            // nested and truncated
      "{\"sobject\":\"Con\xff\xfetact\",\"event_id\":7}",    // invalid UTF-8, wrong type
      std::string("{\"sobject\":\"A\0B\"}", 15),             // NUL inside
      std::string(5 * 1024 * 1024, 'x'),                     // oversized
      "{\"sobject\":\"" + std::string(100000, 'S') + "\"}",  // oversized field
  };
  for (const auto& v : values) {
    kafka::Message m = MakeDlqMessage({});
    m.value = v;
    DlqRecord r = Inspect(m);
    EXPECT_LE(r.sobject.size(), 300u);
    EXPECT_TRUE(r.is_dlq);
  }
  kafka::Message m = MakeDlqMessage({});
  m.value = "{\"sobject\":\"Con\xff\xfetact\"}";
  EXPECT_EQ(Inspect(m).sobject, "Con\xEF\xBF\xBD\xEF\xBF\xBDtact");  // U+FFFD each
}

TEST(InspectTest, BinaryHeaderNamesAndValues) {
  kafka::Message m = MakeDlqMessage({});
  m.headers.emplace_back(std::string("\x00\xff", 2), std::string("\x00\x01\x02", 3));
  m.headers.emplace_back("sluice.error.bogus", "x");
  DlqRecord r = Inspect(m);
  EXPECT_TRUE(r.is_dlq);
  EXPECT_TRUE(HasWarning(r, "sluice.error.bogus"));
}

}  // namespace
}  // namespace sluice::dlq

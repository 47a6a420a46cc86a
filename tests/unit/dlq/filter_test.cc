// Filters, time bounds and the per-filter progress group.
#include "sluice/dlq/filter.h"

#include <gtest/gtest.h>

#include <set>

#include "test_records.h"

namespace sluice::dlq {
namespace {

using testing::DlqSpec;
using testing::MakeDlqMessage;

DlqRecord Rec(DlqSpec spec = {}) { return Inspect(MakeDlqMessage(spec)); }

TEST(FilterTest, EmptyFilterMatchesEverythingEvenMalformed) {
  Filter f;
  EXPECT_TRUE(f.Empty());
  EXPECT_TRUE(f.Matches(Rec()));
  kafka::Message garbage;
  garbage.value = "\xff";
  EXPECT_TRUE(f.Matches(Inspect(garbage)));
  EXPECT_EQ(f.Normalized(), "");
}

TEST(FilterTest, EachFieldNarrows) {
  DlqSpec lock;
  lock.error_class = "retry_exhausted";
  lock.error_code = "UNABLE_TO_LOCK_ROW";
  lock.key = "K-2";
  lock.sobject = "Account";
  lock.source_topic = "sf.account.events";

  Filter f;
  f.error_classes = {"retry_exhausted"};
  EXPECT_TRUE(f.Matches(Rec(lock)));
  EXPECT_FALSE(f.Matches(Rec()));

  f = {};
  f.error_codes = {"REQUIRED_FIELD_MISSING", "UNABLE_TO_LOCK_ROW"};  // ORed
  EXPECT_TRUE(f.Matches(Rec(lock)));
  EXPECT_TRUE(f.Matches(Rec()));

  f = {};
  f.keys = {"K-2"};
  EXPECT_TRUE(f.Matches(Rec(lock)));
  EXPECT_FALSE(f.Matches(Rec()));

  f = {};
  f.sobjects = {"account"};  // case-insensitive
  EXPECT_TRUE(f.Matches(Rec(lock)));
  EXPECT_FALSE(f.Matches(Rec()));

  f = {};
  f.source_topics = {"sf.account.events"};
  EXPECT_TRUE(f.Matches(Rec(lock)));
  EXPECT_FALSE(f.Matches(Rec()));

  f = {};
  f.error_classes = {"retry_exhausted"};  // ANDed across fields
  f.keys = {"K-1"};
  EXPECT_FALSE(f.Matches(Rec(lock)));
}

TEST(FilterTest, TimeBoundsAreHalfOpen) {
  DlqSpec spec;
  spec.last_attempt_ms = 1000;
  Filter f;
  f.since_ms = 1000;
  f.until_ms = 2000;
  EXPECT_TRUE(f.Matches(Rec(spec)));
  spec.last_attempt_ms = 2000;
  EXPECT_FALSE(f.Matches(Rec(spec)));
  spec.last_attempt_ms = 999;
  EXPECT_FALSE(f.Matches(Rec(spec)));
}

TEST(FilterTest, NullKeyNeverMatchesAKeyFilter) {
  kafka::Message m = MakeDlqMessage({});
  m.key_is_null = true;
  m.key.clear();
  Filter f;
  f.keys = {""};
  EXPECT_FALSE(f.Matches(Inspect(m)));
}

TEST(FilterTest, ClassFilterDoesNotMatchRecordsWithoutSluiceHeaders) {
  kafka::Message m;
  m.headers = {{"sluice.error.code", "X"}};
  Filter f;
  f.error_codes = {"X"};
  EXPECT_FALSE(f.Matches(Inspect(m)));
}

TEST(FilterTest, NormalizedIgnoresOrderAndDuplicates) {
  Filter a, b;
  a.error_codes = {"B", "A", "A"};
  a.sobjects = {"Contact"};
  b.error_codes = {"A", "B"};
  b.sobjects = {"contact"};
  EXPECT_EQ(a.Normalized(), b.Normalized());
  EXPECT_EQ(a.Normalized(), "code=A,B;sobject=contact");
}

TEST(FilterTest, NormalizedEscapesSeparators) {
  Filter a, b;
  a.keys = {"x,y"};
  b.keys = {"x", "y"};
  EXPECT_NE(a.Normalized(), b.Normalized());
  Filter c, d;
  c.keys = {"a;code=B"};
  d.keys = {"a"};
  d.error_codes = {"B"};
  EXPECT_NE(c.Normalized(), d.Normalized());
}

TEST(ReplayGroupIdTest, StablePerFilterAndDistinctAcrossFilters) {
  Filter a;
  a.error_codes = {"UNABLE_TO_LOCK_ROW"};
  Filter b;
  b.error_codes = {"REQUIRED_FIELD_MISSING"};
  const std::string ga = ReplayGroupId("t.dlq", "", a);
  EXPECT_EQ(ga, ReplayGroupId("t.dlq", "", a));
  std::set<std::string> groups = {ga, ReplayGroupId("t.dlq", "", b), ReplayGroupId("t.dlq", "", {}),
                                  ReplayGroupId("u.dlq", "", a),
                                  ReplayGroupId("t.dlq", "other", a)};
  EXPECT_EQ(groups.size(), 5u);
  EXPECT_EQ(ga.rfind("sluice-dlq-replay.", 0), 0u);
  EXPECT_NE(ga.find(".t.dlq"), std::string::npos);
}

TEST(ReplayGroupIdTest, LongTopicKeepsTheHash) {
  const std::string topic(249, 't');
  Filter a, b;
  a.keys = {"1"};
  b.keys = {"2"};
  const std::string ga = ReplayGroupId(topic, "", a);
  EXPECT_LE(ga.size(), 249u);
  EXPECT_NE(ga, ReplayGroupId(topic, "", b));
}

TEST(ParseTimeBoundTest, Forms) {
  const int64_t now = 1763700000000;
  EXPECT_EQ(*ParseTimeBound("2025-11-21T04:40:00Z", now), 1763700000000);
  EXPECT_EQ(*ParseTimeBound("2025-11-21T04:40:00.250Z", now), 1763700000250);
  EXPECT_EQ(*ParseTimeBound("2025-11-21T05:40:00+01:00", now), 1763700000000);
  EXPECT_EQ(*ParseTimeBound("2025-11-21T03:40:00.5-01:00", now), 1763700000500);
  EXPECT_EQ(*ParseTimeBound("1970-01-02", now), 86400000);
  EXPECT_EQ(*ParseTimeBound("1763700000000", now), 1763700000000);
  EXPECT_EQ(*ParseTimeBound("2h", now), now - 7200000);
  EXPECT_EQ(*ParseTimeBound("90m", now), now - 5400000);
}

TEST(ParseTimeBoundTest, RejectsMalformed) {
  for (const char* bad :
       {"", "yesterday", "2025-13-01", "2025-02-30", "2025-11-21T25:00:00Z", "2025-11-21T04:40:00",
        "2025-11-21T04:40Z", "2025-11-21T04:40:00Zjunk", "2025-11-21T04:40:00.Z",
        "2025-11-21T04:40:00+1:00", "-5m", "9999999999999999999999", "2h30", "\x1b[2J"}) {
    EXPECT_FALSE(ParseTimeBound(bad, 0).ok()) << bad;
  }
}

}  // namespace
}  // namespace sluice::dlq

#include "sluice/idempotency/retention.h"

#include <thread>

#include "sluice/testing/simulated_clock.h"
#include "test_util.h"

namespace sluice::idempotency {
namespace {

using test::FakeStore;
using test::TempDir;

constexpr auto kTimeout = std::chrono::seconds(10);

TEST(RetentionPurgerTest, PurgesAtStartAndEveryIntervalOnTheClock) {
  FakeStore store;
  testing::SimulatedClock clock;
  RetentionOptions o;
  o.retention = std::chrono::hours(24 * 7);
  o.interval = std::chrono::minutes(1);
  o.poll = std::chrono::milliseconds(5);
  o.clock = &clock;
  store.SetPurge(Status::Ok(), 3);
  auto purger = RetentionPurger::Start(&store, o);
  ASSERT_TRUE(purger.ok()) << purger.status();
  ASSERT_TRUE((*purger)->WaitForRuns(1, kTimeout));
  const int64_t week_ms = 7LL * 24 * 3600 * 1000;
  EXPECT_EQ(store.cutoffs().at(0), clock.WallMillis() - week_ms);
  // Not due yet: a minute of simulated time has not passed (no assertion on real time here:
  // the purge count can only grow when the clock is advanced or the purger kicked).
  clock.Advance(std::chrono::seconds(59));
  EXPECT_EQ(store.cutoffs().size(), 1u);
  clock.Advance(std::chrono::seconds(1));
  ASSERT_TRUE((*purger)->WaitForRuns(2, kTimeout));
  EXPECT_EQ(store.cutoffs().at(1), clock.WallMillis() - week_ms);
  (*purger)->Kick();
  ASSERT_TRUE((*purger)->WaitForRuns(3, kTimeout));
  EXPECT_EQ((*purger)->purged_rows(), 9u);
  EXPECT_EQ((*purger)->failures(), 0u);
}

TEST(RetentionPurgerTest, FailuresAreCountedAndRetried) {
  FakeStore store;
  testing::SimulatedClock clock;
  RetentionOptions o;
  o.clock = &clock;
  o.poll = std::chrono::milliseconds(5);
  store.SetPurge(UnavailableError("database is locked"), 0);
  auto purger = RetentionPurger::Start(&store, o);
  ASSERT_TRUE(purger.ok());
  ASSERT_TRUE((*purger)->WaitForRuns(1, kTimeout));
  EXPECT_EQ((*purger)->failures(), 1u);
  EXPECT_EQ((*purger)->last_status().code(), StatusCode::kUnavailable);
  store.SetPurge(Status::Ok(), 5);
  clock.Advance(o.interval);
  ASSERT_TRUE((*purger)->WaitForRuns(2, kTimeout));
  EXPECT_TRUE((*purger)->last_status().ok());
  EXPECT_EQ((*purger)->purged_rows(), 5u);
}

TEST(RetentionPurgerTest, StopsPromptlyWithALongIntervalOnTheRealClock) {
  FakeStore store;
  RetentionOptions o;
  o.interval = std::chrono::hours(1);
  o.poll = std::chrono::hours(1);
  auto purger = RetentionPurger::Start(&store, o);
  ASSERT_TRUE(purger.ok());
  ASSERT_TRUE((*purger)->WaitForRuns(1, kTimeout));
  (*purger)->Stop();  // wakes the thread: does not wait for the hour
  EXPECT_EQ((*purger)->runs(), 1u);
  (*purger)->Stop();
}

TEST(RetentionPurgerTest, RejectsBadOptions) {
  FakeStore store;
  EXPECT_EQ(RetentionPurger::Start(nullptr).status().code(), StatusCode::kInvalidArgument);
  RetentionOptions o;
  o.retention = std::chrono::milliseconds(0);
  EXPECT_EQ(RetentionPurger::Start(&store, o).status().code(), StatusCode::kInvalidArgument);
  o = {};
  o.interval = std::chrono::milliseconds(-1);
  EXPECT_EQ(RetentionPurger::Start(&store, o).status().code(), StatusCode::kInvalidArgument);
}

TEST(RetentionPurgerTest, ForgetsOnlyExpiredResolutionsOfARealStore) {
  TempDir dir;
  testing::SimulatedClock clock;
  SqliteStoreOptions so;
  so.path = dir.File("retention.db");
  so.clock = &clock;
  so.purge_chunk_rows = 10;
  auto store = OpenSqliteStore(so);
  ASSERT_TRUE(store.ok()) << store.status();
  const int64_t now = clock.WallMillis();
  const int64_t day = 24LL * 3600 * 1000;
  std::vector<Entry> entries;
  std::vector<std::string> ids;
  for (int i = 0; i < 95; ++i) {
    // Ages from 0 to 9.4 days.
    ids.push_back("e" + std::to_string(i));
    entries.push_back(Entry{ids.back(), Outcome::kDelivered, "", now - i * day / 10});
  }
  ASSERT_TRUE((*store)->RecordBatch(entries).ok());
  RetentionOptions o;
  o.clock = &clock;
  o.poll = std::chrono::milliseconds(5);
  auto purger = RetentionPurger::Start(store->get(), o);
  ASSERT_TRUE(purger.ok());
  ASSERT_TRUE((*purger)->WaitForRuns(1, kTimeout));
  auto got = (*store)->CheckBatch(ids);
  ASSERT_TRUE(got.ok());
  for (int i = 0; i < 95; ++i) {
    // Kept when recorded at most 7 days ago (i <= 70), forgotten when older.
    EXPECT_EQ((*got)[i].has_value(), i <= 70) << i;
  }
  EXPECT_EQ((*purger)->purged_rows(), 24u);
  // A day later, one more day's worth expires.
  clock.Advance(std::chrono::hours(24));
  ASSERT_TRUE((*purger)->WaitForRuns(2, kTimeout));
  got = (*store)->CheckBatch(ids);
  ASSERT_TRUE(got.ok());
  for (int i = 0; i < 95; ++i) EXPECT_EQ((*got)[i].has_value(), i <= 60) << i;
}

}  // namespace
}  // namespace sluice::idempotency

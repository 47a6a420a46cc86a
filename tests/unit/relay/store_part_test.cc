// The relay's real store part with the changelog off (its changelog half runs against a real broker
// in tests/integration/relay/changelog_test.cc): one SQLite store ("slot") per source partition,
// resolutions stamped with wall-clock time, callbacks in Record order across slots, and the
// single file of an older relay kept as a read-only fallback.
#include "store_part.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <mutex>

#include "sluice/testing/simulated_clock.h"
#include "store_slot.h"

namespace sluice::relay {
namespace {

namespace fs = std::filesystem;

class StorePartTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("store-part-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    options_.idempotency.store.path = (dir_ / "relay.db").string();
    options_.changelog.enabled = false;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<ResolutionStore> Open() {
    auto store = OpenStorePart(options_, clock_, std::make_shared<metrics::Registry>());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  static StoreEntry Entry(const std::string& id, int32_t partition,
                          const std::string& topic = "t") {
    StoreEntry e;
    e.entry.event_id = id;
    e.entry.salesforce_id = "003000000000001AAA";
    e.source = {topic, partition};
    return e;
  }

  static Status RecordNow(ResolutionStore& store, std::vector<StoreEntry> entries) {
    std::promise<Status> done;
    store.Record(std::move(entries), [&done](const Status& s) { done.set_value(s); });
    return done.get_future().get();
  }

  static bool Seen(ResolutionStore& store, const std::string& id, int32_t partition) {
    auto found = store.CheckBatch({id}, {{"t", partition}});
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    return found.ok() && (*found)[0].has_value();
  }

  fs::path Slot(int32_t partition) const {
    return fs::path(options_.idempotency.store.path + ".d") /
           ("t-" + std::to_string(partition) + ".db");
  }

  fs::path dir_;
  // Wall time now, so that the retention purger (on the real clock) keeps the entries.
  testing::SimulatedClock clock_{RealClock().WallMillis()};
  RelayOptions options_;
};

TEST_F(StorePartTest, ResolutionsCarryWallClockTimeNotTheMonotonicClock) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(RecordNow(*store, {Entry("e-1", 0)}).ok());
  auto found = store->CheckBatch({"e-1"}, {{"t", 0}});
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE((*found)[0].has_value());
  EXPECT_EQ((*found)[0]->recorded_ms, clock_.WallMillis());
  EXPECT_EQ((*found)[0]->salesforce_id, "003000000000001AAA");
  store->Close();
}

TEST_F(StorePartTest, EachSourcePartitionHasItsOwnFileAndLookupsArePerPartition) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Restore({{"t", 0}, {"t", 1}}).ok());
  EXPECT_TRUE(fs::exists(Slot(0)));
  EXPECT_TRUE(fs::exists(Slot(1)));
  ASSERT_TRUE(RecordNow(*store, {Entry("a", 0), Entry("b", 1)}).ok());
  EXPECT_TRUE(Seen(*store, "a", 0));
  EXPECT_FALSE(Seen(*store, "a", 1)) << "an id is found only in the partition it was recorded for";
  EXPECT_TRUE(Seen(*store, "b", 1));
  EXPECT_FALSE(Seen(*store, "b", 0));
  // One batch spanning partitions answers each id from its own partition, in order.
  auto mixed = store->CheckBatch({"b", "a", "a", "b"}, {{"t", 1}, {"t", 1}, {"t", 0}, {"t", 0}});
  ASSERT_TRUE(mixed.ok());
  EXPECT_TRUE((*mixed)[0].has_value());
  EXPECT_FALSE((*mixed)[1].has_value());
  EXPECT_TRUE((*mixed)[2].has_value());
  EXPECT_FALSE((*mixed)[3].has_value());
  EXPECT_EQ(store->CheckBatch({"a"}, {}).status().code(), StatusCode::kInvalidArgument);
  store->Close();
}

TEST_F(StorePartTest, OnePartitionsFileCanBeDroppedWithoutTouchingTheOthers) {
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Restore({{"t", 0}, {"t", 1}}).ok());
    ASSERT_TRUE(RecordNow(*store, {Entry("a", 0), Entry("b", 1)}).ok());
    store->Released({{"t", 0}, {"t", 1}});  // closes both slots; the files stay
    EXPECT_TRUE(fs::exists(Slot(0)));
    store->Close();
  }
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(Slot(0).string() + suffix);
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Restore({{"t", 0}, {"t", 1}}).ok());
  EXPECT_FALSE(Seen(*store, "a", 0)) << "partition 0's state was dropped";
  EXPECT_TRUE(Seen(*store, "b", 1)) << "partition 1's state was kept";
  store->Close();
}

TEST_F(StorePartTest, CallbacksCompleteInRecordOrderAcrossSlots) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Restore({{"t", 0}, {"t", 1}}).ok());
  // A large record on partition 0, then small ones on partition 1: partition 1's committer is done
  // long before partition 0's, but the callbacks still come in Record order.
  std::mutex mu;
  std::vector<int> order;
  std::vector<std::future<void>> all;
  for (int r = 0; r < 6; ++r) {
    std::vector<StoreEntry> entries;
    const int n = r % 3 == 0 ? 30'000 : 1;
    for (int i = 0; i < n; ++i) {
      entries.push_back(Entry(fmt::format("r{}-{}", r, i), r % 3 == 0 ? 0 : 1));
    }
    auto done = std::make_shared<std::promise<void>>();
    all.push_back(done->get_future());
    store->Record(std::move(entries), [&mu, &order, r, done](const Status& s) {
      EXPECT_TRUE(s.ok()) << s.ToString();
      {
        std::lock_guard<std::mutex> lock(mu);
        order.push_back(r);
      }
      done->set_value();
    });
  }
  for (auto& f : all) f.get();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  store->Close();
}

TEST_F(StorePartTest, ALateRecordAfterARevokeOpensThePartitionsSlotAgain) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Restore({{"t", 3}}).ok());
  store->Released({{"t", 3}});
  ASSERT_TRUE(RecordNow(*store, {Entry("late", 3)}).ok());
  EXPECT_TRUE(Seen(*store, "late", 3));
  // The next rebalance closes it again (it is neither owned nor followed); the file keeps it.
  ASSERT_TRUE(store->Restore({{"t", 4}}).ok());
  EXPECT_TRUE(Seen(*store, "late", 3));
  store->Close();
  EXPECT_FALSE(RecordNow(*store, {Entry("closed", 3)}).ok()) << "later Records fail";
}

TEST_F(StorePartTest, AnEntryWithNoValidPartitionFailsItsRecordAlone) {
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(RecordNow(*store, {Entry("x", 0, "bad/../name")}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RecordNow(*store, {Entry("x", -1)}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(RecordNow(*store, {Entry("y", 0)}).ok());
  EXPECT_FALSE(fs::exists(dir_ / "name")) << "a hostile topic name writes nothing outside";
  store->Close();
}

TEST_F(StorePartTest, TheSingleFileOfAnOlderRelayIsAReadOnlyFallbackWithTheChangelogOff) {
  {
    auto legacy = idempotency::OpenSqliteStore(options_.idempotency.store);
    ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
    idempotency::Entry old;
    old.event_id = "old-1";
    old.recorded_ms = clock_.WallMillis();
    ASSERT_TRUE((*legacy)->RecordBatch(std::vector<idempotency::Entry>{old}).ok());
  }
  {
    auto store = Open();
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->Restore({{"t", 0}}).ok());
    EXPECT_TRUE(Seen(*store, "old-1", 0)) << "what the older relay delivered is still skipped";
    EXPECT_TRUE(Seen(*store, "old-1", 5));
    ASSERT_TRUE(RecordNow(*store, {Entry("new-1", 0)}).ok());
    EXPECT_TRUE(Seen(*store, "new-1", 0));
    store->Close();
  }
  EXPECT_TRUE(fs::is_regular_file(options_.idempotency.store.path)) << "the old file is kept";
  auto legacy = idempotency::OpenSqliteStore(options_.idempotency.store);
  ASSERT_TRUE(legacy.ok());
  auto found = (*legacy)->CheckBatch(std::vector<std::string>{"old-1", "new-1"});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE((*found)[0].has_value());
  EXPECT_FALSE((*found)[1].has_value()) << "nothing new is written to the old file";
}

TEST(StoreSlotTest, MemoryIsSharedAmongOpenSlotsWithFloors) {
  idempotency::SqliteStoreOptions configured;
  configured.max_staged_rows = 500'000;
  configured.cache_size_kib = 16 * 1024;
  configured.bloom_max_bytes = 64LL << 20;
  auto one = SlotShare(configured, 0);
  EXPECT_EQ(one.max_staged_rows, 500'000);
  auto sixteen = SlotShare(configured, 16);
  EXPECT_EQ(sixteen.max_staged_rows, 31'250);
  EXPECT_EQ(sixteen.cache_size_kib, 1024);
  EXPECT_EQ(SlotShare(configured, 64).cache_size_kib, 256);
  EXPECT_EQ(sixteen.bloom_max_bytes, 4LL << 20);
  auto many = SlotShare(configured, 1000);
  EXPECT_EQ(many.max_staged_rows, 10'000);
  EXPECT_EQ(many.cache_size_kib, 256);
  EXPECT_EQ(many.bloom_max_bytes, 1LL << 20);
  configured.max_staged_rows = 2'000;  // below the floor: kept as configured
  EXPECT_EQ(SlotShare(configured, 8).max_staged_rows, 2'000);
}

TEST(StoreSlotTest, SlotPathsAreUnderTheBaseAndRejectHostileNames) {
  EXPECT_EQ(*SlotPath("/s/relay.db", {"sf.contact_events-1", 7}),
            "/s/relay.db.d/sf.contact_events-1-7.db");
  EXPECT_FALSE(SlotPath("/s/relay.db", {"../x", 0}).ok());
  EXPECT_FALSE(SlotPath("/s/relay.db", {"..", 0}).ok());
  EXPECT_FALSE(SlotPath("/s/relay.db", {"", 0}).ok());
  EXPECT_FALSE(SlotPath("/s/relay.db", {"t", -1}).ok());
  EXPECT_FALSE(SlotPath("/s/relay.db", {std::string("a\0b", 3), 0}).ok());
}

}  // namespace
}  // namespace sluice::relay

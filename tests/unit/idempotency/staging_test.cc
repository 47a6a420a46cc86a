// The SQLite store's two levels: the staging table with its memory index, the merge into the main
// table, the Bloom filter, retention across both levels, the migration from schema version 1.
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sluice/idempotency/store.h"
#include "sluice/testing/simulated_clock.h"
#include "test_util.h"

namespace sluice::idempotency {
namespace {

using test::DeadLettered;
using test::Delivered;
using test::RandomUuid;
using test::RawDb;
using test::TempDir;

class StagingTest : public ::testing::Test {
 protected:
  SqliteStoreOptions Options() {
    SqliteStoreOptions o;
    o.path = dir_.File("idem.db");
    o.clock = &clock_;
    return o;
  }
  std::unique_ptr<IdempotencyStore> Open(const SqliteStoreOptions& o) {
    auto store = OpenSqliteStore(o);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  int64_t Count(const std::string& table) {
    RawDb raw(Options().path);
    return raw.QueryInt("SELECT count(*) FROM " + table);
  }
  // `n` entries for new random UUIDs, Salesforce id "sf-<id>", appended to `ids`.
  std::vector<Entry> NewEntries(int n, std::vector<std::string>* ids) {
    std::vector<Entry> entries;
    for (int i = 0; i < n; ++i) {
      ids->push_back(RandomUuid(rng_));
      entries.push_back(Delivered(ids->back(), "sf-" + ids->back().substr(0, 8)));
    }
    return entries;
  }
  // Every id is present with the Salesforce id NewEntries gave it.
  void ExpectAllPresent(IdempotencyStore& store, const std::vector<std::string>& ids) {
    auto got = store.CheckBatch(ids);
    ASSERT_TRUE(got.ok()) << got.status();
    for (size_t i = 0; i < ids.size(); ++i) {
      ASSERT_TRUE((*got)[i].has_value()) << ids[i];
      EXPECT_EQ((*got)[i]->salesforce_id, "sf-" + ids[i].substr(0, 8));
    }
  }

  TempDir dir_;
  testing::SimulatedClock clock_{1767225600000};  // a whole minute
  std::mt19937_64 rng_{42};
};

TEST_F(StagingTest, StagedRowsSurviveReopenAndCloseMergesThem) {
  SqliteStoreOptions o = Options();
  o.merge_on_close = false;
  std::vector<std::string> ids;
  {
    auto store = Open(o);
    ASSERT_TRUE(store->RecordBatch(NewEntries(300, &ids)).ok());
    ASSERT_TRUE(
        store->RecordBatch(std::vector<Entry>{Delivered("text-id", "sf-text-id", 77)}).ok());
    EXPECT_EQ(store->stats().staged, 301u);
    EXPECT_EQ(store->stats().merges, 0u);
  }
  EXPECT_EQ(Count("staging"), 301);
  EXPECT_EQ(Count("resolutions"), 0);
  {
    auto store = Open(o);  // reloads the staging table
    EXPECT_EQ(store->stats().staged, 301u);
    ExpectAllPresent(*store, ids);
    auto got = store->CheckBatch(std::vector<std::string>{"text-id", "unknown"});
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE((*got)[0].has_value());
    EXPECT_EQ((*got)[0]->salesforce_id, "sf-text-id");
    EXPECT_EQ((*got)[0]->recorded_ms, 77);
    EXPECT_FALSE((*got)[1].has_value());
  }
  {
    auto store = Open(Options());  // merge_on_close (the default)
    ASSERT_NE(store, nullptr);
  }
  EXPECT_EQ(Count("staging"), 0);
  EXPECT_EQ(Count("resolutions"), 301);
  auto store = Open(Options());
  EXPECT_EQ(store->stats().staged, 0u);
  ExpectAllPresent(*store, ids);
}

TEST_F(StagingTest, StagedRowsAreBoundedAndMergedInTheBackground) {
  SqliteStoreOptions o = Options();
  o.max_staged_rows = 100;
  o.merge_chunk_rows = 7;
  auto store = Open(o);
  std::vector<std::string> ids;
  for (int b = 0; b < 100; ++b) {
    ASSERT_TRUE(store->RecordBatch(NewEntries(10, &ids)).ok());
    // RecordBatch waits for a merge rather than stage more than max_staged_rows (+ one batch).
    ASSERT_LE(store->stats().staged, 110u) << "batch " << b;
  }
  const StoreStats stats = store->stats();
  EXPECT_GE(stats.merges, 1u);
  EXPECT_GE(stats.merged, 890u);
  EXPECT_EQ(stats.merged + stats.staged, 1000u);
  EXPECT_EQ(stats.recorded, 1000u);
  EXPECT_EQ(stats.failed_merges, 0u);
  EXPECT_GE(Count("resolutions"), 890);
  ExpectAllPresent(*store, ids);  // some staged, some merged
}

TEST_F(StagingTest, DeliveredWinsAcrossLevels) {
  {
    auto store = Open(Options());
    ASSERT_TRUE(store
                    ->RecordBatch(std::vector<Entry>{Delivered("a", "001A", 10),
                                                     DeadLettered("b", 10), DeadLettered("c", 10)})
                    .ok());
  }  // merged into the main table
  SqliteStoreOptions staged = Options();
  staged.merge_on_close = false;
  {
    auto store = Open(staged);
    // Staged over merged: a dead letter does not replace a delivery; anything else replaces.
    ASSERT_TRUE(store
                    ->RecordBatch(std::vector<Entry>{
                        DeadLettered("a", 20), Delivered("b", "001B", 20), DeadLettered("c", 30)})
                    .ok());
    auto got = store->CheckBatch(std::vector<std::string>{"a", "b", "c"});
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ((*got)[0]->outcome, Outcome::kDelivered);
    EXPECT_EQ((*got)[0]->salesforce_id, "001A");
    EXPECT_EQ((*got)[0]->recorded_ms, 10);
    EXPECT_EQ((*got)[1]->outcome, Outcome::kDelivered);
    EXPECT_EQ((*got)[1]->salesforce_id, "001B");
    EXPECT_EQ((*got)[2]->outcome, Outcome::kDeadLettered);
    EXPECT_EQ((*got)[2]->recorded_ms, 30);
  }
  {
    RawDb raw(Options().path);
    // The downgrade was not even staged.
    EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM staging WHERE event_id = 'a'"), 0);
    EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM staging"), 2);
    // A staged dead letter for a delivered id (as a file could hold one): the delivery still wins,
    // in checks and in the merge.
    ASSERT_EQ(raw.Exec("INSERT INTO staging VALUES (1000, 'a', 2, NULL, 40)"), SQLITE_OK);
  }
  {
    auto store = Open(Options());
    auto got = store->CheckBatch(std::vector<std::string>{"a"});
    ASSERT_TRUE(got.ok());
    EXPECT_EQ((*got)[0]->outcome, Outcome::kDelivered);
    EXPECT_EQ((*got)[0]->recorded_ms, 10);
  }
  RawDb raw(Options().path);
  EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM staging"), 0);
  EXPECT_EQ(raw.QueryInt("SELECT outcome FROM resolutions WHERE event_id = 'a'"), 1);
  EXPECT_EQ(raw.QueryInt("SELECT outcome FROM resolutions WHERE event_id = 'b'"), 1);
  EXPECT_EQ(raw.QueryInt("SELECT recorded_ms FROM resolutions WHERE event_id = 'c'"), 30);
}

TEST_F(StagingTest, LaterEntriesReplaceEarlierOnesInEveryLevel) {
  SqliteStoreOptions o = Options();
  o.max_staged_rows = 4;  // merges every couple of batches
  o.merge_chunk_rows = 1;
  auto store = Open(o);
  const std::vector<std::string> sf = {"001A", "001AAAAAAAAAAAAAAAAA", "001B", "", "001CC"};
  for (size_t i = 0; i < sf.size(); ++i) {
    ASSERT_TRUE(store
                    ->RecordBatch(std::vector<Entry>{Delivered("x", sf[i], 100 + i),
                                                     Delivered("y" + std::to_string(i))})
                    .ok());
    auto got = store->CheckBatch(std::vector<std::string>{"x"});
    ASSERT_TRUE(got.ok());
    EXPECT_EQ((*got)[0]->salesforce_id, sf[i]);
    EXPECT_EQ((*got)[0]->recorded_ms, static_cast<int64_t>(100 + i));
  }
  EXPECT_GE(store->stats().merges, 1u);
}

TEST_F(StagingTest, BloomFilterSkipsLookupsOfNewIdsWithoutChangingAnswers) {
  for (const int bits : {10, 0}) {
    SCOPED_TRACE(bits);
    TempDir dir;
    SqliteStoreOptions o = Options();
    o.path = dir.File("bloom.db");
    o.max_staged_rows = 50;  // the filter starts small and is rebuilt as the main table grows
    o.bloom_bits_per_key = bits;
    std::vector<std::string> ids;
    {
      auto store = Open(o);
      for (int b = 0; b < 20; ++b) ASSERT_TRUE(store->RecordBatch(NewEntries(25, &ids)).ok());
    }
    auto store = Open(o);  // the filter is built from the main table at open, too
    std::vector<std::string> unknown;
    NewEntries(500, &unknown);
    auto got = store->CheckBatch(unknown);
    ASSERT_TRUE(got.ok());
    for (const auto& r : *got) EXPECT_FALSE(r.has_value());
    ExpectAllPresent(*store, ids);
    ASSERT_TRUE(store->RecordBatch(NewEntries(200, &ids)).ok());  // merged during the next ones
    for (int b = 0; b < 10; ++b) ASSERT_TRUE(store->RecordBatch(NewEntries(25, &ids)).ok());
    ExpectAllPresent(*store, ids);
    got = store->CheckBatch(unknown);
    ASSERT_TRUE(got.ok());
    for (const auto& r : *got) EXPECT_FALSE(r.has_value());
    if (bits == 0) {
      EXPECT_EQ(store->stats().filter_skips, 0u);
    } else {
      EXPECT_GE(store->stats().filter_skips, 900u);  // of 1,000 checks of unknown ids
    }
  }
  // A filter larger than bloom_max_bytes is disabled; answers stay right.
  SqliteStoreOptions o = Options();
  o.bloom_max_bytes = 1;
  auto store = Open(o);
  std::vector<std::string> ids;
  ASSERT_TRUE(store->RecordBatch(NewEntries(10, &ids)).ok());
  ExpectAllPresent(*store, ids);
  auto got = store->CheckBatch(std::vector<std::string>{"never"});
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE((*got)[0].has_value());
  EXPECT_EQ(store->stats().filter_skips, 0u);
}

TEST_F(StagingTest, PurgeCoversBothLevelsAndTheCutoffsMinute) {
  const int64_t base = clock_.WallMillis();  // a whole minute
  std::vector<Entry> main_rows;
  for (int k = 0; k <= 20; ++k) {
    // 21 rows 7 s apart, across three minutes: the purge's whole-minute and partial-minute parts.
    main_rows.push_back(Delivered("m-" + std::to_string(k), "", base - 140000 + k * 7000));
  }
  SqliteStoreOptions o = Options();
  o.purge_chunk_rows = 3;
  { ASSERT_TRUE(Open(o)->RecordBatch(main_rows).ok()); }  // merged at close
  ASSERT_EQ(Count("resolutions"), 21);
  o.merge_on_close = false;
  const int64_t cutoff = base - 140000 + 70500;  // rows k <= 10 are older
  {
    auto store = Open(o);
    std::vector<Entry> staged;
    for (int k = 0; k <= 20; ++k) {
      staged.push_back(Delivered("s-" + std::to_string(k), "", base - 140000 + k * 7000));
    }
    ASSERT_TRUE(store->RecordBatch(staged).ok());
    auto purged = store->PurgeOlderThan(cutoff);
    ASSERT_TRUE(purged.ok()) << purged.status();
    EXPECT_EQ(*purged, 22);
    EXPECT_EQ(store->stats().purged, 22u);
    std::vector<std::string> ids;
    for (int k = 0; k <= 20; ++k) {
      ids.push_back("m-" + std::to_string(k));
      ids.push_back("s-" + std::to_string(k));
    }
    auto got = store->CheckBatch(ids);
    ASSERT_TRUE(got.ok());
    for (size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ((*got)[i].has_value(), i / 2 > 10) << ids[i];
    }
    purged = store->PurgeOlderThan(cutoff);
    ASSERT_TRUE(purged.ok());
    EXPECT_EQ(*purged, 0);
  }
  EXPECT_EQ(Count("resolutions"), 10);
  EXPECT_EQ(Count("staging"), 10);
  // Purged staged rows do not come back with the reload.
  auto store = Open(o);
  EXPECT_EQ(store->stats().staged, 10u);
  auto got = store->CheckBatch(std::vector<std::string>{"s-0", "s-10", "s-11", "m-10", "m-11"});
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE((*got)[0].has_value());
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_TRUE((*got)[2].has_value());
  EXPECT_FALSE((*got)[3].has_value());
  EXPECT_TRUE((*got)[4].has_value());
}

TEST_F(StagingTest, PurgeOfRowsBeingMergedIsNotUndoneByTheMerge) {
  SqliteStoreOptions o = Options();
  o.max_staged_rows = 20;
  o.merge_chunk_rows = 3;
  auto store = Open(o);
  std::vector<std::string> ids;
  for (int b = 0; b < 30; ++b) {
    std::vector<Entry> entries;
    for (int i = 0; i < 5; ++i) {
      ids.push_back("p-" + std::to_string(b) + "-" + std::to_string(i));
      entries.push_back(Delivered(ids.back(), "", 1000 + b));
    }
    ASSERT_TRUE(store->RecordBatch(entries).ok());
    if (b % 7 == 6) {
      auto purged = store->PurgeOlderThan(1000 + b + 1);  // everything so far
      ASSERT_TRUE(purged.ok()) << purged.status();
    }
  }
  auto purged = store->PurgeOlderThan(1030);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(store->stats().purged, 150u);
  auto got = store->CheckBatch(ids);
  ASSERT_TRUE(got.ok());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_FALSE((*got)[i].has_value()) << ids[i];
  store.reset();
  EXPECT_EQ(Count("resolutions"), 0);
  EXPECT_EQ(Count("staging"), 0);
}

TEST_F(StagingTest, VersionOneFileIsMigratedAndKeepsItsRows) {
  {
    RawDb raw(Options().path);
    ASSERT_EQ(raw.Exec("CREATE TABLE resolutions (event_id BLOB NOT NULL PRIMARY KEY, outcome "
                       "INTEGER NOT NULL, salesforce_id TEXT, recorded_ms INTEGER NOT NULL) "
                       "WITHOUT ROWID;"
                       "CREATE INDEX resolutions_by_time ON resolutions (recorded_ms);"
                       "INSERT INTO resolutions VALUES "
                       "(X'00112233445566778899AABBCCDDEEFF', 1, '001xx01', 1000),"
                       "('text-id', 2, NULL, 2000);"
                       "PRAGMA application_id = 1936484707;"  // "slic"
                       "PRAGMA user_version = 1;"),
              SQLITE_OK);
  }
  {
    auto store = Open(Options());
    ASSERT_NE(store, nullptr);
    auto got = store->CheckBatch(
        std::vector<std::string>{"00112233-4455-6677-8899-AABBCCDDEEFF", "text-id", "other"});
    ASSERT_TRUE(got.ok()) << got.status();
    ASSERT_TRUE((*got)[0].has_value());
    EXPECT_EQ((*got)[0]->salesforce_id, "001xx01");
    EXPECT_EQ((*got)[0]->recorded_ms, 1000);
    ASSERT_TRUE((*got)[1].has_value());
    EXPECT_EQ((*got)[1]->outcome, Outcome::kDeadLettered);
    EXPECT_FALSE((*got)[2].has_value());
    ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("text-id", "001xx02")}).ok());
    auto purged = store->PurgeOlderThan(1500);
    ASSERT_TRUE(purged.ok()) << purged.status();
    EXPECT_EQ(*purged, 1);
  }
  RawDb raw(Options().path);
  EXPECT_EQ(raw.QueryInt("PRAGMA user_version"), kSqliteSchemaVersion);
  EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'resolutions_by_time'"),
            0);
  EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM sqlite_schema WHERE name = 'staging'"), 1);
  EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM resolutions"), 1);
  EXPECT_EQ(raw.QueryInt("SELECT outcome FROM resolutions WHERE event_id = 'text-id'"), 1);
}

TEST_F(StagingTest, InvalidStagedRowIsDataLossAtOpen) {
  SqliteStoreOptions o = Options();
  o.merge_on_close = false;
  { ASSERT_TRUE(Open(o)->RecordBatch(std::vector<Entry>{Delivered("a")}).ok()); }
  {
    RawDb raw(o.path);
    ASSERT_EQ(raw.Exec("UPDATE staging SET outcome = 9"), SQLITE_OK);
  }
  Status s = OpenSqliteStore(o).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(o.path), std::string::npos) << s;
}

TEST_F(StagingTest, StagingOptionsAreValidated) {
  auto code = [](SqliteStoreOptions o) { return OpenSqliteStore(o).status().code(); };
  SqliteStoreOptions o = Options();
  o.max_staged_rows = 1;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o.max_staged_rows = 8'000'001;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options();
  o.merge_chunk_rows = 0;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options();
  o.bloom_bits_per_key = 33;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o.bloom_bits_per_key = -1;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
  o = Options();
  o.bloom_max_bytes = -1;
  EXPECT_EQ(code(o), StatusCode::kInvalidArgument);
}

// A merge that fails (the size cap is full) leaves its rows staged and visible; RecordBatch
// reports the failure once it has to wait for room, and everything recovers after a purge.
TEST_F(StagingTest, FailedMergeIsRetriedAndReportedThenRecovers) {
  SqliteStoreOptions o = Options();
  o.max_size_bytes = 256 * 1024;
  o.max_staged_rows = 400;
  o.merge_chunk_rows = 50;
  auto store = Open(o);
  std::vector<std::string> committed;
  Status failure;
  for (int b = 0; b < 1000; ++b) {
    std::vector<std::string> ids;
    Status s = store->RecordBatch(NewEntries(50, &ids));
    if (!s.ok()) {
      failure = s;
      break;
    }
    committed.insert(committed.end(), ids.begin(), ids.end());
  }
  ASSERT_EQ(failure.code(), StatusCode::kResourceExhausted) << failure;
  EXPECT_TRUE(failure.IsRetryable());
  ASSERT_FALSE(committed.empty());
  ExpectAllPresent(*store, committed);
  auto purged = store->PurgeOlderThan(clock_.WallMillis() + 1);
  ASSERT_TRUE(purged.ok()) << purged.status();
  std::vector<std::string> after;
  for (int b = 0; b < 20; ++b) ASSERT_TRUE(store->RecordBatch(NewEntries(50, &after)).ok()) << b;
  ExpectAllPresent(*store, after);
  auto got = store->CheckBatch(committed);
  ASSERT_TRUE(got.ok());
  for (const auto& r : *got) EXPECT_FALSE(r.has_value());
}

// Checks, records and purges from several threads while merges run: every thread reads its own
// writes, whichever level they are in at the time.
TEST_F(StagingTest, ChecksDuringMerges) {
  SqliteStoreOptions o = Options();
  o.max_staged_rows = 64;
  o.merge_chunk_rows = 8;
  auto store = Open(o);
  constexpr int kThreads = 4;
  constexpr int kBatches = 60;
  std::atomic<int> errors{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::string> mine;
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Entry> entries;
        std::vector<std::string> ids;
        for (int i = 0; i < 10; ++i) {
          ids.push_back("t" + std::to_string(t) + "-b" + std::to_string(b) + "-" +
                        std::to_string(i));
          entries.push_back(i % 3 == 0 ? DeadLettered(ids.back()) : Delivered(ids.back()));
        }
        if (!store->RecordBatch(entries).ok()) ++errors;
        mine.insert(mine.end(), ids.begin(), ids.end());
        auto after = store->CheckBatch(mine);  // this batch and every earlier one
        if (!after.ok()) {
          ++errors;
          continue;
        }
        for (size_t i = 0; i < mine.size(); ++i) {
          if (!(*after)[i].has_value()) ++errors;
        }
      }
      ++done;
    });
  }
  int purges = 0;
  while (done.load() < kThreads) {
    if (!store->PurgeOlderThan(1).ok()) ++errors;  // nothing that old: takes the locks only
    ++purges;
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(purges, 0);
  const StoreStats stats = store->stats();
  EXPECT_GE(stats.merges, 1u);
  EXPECT_EQ(stats.merged + stats.staged, uint64_t{kThreads} * kBatches * 10);
  EXPECT_EQ(stats.purged, 0u);
}

}  // namespace
}  // namespace sluice::idempotency

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <set>
#include <thread>
#include <tuple>
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

std::unique_ptr<IdempotencyStore> MustOpen(const SqliteStoreOptions& options) {
  auto store = OpenSqliteStore(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

class SqliteStoreTest : public ::testing::Test {
 protected:
  SqliteStoreOptions Options() {
    SqliteStoreOptions o;
    o.path = dir_.File("idem.db");
    o.clock = &clock_;
    return o;
  }
  TempDir dir_;
  testing::SimulatedClock clock_{1767225600000};
};

TEST_F(SqliteStoreTest, RecordsAndChecksInOrder) {
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  std::vector<Entry> entries = {
      Delivered("6f1c2a4e-0000-4000-8000-000000000001", "001xx0000001AAA"),
      DeadLettered("6f1c2a4e-0000-4000-8000-000000000002", 1234), Delivered("not-a-uuid", "", 99)};
  ASSERT_TRUE(store->RecordBatch(entries).ok());
  std::vector<std::string> ids = {"6f1c2a4e-0000-4000-8000-000000000002", "unknown",
                                  "6f1c2a4e-0000-4000-8000-000000000001", "not-a-uuid",
                                  "6f1c2a4e-0000-4000-8000-000000000002"};
  auto got = store->CheckBatch(ids);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 5u);
  ASSERT_TRUE((*got)[0].has_value());
  EXPECT_EQ((*got)[0]->outcome, Outcome::kDeadLettered);
  EXPECT_EQ((*got)[0]->salesforce_id, "");
  EXPECT_EQ((*got)[0]->recorded_ms, 1234);
  EXPECT_FALSE((*got)[1].has_value());
  ASSERT_TRUE((*got)[2].has_value());
  EXPECT_EQ((*got)[2]->outcome, Outcome::kDelivered);
  EXPECT_EQ((*got)[2]->salesforce_id, "001xx0000001AAA");
  EXPECT_EQ((*got)[2]->recorded_ms, clock_.WallMillis());  // 0 means "now" on the store's clock
  ASSERT_TRUE((*got)[3].has_value());
  EXPECT_EQ((*got)[3]->recorded_ms, 99);
  ASSERT_TRUE((*got)[4].has_value());
  EXPECT_EQ((*got)[4]->outcome, Outcome::kDeadLettered);

  const StoreStats stats = store->stats();
  EXPECT_EQ(stats.checked, 5u);
  EXPECT_EQ(stats.hits, 4u);
  EXPECT_EQ(stats.recorded, 3u);
  EXPECT_EQ(stats.transactions, 1u);
  EXPECT_EQ(OutcomeName(Outcome::kDelivered), "delivered");
  EXPECT_EQ(OutcomeName(Outcome::kDeadLettered), "dead_lettered");
}

TEST_F(SqliteStoreTest, EmptyBatchesAreFine) {
  auto store = MustOpen(Options());
  ASSERT_TRUE(store->RecordBatch({}).ok());
  auto got = store->CheckBatch({});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->empty());
}

TEST_F(SqliteStoreTest, UuidKeysIgnoreCaseUnderAutoAndTextKeysDoNot) {
  const std::string lower = "6f1c2a4e-9b3d-4c1a-8e2f-0123456789ab";
  std::string upper = lower;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  {
    auto store = MustOpen(Options());
    ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered(upper)}).ok());
    auto got = store->CheckBatch(std::vector<std::string>{lower});
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE((*got)[0].has_value());
    // UUID keys are 16-byte blobs: look at the file, where the row is staged for now...
    RawDb raw(Options().path);
    EXPECT_EQ(raw.QueryInt("SELECT length(event_id) FROM staging"), 16);
    EXPECT_EQ(raw.QueryInt("SELECT typeof(event_id) = 'blob' FROM staging"), 1);
  }
  {
    // ...and merged into the main table by the close.
    RawDb raw(Options().path);
    EXPECT_EQ(raw.QueryInt("SELECT length(event_id) FROM resolutions"), 16);
    EXPECT_EQ(raw.QueryInt("SELECT typeof(event_id) = 'blob' FROM resolutions"), 1);
    EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM staging"), 0);
  }
  SqliteStoreOptions text = Options();
  text.path = dir_.File("text.db");
  text.key_encoding = KeyEncoding::kText;
  auto store = MustOpen(text);
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered(upper)}).ok());
  auto got = store->CheckBatch(std::vector<std::string>{lower, upper});
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE((*got)[0].has_value());
  EXPECT_TRUE((*got)[1].has_value());
}

TEST_F(SqliteStoreTest, HostileIdsRoundTripWithoutCollisions) {
  auto store = MustOpen(Options());
  const std::string uuid = "00112233-4455-6677-8899-aabbccddeeff";
  // The 16 raw bytes a UUID is stored as, given as a text id: must not collide with the UUID.
  const std::string raw_bytes("\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff",
                              16);
  std::vector<std::string> ids = {
      uuid,
      std::string("nul\0inside", 10),
      "'; DROP TABLE resolutions; --",
      "\xff\xfe invalid utf-8",
      "日本語のID",
      std::string(kMaxEventIdBytes, 'x'),
      "00112233-4455-6677-8899-aabbccddeefg",  // not hex: a text id
      "00112233445566778899aabbccddeeff",      // no dashes: a text id
  };
  std::vector<Entry> entries;
  for (size_t i = 0; i < ids.size(); ++i)
    entries.push_back(Delivered(ids[i], "sf" + std::to_string(i)));
  ASSERT_TRUE(store->RecordBatch(entries).ok());
  std::vector<std::string> check = ids;
  check.push_back(raw_bytes);
  check.push_back(std::string("nul", 3));
  auto got = store->CheckBatch(check);
  ASSERT_TRUE(got.ok()) << got.status();
  for (size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE((*got)[i].has_value()) << i;
    EXPECT_EQ((*got)[i]->salesforce_id, "sf" + std::to_string(i));
  }
  EXPECT_FALSE((*got)[ids.size()].has_value());      // raw bytes are not the UUID
  EXPECT_FALSE((*got)[ids.size() + 1].has_value());  // a prefix up to NUL is another id
  RawDb raw(Options().path);
  EXPECT_EQ(raw.QueryInt("SELECT (SELECT count(*) FROM resolutions) + "
                         "(SELECT count(*) FROM staging)"),
            static_cast<int64_t>(ids.size()));
}

TEST_F(SqliteStoreTest, InvalidInputIsRejectedAndWritesNothing) {
  auto store = MustOpen(Options());
  auto expect_invalid = [&](std::vector<Entry> entries, const std::string& needle) {
    Status s = store->RecordBatch(entries);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(needle), std::string::npos) << s;
  };
  expect_invalid({Delivered("ok-1"), Delivered("")}, "entry 1: event_id is empty");
  expect_invalid({Delivered(std::string(kMaxEventIdBytes + 1, 'a'))}, "longer than 256");
  expect_invalid({Delivered("ok-2", std::string(kMaxSalesforceIdBytes + 1, 'a'))}, "salesforce_id");
  expect_invalid({Entry{"ok-3", static_cast<Outcome>(7), "", 0}}, "outcome 7");
  auto got = store->CheckBatch(std::vector<std::string>{"ok-1", "ok-2", "ok-3"});
  ASSERT_TRUE(got.ok());
  for (const auto& r : *got) EXPECT_FALSE(r.has_value());
  EXPECT_EQ(store->CheckBatch(std::vector<std::string>{"a", ""}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->CheckBatch(std::vector<std::string>{std::string(100000, 'z')}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->stats().recorded, 0u);
}

TEST_F(SqliteStoreTest, DeliveredIsNeverDowngraded) {
  auto store = MustOpen(Options());
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("a", "001A", 10)}).ok());
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{DeadLettered("a", 20)}).ok());
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{DeadLettered("b", 10)}).ok());
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("b", "001B", 20)}).ok());
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("c", "001C", 10)}).ok());
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("c", "001D", 30)}).ok());
  // The same id twice in one batch: the later wins.
  ASSERT_TRUE(
      store->RecordBatch(std::vector<Entry>{DeadLettered("d", 5), Delivered("d", "001E", 6)}).ok());
  auto got = store->CheckBatch(std::vector<std::string>{"a", "b", "c", "d"});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)[0]->outcome, Outcome::kDelivered);
  EXPECT_EQ((*got)[0]->salesforce_id, "001A");
  EXPECT_EQ((*got)[0]->recorded_ms, 10);
  EXPECT_EQ((*got)[1]->outcome, Outcome::kDelivered);
  EXPECT_EQ((*got)[1]->salesforce_id, "001B");
  EXPECT_EQ((*got)[2]->salesforce_id, "001D");
  EXPECT_EQ((*got)[2]->recorded_ms, 30);
  EXPECT_EQ((*got)[3]->outcome, Outcome::kDelivered);
}

TEST_F(SqliteStoreTest, SurvivesReopenAndWritesSchemaVersion) {
  std::mt19937_64 rng(1);
  std::vector<std::string> ids;
  {
    auto store = MustOpen(Options());
    std::vector<Entry> entries;
    for (int i = 0; i < 500; ++i) {
      ids.push_back(RandomUuid(rng));
      entries.push_back(Delivered(ids.back()));
    }
    ASSERT_TRUE(store->RecordBatch(entries).ok());
  }
  {
    RawDb raw(Options().path);
    EXPECT_EQ(raw.QueryInt("PRAGMA user_version"), kSqliteSchemaVersion);
    EXPECT_EQ(raw.QueryInt("PRAGMA application_id"), 0x736c6963);
    EXPECT_EQ(raw.QueryInt("SELECT count(*) FROM resolutions"), 500);
  }
  auto store = MustOpen(Options());
  auto got = store->CheckBatch(ids);
  ASSERT_TRUE(got.ok());
  for (const auto& r : *got) EXPECT_TRUE(r.has_value());
}

TEST_F(SqliteStoreTest, FullSynchronousModeWorks) {
  SqliteStoreOptions o = Options();
  o.synchronous = Synchronous::kFull;
  auto store = MustOpen(o);
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("x")}).ok());
  auto got = store->CheckBatch(std::vector<std::string>{"x"});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE((*got)[0].has_value());
}

// The -wal file stays bounded whether checkpoints run in the background or on the writer.
class WalBoundTest : public ::testing::TestWithParam<bool> {};

TEST_P(WalBoundTest, WalFileStaysBounded) {
  TempDir dir;
  SqliteStoreOptions o;
  o.path = dir.File("wal.db");
  o.wal_autocheckpoint_pages = 10;
  o.background_checkpoint = GetParam();
  auto store = MustOpen(o);
  std::mt19937_64 rng(17);
  std::vector<std::string> all;
  for (int b = 0; b < 300; ++b) {
    std::vector<Entry> entries;
    for (int i = 0; i < 20; ++i) {
      all.push_back(RandomUuid(rng));
      entries.push_back(Delivered(all.back(), "001xx0000001AAA"));
    }
    ASSERT_TRUE(store->RecordBatch(entries).ok());
  }
  // 6,000 rows of random keys dirty far more than 16 x 10 pages over the run; a batch of 20 rows
  // dirties at most ~3 x 20 pages. Each WAL frame is a page plus a 24-byte header.
  std::error_code ec;
  const auto wal_bytes = std::filesystem::file_size(o.path + "-wal", ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_LE(wal_bytes, (16u * 10u + 3u * 20u) * (4096u + 24u) + 32u);
  auto got = store->CheckBatch(all);
  ASSERT_TRUE(got.ok()) << got.status();
  for (const auto& r : *got) ASSERT_TRUE(r.has_value());
}

INSTANTIATE_TEST_SUITE_P(Checkpoints, WalBoundTest, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "Background" : "OnWriter"; });

TEST_F(SqliteStoreTest, BadPathsGiveClearErrors) {
  SqliteStoreOptions o = Options();
  o.path = "";
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
  o.path = ":memory:";
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
  o.path = dir_.File("no/such/dir/idem.db");
  Status s = OpenSqliteStore(o).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s;
  EXPECT_NE(s.message().find(o.path), std::string::npos) << s;
  o.path = dir_.path();  // a directory
  s = OpenSqliteStore(o).status();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(o.path), std::string::npos) << s;
  o = Options();
  o.purge_chunk_rows = 0;
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
  o = Options();
  o.page_size = 3000;
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
  o.page_size = 256;
  EXPECT_EQ(OpenSqliteStore(o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStoreTest, TuningOptionsReachTheFile) {
  SqliteStoreOptions o = Options();
  o.page_size = 1024;
  o.wal_autocheckpoint_pages = 5000;
  {
    auto store = MustOpen(o);
    ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("a")}).ok());
  }
  RawDb raw(o.path);
  EXPECT_EQ(raw.QueryInt("PRAGMA page_size"), 1024);
  // An existing file keeps its page size.
  o.page_size = 8192;
  auto store = MustOpen(o);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(raw.QueryInt("PRAGMA page_size"), 1024);
}

TEST_F(SqliteStoreTest, FileThatIsNotADatabaseIsDataLoss) {
  const std::string path = Options().path;
  {
    std::ofstream out(path, std::ios::binary);
    std::mt19937_64 rng(3);
    for (int i = 0; i < 8192; ++i) out.put(static_cast<char>(rng()));
  }
  Status s = OpenSqliteStore(Options()).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find(path), std::string::npos) << s;
  // A text file is not a database either.
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "event_id,outcome\nabc,delivered\n";
  }
  EXPECT_EQ(OpenSqliteStore(Options()).status().code(), StatusCode::kDataLoss);
}

TEST_F(SqliteStoreTest, EmptyFileBecomesAStore) {
  { std::ofstream out(Options().path, std::ios::binary); }
  auto store = MustOpen(Options());
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("a")}).ok());
}

TEST_F(SqliteStoreTest, ForeignDatabaseAndNewerSchemaAreRefused) {
  {
    RawDb raw(Options().path);
    ASSERT_EQ(raw.Exec("CREATE TABLE customers (id INTEGER PRIMARY KEY)"), SQLITE_OK);
  }
  Status s = OpenSqliteStore(Options()).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("not a sluice idempotency store"), std::string::npos) << s;
  {
    RawDb raw(Options().path);
    ASSERT_EQ(raw.QueryInt("SELECT count(*) FROM customers"), 0);  // left untouched
  }

  SqliteStoreOptions o = Options();
  o.path = dir_.File("newer.db");
  { auto store = MustOpen(o); }
  const std::string newer = std::to_string(kSqliteSchemaVersion + 1);
  {
    RawDb raw(o.path);
    ASSERT_EQ(raw.Exec("PRAGMA user_version = " + newer), SQLITE_OK);
  }
  s = OpenSqliteStore(o).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("schema version " + newer), std::string::npos) << s;
}

TEST_F(SqliteStoreTest, HostileRowContentIsDataLoss) {
  {
    auto store = MustOpen(Options());
    ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("a"), Delivered("b")}).ok());
  }
  {
    RawDb raw(Options().path);
    ASSERT_EQ(raw.Exec("UPDATE resolutions SET outcome = 9 WHERE event_id = 'b'"), SQLITE_OK);
  }
  auto store = MustOpen(Options());
  auto fine = store->CheckBatch(std::vector<std::string>{"a"});
  ASSERT_TRUE(fine.ok());
  auto bad = store->CheckBatch(std::vector<std::string>{"a", "b"});
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss) << bad.status();
  EXPECT_NE(bad.status().message().find("outcome 9"), std::string::npos) << bad.status();
  // The store is still usable afterwards.
  EXPECT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("c")}).ok());
}

TEST_F(SqliteStoreTest, CorruptFileIsDataLoss) {
  std::mt19937_64 rng(9);
  std::vector<std::string> ids;
  {
    auto store = MustOpen(Options());
    std::vector<Entry> entries;
    for (int i = 0; i < 5000; ++i) {
      ids.push_back(RandomUuid(rng));
      entries.push_back(Delivered(ids.back(), "001xx000000" + std::to_string(i)));
    }
    ASSERT_TRUE(store->RecordBatch(entries).ok());
  }  // a clean close checkpoints the WAL into the main file
  int64_t page_size = 0;
  {
    RawDb raw(Options().path);
    page_size = raw.QueryInt("PRAGMA page_size");
  }
  // Overwrite every page but the first (header and schema) with garbage.
  {
    std::fstream f(Options().path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(0, std::ios::end);
    const int64_t size = f.tellg();
    ASSERT_GT(size, 3 * page_size);
    f.seekp(page_size);
    for (int64_t i = page_size; i < size; ++i) f.put(static_cast<char>(0xA5));
  }
  SqliteStoreOptions checked = Options();
  checked.check_integrity_on_open = true;
  Status s = OpenSqliteStore(checked).status();
  EXPECT_EQ(s.code(), StatusCode::kDataLoss) << s;

  // Without the check, the damage shows on first use, as DataLoss, never as "not found".
  auto store = OpenSqliteStore(Options());
  if (store.ok()) {
    auto got = (*store)->CheckBatch(ids);
    EXPECT_EQ(got.status().code(), StatusCode::kDataLoss) << got.status();
    EXPECT_EQ((*store)->RecordBatch(std::vector<Entry>{Delivered("new")}).code(),
              StatusCode::kDataLoss);
  } else {
    EXPECT_EQ(store.status().code(), StatusCode::kDataLoss) << store.status();
  }
}

// Runs `fn` in a child process as an unprivileged user (root ignores permission bits), returns
// the child's exit code.
template <typename Fn>
int RunUnprivileged(Fn fn) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) _exit(100);
    _exit(fn());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 200;
}

TEST_F(SqliteStoreTest, ReadOnlyDirectoryIsPermissionDenied) {
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  const std::string ro = dir_.File("ro");
  ASSERT_EQ(mkdir(ro.c_str(), 0755), 0);
  // An existing store in a directory that then becomes read-only: WAL needs its -wal/-shm files.
  SqliteStoreOptions existing = Options();
  existing.path = ro + "/existing.db";
  {
    auto store = MustOpen(existing);
    ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("a")}).ok());
  }
  ASSERT_EQ(chmod(existing.path.c_str(), 0666), 0);
  ASSERT_EQ(chmod(ro.c_str(), 0555), 0);

  SqliteStoreOptions fresh = Options();
  fresh.path = ro + "/new.db";
  auto code_of = [](const SqliteStoreOptions& o) {
    return [o] {
      auto store = OpenSqliteStore(o);
      if (store.ok()) return 0;
      // The message must name the path.
      if (store.status().message().find(o.path) == std::string::npos) return 99;
      return 10 + static_cast<int>(store.status().code());
    };
  };
  EXPECT_EQ(RunUnprivileged(code_of(fresh)), 10 + static_cast<int>(StatusCode::kPermissionDenied));
  EXPECT_EQ(RunUnprivileged(code_of(existing)),
            10 + static_cast<int>(StatusCode::kPermissionDenied));

  // A read-only file in a writable directory.
  const std::string rw = dir_.File("rw");
  ASSERT_EQ(mkdir(rw.c_str(), 0777), 0);
  ASSERT_EQ(chmod(rw.c_str(), 0777), 0);  // whatever the umask
  SqliteStoreOptions ro_file = Options();
  ro_file.path = rw + "/ro-file.db";
  { auto store = MustOpen(ro_file); }
  ASSERT_EQ(chmod(ro_file.path.c_str(), 0444), 0);
  EXPECT_EQ(RunUnprivileged(code_of(ro_file)),
            10 + static_cast<int>(StatusCode::kPermissionDenied));
}

TEST_F(SqliteStoreTest, SizeCapGivesResourceExhaustedAndKeepsEarlierBatches) {
  SqliteStoreOptions o = Options();
  o.max_size_bytes = 256 * 1024;
  auto store = MustOpen(o);
  std::mt19937_64 rng(5);
  std::vector<std::vector<std::string>> committed;
  Status failure;
  std::vector<std::string> failed_ids;
  for (int b = 0; b < 1000; ++b) {
    std::vector<Entry> entries;
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) {
      ids.push_back(RandomUuid(rng));
      entries.push_back(Delivered(ids.back(), "001xx0000001AAA"));
    }
    Status s = store->RecordBatch(entries);
    if (!s.ok()) {
      failure = s;
      failed_ids = ids;
      break;
    }
    committed.push_back(ids);
  }
  ASSERT_EQ(failure.code(), StatusCode::kResourceExhausted) << failure;
  EXPECT_TRUE(failure.IsRetryable());
  ASSERT_FALSE(committed.empty());
  EXPECT_EQ(store->stats().failed_transactions, 1u);
  for (const auto& ids : committed) {
    auto got = store->CheckBatch(ids);
    ASSERT_TRUE(got.ok()) << got.status();
    for (const auto& r : *got) ASSERT_TRUE(r.has_value());
  }
  auto got = store->CheckBatch(failed_ids);
  ASSERT_TRUE(got.ok());
  for (const auto& r : *got) EXPECT_FALSE(r.has_value());  // all or nothing
  // Purging makes room again.
  auto purged = store->PurgeOlderThan(clock_.WallMillis() + 1);
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, static_cast<int64_t>(committed.size() * 100));
  EXPECT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("after-purge")}).ok());
}

TEST_F(SqliteStoreTest, LockedDatabaseIsUnavailableThenRecovers) {
  SqliteStoreOptions o = Options();
  o.busy_timeout = std::chrono::milliseconds(0);
  auto store = MustOpen(o);
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("before")}).ok());
  RawDb other(o.path);
  ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);  // holds the write lock
  Status s = store->RecordBatch(std::vector<Entry>{Delivered("during")});
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
  EXPECT_TRUE(s.IsRetryable());
  // Readers are not blocked by a writer in WAL mode.
  auto got = store->CheckBatch(std::vector<std::string>{"before", "during"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_TRUE((*got)[0].has_value());
  EXPECT_FALSE((*got)[1].has_value());
  EXPECT_EQ(store->PurgeOlderThan(clock_.WallMillis() + 1).status().code(),
            StatusCode::kUnavailable);
  ASSERT_EQ(other.Exec("COMMIT"), SQLITE_OK);
  ASSERT_TRUE(store->RecordBatch(std::vector<Entry>{Delivered("during")}).ok());
  got = store->CheckBatch(std::vector<std::string>{"during"});
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE((*got)[0].has_value());
}

TEST_F(SqliteStoreTest, PurgeDeletesExactlyTheOldRowsInChunks) {
  SqliteStoreOptions o = Options();
  o.purge_chunk_rows = 7;
  auto store = MustOpen(o);
  std::vector<Entry> entries;
  for (int i = 0; i < 100; ++i)
    entries.push_back(Delivered("old-" + std::to_string(i), "", 1000 + i));
  for (int i = 0; i < 30; ++i)
    entries.push_back(Delivered("new-" + std::to_string(i), "", 5000 + i));
  entries.push_back(Delivered("edge", "", 2000));
  ASSERT_TRUE(store->RecordBatch(entries).ok());
  auto purged = store->PurgeOlderThan(2000);  // strictly older
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(*purged, 100);
  EXPECT_EQ(store->stats().purged, 100u);
  std::vector<std::string> ids;
  for (const Entry& e : entries) ids.push_back(e.event_id);
  auto got = store->CheckBatch(ids);
  ASSERT_TRUE(got.ok());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*got)[i].has_value(), ids[i].rfind("old-", 0) != 0) << ids[i];
  }
  purged = store->PurgeOlderThan(2000);
  ASSERT_TRUE(purged.ok());
  EXPECT_EQ(*purged, 0);
}

TEST_F(SqliteStoreTest, ConcurrentChecksAndRecords) {
  auto store = MustOpen(Options());
  constexpr int kThreads = 4;
  constexpr int kBatches = 50;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        std::vector<Entry> entries;
        std::vector<std::string> ids;
        for (int i = 0; i < 20; ++i) {
          ids.push_back("t" + std::to_string(t) + "-b" + std::to_string(b) + "-" +
                        std::to_string(i));
          entries.push_back(Delivered(ids.back()));
        }
        auto before = store->CheckBatch(ids);
        if (!before.ok()) ++errors;
        if (!store->RecordBatch(entries).ok()) ++errors;
        auto after = store->CheckBatch(ids);
        if (!after.ok()) {
          ++errors;
          continue;
        }
        for (const auto& r : *after) {
          if (!r.has_value()) ++errors;  // read-your-writes across the two connections
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(store->stats().recorded, uint64_t{kThreads} * kBatches * 20);
}

// ---------------------------------------------------------------------------------------------
// Crash safety: a child process records batches and reports each one after RecordBatch returned
// Ok; the parent kills it with SIGKILL mid-stream and checks that every reported batch is there.

std::string CrashId(int64_t batch, int i) {
  return "crash-" + std::to_string(batch) + "-" + std::to_string(i);
}

// Parameters: durability, and max_staged_rows (the default keeps every row staged; 300 makes the
// child merge every few batches, so the kill can land in a merge, between its transactions).
class CrashTest : public ::testing::TestWithParam<std::tuple<Synchronous, int64_t>> {};

TEST_P(CrashTest, EveryCommittedBatchSurvivesSigkill) {
  TempDir dir;
  SqliteStoreOptions o;
  o.path = dir.File("crash.db");
  o.synchronous = std::get<0>(GetParam());
  o.max_staged_rows = std::get<1>(GetParam());
  o.merge_chunk_rows = 50;
  constexpr int kPerBatch = 50;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto store = OpenSqliteStore(o);
    if (!store.ok()) _exit(2);
    for (int64_t b = 0;; ++b) {
      std::vector<Entry> entries;
      for (int i = 0; i < kPerBatch; ++i) entries.push_back(Delivered(CrashId(b, i)));
      if (!(*store)->RecordBatch(entries).ok()) _exit(3);
      if (write(fds[1], &b, sizeof b) != sizeof b) _exit(4);
    }
  }
  close(fds[1]);
  int64_t last = -1;
  int64_t b = 0;
  while (last < 200 && read(fds[0], &b, sizeof b) == sizeof b) last = b;
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  while (read(fds[0], &b, sizeof b) == sizeof b) last = b;  // acks sent before it died
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  ASSERT_GE(last, 200);

  {
    // Rows are in the file, staged or merged.
    RawDb raw(o.path);
    EXPECT_GE(raw.QueryInt("SELECT (SELECT count(*) FROM resolutions) + "
                           "(SELECT count(*) FROM staging)"),
              (last + 1) * kPerBatch);
  }
  auto store = OpenSqliteStore(o);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int64_t batch = 0; batch <= last + 1; ++batch) {
    std::vector<std::string> ids;
    for (int i = 0; i < kPerBatch; ++i) ids.push_back(CrashId(batch, i));
    auto got = (*store)->CheckBatch(ids);
    ASSERT_TRUE(got.ok()) << got.status();
    const auto found =
        std::count_if(got->begin(), got->end(), [](const auto& r) { return r.has_value(); });
    if (batch <= last) {
      ASSERT_EQ(found, kPerBatch) << "acknowledged batch " << batch << " lost";
    } else {
      EXPECT_TRUE(found == 0 || found == kPerBatch) << "batch " << batch << " half-written";
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Durability, CrashTest,
    ::testing::Combine(::testing::Values(Synchronous::kNormal, Synchronous::kFull),
                       ::testing::Values(int64_t{500000}, int64_t{300})),
    [](const auto& info) {
      return std::string(std::get<0>(info.param) == Synchronous::kNormal ? "Normal" : "Full") +
             (std::get<1>(info.param) == 300 ? "Merging" : "Staged");
    });

}  // namespace
}  // namespace sluice::idempotency

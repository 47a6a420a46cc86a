// The SQLite implementation of IdempotencyStore: two levels, LSM-style.
//
// Why: with random (v4 UUID) event ids, every new id lands on a different 4 KiB leaf page of the
// main table's B-tree, so writing ids straight into it costs about one page written to the WAL
// (and again at checkpoint) per id; that write amplification capped the store at ~30-50k
// check-and-record operations/s (docs/BENCHMARKS.md). So RecordBatch appends to a staging table
// instead (increasing seq: a commit touches the last page or two) and to a memory index of the
// staged rows; a merge thread moves staged rows into the main table in key order, in large
// transactions, so that each leaf page is written once per merge rather than once per id. A
// Bloom filter over the main table's keys answers most checks of new ids without a B-tree lookup.
// Hand-written: no library in Debian offers such a staging level over SQLite (staged_index.h).
//
// Four connections to one WAL database: a writer for RecordBatch (staging) and the purge; a
// reader so that CheckBatch never waits for a commit (WAL readers do not block the writer, nor it
// them); the merger's; the background checkpointer's. CheckBatch uses the writer's connection
// when no write is in progress (its page cache stays warm, while each commit invalidates the
// reader's cache: ~30% less CPU per check in tools/bench/idempotency), else the reader. Each
// connection keeps its prepared statements for its lifetime.

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <utility>

#include "sluice/idempotency/store.h"
#include "staged_index.h"

namespace sluice::idempotency {
namespace {

constexpr int kApplicationId = 0x736c6963;  // "slic"

// How many keys ahead lookups and merges ask the cache for.
constexpr size_t kPrefetchDistance = 8;

// Retention's index: by minute, then (implicitly, as the primary key) by event_id.
constexpr int64_t kPurgeBucketMs = 60000;
constexpr const char* kCreateTimeIndex =
    "CREATE INDEX resolutions_by_minute ON resolutions (recorded_ms / 60000)";

constexpr const char* kCreateStaging =
    "CREATE TABLE staging ("
    " seq INTEGER PRIMARY KEY,"
    " event_id BLOB NOT NULL,"
    " outcome INTEGER NOT NULL,"
    " salesforce_id TEXT,"
    " recorded_ms INTEGER NOT NULL)";

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Maps a SQLite result code (and, for open failures, the OS errno) to a Status.
Status ErrorStatus(sqlite3* db, int rc, const std::string& what) {
  std::string message = what + ": ";
  message += db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int primary = rc & 0xff;
  const int sys_errno = db != nullptr ? sqlite3_system_errno(db) : 0;
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return UnavailableError(message);
    case SQLITE_FULL:
    case SQLITE_NOMEM:
      return ResourceExhaustedError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLossError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return PermissionDeniedError(message);
    case SQLITE_CANTOPEN:
      if (sys_errno == EACCES || sys_errno == EPERM || sys_errno == EROFS) {
        return PermissionDeniedError(message + " (" + std::strerror(sys_errno) + ")");
      }
      if (sys_errno == ENOENT || sys_errno == ENOTDIR) {
        return NotFoundError(message + " (" + std::strerror(sys_errno) + ")");
      }
      return FailedPreconditionError(
          message + (sys_errno != 0 ? std::string(" (") + std::strerror(sys_errno) + ")" : ""));
    case SQLITE_IOERR:
      if (sys_errno == ENOSPC) return ResourceExhaustedError(message);
      if (sys_errno == EACCES || sys_errno == EPERM || sys_errno == EROFS) {
        return PermissionDeniedError(message + " (" + std::strerror(sys_errno) + ")");
      }
      return InternalError(message);
    default:
      return InternalError(message);
  }
}

// Hex digit values, -1 for anything else.
constexpr std::array<int8_t, 256> kHexValue = [] {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int c = '0'; c <= '9'; ++c) t[c] = static_cast<int8_t>(c - '0');
  for (int c = 'a'; c <= 'f'; ++c) t[c] = static_cast<int8_t>(c - 'a' + 10);
  for (int c = 'A'; c <= 'F'; ++c) t[c] = static_cast<int8_t>(c - 'A' + 10);
  return t;
}();

// Parses a canonical 8-4-4-4-12 UUID into 16 bytes.
bool ParseUuid(std::string_view s, unsigned char out[16]) {
  if (s.size() != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return false;
  static constexpr uint8_t kOffsets[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                           19, 21, 24, 26, 28, 30, 32, 34};
  int bad = 0;
  for (int i = 0; i < 16; ++i) {
    const int hi = kHexValue[static_cast<unsigned char>(s[kOffsets[i]])];
    const int lo = kHexValue[static_cast<unsigned char>(s[kOffsets[i] + 1])];
    bad |= hi | lo;  // negative when either is not a hex digit
    out[i] = static_cast<unsigned char>((hi << 4) | (lo & 0xf));
  }
  return bad >= 0;
}

// The encoded key of `id` (see staged_index.h): a UUID as its 16 bytes under kAuto, else the text.
void EncodeKey(KeyEncoding encoding, const std::string& id, std::string* out) {
  unsigned char uuid[16];
  if (encoding == KeyEncoding::kAuto && ParseUuid(id, uuid)) {
    out->push_back(internal::kBlobTag);
    out->append(reinterpret_cast<const char*>(uuid), 16);
  } else {
    out->push_back(internal::kTextTag);
    out->append(id);
  }
}

// Encoded keys of a batch in one buffer, with their hashes. Thread-safety: immutable once built.
struct EncodedKeys {
  EncodedKeys(KeyEncoding encoding, size_t n, const std::function<const std::string&(size_t)>& id) {
    offsets.reserve(n + 1);
    hashes.reserve(n);
    buffer.reserve(n * 18);
    for (size_t i = 0; i < n; ++i) {
      offsets.push_back(buffer.size());
      EncodeKey(encoding, id(i), &buffer);
    }
    offsets.push_back(buffer.size());
    for (size_t i = 0; i < n; ++i) hashes.push_back(internal::HashKey(key(i)));
  }
  std::string_view key(size_t i) const {
    return std::string_view(buffer).substr(offsets[i], offsets[i + 1] - offsets[i]);
  }
  std::string buffer;
  std::vector<size_t> offsets;
  std::vector<uint64_t> hashes;
};

// Binds an encoded key; `key` must outlive the statement's next step.
int BindEncodedKey(sqlite3_stmt* s, int index, std::string_view key) {
  if (key[0] == internal::kBlobTag) {
    return sqlite3_bind_blob(s, index, key.data() + 1, static_cast<int>(key.size() - 1),
                             SQLITE_STATIC);
  }
  return sqlite3_bind_text(s, index, key.data() + 1, static_cast<int>(key.size() - 1),
                           SQLITE_STATIC);
}

// The encoded key of a stored event_id column.
bool ColumnKey(sqlite3_stmt* s, int column, std::string* out) {
  out->clear();
  const int type = sqlite3_column_type(s, column);
  if (type != SQLITE_BLOB && type != SQLITE_TEXT) return false;
  const void* data =
      type == SQLITE_BLOB ? sqlite3_column_blob(s, column) : sqlite3_column_text(s, column);
  const int size = sqlite3_column_bytes(s, column);
  out->push_back(type == SQLITE_BLOB ? internal::kBlobTag : internal::kTextTag);
  if (size > 0) out->append(static_cast<const char*>(data), static_cast<size_t>(size));
  return true;
}

Resolution ToResolution(const internal::StagedView& v) {
  return Resolution{v.outcome, std::string(v.salesforce_id), v.recorded_ms};
}

// A mutex that hands itself over in arrival order. std::mutex does not: the merge thread, which
// takes the write lock again right after each merge transaction, would starve RecordBatch for
// whole merges (hundreds of ms) instead of one transaction.
// Thread-safety: a mutex (BasicLockable), for any number of threads.
class FifoMutex {
 public:
  void lock() {
    std::unique_lock lock(mu_);
    const uint64_t ticket = next_++;
    cv_.wait(lock, [&] { return serving_ == ticket; });
  }
  void unlock() {
    {
      std::lock_guard lock(mu_);
      ++serving_;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t next_ = 0;
  uint64_t serving_ = 0;
};

// One connection with its statements. Not thread-safe: guarded by the owner's mutex.
struct Connection {
  DbPtr db;
  // Statement cache: prepared once, reset after each use. Each role prepares what it uses.
  StmtPtr begin;       // BEGIN IMMEDIATE: a write transaction
  StmtPtr begin_read;  // BEGIN (deferred): a read transaction
  StmtPtr commit;
  StmtPtr rollback;
  StmtPtr select;        // main table, by key
  StmtPtr upsert;        // main table
  StmtPtr stage;         // append to the staging table
  StmtPtr unstage;       // delete merged rows from the staging table
  StmtPtr purge;         // main table, one chunk of whole minutes
  StmtPtr purge_edge;    // main table, one chunk of the cutoff's minute
  StmtPtr purge_staged;  // staging table

  // Destroy statements before the connection (members are destroyed in reverse order).
  ~Connection() {
    for (StmtPtr* s : {&purge_staged, &purge_edge, &purge, &unstage, &stage, &upsert, &select,
                       &rollback, &commit, &begin_read, &begin}) {
      s->reset();
    }
  }
};

// Schema (version 2):
//
//   CREATE TABLE resolutions (                  -- the main table (version 1's only table)
//     event_id      BLOB NOT NULL PRIMARY KEY,  -- 16 bytes for a UUID, else the id's text
//     outcome       INTEGER NOT NULL,           -- 1 delivered, 2 dead_lettered
//     salesforce_id TEXT,                       -- NULL when none
//     recorded_ms   INTEGER NOT NULL            -- wall-clock ms, drives retention
//   ) WITHOUT ROWID;
//   CREATE INDEX resolutions_by_minute ON resolutions(recorded_ms / 60000);  -- + event_id
//   CREATE TABLE staging (                      -- recorded, not yet merged; append-only
//     seq           INTEGER PRIMARY KEY,        -- increasing: inserts touch the last page only
//     event_id      BLOB NOT NULL,
//     outcome       INTEGER NOT NULL,
//     salesforce_id TEXT,
//     recorded_ms   INTEGER NOT NULL
//   );
//
// Version 1 had the main table only, indexed by recorded_ms itself. A merge writes rows in
// event_id order, which for such an index is a random order: every row dirtied another index
// page, which tripled the cost of a merge. Within a minute the bucketed index is in event_id
// order, so a merge appends to it.
//
// Levels, newest first: the active staging generation (memory, fed by RecordBatch), the frozen
// generation (memory, being merged), the main table. An id's resolution is the newest level's,
// except that a delivered resolution in an older level wins over a dead-lettered one in a newer.
// RecordBatch does not stage a dead-lettered entry for an id that is already delivered, so
// staging rows are always effective writes and purging by recorded_ms works level by level.
//
// Locks, always taken in this order: merge_mu_ (one merge pass or purge at a time),
// db_write_mu_ (SQLite's write lock, between the writer's and the merger's connections, so that
// they queue in order on a mutex rather than in SQLite's sleeping busy handler), writer_mu_ /
// reader_mu_ (the connections), mem_mu_ (the memory levels, the filter pointer, merge state).
// Thread-safety: as IdempotencyStore, every method is safe from any number of threads at once.
class SqliteStore final : public IdempotencyStore {
 public:
  explicit SqliteStore(SqliteStoreOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = &RealClock();
    max_staged_rows_ = static_cast<size_t>(options_.max_staged_rows);
    merge_threshold_ = std::max<size_t>(max_staged_rows_ / 2, 1);
  }

  // Stops the merger (then merges what is staged, with merge_on_close) and the checkpointer
  // before the connections close (the last close checkpoints what is left and removes the -wal
  // file).
  ~SqliteStore() override {
    {
      std::lock_guard lock(mem_mu_);
      merge_stop_ = true;
    }
    merge_cv_.notify_all();
    if (merge_thread_.joinable()) merge_thread_.join();
    if (opened_ && options_.merge_on_close) {
      std::lock_guard lock(merge_mu_);
      for (int pass = 0; pass < 2; ++pass) {
        if (!MergePass().ok()) break;  // what is left stays staged and is reloaded at open
      }
    }
    {
      std::lock_guard lock(ckpt_mu_);
      ckpt_stop_ = true;
    }
    ckpt_cv_.notify_all();
    if (ckpt_thread_.joinable()) ckpt_thread_.join();
  }

  Status Open() {
    RETURN_IF_ERROR(OpenConnection(&writer_, Role::kWriter));
    RETURN_IF_ERROR(PrepareSchema());
    RETURN_IF_ERROR(OpenConnection(&reader_, Role::kReader));
    RETURN_IF_ERROR(OpenConnection(&merger_, Role::kMerger));
    if (options_.background_checkpoint) {
      RETURN_IF_ERROR(OpenConnection(&checkpointer_, Role::kCheckpointer));
      sqlite3_wal_hook(writer_.db.get(), &SqliteStore::WalHook, this);
      sqlite3_wal_hook(merger_.db.get(), &SqliteStore::WalHook, this);
      ckpt_thread_ = std::thread([this] { CheckpointLoop(); });
    }
    const std::string select =
        "SELECT outcome, salesforce_id, recorded_ms FROM resolutions WHERE event_id = ?1";
    for (Connection* c : {&reader_, &writer_, &merger_}) {
      RETURN_IF_ERROR(Prepare(*c, "BEGIN", &c->begin_read));
      RETURN_IF_ERROR(Prepare(*c, "COMMIT", &c->commit));
      RETURN_IF_ERROR(Prepare(*c, "ROLLBACK", &c->rollback));
      RETURN_IF_ERROR(Prepare(*c, select, &c->select));
    }
    for (Connection* c : {&writer_, &merger_}) {
      RETURN_IF_ERROR(Prepare(*c, "BEGIN IMMEDIATE", &c->begin));
    }
    RETURN_IF_ERROR(Prepare(writer_,
                            "INSERT INTO staging (seq, event_id, outcome, salesforce_id, "
                            "recorded_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
                            &writer_.stage));
    // Whole minutes before the cutoff's, then the cutoff's minute (the expression must be the
    // index's for the planner to use it).
    RETURN_IF_ERROR(Prepare(writer_,
                            "DELETE FROM resolutions WHERE event_id IN (SELECT event_id FROM "
                            "resolutions WHERE recorded_ms / 60000 < ?1 LIMIT ?3)",
                            &writer_.purge));
    RETURN_IF_ERROR(Prepare(writer_,
                            "DELETE FROM resolutions WHERE event_id IN (SELECT event_id FROM "
                            "resolutions WHERE recorded_ms / 60000 = ?1 AND recorded_ms < ?2 "
                            "LIMIT ?3)",
                            &writer_.purge_edge));
    RETURN_IF_ERROR(
        Prepare(writer_, "DELETE FROM staging WHERE recorded_ms < ?1", &writer_.purge_staged));
    RETURN_IF_ERROR(Prepare(merger_,
                            "INSERT INTO resolutions (event_id, outcome, salesforce_id, "
                            "recorded_ms) VALUES (?1, ?2, ?3, ?4) "
                            "ON CONFLICT (event_id) DO UPDATE SET outcome = excluded.outcome, "
                            "salesforce_id = excluded.salesforce_id, "
                            "recorded_ms = excluded.recorded_ms "
                            "WHERE resolutions.outcome <> 1 OR excluded.outcome = 1",
                            &merger_.upsert));
    RETURN_IF_ERROR(Prepare(merger_, "DELETE FROM staging WHERE seq <= ?1", &merger_.unstage));
    RETURN_IF_ERROR(LoadStaging());
    if (options_.bloom_bits_per_key > 0) {
      std::shared_ptr<internal::BloomFilter> filter;
      RETURN_IF_ERROR(BuildFilter(0, &filter));
      bloom_ = std::move(filter);
    }
    opened_ = true;
    merge_thread_ = std::thread([this] { MergeLoop(); });
    return Status::Ok();
  }

  Result<std::vector<std::optional<Resolution>>> CheckBatch(
      std::span<const std::string> ids) override {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i].empty() || ids[i].size() > kMaxEventIdBytes) {
        return InvalidArgumentError("id " + std::to_string(i) + " is empty or longer than " +
                                    std::to_string(kMaxEventIdBytes) + " bytes");
      }
    }
    std::vector<std::optional<Resolution>> out(ids.size());
    if (ids.empty()) return out;
    const EncodedKeys keys(options_.key_encoding, ids.size(),
                           [&](size_t i) -> const std::string& { return ids[i]; });
    // The memory levels first, then the main table: a merge commits rows to the main table
    // before it drops them from memory, so an id missing here is in the main table by the time
    // the read transaction below starts.
    std::vector<uint8_t> need_main(ids.size(), 0);
    std::shared_ptr<internal::BloomFilter> bloom;
    {
      std::lock_guard lock(mem_mu_);
      bloom = bloom_;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i + kPrefetchDistance < ids.size()) {
          active_->Prefetch(keys.hashes[i + kPrefetchDistance]);
          if (frozen_ != nullptr) frozen_->Prefetch(keys.hashes[i + kPrefetchDistance]);
        }
        need_main[i] = LookupMemory(keys.key(i), keys.hashes[i], &out[i]) ? 0 : 1;
      }
    }
    uint64_t skips = 0;
    size_t lookups = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (bloom != nullptr && i + kPrefetchDistance < ids.size() &&
          need_main[i + kPrefetchDistance]) {
        bloom->Prefetch(keys.hashes[i + kPrefetchDistance]);
      }
      if (!need_main[i]) continue;
      if (bloom != nullptr && !bloom->MayContain(keys.hashes[i])) {
        need_main[i] = 0;  // never merged into the main table
        ++skips;
      } else {
        ++lookups;
      }
    }
    uint64_t hits = 0;
    if (lookups > 0) {
      // Prefer the writer's connection when no write is in progress: its page cache is warm,
      // whereas every commit on the writer invalidates the reader's cache. When a write is in
      // progress, the reader answers without waiting for it.
      std::unique_lock write_lock(writer_mu_, std::try_to_lock);
      std::unique_lock<std::mutex> read_lock;
      if (!write_lock.owns_lock()) read_lock = std::unique_lock(reader_mu_);
      Connection& c = write_lock.owns_lock() ? writer_ : reader_;
      RETURN_IF_ERROR(CheckMain(c, keys, need_main, &out));
    }
    for (const auto& r : out) hits += r.has_value() ? 1 : 0;
    checked_.fetch_add(ids.size(), std::memory_order_relaxed);
    hits_.fetch_add(hits, std::memory_order_relaxed);
    filter_skips_.fetch_add(skips, std::memory_order_relaxed);
    return out;
  }

  Status RecordBatch(std::span<const Entry> entries) override {
    RETURN_IF_ERROR(ValidateEntries(entries));
    if (entries.empty()) return Status::Ok();
    const int64_t now_ms = options_.clock->WallMillis();
    const EncodedKeys keys(options_.key_encoding, entries.size(),
                           [&](size_t i) -> const std::string& { return entries[i].event_id; });
    RETURN_IF_ERROR(WaitForRoom());
    std::lock_guard db_lock(db_write_mu_);
    std::lock_guard lock(writer_mu_);
    sqlite3* db = writer_.db.get();
    Status status = Step(writer_.begin.get(), "begin write");
    std::vector<uint8_t> skip;
    if (status.ok()) status = SkipDowngrades(entries, keys, &skip);
    int64_t seq = next_seq_;
    for (size_t i = 0; i < entries.size() && status.ok(); ++i) {
      if (skip[i]) continue;
      const Entry& e = entries[i];
      sqlite3_stmt* s = writer_.stage.get();
      sqlite3_bind_int64(s, 1, seq++);
      BindEncodedKey(s, 2, keys.key(i));
      sqlite3_bind_int(s, 3, static_cast<int>(e.outcome));
      if (e.salesforce_id.empty()) {
        sqlite3_bind_null(s, 4);
      } else {
        sqlite3_bind_text(s, 4, e.salesforce_id.data(), static_cast<int>(e.salesforce_id.size()),
                          SQLITE_STATIC);
      }
      sqlite3_bind_int64(s, 5, e.recorded_ms > 0 ? e.recorded_ms : now_ms);
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) status = ErrorStatus(db, rc, "recording in " + options_.path);
      sqlite3_reset(s);
    }
    if (status.ok()) status = Step(writer_.commit.get(), "commit");
    if (!status.ok()) {
      // A failed COMMIT may leave the transaction open (e.g. SQLITE_BUSY); roll it back so the
      // next batch starts clean and nothing of this one is half-kept.
      if (!sqlite3_get_autocommit(db)) Step(writer_.rollback.get(), "rollback").ok();
      failed_transactions_.fetch_add(1, std::memory_order_relaxed);
      return status;
    }
    next_seq_ = seq;
    {
      std::lock_guard mem_lock(mem_mu_);
      for (size_t i = 0; i < entries.size(); ++i) {
        if (skip[i]) continue;
        const Entry& e = entries[i];
        active_->Put(keys.key(i), keys.hashes[i], e.outcome, e.salesforce_id,
                     e.recorded_ms > 0 ? e.recorded_ms : now_ms);
      }
      if (frozen_ == nullptr && active_->rows() >= merge_threshold_) merge_cv_.notify_all();
    }
    recorded_.fetch_add(entries.size(), std::memory_order_relaxed);
    transactions_.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }

  Result<int64_t> PurgeOlderThan(int64_t cutoff_ms) override {
    // No merge pass runs meanwhile: it could bring back rows purged from memory.
    std::lock_guard merge_lock(merge_mu_);
    int64_t total = 0;
    const int chunk = options_.purge_chunk_rows;
    // SQLite's integer division truncates toward zero, as C++'s does.
    const int64_t cutoff_minute = cutoff_ms / kPurgeBucketMs;
    for (sqlite3_stmt* s : {writer_.purge.get(), writer_.purge_edge.get()}) {
      while (true) {
        int changes = 0;
        {
          // One small transaction per chunk: writers queue behind at most one chunk.
          std::lock_guard db_lock(db_write_mu_);
          std::lock_guard lock(writer_mu_);
          sqlite3_bind_int64(s, 1, cutoff_minute);
          sqlite3_bind_int64(s, 2, cutoff_ms);
          sqlite3_bind_int(s, 3, chunk);
          const int rc = sqlite3_step(s);
          sqlite3_reset(s);
          if (rc != SQLITE_DONE) {
            return ErrorStatus(writer_.db.get(), rc, "purging " + options_.path);
          }
          changes = sqlite3_changes(writer_.db.get());
        }
        total += changes;
        purged_.fetch_add(static_cast<uint64_t>(changes), std::memory_order_relaxed);
        if (changes < chunk) break;
      }
    }
    // The staging level: one statement (the table holds at most ~max_staged_rows rows), and the
    // memory levels under the same lock so that no RecordBatch slips in between. Staged rows are
    // young as a rule: skipped when none can be older than the cutoff.
    std::lock_guard db_lock(db_write_mu_);
    std::lock_guard lock(writer_mu_);
    {
      std::lock_guard mem_lock(mem_mu_);
      if (std::min(active_->min_recorded_ms(),
                   frozen_ != nullptr ? frozen_->min_recorded_ms() : INT64_MAX) >= cutoff_ms) {
        return total;
      }
    }
    sqlite3_stmt* s = writer_.purge_staged.get();
    sqlite3_bind_int64(s, 1, cutoff_ms);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return ErrorStatus(writer_.db.get(), rc, "purging " + options_.path);
    const int changes = sqlite3_changes(writer_.db.get());
    {
      std::lock_guard mem_lock(mem_mu_);
      active_->PurgeOlderThan(cutoff_ms);
      if (frozen_ != nullptr) frozen_->PurgeOlderThan(cutoff_ms);
    }
    total += changes;
    purged_.fetch_add(static_cast<uint64_t>(changes), std::memory_order_relaxed);
    return total;
  }

  StoreStats stats() const override {
    StoreStats s;
    s.checked = checked_.load(std::memory_order_relaxed);
    s.hits = hits_.load(std::memory_order_relaxed);
    s.recorded = recorded_.load(std::memory_order_relaxed);
    s.transactions = transactions_.load(std::memory_order_relaxed);
    s.failed_transactions = failed_transactions_.load(std::memory_order_relaxed);
    s.purged = purged_.load(std::memory_order_relaxed);
    s.filter_skips = filter_skips_.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(mem_mu_);
      s.staged = StagedRows();
      s.merges = merges_;
      s.merged = merged_;
      s.failed_merges = failed_merges_;
    }
    std::lock_guard lock(ckpt_mu_);
    s.checkpoints = checkpoints_;
    s.failed_checkpoints = failed_checkpoints_;
    return s;
  }

 private:
  enum class Role { kWriter, kReader, kMerger, kCheckpointer };

  // Looks `key` up in the memory levels (mem_mu_ held). Returns true when that settles it (a
  // delivered resolution, which no older level can override), false when the main table must be
  // consulted; `*out` is then the newest dead-lettered resolution found, if any.
  bool LookupMemory(std::string_view key, uint64_t hash, std::optional<Resolution>* out) {
    for (const internal::StagedIndex* level : {active_.get(), frozen_.get()}) {
      if (level == nullptr) continue;
      const auto v = level->Find(key, hash);
      if (!v) continue;
      if (v->outcome == Outcome::kDelivered) {
        *out = ToResolution(*v);
        return true;
      }
      if (!out->has_value()) *out = ToResolution(*v);
    }
    return false;
  }

  // Looks up the ids marked in `need` in the main table, combining with what memory found.
  Status CheckMain(Connection& c, const EncodedKeys& keys, const std::vector<uint8_t>& need,
                   std::vector<std::optional<Resolution>>* results) {
    std::vector<std::optional<Resolution>>& out = *results;
    sqlite3* db = c.db.get();
    RETURN_IF_ERROR(Step(c.begin_read.get(), "begin read"));
    Status status;
    for (size_t i = 0; i < need.size() && status.ok(); ++i) {
      if (!need[i]) continue;
      std::optional<Resolution> r;
      status = SelectMain(c, keys.key(i), &r);
      // A delivered resolution in the main table wins over a newer dead-lettered one.
      if (r && (!out[i] || r->outcome == Outcome::kDelivered)) out[i] = std::move(r);
    }
    if (status.ok()) status = Step(c.commit.get(), "end read");
    if (!status.ok()) {
      if (!sqlite3_get_autocommit(db)) Step(c.rollback.get(), "rollback read").ok();
      return status;
    }
    return Status::Ok();
  }

  // One main-table lookup on `c`, inside a transaction.
  Status SelectMain(Connection& c, std::string_view key, std::optional<Resolution>* out) {
    sqlite3_stmt* s = c.select.get();
    int rc = BindEncodedKey(s, 1, key);
    if (rc != SQLITE_OK) return ErrorStatus(c.db.get(), rc, "binding an id");
    rc = sqlite3_step(s);
    Status status;
    if (rc == SQLITE_ROW) {
      const int outcome = sqlite3_column_int(s, 0);
      if (outcome != static_cast<int>(Outcome::kDelivered) &&
          outcome != static_cast<int>(Outcome::kDeadLettered)) {
        status = DataLossError("checking ids in " + options_.path + ": stored outcome " +
                               std::to_string(outcome) + " is not valid");
      } else {
        Resolution r;
        r.outcome = static_cast<Outcome>(outcome);
        if (const unsigned char* text = sqlite3_column_text(s, 1)) {
          r.salesforce_id.assign(reinterpret_cast<const char*>(text),
                                 static_cast<size_t>(sqlite3_column_bytes(s, 1)));
        }
        r.recorded_ms = sqlite3_column_int64(s, 2);
        *out = std::move(r);
      }
    } else if (rc != SQLITE_DONE) {
      status = ErrorStatus(c.db.get(), rc, "checking ids in " + options_.path);
    }
    sqlite3_reset(s);
    return status;
  }

  // Marks the dead-lettered entries that would not change anything because their id is already
  // delivered (earlier in the batch, in memory, or in the main table). Writer's transaction open.
  Status SkipDowngrades(std::span<const Entry> entries, const EncodedKeys& keys,
                        std::vector<uint8_t>* skip) {
    skip->assign(entries.size(), 0);
    if (std::none_of(entries.begin(), entries.end(),
                     [](const Entry& e) { return e.outcome == Outcome::kDeadLettered; })) {
      return Status::Ok();  // the common case
    }
    std::unordered_set<std::string_view> delivered_here;
    std::vector<size_t> ask_main;
    {
      std::lock_guard lock(mem_mu_);
      for (size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].outcome == Outcome::kDelivered) {
          delivered_here.insert(keys.key(i));
          continue;
        }
        std::optional<Resolution> r;
        if (delivered_here.count(keys.key(i)) != 0 ||
            LookupMemory(keys.key(i), keys.hashes[i], &r)) {
          (*skip)[i] = 1;
        } else {
          ask_main.push_back(i);
        }
      }
    }
    for (size_t i : ask_main) {
      std::optional<Resolution> r;
      RETURN_IF_ERROR(SelectMain(writer_, keys.key(i), &r));
      // Unless a later entry of this batch makes it delivered first (then it is skipped above).
      if (r && r->outcome == Outcome::kDelivered) (*skip)[i] = 1;
    }
    return Status::Ok();
  }

  // Blocks while max_staged_rows rows are staged (until a merge pass ends). When the last pass
  // failed, asks for a retry and returns its error if that fails too.
  Status WaitForRoom() {
    std::unique_lock lock(mem_mu_);
    bool retried = false;
    uint64_t retry_pass = 0;
    while (StagedRows() >= max_staged_rows_ && !merge_stop_) {
      if (frozen_ != nullptr && !merge_running_) {
        // A frozen generation with no pass running is left from a failed pass.
        if (retried && merge_passes_ != retry_pass) return last_merge_error_;
        if (!retried) {
          retried = true;
          retry_pass = merge_passes_;
          merge_retry_ = true;
          merge_cv_.notify_all();
        }
      }
      room_cv_.wait(lock);
    }
    return Status::Ok();
  }

  // Rows in the memory levels (mem_mu_ held).
  size_t StagedRows() const { return active_->rows() + (frozen_ != nullptr ? frozen_->rows() : 0); }

  void MergeLoop() {
    pthread_setname_np(pthread_self(), "idem-merge");  // for top -H and perf
    std::unique_lock lock(mem_mu_);
    while (true) {
      merge_cv_.wait(lock, [&] {
        return merge_stop_ || (frozen_ == nullptr && active_->rows() >= merge_threshold_) ||
               (frozen_ != nullptr && merge_retry_);
      });
      if (merge_stop_) return;
      merge_retry_ = false;
      lock.unlock();
      {
        std::lock_guard merge_lock(merge_mu_);
        if (MergePass().ok()) MaybeRebuildFilter();
      }
      lock.lock();
    }
  }

  // Freezes the active generation (unless a frozen one is left from a failed pass), writes it
  // into the main table in key order, deletes its rows from the staging table, and drops it from
  // memory. merge_mu_ held.
  Status MergePass() {
    internal::StagedIndex* gen = nullptr;
    int64_t upto_seq = 0;
    {
      // db_write_mu_: no RecordBatch is between its commit and its memory update.
      std::lock_guard db_lock(db_write_mu_);
      std::lock_guard lock(mem_mu_);
      if (frozen_ == nullptr) {
        if (active_->rows() == 0) return Status::Ok();
        frozen_ = std::move(active_);
        active_ = std::make_unique<internal::StagedIndex>();
        frozen_upto_seq_ = next_seq_ - 1;
      }
      gen = frozen_.get();
      upto_seq = frozen_upto_seq_;
      merge_running_ = true;
    }
    // Nobody modifies the frozen generation while a pass runs (purges wait for merge_mu_).
    const std::vector<uint32_t> order = gen->SortedLiveSlots();
    const size_t chunk = static_cast<size_t>(options_.merge_chunk_rows);
    Status status;
    for (size_t begin = 0; begin < order.size() && status.ok(); begin += chunk) {
      const size_t end = std::min(order.size(), begin + chunk);
      status = MergeChunk(*gen, std::span(order).subspan(begin, end - begin));
    }
    if (status.ok()) {
      std::lock_guard db_lock(db_write_mu_);
      sqlite3_stmt* s = merger_.unstage.get();
      sqlite3_bind_int64(s, 1, upto_seq);
      status = Step(s, "removing merged rows from staging");
    }
    std::lock_guard lock(mem_mu_);
    merge_running_ = false;
    ++merge_passes_;
    if (status.ok()) {
      merged_ += order.size();
      ++merges_;
      frozen_.reset();
    } else {
      ++failed_merges_;
      last_merge_error_ = status;
    }
    room_cv_.notify_all();
    return status;
  }

  // One merge transaction: upserts `slots` (in key order) into the main table.
  Status MergeChunk(const internal::StagedIndex& gen, std::span<const uint32_t> slots) {
    std::lock_guard db_lock(db_write_mu_);
    sqlite3* db = merger_.db.get();
    Status status = Step(merger_.begin.get(), "begin merge");
    internal::BloomFilter* bloom = nullptr;
    {
      std::lock_guard lock(mem_mu_);
      bloom = bloom_.get();  // replaced only by this thread (MaybeRebuildFilter)
    }
    for (size_t i = 0; i < slots.size() && status.ok(); ++i) {
      // Slots come in key order, i.e. scattered in memory: ask for them ahead.
      if (i + 2 * kPrefetchDistance < slots.size()) {
        gen.PrefetchSlot(slots[i + 2 * kPrefetchDistance]);
      }
      if (i + kPrefetchDistance < slots.size()) {
        gen.PrefetchSlotBytes(slots[i + kPrefetchDistance]);
        if (bloom != nullptr) bloom->Prefetch(gen.HashOf(slots[i + kPrefetchDistance]));
      }
      const uint32_t slot = slots[i];
      const std::string_view key = gen.KeyOf(slot);
      const internal::StagedView v = gen.ViewOf(slot);
      // Into the filter before the commit: a key in the main table is always in the filter.
      if (bloom != nullptr) bloom->Add(gen.HashOf(slot));
      sqlite3_stmt* s = merger_.upsert.get();
      BindEncodedKey(s, 1, key);
      sqlite3_bind_int(s, 2, static_cast<int>(v.outcome));
      if (v.salesforce_id.empty()) {
        sqlite3_bind_null(s, 3);
      } else {
        sqlite3_bind_text(s, 3, v.salesforce_id.data(), static_cast<int>(v.salesforce_id.size()),
                          SQLITE_STATIC);
      }
      sqlite3_bind_int64(s, 4, v.recorded_ms);
      const int rc = sqlite3_step(s);
      if (rc != SQLITE_DONE) status = ErrorStatus(db, rc, "merging in " + options_.path);
      sqlite3_reset(s);
    }
    if (status.ok()) status = Step(merger_.commit.get(), "commit merge");
    if (!status.ok() && !sqlite3_get_autocommit(db)) {
      Step(merger_.rollback.get(), "rollback merge").ok();
    }
    return status;
  }

  // Rebuilds the filter, twice as large, once it holds more keys than it was sized for (purged
  // keys leave with the rebuild). Merge thread, merge_mu_ held: no key enters the main table
  // meanwhile.
  void MaybeRebuildFilter() {
    std::shared_ptr<internal::BloomFilter> current;
    {
      std::lock_guard lock(mem_mu_);
      current = bloom_;
    }
    if (current == nullptr || current->added() <= current->capacity()) return;
    std::shared_ptr<internal::BloomFilter> rebuilt;
    if (!BuildFilter(current->added(), &rebuilt).ok()) return;  // keep the old one; retried
    std::lock_guard lock(mem_mu_);
    bloom_ = std::move(rebuilt);
  }

  // Builds a filter over the main table's keys (merger's connection), sized for twice as many
  // keys (at least `at_least` and max_staged_rows), or null when that would exceed
  // bloom_max_bytes.
  Status BuildFilter(size_t at_least, std::shared_ptr<internal::BloomFilter>* out) {
    sqlite3* db = merger_.db.get();
    int64_t rows = 0;
    RETURN_IF_ERROR(QueryInt(db, "SELECT count(*) FROM resolutions", &rows));
    const size_t capacity =
        std::max<size_t>({2 * static_cast<size_t>(rows), at_least, max_staged_rows_});
    if (internal::BloomFilter::BytesFor(capacity, options_.bloom_bits_per_key) >
        static_cast<size_t>(options_.bloom_max_bytes)) {
      out->reset();
      return Status::Ok();
    }
    auto filter = std::make_shared<internal::BloomFilter>(capacity, options_.bloom_bits_per_key);
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, "SELECT event_id FROM resolutions", -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return ErrorStatus(db, rc, "reading keys of " + options_.path);
    std::string key;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      if (ColumnKey(raw, 0, &key)) filter->Add(internal::HashKey(key));
    }
    if (rc != SQLITE_DONE) return ErrorStatus(db, rc, "reading keys of " + options_.path);
    *out = std::move(filter);
    return Status::Ok();
  }

  // Reads the staging table into the active generation (at open, before any other thread runs).
  Status LoadStaging() {
    sqlite3* db = writer_.db.get();
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(
        db, "SELECT seq, event_id, outcome, salesforce_id, recorded_ms FROM staging ORDER BY seq",
        -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return ErrorStatus(db, rc, "opening " + options_.path);
    std::string key;
    while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
      const int64_t seq = sqlite3_column_int64(raw, 0);
      const int outcome = sqlite3_column_int(raw, 2);
      const int sf_size = sqlite3_column_bytes(raw, 3);
      const auto* sf = reinterpret_cast<const char*>(sqlite3_column_text(raw, 3));
      if (!ColumnKey(raw, 1, &key) || key.size() < 2 || key.size() > 1 + kMaxEventIdBytes ||
          (outcome != static_cast<int>(Outcome::kDelivered) &&
           outcome != static_cast<int>(Outcome::kDeadLettered)) ||
          sf_size > static_cast<int>(kMaxSalesforceIdBytes)) {
        return DataLossError("opening " + options_.path + ": staged row " + std::to_string(seq) +
                             " is not valid");
      }
      active_->Put(
          key, internal::HashKey(key), static_cast<Outcome>(outcome),
          sf != nullptr ? std::string_view(sf, static_cast<size_t>(sf_size)) : std::string_view(),
          sqlite3_column_int64(raw, 4));
      next_seq_ = std::max(next_seq_, seq + 1);
    }
    if (rc != SQLITE_DONE) return ErrorStatus(db, rc, "opening " + options_.path);
    return Status::Ok();
  }

  // Called by SQLite on the writer's or the merger's thread after each commit (locks released),
  // with the WAL's size in pages.
  static int WalHook(void* self, sqlite3*, const char*, int pages) {
    auto* store = static_cast<SqliteStore*>(self);
    const int threshold = store->CheckpointThreshold();
    if (pages < threshold) return SQLITE_OK;
    std::unique_lock lock(store->ckpt_mu_);
    store->ckpt_wal_pages_ = pages;
    if (pages >= 16 * threshold) {
      // The checkpointer has fallen far behind: wait for it to complete a RESTART checkpoint, so
      // that the next write starts the WAL from its beginning. This is what bounds the -wal file
      // (checkpointing here instead would only race with the checkpointer and fail as busy).
      store->ckpt_restart_wanted_ = true;
      const uint64_t generation = store->ckpt_restarts_;
      store->ckpt_cv_.notify_all();
      store->ckpt_cv_.wait(
          lock, [&] { return store->ckpt_stop_ || store->ckpt_restarts_ != generation; });
      return SQLITE_OK;
    }
    store->ckpt_cv_.notify_all();
    return SQLITE_OK;
  }

  int CheckpointThreshold() const { return std::max(options_.wal_autocheckpoint_pages, 1); }

  // The background checkpointer: PASSIVE checkpoints (which never block readers or the writer)
  // whenever the WAL passed the threshold; RESTART (waits for readers, and the writer waits for
  // it) once the WAL grew to 8x the threshold or the writer asked for it.
  void CheckpointLoop() {
    pthread_setname_np(pthread_self(), "idem-checkpoint");
    std::unique_lock lock(ckpt_mu_);
    while (true) {
      ckpt_cv_.wait(lock, [&] { return ckpt_stop_ || ckpt_wal_pages_ > 0; });
      if (ckpt_stop_) return;
      const int pages = ckpt_wal_pages_;
      const bool restart = ckpt_restart_wanted_ || pages >= 8 * CheckpointThreshold();
      ckpt_wal_pages_ = 0;
      ckpt_restart_wanted_ = false;
      lock.unlock();
      int log_frames = 0;
      int checkpointed = 0;
      const int rc =
          sqlite3_wal_checkpoint_v2(checkpointer_.db.get(), nullptr,
                                    restart ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE,
                                    &log_frames, &checkpointed);
      lock.lock();
      // BUSY means a reader outlasted the busy timeout: the next commit over the threshold retries.
      if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY) {
        ++checkpoints_;
      } else {
        ++failed_checkpoints_;
      }
      if (restart) {
        ++ckpt_restarts_;
        ckpt_cv_.notify_all();  // a writer waiting in WalHook
      }
    }
  }

  Status OpenConnection(Connection* c, Role role) {
    const bool writer = role == Role::kWriter;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (writer) flags |= SQLITE_OPEN_CREATE;
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(options_.path.c_str(), &raw, flags, nullptr);
    c->db.reset(raw);  // closed on every path, even when the open failed
    if (rc != SQLITE_OK) return ErrorStatus(raw, rc, "opening " + options_.path);
    sqlite3* db = c->db.get();
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(options_.busy_timeout.count()));
    // Only takes effect on a new, empty file (before journal_mode = WAL writes the header).
    if (writer) {
      RETURN_IF_ERROR(Exec(db, "PRAGMA page_size = " + std::to_string(options_.page_size)));
    }
    // The first statement reads the header: a file that is not a database fails here.
    std::string mode;
    RETURN_IF_ERROR(QueryText(db, "PRAGMA journal_mode = WAL", &mode));
    if (mode != "wal") {
      return FailedPreconditionError("opening " + options_.path +
                                     ": cannot use WAL mode (journal_mode is " + mode + ")");
    }
    RETURN_IF_ERROR(Exec(db, options_.synchronous == Synchronous::kFull
                                 ? "PRAGMA synchronous = FULL"
                                 : "PRAGMA synchronous = NORMAL"));
    const int cache_kib = role == Role::kCheckpointer ? 256 : std::max(options_.cache_size_kib, 64);
    RETURN_IF_ERROR(Exec(db, "PRAGMA cache_size = -" + std::to_string(cache_kib)));
    if (writer || role == Role::kMerger) {
      // With the background checkpointer, the WAL hook replaces SQLite's own auto-checkpoint
      // (installing the hook turns it off).
      RETURN_IF_ERROR(
          Exec(db, "PRAGMA wal_autocheckpoint = " + std::to_string(CheckpointThreshold())));
    }
    // Keep the WAL file from staying huge after a burst.
    RETURN_IF_ERROR(Exec(db, "PRAGMA journal_size_limit = 67108864"));
    if (role == Role::kReader) RETURN_IF_ERROR(Exec(db, "PRAGMA query_only = 1"));
    return Status::Ok();
  }

  Status PrepareSchema() {
    sqlite3* db = writer_.db.get();
    RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
    Status status = CheckOrCreateSchema(db);
    if (status.ok()) status = Exec(db, "COMMIT");
    if (!status.ok()) {
      if (!sqlite3_get_autocommit(db)) Exec(db, "ROLLBACK").ok();
      return status;
    }
    if (options_.max_size_bytes > 0) {
      int64_t page_size = 0;
      RETURN_IF_ERROR(QueryInt(db, "PRAGMA page_size", &page_size));
      const int64_t pages =
          std::max<int64_t>(options_.max_size_bytes / std::max<int64_t>(page_size, 1), 1);
      int64_t result = 0;
      RETURN_IF_ERROR(QueryInt(db, "PRAGMA max_page_count = " + std::to_string(pages), &result));
    }
    if (options_.check_integrity_on_open) {
      std::string verdict;
      RETURN_IF_ERROR(QueryText(db, "PRAGMA quick_check", &verdict));
      if (verdict != "ok") {
        return DataLossError("opening " + options_.path + ": integrity check failed: " + verdict);
      }
    }
    return Status::Ok();
  }

  Status CheckOrCreateSchema(sqlite3* db) {
    int64_t app_id = 0;
    int64_t version = 0;
    int64_t objects = 0;
    RETURN_IF_ERROR(QueryInt(db, "PRAGMA application_id", &app_id));
    RETURN_IF_ERROR(QueryInt(db, "PRAGMA user_version", &version));
    RETURN_IF_ERROR(QueryInt(db, "SELECT count(*) FROM sqlite_schema", &objects));
    if (app_id == 0 && version == 0 && objects == 0) {
      // A new file: create the current version.
      RETURN_IF_ERROR(Exec(db,
                           "CREATE TABLE resolutions ("
                           " event_id BLOB NOT NULL PRIMARY KEY,"
                           " outcome INTEGER NOT NULL,"
                           " salesforce_id TEXT,"
                           " recorded_ms INTEGER NOT NULL"
                           ") WITHOUT ROWID"));
      RETURN_IF_ERROR(Exec(db, kCreateTimeIndex));
      RETURN_IF_ERROR(Exec(db, kCreateStaging));
      RETURN_IF_ERROR(Exec(db, "PRAGMA application_id = " + std::to_string(kApplicationId)));
      RETURN_IF_ERROR(Exec(db, "PRAGMA user_version = " + std::to_string(kSqliteSchemaVersion)));
      return Status::Ok();
    }
    if (app_id != kApplicationId) {
      return FailedPreconditionError("opening " + options_.path +
                                     ": a SQLite database, but not a sluice idempotency store");
    }
    if (version > kSqliteSchemaVersion) {
      return FailedPreconditionError("opening " + options_.path + ": schema version " +
                                     std::to_string(version) +
                                     " was written by a newer sluice (this one knows up to " +
                                     std::to_string(kSqliteSchemaVersion) + ")");
    }
    if (version < 1) {
      return DataLossError("opening " + options_.path + ": schema version " +
                           std::to_string(version) + " is not valid");
    }
    // Migrations, each step in this same transaction.
    if (version < 2) {
      // Version 1 had the main table only; its rows stay there.
      RETURN_IF_ERROR(Exec(db, "DROP INDEX IF EXISTS resolutions_by_time"));
      RETURN_IF_ERROR(Exec(db, kCreateTimeIndex));
      RETURN_IF_ERROR(Exec(db, kCreateStaging));
      RETURN_IF_ERROR(Exec(db, "PRAGMA user_version = 2"));
    }
    return Status::Ok();
  }

  Status Prepare(Connection& c, const std::string& sql, StmtPtr* out) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(c.db.get(), sql.c_str(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    out->reset(raw);
    if (rc != SQLITE_OK) return ErrorStatus(c.db.get(), rc, "preparing \"" + sql + "\"");
    return Status::Ok();
  }

  Status Step(sqlite3_stmt* s, const std::string& what) {
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
      return ErrorStatus(sqlite3_db_handle(s), rc, what + " in " + options_.path);
    }
    return Status::Ok();
  }

  Status Exec(sqlite3* db, const std::string& sql) {
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    sqlite3_free(error);
    if (rc != SQLITE_OK) return ErrorStatus(db, rc, "opening " + options_.path);
    return Status::Ok();
  }

  Status QueryText(sqlite3* db, const std::string& sql, std::string* out) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
    StmtPtr stmt(raw);
    if (rc != SQLITE_OK) return ErrorStatus(db, rc, "opening " + options_.path);
    rc = sqlite3_step(raw);
    if (rc == SQLITE_ROW) {
      const unsigned char* text = sqlite3_column_text(raw, 0);
      out->assign(text != nullptr ? reinterpret_cast<const char*>(text) : "");
      return Status::Ok();
    }
    if (rc == SQLITE_DONE) {
      out->clear();
      return Status::Ok();
    }
    return ErrorStatus(db, rc, "opening " + options_.path);
  }

  Status QueryInt(sqlite3* db, const std::string& sql, int64_t* out) {
    std::string text;
    RETURN_IF_ERROR(QueryText(db, sql, &text));
    *out = text.empty() ? 0 : std::stoll(text);
    return Status::Ok();
  }

  SqliteStoreOptions options_;
  size_t max_staged_rows_ = 2;
  size_t merge_threshold_ = 1;  // max_staged_rows / 2
  bool opened_ = false;

  std::mutex merge_mu_;    // one merge pass or purge at a time
  FifoMutex db_write_mu_;  // SQLite's write lock, for the writer's and the merger's connection
  std::mutex reader_mu_;
  Connection reader_;
  std::mutex writer_mu_;
  Connection writer_;
  int64_t next_seq_ = 1;  // the next staging row's seq; guarded by db_write_mu_
  Connection merger_;     // the merge thread's (and, at open and close, the opening thread's)

  std::atomic<uint64_t> checked_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> failed_transactions_{0};
  std::atomic<uint64_t> purged_{0};
  std::atomic<uint64_t> filter_skips_{0};

  // The memory levels and the merge state, guarded by mem_mu_.
  mutable std::mutex mem_mu_;
  std::condition_variable merge_cv_;  // the merge thread waits for work
  std::condition_variable room_cv_;   // RecordBatch waits for a merge pass to end
  std::unique_ptr<internal::StagedIndex> active_ = std::make_unique<internal::StagedIndex>();
  std::unique_ptr<internal::StagedIndex> frozen_;  // being merged (or left by a failed pass)
  int64_t frozen_upto_seq_ = 0;                    // staging rows up to here are in frozen_
  std::shared_ptr<internal::BloomFilter> bloom_;   // null when disabled
  bool merge_running_ = false;
  bool merge_retry_ = false;
  bool merge_stop_ = false;
  uint64_t merge_passes_ = 0;  // attempted
  uint64_t merges_ = 0;        // succeeded
  uint64_t merged_ = 0;
  uint64_t failed_merges_ = 0;
  Status last_merge_error_;
  std::thread merge_thread_;

  Connection checkpointer_;  // used by ckpt_thread_ only
  mutable std::mutex ckpt_mu_;
  std::condition_variable ckpt_cv_;
  bool ckpt_stop_ = false;
  int ckpt_wal_pages_ = 0;  // WAL size reported by the last commit over the threshold
  bool ckpt_restart_wanted_ = false;
  uint64_t ckpt_restarts_ = 0;  // RESTART checkpoints attempted
  uint64_t checkpoints_ = 0;
  uint64_t failed_checkpoints_ = 0;
  std::thread ckpt_thread_;
};

// Checks up front what SQLite would report vaguely (a failed create can surface as ENOENT): the
// directory must exist and be writable (WAL mode creates -wal and -shm files beside the
// database), and an existing file must be readable and writable.
Status CheckFileAccess(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return NotFoundError("opening " + path + ": directory " + dir + " does not exist");
  }
  if (faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0) {
    return PermissionDeniedError("opening " + path + ": directory " + dir +
                                 " is not writable (WAL mode creates -wal and -shm files there)");
  }
  if (stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return FailedPreconditionError("opening " + path + ": is a directory");
    }
    if (faccessat(AT_FDCWD, path.c_str(), R_OK | W_OK, AT_EACCESS) != 0) {
      return PermissionDeniedError("opening " + path + ": file is not readable and writable");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<IdempotencyStore>> OpenSqliteStore(const SqliteStoreOptions& options) {
  if (options.path.empty()) return InvalidArgumentError("idempotency store path is empty");
  if (options.path == ":memory:" || options.path.rfind("file:", 0) == 0) {
    return InvalidArgumentError("idempotency store path must be a file, got \"" + options.path +
                                "\"");
  }
  if (options.purge_chunk_rows < 1) {
    return InvalidArgumentError("purge_chunk_rows must be at least 1");
  }
  if (options.page_size < 512 || options.page_size > 65536 ||
      (options.page_size & (options.page_size - 1)) != 0) {
    return InvalidArgumentError("page_size must be a power of two from 512 to 65536");
  }
  if (options.busy_timeout.count() < 0 || options.max_size_bytes < 0) {
    return InvalidArgumentError("busy_timeout and max_size_bytes must not be negative");
  }
  if (options.max_staged_rows < 2 || options.max_staged_rows > 8'000'000) {
    return InvalidArgumentError("max_staged_rows must be from 2 to 8,000,000");
  }
  if (options.merge_chunk_rows < 1) {
    return InvalidArgumentError("merge_chunk_rows must be at least 1");
  }
  if (options.bloom_bits_per_key < 0 || options.bloom_bits_per_key > 32 ||
      options.bloom_max_bytes < 0) {
    return InvalidArgumentError(
        "bloom_bits_per_key must be from 0 to 32 and bloom_max_bytes not negative");
  }
  RETURN_IF_ERROR(CheckFileAccess(options.path));
  auto store = std::make_unique<SqliteStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<IdempotencyStore>(std::move(store));
}

}  // namespace sluice::idempotency

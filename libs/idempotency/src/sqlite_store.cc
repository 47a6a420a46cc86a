// The SQLite implementation of IdempotencyStore.
//
// Two connections to one WAL database: a writer for RecordBatch and the purge, and a reader so
// that CheckBatch never waits for a commit (WAL readers do not block the writer, nor it them).
// CheckBatch uses the writer's connection when no write is in progress (its page cache stays
// warm, while each commit invalidates the reader's cache: ~30% less CPU per check in
// tools/bench/idempotency), else the reader. Each connection is guarded by its own mutex and keeps
// its prepared statements for its lifetime. Schema (version 1):
//
//   CREATE TABLE resolutions (
//     event_id      BLOB NOT NULL PRIMARY KEY,  -- 16 bytes for a UUID, else the id's text
//     outcome       INTEGER NOT NULL,           -- 1 delivered, 2 dead_lettered
//     salesforce_id TEXT,                       -- NULL when none
//     recorded_ms   INTEGER NOT NULL            -- wall-clock ms, drives retention
//   ) WITHOUT ROWID;
//   CREATE INDEX resolutions_by_time ON resolutions(recorded_ms);

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "sluice/idempotency/store.h"

namespace sluice::idempotency {
namespace {

constexpr int kApplicationId = 0x736c6963;  // "slic"

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

// One connection with its statements. Not thread-safe: guarded by the owner's mutex.
struct Connection {
  DbPtr db;
  // Statement cache: prepared once, reset after each use.
  StmtPtr begin;       // BEGIN IMMEDIATE on the writer, BEGIN on the reader
  StmtPtr begin_read;  // BEGIN (deferred): a read transaction
  StmtPtr commit;
  StmtPtr rollback;
  StmtPtr select;
  StmtPtr upsert;
  StmtPtr purge;

  // Destroy statements before the connection (members are destroyed in reverse order).
  ~Connection() {
    purge.reset();
    upsert.reset();
    select.reset();
    rollback.reset();
    commit.reset();
    begin_read.reset();
    begin.reset();
  }
};

class SqliteStore final : public IdempotencyStore {
 public:
  explicit SqliteStore(SqliteStoreOptions options) : options_(std::move(options)) {
    if (options_.clock == nullptr) options_.clock = &RealClock();
  }

  // Stops the checkpointer before the connections close (the last close checkpoints what is left
  // and removes the -wal file).
  ~SqliteStore() override {
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
    if (options_.background_checkpoint) {
      RETURN_IF_ERROR(OpenConnection(&checkpointer_, Role::kCheckpointer));
      sqlite3_wal_hook(writer_.db.get(), &SqliteStore::WalHook, this);
      ckpt_thread_ = std::thread([this] { CheckpointLoop(); });
    }
    for (Connection* c : {&reader_, &writer_}) {
      RETURN_IF_ERROR(Prepare(*c, "BEGIN", &c->begin_read));
      RETURN_IF_ERROR(Prepare(*c, "COMMIT", &c->commit));
      RETURN_IF_ERROR(Prepare(*c, "ROLLBACK", &c->rollback));
      RETURN_IF_ERROR(Prepare(*c,
                              "SELECT outcome, salesforce_id, recorded_ms FROM resolutions "
                              "WHERE event_id = ?1",
                              &c->select));
    }
    RETURN_IF_ERROR(Prepare(writer_, "BEGIN IMMEDIATE", &writer_.begin));
    RETURN_IF_ERROR(Prepare(writer_,
                            "INSERT INTO resolutions (event_id, outcome, salesforce_id, "
                            "recorded_ms) VALUES (?1, ?2, ?3, ?4) "
                            "ON CONFLICT (event_id) DO UPDATE SET outcome = excluded.outcome, "
                            "salesforce_id = excluded.salesforce_id, "
                            "recorded_ms = excluded.recorded_ms "
                            "WHERE resolutions.outcome <> 1 OR excluded.outcome = 1",
                            &writer_.upsert));
    RETURN_IF_ERROR(Prepare(writer_,
                            "DELETE FROM resolutions WHERE event_id IN (SELECT event_id FROM "
                            "resolutions WHERE recorded_ms < ?1 ORDER BY recorded_ms LIMIT ?2)",
                            &writer_.purge));
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
    // Prefer the writer's connection when no write is in progress: its page cache is warm,
    // whereas every commit on the writer invalidates the reader's cache. When a write is in
    // progress, the reader answers without waiting for it.
    std::unique_lock write_lock(write_mu_, std::try_to_lock);
    std::unique_lock<std::mutex> read_lock;
    if (!write_lock.owns_lock()) read_lock = std::unique_lock(read_mu_);
    Connection& c = write_lock.owns_lock() ? writer_ : reader_;
    RETURN_IF_ERROR(CheckWith(c, ids, &out));
    return out;
  }

  Status CheckWith(Connection& c, std::span<const std::string> ids,
                   std::vector<std::optional<Resolution>>* results) {
    std::vector<std::optional<Resolution>>& out = *results;
    sqlite3* db = c.db.get();
    RETURN_IF_ERROR(Step(c.begin_read.get(), "begin read"));
    uint64_t hits = 0;
    Status status;
    unsigned char key[16];
    for (size_t i = 0; i < ids.size() && status.ok(); ++i) {
      sqlite3_stmt* s = c.select.get();
      status = BindKey(s, 1, ids[i], key);
      if (!status.ok()) break;
      const int rc = sqlite3_step(s);
      if (rc == SQLITE_ROW) {
        Resolution r;
        const int outcome = sqlite3_column_int(s, 0);
        if (outcome != static_cast<int>(Outcome::kDelivered) &&
            outcome != static_cast<int>(Outcome::kDeadLettered)) {
          status = DataLossError("checking ids in " + options_.path + ": stored outcome " +
                                 std::to_string(outcome) + " is not valid");
          sqlite3_reset(s);
          break;
        }
        r.outcome = static_cast<Outcome>(outcome);
        if (const unsigned char* text = sqlite3_column_text(s, 1)) {
          r.salesforce_id.assign(reinterpret_cast<const char*>(text),
                                 static_cast<size_t>(sqlite3_column_bytes(s, 1)));
        }
        r.recorded_ms = sqlite3_column_int64(s, 2);
        out[i] = std::move(r);
        ++hits;
      } else if (rc != SQLITE_DONE) {
        status = ErrorStatus(db, rc, "checking ids in " + options_.path);
      }
      sqlite3_reset(s);
    }
    if (status.ok()) {
      status = Step(c.commit.get(), "end read");
    }
    if (!status.ok()) {
      if (!sqlite3_get_autocommit(db)) Step(c.rollback.get(), "rollback read").ok();
      return status;
    }
    checked_.fetch_add(ids.size(), std::memory_order_relaxed);
    hits_.fetch_add(hits, std::memory_order_relaxed);
    return Status::Ok();
  }

  Status RecordBatch(std::span<const Entry> entries) override {
    RETURN_IF_ERROR(ValidateEntries(entries));
    if (entries.empty()) return Status::Ok();
    const int64_t now_ms = options_.clock->WallMillis();
    std::lock_guard lock(write_mu_);
    sqlite3* db = writer_.db.get();
    Status status = Step(writer_.begin.get(), "begin write");
    unsigned char key[16];
    for (size_t i = 0; i < entries.size() && status.ok(); ++i) {
      const Entry& e = entries[i];
      sqlite3_stmt* s = writer_.upsert.get();
      status = BindKey(s, 1, e.event_id, key);
      if (!status.ok()) break;
      sqlite3_bind_int(s, 2, static_cast<int>(e.outcome));
      if (e.salesforce_id.empty()) {
        sqlite3_bind_null(s, 3);
      } else {
        sqlite3_bind_text(s, 3, e.salesforce_id.data(), static_cast<int>(e.salesforce_id.size()),
                          SQLITE_STATIC);
      }
      sqlite3_bind_int64(s, 4, e.recorded_ms > 0 ? e.recorded_ms : now_ms);
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
    recorded_.fetch_add(entries.size(), std::memory_order_relaxed);
    transactions_.fetch_add(1, std::memory_order_relaxed);
    return Status::Ok();
  }

  Result<int64_t> PurgeOlderThan(int64_t cutoff_ms) override {
    int64_t total = 0;
    const int chunk = options_.purge_chunk_rows;
    while (true) {
      int changes = 0;
      {
        // One small transaction per chunk: writers queue behind at most one chunk.
        std::lock_guard lock(write_mu_);
        sqlite3_stmt* s = writer_.purge.get();
        sqlite3_bind_int64(s, 1, cutoff_ms);
        sqlite3_bind_int(s, 2, chunk);
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
    std::lock_guard lock(ckpt_mu_);
    s.checkpoints = checkpoints_;
    s.failed_checkpoints = failed_checkpoints_;
    return s;
  }

 private:
  enum class Role { kWriter, kReader, kCheckpointer };

  // Called by SQLite on the writer's thread after each commit (locks released), with the WAL's
  // size in pages.
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
    if (writer) {
      // With the background checkpointer, the writer's WAL hook replaces SQLite's own
      // auto-checkpoint (installing the hook turns it off).
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
      // A new file: create version 1.
      RETURN_IF_ERROR(Exec(db,
                           "CREATE TABLE resolutions ("
                           " event_id BLOB NOT NULL PRIMARY KEY,"
                           " outcome INTEGER NOT NULL,"
                           " salesforce_id TEXT,"
                           " recorded_ms INTEGER NOT NULL"
                           ") WITHOUT ROWID"));
      RETURN_IF_ERROR(Exec(db, "CREATE INDEX resolutions_by_time ON resolutions (recorded_ms)"));
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
    // Future migrations go here: `if (version < 2) { ALTER ...; user_version = 2 }`, each step in
    // this same transaction.
    return Status::Ok();
  }

  // Binds the key for `id` as a 16-byte blob (UUIDs under kAuto; `uuid` must outlive the
  // statement's next step) or as text.
  Status BindKey(sqlite3_stmt* s, int index, const std::string& id, unsigned char uuid[16]) {
    int rc;
    if (options_.key_encoding == KeyEncoding::kAuto && ParseUuid(id, uuid)) {
      rc = sqlite3_bind_blob(s, index, uuid, 16, SQLITE_STATIC);
    } else {
      rc = sqlite3_bind_text(s, index, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
    }
    if (rc != SQLITE_OK) return ErrorStatus(sqlite3_db_handle(s), rc, "binding an id");
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
  std::mutex read_mu_;
  Connection reader_;
  std::mutex write_mu_;
  Connection writer_;
  std::atomic<uint64_t> checked_{0};
  std::atomic<uint64_t> hits_{0};
  std::atomic<uint64_t> recorded_{0};
  std::atomic<uint64_t> transactions_{0};
  std::atomic<uint64_t> failed_transactions_{0};
  std::atomic<uint64_t> purged_{0};

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
  RETURN_IF_ERROR(CheckFileAccess(options.path));
  auto store = std::make_unique<SqliteStore>(options);
  RETURN_IF_ERROR(store->Open());
  return std::unique_ptr<IdempotencyStore>(std::move(store));
}

}  // namespace sluice::idempotency

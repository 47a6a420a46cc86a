// IdempotencyStore: remembers how each event id was resolved (delivered to Salesforce, or
// dead-lettered) so that a redelivered Kafka record is skipped instead of written twice.
//
// The relay checks a batch of event ids before sending, and records the outcomes after Salesforce
// confirmed them (through a GroupCommitter, see group_commit.h); it commits Kafka offsets only
// after the record is durable. A RetentionPurger (retention.h) forgets resolutions after the
// retention window (default 7 days).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::idempotency {

enum class Outcome : int {
  kDelivered = 1,     // Salesforce accepted it; never replaced by kDeadLettered
  kDeadLettered = 2,  // written to the DLQ and acked by the broker
};

// "delivered" or "dead_lettered".
std::string_view OutcomeName(Outcome outcome);

// Event ids and Salesforce ids are bounded so that hostile input cannot bloat the store.
inline constexpr size_t kMaxEventIdBytes = 256;
inline constexpr size_t kMaxSalesforceIdBytes = 255;

// How an event id was resolved.
struct Resolution {
  Outcome outcome = Outcome::kDelivered;
  std::string salesforce_id;  // empty when there is none (dead-lettered, platform events)
  int64_t recorded_ms = 0;    // wall-clock milliseconds since the Unix epoch
};

// One resolution to record.
struct Entry {
  std::string event_id;  // 1..kMaxEventIdBytes bytes, any bytes
  Outcome outcome = Outcome::kDelivered;
  std::string salesforce_id;  // 0..kMaxSalesforceIdBytes bytes
  int64_t recorded_ms = 0;    // <= 0 means "now" on the store's clock
};

// InvalidArgument naming the offending entry (by index) and field, or Ok.
Status ValidateEntries(std::span<const Entry> entries);

// Counters for the relay's metrics. Cumulative since the store was opened.
struct StoreStats {
  uint64_t checked = 0;       // ids looked up
  uint64_t hits = 0;          // ...of which were already resolved
  uint64_t recorded = 0;      // entries written in committed transactions
  uint64_t transactions = 0;  // committed write transactions
  uint64_t failed_transactions = 0;
  uint64_t purged = 0;              // rows deleted by retention
  uint64_t checkpoints = 0;         // background checkpoints run
  uint64_t failed_checkpoints = 0;  // ...that failed (retried at the next commit)
  // The SQLite store's two levels (see SqliteStoreOptions::max_staged_rows):
  uint64_t staged = 0;         // rows in the staging level now (gauge)
  uint64_t merges = 0;         // merge passes completed
  uint64_t merged = 0;         // resolutions moved from the staging level into the main table
  uint64_t failed_merges = 0;  // merge passes that failed (retried, see max_staged_rows)
  uint64_t filter_skips = 0;   // ids the Bloom filter showed absent without a B-tree lookup
};

// The interface the relay depends on, so its unit tests can use a fake.
// Thread-safety: implementations are safe to call from any number of threads at once.
class IdempotencyStore {
 public:
  virtual ~IdempotencyStore() = default;

  // For each id (same order, same size), its resolution or nullopt when never recorded (or
  // purged). InvalidArgument when an id is empty or longer than kMaxEventIdBytes.
  virtual Result<std::vector<std::optional<Resolution>>> CheckBatch(
      std::span<const std::string> ids) = 0;

  // Records every entry in one transaction (all or none). When it returns Ok the transaction has
  // committed and survives a crash of the process. A later entry for the same id replaces the
  // earlier one, except that a delivered resolution is never replaced by a dead-lettered one.
  // Errors: InvalidArgument (bad entry; nothing written), Unavailable (database locked/busy:
  // retryable), ResourceExhausted (disk or size cap full), DataLoss (corrupt file), Internal.
  virtual Status RecordBatch(std::span<const Entry> entries) = 0;

  // Deletes resolutions recorded before `cutoff_ms` (wall-clock ms); returns how many. The SQLite
  // store deletes in small transactions so that writers never wait long.
  virtual Result<int64_t> PurgeOlderThan(int64_t cutoff_ms) = 0;

  virtual StoreStats stats() const = 0;
};

// SQLite durability, see SqliteStoreOptions::synchronous.
enum class Synchronous { kNormal, kFull };

// How event ids are keyed, see SqliteStoreOptions::key_encoding.
enum class KeyEncoding { kAuto, kText };

struct SqliteStoreOptions {
  // The database file; created (with its directory's -wal and -shm companions) when missing.
  // Required; ":memory:" is rejected (the store exists to survive restarts).
  std::string path;
  // Default kNormal: in WAL mode, a committed transaction is in the WAL file (the OS page cache)
  // when COMMIT returns, so it survives the process being killed (SIGKILL, OOM, crash) -- which is
  // what the delivery contract needs -- but the last transactions may be lost if the machine
  // loses power before the OS writes them out. Such a loss leads to a duplicate only when the
  // Salesforce write was not an upsert on an external id (the second layer of the contract).
  // kFull fsyncs the WAL on every commit: survives power loss, costs a disk flush per commit
  // (the group committer amortizes it over a batch).
  Synchronous synchronous = Synchronous::kNormal;
  // kAuto (default): a canonical UUID (8-4-4-4-12 hex digits, either case) is stored as its 16
  // bytes (the upper- and lower-case spellings are the same event), any other id as its text.
  // kText: every id as its text, byte for byte. A store must be reopened with the encoding it was
  // written with. tools/bench/idempotency measures both.
  KeyEncoding key_encoding = KeyEncoding::kAuto;
  // How long a statement waits for a lock held by another connection before failing with
  // Unavailable. Default 5 s. 0 fails at once.
  std::chrono::milliseconds busy_timeout{5000};
  // Rows deleted per purge transaction (the writer lock is released between chunks). Default 1,000.
  int purge_chunk_rows = 1000;
  // Cap on the database size; writes past it fail with ResourceExhausted. 0 (default): no cap.
  int64_t max_size_bytes = 0;
  // SQLite page cache per connection (the store has three: one reads, one records, one merges).
  // Default 16 MiB.
  int cache_size_kib = 16 * 1024;
  // Database page size for a new file (a power of two, 512..65536; an existing file keeps its
  // own). Default 4096.
  int page_size = 4096;
  // The WAL is copied back into the database (a checkpoint, which in NORMAL mode is also when
  // SQLite syncs to disk) once it holds this many pages. Larger means fewer checkpoints and a
  // larger -wal file. Default 1,000 (SQLite's).
  int wal_autocheckpoint_pages = 1000;
  // true (default): checkpoints run on a background thread with a connection of their own, so a
  // commit never waits for the copy into the database nor for its fsync (tens of ms per
  // checkpoint on a virtual disk, which capped throughput at a few tens of thousands of
  // operations/s when SQLite checkpointed on the committing thread). If writers outpace it and the
  // WAL reaches 8 x wal_autocheckpoint_pages, the checkpointer runs a RESTART checkpoint, which
  // makes writers wait for it; at 16 x, the committing thread checkpoints itself. So the -wal file
  // stays bounded. false: SQLite's automatic checkpoints on the committing thread, no extra
  // thread.
  bool background_checkpoint = true;
  // Runs PRAGMA quick_check when opening (reads the whole file: seconds for millions of rows) and
  // fails with DataLoss on corruption. Default false: corruption surfaces as DataLoss on use.
  bool check_integrity_on_open = false;
  // Two levels. RecordBatch appends to a staging table (its pages are the last one or two, so a
  // commit writes a few pages however random the ids) and to an index of the staged rows in
  // memory; a background merge thread moves staged rows into the main table in key order, in
  // transactions of merge_chunk_rows rows (sorted keys touch each B-tree page once per merge
  // instead of once per id), and then drops them from staging. CheckBatch looks in memory first,
  // then in the main table. The staging table is reloaded into memory at open, so a restart or a
  // crash loses nothing.
  //
  // max_staged_rows bounds the staged rows, and so memory (about 100 bytes per row with a UUID key
  // and an 18-character Salesforce id): a merge starts when max_staged_rows / 2 rows are staged,
  // and RecordBatch waits while max_staged_rows are staged, until the running merge ends (so at
  // most max_staged_rows plus one batch are staged). Larger means fewer, more efficient merges (a
  // merge writes each main-table page it touches once; at ~80 UUID rows per page, a merge of N
  // rows into a table of R rows touches about min(N, R / 80) pages), more memory, and a longer
  // reload at open. A failed merge (e.g. disk or size cap full) is retried by the next
  // RecordBatch that has to wait, which fails with the merge's error when the retry fails too.
  // Closing the store waits for a running merge. Default 500,000; 2..8,000,000.
  int64_t max_staged_rows = 500000;
  // Rows per merge transaction: how long RecordBatch can wait for the write lock behind a merge.
  // Default 20,000.
  int merge_chunk_rows = 20000;
  // true (default): closing the store merges what is staged, so a cleanly closed file holds its
  // resolutions in the main table alone. false: staged rows stay staged and are reloaded at open.
  bool merge_on_close = true;
  // A Bloom filter over the main table's keys, built at open (reads every key: ~0.15 s per
  // million rows), lets CheckBatch skip the B-tree lookup for most ids that were never recorded.
  // Bits per key (1..32; ~1% false positives at 10); 0 disables it. Default 10.
  int bloom_bits_per_key = 10;
  // The filter is sized for twice the keys it holds, at least max_staged_rows (rebuilt twice as
  // large by the merge thread when they outgrow it), and disabled when it would need more than
  // this many bytes. Default 64 MiB (about 25 million keys at 10 bits).
  int64_t bloom_max_bytes = 64LL << 20;
  // Time for entries recorded with recorded_ms <= 0. Default (nullptr): RealClock().
  Clock* clock = nullptr;
};

// Opens (creating when missing) a SQLite store in WAL mode, with schema versioning through
// PRAGMA user_version and a sluice application_id.
// Errors, each naming the path: InvalidArgument (empty or ":memory:" path, bad options),
// NotFound (directory missing), PermissionDenied (read-only directory or file), DataLoss (not a
// database, corrupt), FailedPrecondition (a SQLite database of something else, or written by a
// newer sluice with a higher schema version).
Result<std::unique_ptr<IdempotencyStore>> OpenSqliteStore(const SqliteStoreOptions& options);

// The schema version this build writes (PRAGMA user_version). Version 2 added the staging table;
// a version 1 file is migrated when opened (its rows stay where they are).
inline constexpr int kSqliteSchemaVersion = 2;

}  // namespace sluice::idempotency

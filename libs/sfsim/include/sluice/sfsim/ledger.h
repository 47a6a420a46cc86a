// The ledger: every accepted write, in order, in memory and optionally in SQLite, so that tools
// (sluice-flood, tests) can prove no loss and no duplicates.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/status.h"
#include "sluice/sfsim/options.h"

namespace sluice::sfsim {

struct LedgerEntry {
  uint64_t seq = 0;         // 1, 2, 3, ... in acceptance order
  int64_t received_ms = 0;  // wall clock, epoch milliseconds, when the request arrived
  std::string sobject;
  std::string external_id;  // upsert key value; empty for plain creates without one
  std::string record_id;
  std::string event_id;     // value of LedgerOptions::event_id_field, or empty
  uint64_t request_id = 0;  // the simulator's request number (also in the Sforce-Request-Id header)
  bool created = false;     // false: an update of an existing record
  // The Bulk API 2.0 job (750…) that wrote it; empty for REST and collections writes. A bulk
  // entry's request_id is the request that closed the job (UploadComplete).
  std::string bulk_job_id;

  // One JSON object on one line (no newline). Bulk writes add "bulk":true,"bulk_job_id":"750…".
  std::string ToJsonLine() const;
};

// Thread-safety: not thread-safe; the simulator calls it under its own lock.
class Ledger {
 public:
  // Opens the SQLite file when options.sqlite_path is set (creating the table).
  static Result<std::unique_ptr<Ledger>> Open(const LedgerOptions& options);
  ~Ledger();

  // Appends an entry (its seq is assigned) to memory and, batched per request, to SQLite.
  void Append(LedgerEntry entry);
  // Writes the current SQLite batch (one transaction per request keeps appends cheap).
  Status Flush();

  // Entries with seq > since, at most `limit`, oldest first, from memory.
  void ForEachSince(uint64_t since, uint64_t limit,
                    const std::function<void(const LedgerEntry&)>& fn) const;

  uint64_t total() const { return next_seq_ - 1; }
  uint64_t first_in_memory() const { return entries_.empty() ? next_seq_ : entries_.front().seq; }
  void Clear();

 private:
  struct Sqlite;
  explicit Ledger(const LedgerOptions& options);
  LedgerOptions options_;
  std::deque<LedgerEntry> entries_;
  uint64_t next_seq_ = 1;
  std::unique_ptr<Sqlite> sqlite_;
};

}  // namespace sluice::sfsim

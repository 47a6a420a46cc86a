#include "sluice/sfsim/ledger.h"

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include "sluice/core/logging.h"

namespace sluice::sfsim {

std::string LedgerEntry::ToJsonLine() const {
  std::string out;
  out.reserve(160 + sobject.size() + external_id.size() + event_id.size());
  out += "{\"seq\":";
  out += std::to_string(seq);
  out += ",\"received_ms\":";
  out += std::to_string(received_ms);
  out += ",\"sobject\":\"";
  out += JsonEscape(sobject);
  out += "\",\"external_id\":\"";
  out += JsonEscape(external_id);
  out += "\",\"record_id\":\"";
  out += JsonEscape(record_id);
  out += "\",\"event_id\":\"";
  out += JsonEscape(event_id);
  out += "\",\"request_id\":";
  out += std::to_string(request_id);
  out += ",\"created\":";
  out += created ? "true" : "false";
  if (!bulk_job_id.empty()) {  // only bulk writes carry these, so older readers see no change
    out += ",\"bulk\":true,\"bulk_job_id\":\"";
    out += JsonEscape(bulk_job_id);
    out += '"';
  }
  out += "}";
  return out;
}

struct Ledger::Sqlite {
  struct DbClose {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  struct StmtFinalize {
    void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3, DbClose> db;
  std::unique_ptr<sqlite3_stmt, StmtFinalize> insert;
  bool in_txn = false;

  Status Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      return InternalError(std::string("ledger sqlite: ") + msg);
    }
    return Status::Ok();
  }
};

Result<std::unique_ptr<Ledger>> Ledger::Open(const LedgerOptions& options) {
  std::unique_ptr<Ledger> ledger(new Ledger(options));
  if (options.sqlite_path.empty()) return ledger;
  auto s = std::make_unique<Sqlite>();
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(options.sqlite_path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  s->db.reset(db);
  if (rc != SQLITE_OK) {
    return InternalError("ledger sqlite: open " + options.sqlite_path + ": " +
                         (db ? sqlite3_errmsg(db) : "out of memory"));
  }
  // The ledger is a verification aid, not a source of truth: trade durability for append speed.
  RETURN_IF_ERROR(s->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF;"));
  // Every run starts the ledger afresh; dropping the table also upgrades a file written before
  // the bulk_job_id column existed.
  RETURN_IF_ERROR(s->Exec("DROP TABLE IF EXISTS ledger"));
  RETURN_IF_ERROR(
      s->Exec("CREATE TABLE ledger (seq INTEGER PRIMARY KEY, received_ms INTEGER, "
              "sobject TEXT, external_id TEXT, record_id TEXT, event_id TEXT, request_id INTEGER, "
              "created INTEGER, bulk_job_id TEXT)"));
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(s->db.get(),
                         "INSERT INTO ledger (seq, received_ms, sobject, external_id, record_id, "
                         "event_id, request_id, created, bulk_job_id) VALUES (?,?,?,?,?,?,?,?,?)",
                         -1, &stmt, nullptr) != SQLITE_OK) {
    return InternalError(std::string("ledger sqlite: prepare: ") + sqlite3_errmsg(s->db.get()));
  }
  s->insert.reset(stmt);
  ledger->sqlite_ = std::move(s);
  return ledger;
}

Ledger::Ledger(const LedgerOptions& options) : options_(options) {}

Ledger::~Ledger() {
  if (sqlite_) (void)Flush();
}

void Ledger::Append(LedgerEntry entry) {
  entry.seq = next_seq_++;
  if (sqlite_) {
    if (!sqlite_->in_txn && sqlite_->Exec("BEGIN").ok()) sqlite_->in_txn = true;
    sqlite3_stmt* st = sqlite_->insert.get();
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, static_cast<int64_t>(entry.seq));
    sqlite3_bind_int64(st, 2, entry.received_ms);
    sqlite3_bind_text(st, 3, entry.sobject.data(), static_cast<int>(entry.sobject.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, entry.external_id.data(), static_cast<int>(entry.external_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, entry.record_id.data(), static_cast<int>(entry.record_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, entry.event_id.data(), static_cast<int>(entry.event_id.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 7, static_cast<int64_t>(entry.request_id));
    sqlite3_bind_int(st, 8, entry.created ? 1 : 0);
    if (entry.bulk_job_id.empty()) {
      sqlite3_bind_null(st, 9);
    } else {
      sqlite3_bind_text(st, 9, entry.bulk_job_id.data(), static_cast<int>(entry.bulk_job_id.size()),
                        SQLITE_TRANSIENT);
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
      static auto log = GetLogger("sfsim");
      LogWith(*log, spdlog::level::warn,
              {{"event", "ledger_insert_failed"},
               {"event_id", entry.event_id},
               {"error", sqlite3_errmsg(sqlite_->db.get())}},
              "ledger sqlite insert failed: {}", sqlite3_errmsg(sqlite_->db.get()));
    }
  }
  entries_.push_back(std::move(entry));
  if (options_.max_memory_entries > 0) {
    while (entries_.size() > options_.max_memory_entries) entries_.pop_front();
  }
}

Status Ledger::Flush() {
  if (!sqlite_ || !sqlite_->in_txn) return Status::Ok();
  sqlite_->in_txn = false;
  return sqlite_->Exec("COMMIT");
}

void Ledger::ForEachSince(uint64_t since, uint64_t limit,
                          const std::function<void(const LedgerEntry&)>& fn) const {
  if (entries_.empty()) return;
  uint64_t first = entries_.front().seq;
  size_t start = since < first ? 0 : static_cast<size_t>(since - first + 1);
  for (size_t i = start; i < entries_.size() && limit > 0; ++i, --limit) fn(entries_[i]);
}

void Ledger::Clear() {
  entries_.clear();
  next_seq_ = 1;
  if (sqlite_) {
    (void)Flush();
    (void)sqlite_->Exec("DELETE FROM ledger");
  }
}

}  // namespace sluice::sfsim

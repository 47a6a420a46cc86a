// Helpers shared by the idempotency tests: a temporary directory, raw SQLite access, id makers.
#pragma once

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "sluice/idempotency/store.h"

namespace sluice::idempotency::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it at the end.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/sluice-idem-XXXXXX";
    char* made = mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    // Give back write permission to anything a test made read-only, so it can be removed.
    for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) chmod(it->path().c_str(), 0755);
    }
    chmod(path_.c_str(), 0755);
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A raw connection for inspecting or disturbing the store's file from a test.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    EXPECT_EQ(
        sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  int Exec(const std::string& sql) {
    return sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  }
  int64_t QueryInt(const std::string& sql) {
    sqlite3_stmt* s = nullptr;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return v;
  }
  sqlite3* get() { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

// A random canonical (lower-case) UUID.
inline std::string RandomUuid(std::mt19937_64& rng) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    out += kHex[rng() % 16];
  }
  return out;
}

// A controllable IdempotencyStore: records every call, can hold RecordBatch until released, and
// returns whatever status the test sets. Thread-safety: all methods are safe from any thread.
class FakeStore : public IdempotencyStore {
 public:
  Result<std::vector<std::optional<Resolution>>> CheckBatch(
      std::span<const std::string> ids) override {
    return std::vector<std::optional<Resolution>>(ids.size());
  }
  Status RecordBatch(std::span<const Entry> entries) override {
    std::unique_lock lock(mu_);
    batches_.emplace_back(entries.begin(), entries.end());
    ++in_call_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return !hold_; });
    --in_call_;
    return record_status_;
  }
  Result<int64_t> PurgeOlderThan(int64_t cutoff_ms) override {
    std::lock_guard lock(mu_);
    cutoffs_.push_back(cutoff_ms);
    if (!purge_status_.ok()) return purge_status_;
    return purge_rows_;
  }
  StoreStats stats() const override { return {}; }

  void Hold() {
    std::lock_guard lock(mu_);
    hold_ = true;
  }
  void Release() {
    std::lock_guard lock(mu_);
    hold_ = false;
    cv_.notify_all();
  }
  void SetRecordStatus(Status s) {
    std::lock_guard lock(mu_);
    record_status_ = std::move(s);
  }
  void SetPurge(Status s, int64_t rows) {
    std::lock_guard lock(mu_);
    purge_status_ = std::move(s);
    purge_rows_ = rows;
  }
  // Waits (on a condition, 10 s safety deadline) until `n` RecordBatch calls have started.
  bool WaitForCalls(size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return batches_.size() >= n; });
  }
  std::vector<std::vector<Entry>> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }
  std::vector<int64_t> cutoffs() {
    std::lock_guard lock(mu_);
    return cutoffs_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool hold_ = false;
  int in_call_ = 0;
  Status record_status_;
  Status purge_status_;
  int64_t purge_rows_ = 0;
  std::vector<std::vector<Entry>> batches_;
  std::vector<int64_t> cutoffs_;
};

// Entries for one id, as the relay records them.
inline Entry Delivered(std::string id, std::string sf_id = "", int64_t at = 0) {
  return Entry{std::move(id), Outcome::kDelivered, std::move(sf_id), at};
}

inline Entry DeadLettered(std::string id, int64_t at = 0) {
  return Entry{std::move(id), Outcome::kDeadLettered, "", at};
}

}  // namespace sluice::idempotency::test

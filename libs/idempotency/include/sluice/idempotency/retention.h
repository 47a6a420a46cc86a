// RetentionPurger: forgets resolutions older than the retention window, in the background.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/idempotency/store.h"

namespace sluice::idempotency {

struct RetentionOptions {
  // Resolutions recorded longer ago than this (on the clock's wall time) are deleted. A redelivery
  // older than the window is no longer recognised as a duplicate; the external-id upsert still
  // keeps it from creating a second record. Default 7 days.
  std::chrono::milliseconds retention = std::chrono::hours(24 * 7);
  // Time between purges, on the injected clock. The first purge runs at start. Default 1 minute.
  std::chrono::milliseconds interval = std::chrono::minutes(1);
  // Longest real-time wait before the thread looks at the clock again; bounds how late a purge is
  // when a simulated clock jumps. Stop() and Kick() wake the thread at once regardless. Default 1
  // s.
  std::chrono::milliseconds poll = std::chrono::seconds(1);
  // Default (nullptr): RealClock().
  Clock* clock = nullptr;
};

// Runs store->PurgeOlderThan(clock wall time - retention) at start and then every `interval`, on
// its own thread. The store deletes in small chunks, so writers never wait long behind a purge.
// A failed purge is counted (failures(), last_status()) and retried at the next interval.
// Thread-safety: all methods are safe from any thread.
class RetentionPurger {
 public:
  // `store` must outlive the purger.
  static Result<std::unique_ptr<RetentionPurger>> Start(IdempotencyStore* store,
                                                        RetentionOptions options = {});
  ~RetentionPurger();  // Stop()

  RetentionPurger(const RetentionPurger&) = delete;
  RetentionPurger& operator=(const RetentionPurger&) = delete;

  // Purges now instead of at the next interval (e.g. from an admin endpoint, or a test).
  void Kick();
  // Stops and joins the thread; a purge in progress finishes its current chunk loop first.
  void Stop();

  // Purges completed (ok or not), rows deleted in total, failed purges, the last purge's status.
  uint64_t runs() const;
  uint64_t purged_rows() const;
  uint64_t failures() const;
  Status last_status() const;
  // Blocks until at least `n` purges have completed or `timeout` (real time) passed; returns
  // whether `n` was reached.
  bool WaitForRuns(uint64_t n, std::chrono::milliseconds timeout) const;

 private:
  RetentionPurger(IdempotencyStore* store, RetentionOptions options);
  void Run();

  IdempotencyStore* const store_;
  const RetentionOptions options_;
  Clock& clock_;

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  uint64_t runs_ = 0;
  uint64_t purged_rows_ = 0;
  uint64_t failures_ = 0;
  Status last_status_;
  std::thread thread_;
};

}  // namespace sluice::idempotency

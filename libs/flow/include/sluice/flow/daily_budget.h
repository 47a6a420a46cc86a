// DailyBudgetGuard: stops sending before the org's daily API allocation passes a reserve.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::flow {

struct DailyBudgetOptions {
  // Fraction of the daily allocation kept back for everything else that uses the org. Sending
  // stops once used ≥ ⌈(1 - reserve) × max⌉. Within [0, 1). Default 0.1.
  double reserve = 0.1;
  // While blocked, one probe request (whose Sforce-Limit-Info tells whether usage has fallen in the
  // rolling 24 h window) is allowed per probe_interval. Within (0, 366 days]. Default 60 s.
  Clock::Duration probe_interval = std::chrono::seconds(60);

  Status Validate() const;
};

// Fed with every `Sforce-Limit-Info: api-usage=used/max` the relay sees (the header parser lives in
// libs/salesforce; this takes the numbers). Usage is org-wide, so every relay instance sees the
// same figures and they all stop at the same point.
//
// Before any observation, sending is allowed. An observation at or above the threshold blocks;
// any later observation below it (usage falls as the rolling window moves, or the allocation
// grows) unblocks. While blocked, TryProbe() grants one request per probe_interval, starting
// probe_interval after the block began.
//
// Thread-safety: internally locked; all methods may be called from any thread.
class DailyBudgetGuard {
 public:
  // `clock` must outlive the guard.
  static Result<std::unique_ptr<DailyBudgetGuard>> Create(const DailyBudgetOptions& options,
                                                          const Clock& clock);

  DailyBudgetGuard(const DailyBudgetGuard&) = delete;
  DailyBudgetGuard& operator=(const DailyBudgetGuard&) = delete;

  // Records one observation. InvalidArgument (and no change) when max ≤ 0 or used < 0; used above
  // max is accepted (orgs can overshoot) and blocks.
  Status Observe(int64_t used, int64_t max);

  // Blocks as if usage had reached the allocation: for a REQUEST_LIMIT_EXCEEDED "TotalRequests"
  // answer that came without a usable Sforce-Limit-Info. The next observation below the threshold
  // unblocks, as usual.
  void MarkExhausted();

  // Whether normal sending is allowed.
  bool Allow() const;
  // While blocked: true at most once per probe_interval, when a probe is due; the caller then sends
  // one request and Observe()s its answer. Always false when not blocked.
  bool TryProbe();
  // While blocked: when the next probe is due. nullopt when not blocked.
  std::optional<Clock::TimePoint> NextProbeAt() const;

  // The threshold for `max`: ⌈(1 - reserve) × max⌉ clamped to [1, max]; 0 when max ≤ 0.
  int64_t ThresholdFor(int64_t max) const;

  // The last observation (0/0 before any).
  int64_t used() const;
  int64_t max() const;
  // Times the guard went from allowing to blocked.
  int64_t blocks() const;

 private:
  DailyBudgetGuard(const DailyBudgetOptions& options, const Clock& clock);

  const DailyBudgetOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  int64_t used_ = 0;
  int64_t max_ = 0;
  bool blocked_ = false;
  Clock::TimePoint next_probe_;
  int64_t blocks_ = 0;
};

}  // namespace sluice::flow

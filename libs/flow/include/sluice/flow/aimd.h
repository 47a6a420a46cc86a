// Aimd: additive-increase / multiplicative-decrease of an allowed rate or concurrency.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::flow {

struct AimdOptions {
  // The configured ceiling (requests/s, records/s or in-flight requests; after the instance's
  // share is applied). Must be finite and within (0, 1e12]. Default 100.
  double ceiling = 100.0;
  // The floor as a fraction of the ceiling: the value never drops below floor_fraction × ceiling.
  // Must be within (0, 1]. Default 0.1.
  double floor_fraction = 0.1;
  // Where the value starts, as a fraction of the ceiling; within [floor_fraction, 1]. Default 1.
  double initial_fraction = 1.0;
  // Multiplicative decrease on pressure: value ← value × decrease_factor. Within (0, 1).
  // Default 0.5.
  double decrease_factor = 0.5;
  // At most one decrease per cool_down, so one burst of failures (every request in flight failing
  // together) is one decrease. Within [0, 366 days]. Default 1 s.
  Clock::Duration cool_down = std::chrono::seconds(1);
  // Additive increase per success interval, as a fraction of the ceiling. Within (0, 1].
  // Default 0.05 (5% of the ceiling).
  double increase_fraction = 0.05;
  // At most one increase per increase_interval, counted from the last change of either kind.
  // Within [0, 366 days]. Default 1 s.
  Clock::Duration increase_interval = std::chrono::seconds(1);

  Status Validate() const;
};

// The state is kept as a fraction of the ceiling, so when a rebalance changes the ceiling
// (SetCeiling) the value scales with it and keeps its place between floor and ceiling.
//
// Typical use: OnPressure() on org-wide pressure signals (503, concurrency
// REQUEST_LIMIT_EXCEEDED, timeouts), OnSuccess() on each successful request; whenever either
// returns true, push value() into the TokenBucket (SetRate) or ConcurrencyGate (SetLimit).
//
// Thread-safety: internally locked; all methods may be called from any thread.
class Aimd {
 public:
  // `clock` must outlive the controller.
  static Result<std::unique_ptr<Aimd>> Create(const AimdOptions& options, const Clock& clock);

  Aimd(const Aimd&) = delete;
  Aimd& operator=(const Aimd&) = delete;

  // An org-wide pressure signal. Decreases unless a decrease happened within the cool-down or the
  // value is already at the floor; returns whether the value changed.
  bool OnPressure();
  // A success. Increases by one step when increase_interval has passed since the last change and
  // the value is below the ceiling; returns whether the value changed.
  bool OnSuccess();

  // A new ceiling (say, after a rebalance changed this instance's share); the value keeps its
  // fraction. InvalidArgument (and no change) for a ceiling Options::Validate would reject.
  Status SetCeiling(double ceiling);

  // The allowed value now: fraction() × ceiling(), within [floor, ceiling].
  double value() const;
  double ceiling() const;
  double fraction() const;
  int64_t decreases() const;
  int64_t increases() const;

 private:
  Aimd(const AimdOptions& options, const Clock& clock);

  const AimdOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  double ceiling_;
  double fraction_;
  // Time of the last change of either kind (creation counts as one) and of the last decrease
  // (meaningful once decreased_ever_).
  Clock::TimePoint last_change_;
  Clock::TimePoint last_decrease_;
  bool decreased_ever_ = false;
  int64_t decreases_ = 0;
  int64_t increases_ = 0;
};

}  // namespace sluice::flow

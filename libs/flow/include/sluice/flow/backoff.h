// Backoff: exponential backoff with full jitter and an attempt/elapsed budget, for per-record
// transient errors (UNABLE_TO_LOCK_ROW, a record-level 5xx).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/flow/random.h"

namespace sluice::flow {

struct BackoffOptions {
  // Upper bound of the first delay. Within (0, 366 days]. Default 200 ms.
  Clock::Duration initial = std::chrono::milliseconds(200);
  // Growth of the upper bound per attempt. Finite, within [1, 1000]. Default 2.
  double multiplier = 2.0;
  // Largest upper bound. Within [initial, 366 days]. Default 30 s.
  Clock::Duration cap = std::chrono::seconds(30);
  // Attempts in all, the first included: after the max_attempts-th failure the budget is spent.
  // Within [1, 1,000,000]. Default 8.
  int max_attempts = 8;
  // Time budget counted from the first attempt. Within (0, 366 days]. Default 10 min.
  Clock::Duration max_elapsed = std::chrono::minutes(10);

  Status Validate() const;
};

// What to do after a failed attempt.
struct BackoffDecision {
  enum class Kind {
    kRetry,              // Try again after `delay`.
    kAttemptsExhausted,  // max_attempts attempts have failed.
    kElapsedExhausted,   // max_elapsed has passed since the first attempt.
  };
  Kind kind = Kind::kRetry;
  Clock::Duration delay{0};

  bool retry() const { return kind == Kind::kRetry; }
};

// delay = uniform(0, min(cap, initial × multiplier^(attempt-1))), where `attempt` is the number of
// the attempt that just failed (1 for the first). The delay is shortened so the next attempt starts
// no later than first_attempt + max_elapsed; once that moment has passed the budget is spent.
//
// Only per-record failures should be fed here: org-wide failures (503, timeouts, concurrency
// limits, auth, budget) go to the CircuitBreaker and Aimd and must not spend an event's budget;
// KeyScheduler::Requeue returns an event without charging it.
//
// Thread-safety: internally locked around the random source; the policy is immutable, so one
// Backoff may serve every thread.
class Backoff {
 public:
  // `uniform` supplies the jitter (see random.h); InvalidArgument for invalid options or an empty
  // source.
  static Result<std::unique_ptr<Backoff>> Create(const BackoffOptions& options,
                                                 UniformSource uniform);

  Backoff(const Backoff&) = delete;
  Backoff& operator=(const Backoff&) = delete;

  // `attempt` counts from 1 (values below 1 are treated as 1). `first_attempt` is when the event's
  // first attempt started; `now` is the current time.
  BackoffDecision Next(int attempt, Clock::TimePoint first_attempt, Clock::TimePoint now);

  // The un-jittered upper bound for `attempt`: min(cap, initial × multiplier^(attempt-1)).
  Clock::Duration Ceiling(int attempt) const;

  const BackoffOptions& options() const { return options_; }

 private:
  Backoff(const BackoffOptions& options, UniformSource uniform);

  const BackoffOptions options_;
  std::mutex mu_;
  UniformSource uniform_;
};

// Open period of a CircuitBreaker (or any pause that must not shrink to nothing):
// base = min(cap, initial × multiplier^(n-1)); the result is uniform in
// [base × (1 - jitter), base]. Shared here so the breaker and the relay's own pauses agree.
// `n` below 1 is treated as 1; `u` is clamped into [0, 1).
Clock::Duration JitteredExponential(Clock::Duration initial, double multiplier, Clock::Duration cap,
                                    int n, double jitter, double u);

}  // namespace sluice::flow

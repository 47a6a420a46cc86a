// CircuitBreaker: stops all sending while Salesforce as a whole is failing, and probes recovery
// with exactly one request at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/flow/random.h"

namespace sluice::flow {

struct CircuitBreakerOptions {
  // Consecutive org-wide failures (FailureKind::kOrgWide) that open a closed breaker.
  // Within [1, 1,000,000]. Default 3.
  int failure_threshold = 3;
  // The first open period's upper bound. Within (0, 366 days]. Default 1 s.
  Clock::Duration open_initial = std::chrono::seconds(1);
  // Growth of the open period per consecutive opening. Finite, within [1, 1000]. Default 2.
  double open_multiplier = 2.0;
  // Largest open period. Within [open_initial, 366 days]. Default 60 s.
  Clock::Duration open_cap = std::chrono::seconds(60);
  // Jitter of the open period: uniform in [base × (1 - open_jitter), base]. Within [0, 1].
  // Default 0.5. (Not full jitter: a near-zero open period would hammer a down org.)
  double open_jitter = 0.5;

  Status Validate() const;
};

enum class BreakerState { kClosed, kOpen, kHalfOpen };
std::string_view BreakerStateName(BreakerState state);  // "closed", "open", "half_open"

// How a request was admitted; hand it back with the request's outcome.
enum class Admission {
  kAllowed,   // Closed: send normally.
  kProbe,     // Half-open: this request is the single probe.
  kRejected,  // Open, or half-open with the probe out: do not send.
};

enum class FailureKind {
  // 503 SERVER_UNAVAILABLE, connection refused/reset, timeout, concurrency REQUEST_LIMIT_EXCEEDED:
  // counts towards failure_threshold.
  kOrgWide,
  // A failure that needs no confirmation (auth failed again after a token refresh, daily budget
  // exhausted): opens at once.
  kHard,
};

// One state change, for the relay's single log line per change.
struct BreakerTransition {
  BreakerState from = BreakerState::kClosed;
  BreakerState to = BreakerState::kClosed;
  Clock::TimePoint at;
  // When `to` is kOpen: how long it stays open, and how many times in a row it has opened
  // (1 for the first opening since it was last closed).
  Clock::Duration open_for{0};
  int consecutive_opens = 0;
};

// closed --(failure_threshold consecutive org-wide failures, or one hard failure)--> open
// open --(open period over, on the next Admit)--> half-open, that Admit returns the probe
// half-open --(probe succeeds)--> closed (everything reset)
// half-open --(probe fails)--> open, for a longer period (exponential with jitter, capped)
//
// While the breaker is not closed the relay pauses consumption and sends nothing but the probe.
// Failures reported here are org-wide: the relay must not charge them to events (requeue the
// events with KeyScheduler::Requeue instead of Retry). Outcomes of requests admitted before the
// breaker opened (kAllowed) are ignored while it is open or half-open; only the probe's outcome
// decides.
//
// Thread-safety: internally locked; all methods may be called from any thread. The listener is
// called on the thread whose call caused the change, after the lock is released, so it may call
// back into the breaker; listeners on different threads may run concurrently.
class CircuitBreaker {
 public:
  using Listener = std::function<void(const BreakerTransition&)>;

  // `clock` must outlive the breaker; `uniform` supplies the open-period jitter. InvalidArgument
  // for invalid options or an empty source.
  static Result<std::unique_ptr<CircuitBreaker>> Create(const CircuitBreakerOptions& options,
                                                        const Clock& clock, UniformSource uniform);

  CircuitBreaker(const CircuitBreaker&) = delete;
  CircuitBreaker& operator=(const CircuitBreaker&) = delete;

  // Replaces the listener (may be empty). Set it before the breaker is shared.
  void SetListener(Listener listener);

  // Asks to send one request now.
  Admission Admit();
  // The outcome of a request admitted as `how`.
  void OnSuccess(Admission how);
  void OnFailure(Admission how, FailureKind kind);
  // The probe was admitted but never sent (shutdown, a rate limit refused it): another Admit may
  // take the probe. No effect unless a probe is out.
  void CancelProbe();

  BreakerState state() const;
  // State changes since creation.
  int64_t transitions() const;
  int consecutive_failures() const;
  // While open: when the open period ends (the next Admit after it becomes the probe).
  Clock::TimePoint open_until() const;
  // Time left in the open period (zero when not open or when over). For the relay's wake-up.
  Clock::Duration RemainingOpen() const;

 private:
  CircuitBreaker(const CircuitBreakerOptions& options, const Clock& clock, UniformSource uniform);
  // Opens at `now`; requires mu_. Returns the transition to report.
  BreakerTransition OpenLocked(Clock::TimePoint now);
  void Notify(const BreakerTransition& t);

  const CircuitBreakerOptions options_;
  const Clock& clock_;
  mutable std::mutex mu_;
  UniformSource uniform_;
  Listener listener_;
  BreakerState state_ = BreakerState::kClosed;
  int consecutive_failures_ = 0;
  int consecutive_opens_ = 0;
  bool probe_out_ = false;
  Clock::TimePoint open_until_;
  int64_t transitions_ = 0;
};

}  // namespace sluice::flow

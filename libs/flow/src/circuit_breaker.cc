#include "sluice/flow/circuit_breaker.h"

#include <algorithm>
#include <optional>

#include "internal.h"
#include "sluice/flow/backoff.h"

namespace sluice::flow {

std::string_view BreakerStateName(BreakerState state) {
  switch (state) {
    case BreakerState::kClosed:
      return "closed";
    case BreakerState::kOpen:
      return "open";
    case BreakerState::kHalfOpen:
      return "half_open";
  }
  return "unknown";
}

Status CircuitBreakerOptions::Validate() const {
  if (failure_threshold < 1 || failure_threshold > 1'000'000) {
    return internal::Invalid("circuit_breaker", "failure_threshold", "must be within [1, 1000000]");
  }
  if (!internal::DurationInRange(open_initial, Clock::Duration(1), internal::kMaxOptionDuration)) {
    return internal::Invalid("circuit_breaker", "open_initial", "must be within (0, 366 days]");
  }
  if (!internal::InRange(open_multiplier, 1.0, 1000.0)) {
    return internal::Invalid("circuit_breaker", "open_multiplier",
                             "must be a finite number within [1, 1000]");
  }
  if (!internal::DurationInRange(open_cap, open_initial, internal::kMaxOptionDuration)) {
    return internal::Invalid("circuit_breaker", "open_cap",
                             "must be within [open_initial, 366 days]");
  }
  if (!internal::InRange(open_jitter, 0.0, 1.0)) {
    return internal::Invalid("circuit_breaker", "open_jitter", "must be within [0, 1]");
  }
  return Status::Ok();
}

Result<std::unique_ptr<CircuitBreaker>> CircuitBreaker::Create(const CircuitBreakerOptions& options,
                                                               const Clock& clock,
                                                               UniformSource uniform) {
  RETURN_IF_ERROR(options.Validate());
  if (!uniform) return InvalidArgumentError("circuit_breaker: the uniform source is empty");
  return std::unique_ptr<CircuitBreaker>(new CircuitBreaker(options, clock, std::move(uniform)));
}

CircuitBreaker::CircuitBreaker(const CircuitBreakerOptions& options, const Clock& clock,
                               UniformSource uniform)
    : options_(options), clock_(clock), uniform_(std::move(uniform)), open_until_(clock.Now()) {}

void CircuitBreaker::SetListener(Listener listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

BreakerTransition CircuitBreaker::OpenLocked(Clock::TimePoint now) {
  BreakerTransition t;
  t.from = state_;
  t.to = BreakerState::kOpen;
  t.at = now;
  ++consecutive_opens_;
  t.consecutive_opens = consecutive_opens_;
  t.open_for =
      JitteredExponential(options_.open_initial, options_.open_multiplier, options_.open_cap,
                          consecutive_opens_, options_.open_jitter, uniform_());
  state_ = BreakerState::kOpen;
  open_until_ = now + t.open_for;
  probe_out_ = false;
  consecutive_failures_ = 0;
  ++transitions_;
  return t;
}

void CircuitBreaker::Notify(const BreakerTransition& t) {
  Listener listener;
  {
    std::lock_guard lock(mu_);
    listener = listener_;
  }
  if (listener) listener(t);
}

Admission CircuitBreaker::Admit() {
  const auto now = clock_.Now();
  std::optional<BreakerTransition> changed;
  Admission result = Admission::kRejected;
  {
    std::lock_guard lock(mu_);
    switch (state_) {
      case BreakerState::kClosed:
        result = Admission::kAllowed;
        break;
      case BreakerState::kOpen:
        if (now >= open_until_) {
          changed = BreakerTransition{state_, BreakerState::kHalfOpen, now, Clock::Duration(0),
                                      consecutive_opens_};
          state_ = BreakerState::kHalfOpen;
          ++transitions_;
          probe_out_ = true;
          result = Admission::kProbe;
        }
        break;
      case BreakerState::kHalfOpen:
        if (!probe_out_) {
          probe_out_ = true;
          result = Admission::kProbe;
        }
        break;
    }
  }
  if (changed) Notify(*changed);
  return result;
}

void CircuitBreaker::OnSuccess(Admission how) {
  const auto now = clock_.Now();
  std::optional<BreakerTransition> changed;
  {
    std::lock_guard lock(mu_);
    if (state_ == BreakerState::kClosed && how == Admission::kAllowed) {
      consecutive_failures_ = 0;
    } else if (state_ == BreakerState::kHalfOpen && how == Admission::kProbe && probe_out_) {
      changed = BreakerTransition{state_, BreakerState::kClosed, now, Clock::Duration(0), 0};
      state_ = BreakerState::kClosed;
      ++transitions_;
      probe_out_ = false;
      consecutive_failures_ = 0;
      consecutive_opens_ = 0;
    }
  }
  if (changed) Notify(*changed);
}

void CircuitBreaker::OnFailure(Admission how, FailureKind kind) {
  const auto now = clock_.Now();
  std::optional<BreakerTransition> changed;
  {
    std::lock_guard lock(mu_);
    if (state_ == BreakerState::kClosed && how == Admission::kAllowed) {
      ++consecutive_failures_;
      if (kind == FailureKind::kHard || consecutive_failures_ >= options_.failure_threshold) {
        changed = OpenLocked(now);
      }
    } else if (state_ == BreakerState::kHalfOpen && how == Admission::kProbe && probe_out_) {
      changed = OpenLocked(now);
    }
  }
  if (changed) Notify(*changed);
}

void CircuitBreaker::CancelProbe() {
  std::lock_guard lock(mu_);
  if (state_ == BreakerState::kHalfOpen) probe_out_ = false;
}

BreakerState CircuitBreaker::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

int64_t CircuitBreaker::transitions() const {
  std::lock_guard lock(mu_);
  return transitions_;
}

int CircuitBreaker::consecutive_failures() const {
  std::lock_guard lock(mu_);
  return consecutive_failures_;
}

Clock::TimePoint CircuitBreaker::open_until() const {
  std::lock_guard lock(mu_);
  return open_until_;
}

Clock::Duration CircuitBreaker::RemainingOpen() const {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  if (state_ != BreakerState::kOpen || now >= open_until_) return Clock::Duration::zero();
  return open_until_ - now;
}

}  // namespace sluice::flow

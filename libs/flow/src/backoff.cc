#include "sluice/flow/backoff.h"

#include <algorithm>
#include <cmath>

#include "internal.h"

namespace sluice::flow {

namespace {

// initial × multiplier^(n-1), capped, in seconds; computed in floating point so huge attempt
// numbers saturate at the cap instead of overflowing.
double CappedExponentialSeconds(Clock::Duration initial, double multiplier, Clock::Duration cap,
                                int n) {
  const double cap_s = internal::ToSeconds(cap);
  const double exponent = static_cast<double>(std::max(1, n) - 1);
  const double raw = internal::ToSeconds(initial) * std::pow(multiplier, exponent);
  if (!std::isfinite(raw)) return cap_s;
  return std::min(cap_s, raw);
}

}  // namespace

Status BackoffOptions::Validate() const {
  if (!internal::DurationInRange(initial, Clock::Duration(1), internal::kMaxOptionDuration)) {
    return internal::Invalid("backoff", "initial", "must be within (0, 366 days]");
  }
  if (!internal::InRange(multiplier, 1.0, 1000.0)) {
    return internal::Invalid("backoff", "multiplier", "must be a finite number within [1, 1000]");
  }
  if (!internal::DurationInRange(cap, initial, internal::kMaxOptionDuration)) {
    return internal::Invalid("backoff", "cap", "must be within [initial, 366 days]");
  }
  if (max_attempts < 1 || max_attempts > 1'000'000) {
    return internal::Invalid("backoff", "max_attempts", "must be within [1, 1000000]");
  }
  if (!internal::DurationInRange(max_elapsed, Clock::Duration(1), internal::kMaxOptionDuration)) {
    return internal::Invalid("backoff", "max_elapsed", "must be within (0, 366 days]");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Backoff>> Backoff::Create(const BackoffOptions& options,
                                                 UniformSource uniform) {
  RETURN_IF_ERROR(options.Validate());
  if (!uniform) return InvalidArgumentError("backoff: the uniform source is empty");
  return std::unique_ptr<Backoff>(new Backoff(options, std::move(uniform)));
}

Backoff::Backoff(const BackoffOptions& options, UniformSource uniform)
    : options_(options), uniform_(std::move(uniform)) {}

Clock::Duration Backoff::Ceiling(int attempt) const {
  return internal::RoundSeconds(
      CappedExponentialSeconds(options_.initial, options_.multiplier, options_.cap, attempt));
}

BackoffDecision Backoff::Next(int attempt, Clock::TimePoint first_attempt, Clock::TimePoint now) {
  attempt = std::max(1, attempt);
  if (attempt >= options_.max_attempts) {
    return {BackoffDecision::Kind::kAttemptsExhausted, Clock::Duration::zero()};
  }
  const Clock::TimePoint deadline = first_attempt + options_.max_elapsed;
  if (now >= deadline) return {BackoffDecision::Kind::kElapsedExhausted, Clock::Duration::zero()};
  double u;
  {
    std::lock_guard lock(mu_);
    u = ClampUnit(uniform_());
  }
  const double ceiling_s =
      CappedExponentialSeconds(options_.initial, options_.multiplier, options_.cap, attempt);
  // Round down so the delay never exceeds its ceiling.
  Clock::Duration delay(static_cast<Clock::Duration::rep>(std::floor(u * ceiling_s * 1e9)));
  delay = std::min(delay, deadline - now);
  return {BackoffDecision::Kind::kRetry, delay};
}

Clock::Duration JitteredExponential(Clock::Duration initial, double multiplier, Clock::Duration cap,
                                    int n, double jitter, double u) {
  const double base = CappedExponentialSeconds(initial, multiplier, cap, n);
  jitter = std::clamp(std::isfinite(jitter) ? jitter : 0.0, 0.0, 1.0);
  return internal::RoundSeconds(base * (1.0 - jitter * ClampUnit(u)));
}

}  // namespace sluice::flow

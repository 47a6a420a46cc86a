#include "sluice/flow/token_bucket.h"

#include <algorithm>

#include "internal.h"

namespace sluice::flow {

namespace {

// Tolerance for floating-point refill arithmetic: after waiting the returned `wait`, the level is
// within a few ulps of the need, and that must count as enough.
constexpr double kEpsilon = 1e-9;

Status ValidateRate(double rate, double burst) {
  if (!internal::InRange(rate, 1e-6, 1e9)) {
    return internal::Invalid("token_bucket", "rate_per_second",
                             "must be a finite number within [1e-6, 1e9]");
  }
  if (!internal::InRange(burst, 1.0, 1e12)) {
    return internal::Invalid("token_bucket", "burst", "must be a finite number within [1, 1e12]");
  }
  return Status::Ok();
}

}  // namespace

Status TokenBucketOptions::Validate() const { return ValidateRate(rate_per_second, burst); }

Result<std::unique_ptr<TokenBucket>> TokenBucket::Create(const TokenBucketOptions& options,
                                                         const Clock& clock) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<TokenBucket>(new TokenBucket(options, clock));
}

TokenBucket::TokenBucket(const TokenBucketOptions& options, const Clock& clock)
    : clock_(clock),
      rate_(options.rate_per_second),
      burst_(options.burst),
      level_(options.start_full ? options.burst : 0.0),
      last_(clock.Now()) {}

void TokenBucket::RefillLocked(Clock::TimePoint now) const {
  if (now <= last_) return;  // A clock that never goes back; ignore it if one does.
  level_ = std::min(burst_, level_ + rate_ * internal::ToSeconds(now - last_));
  last_ = now;
}

Acquisition TokenBucket::TryAcquire(int64_t n) {
  if (n <= 0) return {true, Clock::Duration::zero()};
  std::lock_guard lock(mu_);
  RefillLocked(clock_.Now());
  const double tokens = static_cast<double>(n);
  const double need = std::min(tokens, burst_);
  if (level_ + kEpsilon >= need) {
    level_ -= tokens;
    return {true, Clock::Duration::zero()};
  }
  // At least one nanosecond, so a caller that waits always sees time move.
  return {false, std::max(Clock::Duration(1), internal::CeilSeconds((need - level_) / rate_))};
}

void TokenBucket::Refund(int64_t n) {
  if (n <= 0) return;
  std::lock_guard lock(mu_);
  RefillLocked(clock_.Now());
  level_ = std::min(burst_, level_ + static_cast<double>(n));
}

Status TokenBucket::SetRate(double rate_per_second, double burst) {
  std::lock_guard lock(mu_);
  const double new_burst = burst == 0.0 ? burst_ : burst;
  RETURN_IF_ERROR(ValidateRate(rate_per_second, new_burst));
  RefillLocked(clock_.Now());
  rate_ = rate_per_second;
  burst_ = new_burst;
  level_ = std::min(level_, burst_);
  return Status::Ok();
}

double TokenBucket::level() const {
  std::lock_guard lock(mu_);
  RefillLocked(clock_.Now());
  return level_;
}

double TokenBucket::rate() const {
  std::lock_guard lock(mu_);
  return rate_;
}

double TokenBucket::burst() const {
  std::lock_guard lock(mu_);
  return burst_;
}

}  // namespace sluice::flow

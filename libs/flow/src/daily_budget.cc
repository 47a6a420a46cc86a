#include "sluice/flow/daily_budget.h"

#include <algorithm>
#include <cmath>

#include "internal.h"

namespace sluice::flow {

Status DailyBudgetOptions::Validate() const {
  if (!internal::InRange(reserve, 0.0, 1.0) || reserve == 1.0) {
    return internal::Invalid("daily_budget", "reserve", "must be within [0, 1)");
  }
  if (!internal::DurationInRange(probe_interval, Clock::Duration(1),
                                 internal::kMaxOptionDuration)) {
    return internal::Invalid("daily_budget", "probe_interval", "must be within (0, 366 days]");
  }
  return Status::Ok();
}

Result<std::unique_ptr<DailyBudgetGuard>> DailyBudgetGuard::Create(
    const DailyBudgetOptions& options, const Clock& clock) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<DailyBudgetGuard>(new DailyBudgetGuard(options, clock));
}

DailyBudgetGuard::DailyBudgetGuard(const DailyBudgetOptions& options, const Clock& clock)
    : options_(options), clock_(clock), next_probe_(clock.Now()) {}

int64_t DailyBudgetGuard::ThresholdFor(int64_t max) const {
  if (max <= 0) return 0;
  // long double keeps every int64 allocation exact enough; the small tolerance stops 0.9 × 100000
  // (not exactly representable) from rounding up to 90001.
  const long double raw = (1.0L - static_cast<long double>(options_.reserve)) * max;
  const auto threshold = static_cast<int64_t>(std::ceil(raw - 1e-6L));
  return std::clamp<int64_t>(threshold, 1, max);
}

Status DailyBudgetGuard::Observe(int64_t used, int64_t max) {
  if (max <= 0) return InvalidArgumentError("daily_budget: api-usage max must be positive");
  if (used < 0) return InvalidArgumentError("daily_budget: api-usage used must not be negative");
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  used_ = used;
  max_ = max;
  const bool over = used >= ThresholdFor(max);
  if (over && !blocked_) {
    blocked_ = true;
    ++blocks_;
    next_probe_ = now + options_.probe_interval;
  } else if (!over) {
    blocked_ = false;
  }
  return Status::Ok();
}

void DailyBudgetGuard::MarkExhausted() {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  if (!blocked_) {
    blocked_ = true;
    ++blocks_;
    next_probe_ = now + options_.probe_interval;
  }
}

bool DailyBudgetGuard::Allow() const {
  std::lock_guard lock(mu_);
  return !blocked_;
}

bool DailyBudgetGuard::TryProbe() {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  if (!blocked_ || now < next_probe_) return false;
  next_probe_ = now + options_.probe_interval;
  return true;
}

std::optional<Clock::TimePoint> DailyBudgetGuard::NextProbeAt() const {
  std::lock_guard lock(mu_);
  if (!blocked_) return std::nullopt;
  return next_probe_;
}

int64_t DailyBudgetGuard::used() const {
  std::lock_guard lock(mu_);
  return used_;
}

int64_t DailyBudgetGuard::max() const {
  std::lock_guard lock(mu_);
  return max_;
}

int64_t DailyBudgetGuard::blocks() const {
  std::lock_guard lock(mu_);
  return blocks_;
}

}  // namespace sluice::flow

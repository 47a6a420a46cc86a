#include "sluice/flow/aimd.h"

#include <algorithm>

#include "internal.h"

namespace sluice::flow {

namespace {

Status ValidateCeiling(double ceiling) {
  if (!internal::InRange(ceiling, 0.0, 1e12) || ceiling == 0.0) {
    return internal::Invalid("aimd", "ceiling", "must be a finite number within (0, 1e12]");
  }
  return Status::Ok();
}

}  // namespace

Status AimdOptions::Validate() const {
  RETURN_IF_ERROR(ValidateCeiling(ceiling));
  if (!internal::InRange(floor_fraction, 0.0, 1.0) || floor_fraction == 0.0) {
    return internal::Invalid("aimd", "floor_fraction", "must be within (0, 1]");
  }
  if (!internal::InRange(initial_fraction, floor_fraction, 1.0)) {
    return internal::Invalid("aimd", "initial_fraction", "must be within [floor_fraction, 1]");
  }
  if (!internal::InRange(decrease_factor, 0.0, 1.0) || decrease_factor == 0.0 ||
      decrease_factor == 1.0) {
    return internal::Invalid("aimd", "decrease_factor", "must be within (0, 1)");
  }
  if (!internal::DurationInRange(cool_down, Clock::Duration::zero(),
                                 internal::kMaxOptionDuration)) {
    return internal::Invalid("aimd", "cool_down", "must be within [0, 366 days]");
  }
  if (!internal::InRange(increase_fraction, 0.0, 1.0) || increase_fraction == 0.0) {
    return internal::Invalid("aimd", "increase_fraction", "must be within (0, 1]");
  }
  if (!internal::DurationInRange(increase_interval, Clock::Duration::zero(),
                                 internal::kMaxOptionDuration)) {
    return internal::Invalid("aimd", "increase_interval", "must be within [0, 366 days]");
  }
  return Status::Ok();
}

Result<std::unique_ptr<Aimd>> Aimd::Create(const AimdOptions& options, const Clock& clock) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<Aimd>(new Aimd(options, clock));
}

Aimd::Aimd(const AimdOptions& options, const Clock& clock)
    : options_(options),
      clock_(clock),
      ceiling_(options.ceiling),
      fraction_(options.initial_fraction),
      last_change_(clock.Now()),
      last_decrease_(clock.Now()) {}

bool Aimd::OnPressure() {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  if (decreased_ever_ && now - last_decrease_ < options_.cool_down) return false;
  if (fraction_ <= options_.floor_fraction) return false;
  fraction_ = std::max(options_.floor_fraction, fraction_ * options_.decrease_factor);
  decreased_ever_ = true;
  last_decrease_ = now;
  last_change_ = now;
  ++decreases_;
  return true;
}

bool Aimd::OnSuccess() {
  const auto now = clock_.Now();
  std::lock_guard lock(mu_);
  if (fraction_ >= 1.0) return false;
  if (now - last_change_ < options_.increase_interval) return false;
  fraction_ = std::min(1.0, fraction_ + options_.increase_fraction);
  last_change_ = now;
  ++increases_;
  return true;
}

Status Aimd::SetCeiling(double ceiling) {
  RETURN_IF_ERROR(ValidateCeiling(ceiling));
  std::lock_guard lock(mu_);
  ceiling_ = ceiling;
  return Status::Ok();
}

double Aimd::value() const {
  std::lock_guard lock(mu_);
  return fraction_ * ceiling_;
}

double Aimd::ceiling() const {
  std::lock_guard lock(mu_);
  return ceiling_;
}

double Aimd::fraction() const {
  std::lock_guard lock(mu_);
  return fraction_;
}

int64_t Aimd::decreases() const {
  std::lock_guard lock(mu_);
  return decreases_;
}

int64_t Aimd::increases() const {
  std::lock_guard lock(mu_);
  return increases_;
}

}  // namespace sluice::flow

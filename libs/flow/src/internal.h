// Helpers shared by the libs/flow implementations (private).
#pragma once

#include <chrono>
#include <cmath>
#include <string>
#include <string_view>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::flow::internal {

using Duration = Clock::Duration;

// The longest duration any flow option accepts: larger values are configuration mistakes, and
// bounding them keeps every `TimePoint + Duration` far from int64 overflow.
inline constexpr Duration kMaxOptionDuration = std::chrono::hours(24 * 366);
// Computed waits saturate here (about 100 years) instead of overflowing.
inline constexpr Duration kMaxWait = std::chrono::hours(24 * 365 * 100);

inline double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

// Seconds to a Duration, rounded up to the next nanosecond so that waiting the returned time is
// always enough; negative or NaN gives 0, huge values saturate at kMaxWait.
inline Duration CeilSeconds(double seconds) {
  if (!(seconds > 0.0)) return Duration::zero();
  const double ns = std::ceil(seconds * 1e9);
  if (ns >= static_cast<double>(kMaxWait.count())) return kMaxWait;
  return Duration(static_cast<Duration::rep>(ns));
}

// Seconds to a Duration rounded to the nearest nanosecond, clamped to [0, kMaxWait].
inline Duration RoundSeconds(double seconds) {
  if (!(seconds > 0.0)) return Duration::zero();
  const double ns = std::round(seconds * 1e9);
  if (ns >= static_cast<double>(kMaxWait.count())) return kMaxWait;
  return Duration(static_cast<Duration::rep>(ns));
}

inline Status Invalid(std::string_view component, std::string_view field, std::string_view why) {
  std::string m;
  m.append(component).append(".").append(field).append(": ").append(why);
  return InvalidArgumentError(std::move(m));
}

// Finite and within [lo, hi].
inline bool InRange(double v, double lo, double hi) {
  return std::isfinite(v) && v >= lo && v <= hi;
}

inline bool DurationInRange(Duration d, Duration lo, Duration hi) { return d >= lo && d <= hi; }

}  // namespace sluice::flow::internal

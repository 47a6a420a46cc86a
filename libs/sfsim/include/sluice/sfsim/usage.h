// The rolling 24-hour API allocation: calls counted in one-minute buckets on an injected clock.
#pragma once

#include <array>
#include <cstdint>

#include "sluice/core/clock.h"

namespace sluice::sfsim {

// Thread-safety: not thread-safe; the simulator calls it under its own lock.
class DailyUsage {
 public:
  static constexpr int kBuckets = 24 * 60;  // one per minute
  static constexpr auto kBucketWidth = std::chrono::minutes(1);

  explicit DailyUsage(Clock::TimePoint start) : start_(start) {}

  // Calls counted in the last 24 hours (calls older than that have rolled off).
  int64_t Used(Clock::TimePoint now);
  // Counts `n` calls at `now`.
  void Add(Clock::TimePoint now, int64_t n = 1);
  // Forgets every call.
  void Clear();

 private:
  void Roll(Clock::TimePoint now);
  Clock::TimePoint start_;
  int64_t current_ = 0;  // index (minutes since start_) of the newest bucket
  int64_t total_ = 0;
  std::array<int64_t, kBuckets> buckets_{};
};

}  // namespace sluice::sfsim

#include "sluice/sfsim/usage.h"

#include <algorithm>

namespace sluice::sfsim {

void DailyUsage::Roll(Clock::TimePoint now) {
  int64_t index =
      now < start_ ? 0 : std::chrono::duration_cast<std::chrono::minutes>(now - start_).count();
  if (index <= current_) return;
  // Clear the buckets that fell out of the window, at most all of them.
  int64_t steps = std::min<int64_t>(index - current_, kBuckets);
  for (int64_t i = 1; i <= steps; ++i) {
    auto& b = buckets_[static_cast<size_t>((current_ + i) % kBuckets)];
    total_ -= b;
    b = 0;
  }
  current_ = index;
}

int64_t DailyUsage::Used(Clock::TimePoint now) {
  Roll(now);
  return total_;
}

void DailyUsage::Add(Clock::TimePoint now, int64_t n) {
  Roll(now);
  buckets_[static_cast<size_t>(current_ % kBuckets)] += n;
  total_ += n;
}

void DailyUsage::Clear() {
  buckets_.fill(0);
  total_ = 0;
}

}  // namespace sluice::sfsim

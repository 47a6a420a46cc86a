#include "sluice/testing/simulated_clock.h"

#include <chrono>

namespace sluice::testing {

SimulatedClock::SimulatedClock(int64_t wall_start_ms)
    : wall_offset_(std::chrono::milliseconds(wall_start_ms)) {}

Clock::TimePoint SimulatedClock::Now() const {
  std::lock_guard lock(mu_);
  return TimePoint(now_);
}

Clock::WallTime SimulatedClock::WallNow() const {
  std::lock_guard lock(mu_);
  return WallTime(now_ + wall_offset_);
}

void SimulatedClock::SleepUntil(TimePoint deadline) {
  std::unique_lock lock(mu_);
  if (TimePoint(now_) >= deadline) return;
  // Shared with Advance, which reads `returned` after this thread has left.
  auto self = std::make_shared<Sleeper>();
  sleepers_.emplace(std::make_pair(deadline, next_seq_++), self);
  cv_.notify_all();  // WaitForSleepers
  cv_.wait(lock, [&] { return self->woken; });
  self->returned = true;
  cv_.notify_all();  // Advance waits for this
}

void SimulatedClock::Advance(Duration d) {
  TimePoint target;
  {
    std::lock_guard lock(mu_);
    target = TimePoint(now_ + d);
  }
  AdvanceTo(target);
}

void SimulatedClock::AdvanceTo(TimePoint target) {
  std::unique_lock lock(mu_);
  while (!sleepers_.empty() && sleepers_.begin()->first.first <= target) {
    auto it = sleepers_.begin();
    std::shared_ptr<Sleeper> sleeper = it->second;
    if (it->first.first.time_since_epoch() > now_) now_ = it->first.first.time_since_epoch();
    sleepers_.erase(it);
    sleeper->woken = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return sleeper->returned; });
  }
  if (target.time_since_epoch() > now_) now_ = target.time_since_epoch();
}

int SimulatedClock::sleepers() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(sleepers_.size());
}

bool SimulatedClock::WaitForSleepers(int n) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, std::chrono::seconds(10),
                      [&] { return static_cast<int>(sleepers_.size()) >= n; });
}

}  // namespace sluice::testing

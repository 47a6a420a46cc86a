#include "event_loop.h"

#include <condition_variable>

namespace sluice::relay {

void EventLoop::Post(Task task) {
  {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }
  waiter_.Notify();
}

void EventLoop::PostAfter(Clock::Duration delay, Task task) {
  timers_.emplace(clock_.Now() + delay, std::move(task));
}

bool EventLoop::HasPosted() const {
  std::lock_guard lock(mu_);
  return !posted_.empty();
}

size_t EventLoop::RunDue() {
  std::vector<Task> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(posted_);
  }
  size_t ran = batch.size();
  for (auto& task : batch) task();
  const auto now = clock_.Now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto task = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    task();
    ++ran;
  }
  return ran;
}

std::optional<Clock::TimePoint> EventLoop::NextTimer() const {
  if (timers_.empty()) return std::nullopt;
  return timers_.begin()->first;
}

void EventLoop::WaitAndRun(Clock::TimePoint deadline) {
  if (auto t = NextTimer(); t && *t < deadline) deadline = *t;
  if (!HasPosted()) waiter_.WaitUntil(deadline);
  RunDue();
}

void ConditionWaiter::WaitUntil(Clock::TimePoint deadline) {
  // The engine's clock is the real steady clock here (RealClock), so its time points convert.
  const auto until = std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(deadline.time_since_epoch()));
  std::unique_lock lock(mu_);
  cv_.wait_until(lock, until, [this] { return notified_; });
  notified_ = false;
}

void ConditionWaiter::Notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  cv_.notify_one();
}

}  // namespace sluice::relay

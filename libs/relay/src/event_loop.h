// EventLoop: how work reaches the engine thread. Other threads Post completions (thread-safe, and
// they wake the engine through the injected Waiter); the engine schedules its own timers on the
// injected clock. Both run only when the engine calls RunDue.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/relay/parts.h"

namespace sluice::relay {

// Thread-safety: Post from any thread; everything else from the engine thread.
class EventLoop {
 public:
  using Task = std::function<void()>;
  EventLoop(Clock& clock, Waiter& waiter) : clock_(clock), waiter_(waiter) {}

  void Post(Task task);
  void PostAfter(Clock::Duration delay, Task task);
  // Runs every posted completion, then every timer due by now. Returns how many ran.
  size_t RunDue();
  bool HasPosted() const;
  std::optional<Clock::TimePoint> NextTimer() const;
  // Waits (through the Waiter) until something is posted or `deadline`, then runs what is due.
  void WaitAndRun(Clock::TimePoint deadline);

 private:
  Clock& clock_;
  Waiter& waiter_;
  mutable std::mutex mu_;
  std::vector<Task> posted_;
  std::multimap<Clock::TimePoint, Task> timers_;
};

// The real Waiter: a condition variable on the real clock.
// Thread-safety: WaitUntil from one thread; Notify from any.
class ConditionWaiter final : public Waiter {
 public:
  void WaitUntil(Clock::TimePoint deadline) override;
  void Notify() override;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;
};

}  // namespace sluice::relay

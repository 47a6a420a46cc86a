// SimulatedClock: time that moves only when a test advances it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "sluice/core/clock.h"

namespace sluice::testing {

// Now() starts at an arbitrary fixed point and changes only through Advance/AdvanceTo. Threads in
// SleepUntil block until simulated time reaches their deadline; Advance wakes them one at a time
// in deadline order (ties in the order they went to sleep), moving Now() to each deadline and
// waiting until the woken sleeper has returned before moving on. No real time passes.
// Thread-safety: all methods are safe from any thread.
class SimulatedClock final : public Clock {
 public:
  // Wall time starts at 2026-01-01T00:00:00Z unless given.
  explicit SimulatedClock(int64_t wall_start_ms = 1767225600000);

  TimePoint Now() const override;
  WallTime WallNow() const override;
  void SleepUntil(TimePoint deadline) override;

  void Advance(Duration d);
  void AdvanceTo(TimePoint t);

  // Number of threads currently blocked in SleepUntil.
  int sleepers() const;
  // Blocks the caller (on a condition, not a sleep) until at least `n` threads are in SleepUntil,
  // or until a real-time safety deadline of 10 s passes; returns whether `n` was reached.
  bool WaitForSleepers(int n) const;

 private:
  struct Sleeper {
    bool woken = false;
    bool returned = false;
  };

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  Duration now_{0};
  Duration wall_offset_;
  uint64_t next_seq_ = 0;
  std::map<std::pair<TimePoint, uint64_t>, std::shared_ptr<Sleeper>> sleepers_;
};

}  // namespace sluice::testing

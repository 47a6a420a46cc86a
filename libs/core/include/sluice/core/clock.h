// Clock: the one source of time in sluice, injected so unit tests never sleep.
#pragma once

#include <chrono>
#include <memory>

namespace sluice {

// Monotonic time for deadlines and rates; wall time for timestamps that leave the process.
// Thread-safety: implementations are safe to call from any number of threads at once.
class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::time_point<std::chrono::steady_clock, Duration>;
  using WallTime = std::chrono::time_point<std::chrono::system_clock, Duration>;

  virtual ~Clock() = default;

  // Monotonic now.
  virtual TimePoint Now() const = 0;
  // Wall-clock now (for timestamps written to Kafka, logs, the ledger).
  virtual WallTime WallNow() const = 0;
  // Blocks the calling thread until Now() >= deadline.
  virtual void SleepUntil(TimePoint deadline) = 0;

  void SleepFor(Duration d) { SleepUntil(Now() + d); }
  // Milliseconds since the Unix epoch, from WallNow().
  int64_t WallMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(WallNow().time_since_epoch())
        .count();
  }
};

// The process's real clock: steady_clock and system_clock. Shared, never destroyed.
Clock& RealClock();

}  // namespace sluice

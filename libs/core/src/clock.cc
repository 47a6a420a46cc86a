#include "sluice/core/clock.h"

#include <thread>

namespace sluice {
namespace {

class RealClockImpl final : public Clock {
 public:
  TimePoint Now() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
  }
  WallTime WallNow() const override {
    return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
  }
  void SleepUntil(TimePoint deadline) override { std::this_thread::sleep_until(deadline); }
};

}  // namespace

Clock& RealClock() {
  static RealClockImpl* clock = new RealClockImpl();  // never destroyed: used at exit too
  return *clock;
}

}  // namespace sluice

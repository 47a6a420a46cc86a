#include "sim_waiter.h"

namespace sluice::sim {

void SimWaiter::WaitUntil(Clock::TimePoint deadline) {
  world_.RunUntil(deadline, [this] { return notified_; });
  notified_ = false;
}

}  // namespace sluice::sim

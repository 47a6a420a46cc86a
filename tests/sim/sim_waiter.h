// SimWaiter: how an engine "waits" in the simulation — by running the world's completions.
#pragma once

#include <cstdint>
#include <memory>

#include "sluice/relay/parts.h"
#include "world.h"

namespace sluice::sim {

// WaitUntil runs world events (only completions: the fakes' callbacks; never another engine's
// Step or a driver action, which run at the top level only) until this engine was notified or
// `deadline` comes, moving the simulated clock as it goes. Notify() from inside a completion
// makes the wait return after that completion.
// Thread-safety: the engine's thread only (the whole simulation is one thread).
class SimWaiter final : public relay::Waiter {
 public:
  explicit SimWaiter(World& world) : world_(world) {}

  void WaitUntil(Clock::TimePoint deadline) override;
  void Notify() override {
    notified_ = true;
    ++*notifications_;
  }
  // Counts every Notify(); the driver shares it to see whether an engine has completions waiting.
  std::shared_ptr<uint64_t> notifications() const { return notifications_; }

 private:
  World& world_;
  bool notified_ = false;
  std::shared_ptr<uint64_t> notifications_ = std::make_shared<uint64_t>(0);
};

}  // namespace sluice::sim

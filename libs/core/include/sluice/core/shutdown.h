// Shutdown: SIGINT/SIGTERM turned into a token that services poll or wait on.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace sluice {

// A one-way flag: once requested, stays requested.
// Thread-safety: all methods are safe from any thread.
class ShutdownToken {
 public:
  bool requested() const;
  void Request();
  // Waits up to `timeout` for a request; returns requested().
  bool WaitFor(std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  bool requested_ = false;
};

struct SignalOptions {
  // When true (default), a second SIGINT/SIGTERM exits the process at once with status 130.
  bool second_signal_exits = true;
};

// Blocks SIGINT/SIGTERM in the calling thread (and so in every thread it creates later) and starts
// a watcher thread that turns the first one into token->Request(). Call from main before starting
// other threads. The watcher lives until the process exits.
// Thread-safety: call once per process.
std::shared_ptr<ShutdownToken> InstallSignalHandlers(const SignalOptions& options = {});

}  // namespace sluice

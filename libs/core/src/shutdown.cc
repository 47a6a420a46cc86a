#include "sluice/core/shutdown.h"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <thread>

namespace sluice {

bool ShutdownToken::requested() const {
  std::lock_guard lock(mu_);
  return requested_;
}

void ShutdownToken::Request() {
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

bool ShutdownToken::WaitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return requested_; });
}

std::shared_ptr<ShutdownToken> InstallSignalHandlers(const SignalOptions& options) {
  auto token = std::make_shared<ShutdownToken>();
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // sigwait in a dedicated thread: no async-signal-safety limits on what the reaction may do.
  std::thread([token, set, options] {
    int seen = 0;
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      ++seen;
      if (seen > 1 && options.second_signal_exits) _exit(130);
      token->Request();
    }
  }).detach();
  return token;
}

}  // namespace sluice

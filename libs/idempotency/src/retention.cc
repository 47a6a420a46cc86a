#include "sluice/idempotency/retention.h"

#include <algorithm>

namespace sluice::idempotency {

Result<std::unique_ptr<RetentionPurger>> RetentionPurger::Start(IdempotencyStore* store,
                                                                RetentionOptions options) {
  if (store == nullptr) return InvalidArgumentError("retention purger needs a store");
  if (options.retention.count() <= 0 || options.interval.count() <= 0 ||
      options.poll.count() <= 0) {
    return InvalidArgumentError("retention, interval and poll must be positive");
  }
  std::unique_ptr<RetentionPurger> purger(new RetentionPurger(store, options));
  purger->thread_ = std::thread([p = purger.get()] { p->Run(); });
  return purger;
}

RetentionPurger::RetentionPurger(IdempotencyStore* store, RetentionOptions options)
    : store_(store),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : RealClock()) {}

RetentionPurger::~RetentionPurger() { Stop(); }

void RetentionPurger::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void RetentionPurger::Kick() {
  {
    std::lock_guard lock(mu_);
    kicked_ = true;
  }
  cv_.notify_all();
}

uint64_t RetentionPurger::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

uint64_t RetentionPurger::purged_rows() const {
  std::lock_guard lock(mu_);
  return purged_rows_;
}

uint64_t RetentionPurger::failures() const {
  std::lock_guard lock(mu_);
  return failures_;
}

Status RetentionPurger::last_status() const {
  std::lock_guard lock(mu_);
  return last_status_;
}

bool RetentionPurger::WaitForRuns(uint64_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return runs_ >= n; });
}

void RetentionPurger::Run() {
  Clock::TimePoint next = clock_.Now();  // first purge at start
  std::unique_lock lock(mu_);
  while (!stopping_) {
    if (kicked_ || clock_.Now() >= next) {
      kicked_ = false;
      lock.unlock();
      const int64_t cutoff = clock_.WallMillis() - options_.retention.count();
      Result<int64_t> purged = store_->PurgeOlderThan(cutoff);
      const Clock::TimePoint after = clock_.Now();
      lock.lock();
      ++runs_;
      if (purged.ok()) {
        purged_rows_ += static_cast<uint64_t>(*purged);
        last_status_ = Status::Ok();
      } else {
        ++failures_;
        last_status_ = purged.status();
      }
      next = after + options_.interval;
      cv_.notify_all();  // WaitForRuns
      continue;
    }
    // Wait in real time for at most the time left on the clock, capped by `poll`; Stop and Kick
    // notify. The clock, not this wait, decides when the next purge is due.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(next - clock_.Now());
    const auto wait = std::clamp(left, std::chrono::milliseconds(1), options_.poll);
    cv_.wait_for(lock, wait, [&] { return stopping_ || kicked_; });
  }
}

}  // namespace sluice::idempotency

#include "sluice/idempotency/group_commit.h"

#include <utility>

namespace sluice::idempotency {

Result<std::unique_ptr<GroupCommitter>> GroupCommitter::Start(IdempotencyStore* store,
                                                              GroupCommitOptions options) {
  if (store == nullptr) return InvalidArgumentError("group committer needs a store");
  if (options.max_batch_entries == 0) {
    return InvalidArgumentError("max_batch_entries must be at least 1");
  }
  if (options.max_queued_entries == 0) {
    return InvalidArgumentError("max_queued_entries must be at least 1");
  }
  if (options.linger.count() < 0) return InvalidArgumentError("linger must not be negative");
  std::unique_ptr<GroupCommitter> committer(new GroupCommitter(store, options));
  committer->writer_ = std::thread([c = committer.get()] { c->Run(); });
  return committer;
}

GroupCommitter::GroupCommitter(IdempotencyStore* store, GroupCommitOptions options)
    : store_(store),
      options_(options),
      clock_(options.clock != nullptr ? *options.clock : RealClock()) {}

GroupCommitter::~GroupCommitter() { Stop(); }

void GroupCommitter::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
}

void GroupCommitter::Enqueue(std::vector<Entry> entries, Callback done) {
  if (Status valid = ValidateEntries(entries); !valid.ok()) {
    if (done) done(valid);
    return;
  }
  if (entries.empty()) {
    if (done) done(Status::Ok());
    return;
  }
  std::unique_lock lock(mu_);
  // Block while full; a request larger than the whole queue is let in when the queue is empty.
  space_cv_.wait(lock, [&] {
    return stopping_ || queued_entries_ == 0 ||
           queued_entries_ + entries.size() <= options_.max_queued_entries;
  });
  if (stopping_) {
    lock.unlock();
    if (done) done(FailedPreconditionError("group committer is stopped"));
    return;
  }
  queued_entries_ += entries.size();
  queue_.push_back(Request{std::move(entries), std::move(done)});
  lock.unlock();
  work_cv_.notify_one();
}

std::future<Status> GroupCommitter::Enqueue(std::vector<Entry> entries) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  Enqueue(std::move(entries), [promise](const Status& s) { promise->set_value(s); });
  return future;
}

GroupCommitStats GroupCommitter::stats() const {
  std::lock_guard lock(mu_);
  GroupCommitStats s = stats_;
  s.queued_entries = queued_entries_;
  return s;
}

void GroupCommitter::Run() {
  std::vector<Request> group;
  std::vector<Entry> batch;
  while (true) {
    std::unique_lock lock(mu_);
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and everything queued has been committed
    if (options_.linger.count() > 0 && queued_entries_ < options_.max_batch_entries && !stopping_) {
      const Clock::TimePoint deadline = clock_.Now() + options_.linger;
      lock.unlock();
      clock_.SleepUntil(deadline);
      lock.lock();
    }
    // Take whole requests while they fit (always at least one).
    size_t taken = 0;
    group.clear();
    while (!queue_.empty() &&
           (group.empty() || taken + queue_.front().entries.size() <= options_.max_batch_entries)) {
      taken += queue_.front().entries.size();
      group.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();

    batch.clear();
    batch.reserve(taken);
    for (Request& r : group) {
      for (Entry& e : r.entries) batch.push_back(std::move(e));
    }
    const Status status = store_->RecordBatch(batch);

    lock.lock();
    queued_entries_ -= taken;
    stats_.groups += 1;
    stats_.requests += group.size();
    if (status.ok()) {
      stats_.entries += taken;
    } else {
      stats_.failed_groups += 1;
    }
    lock.unlock();
    space_cv_.notify_all();
    for (Request& r : group) {
      if (r.done) r.done(status);
    }
  }
}

}  // namespace sluice::idempotency

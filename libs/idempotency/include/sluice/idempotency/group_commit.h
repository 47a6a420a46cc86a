// GroupCommitter: many threads record resolutions; one writer thread commits them in shared
// transactions (group commit), and tells each caller when the transaction holding its entries has
// committed. The relay commits a Kafka offset only after that.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/idempotency/store.h"

namespace sluice::idempotency {

struct GroupCommitOptions {
  // Most entries per transaction. Requests are never split: a group takes whole requests while
  // they fit, and a single request larger than this goes alone. Default 1,000.
  size_t max_batch_entries = 1000;
  // How long the writer waits, after the first request of a group arrives, for more to join
  // (slept on the injected clock; the wait is not cut short when the group fills). Default 0:
  // commit at once. Under load, requests that arrive while a transaction commits form the next
  // group anyway, so batching does not need a delay.
  Clock::Duration linger{0};
  // Most entries waiting to be committed; Enqueue blocks while the queue holds this many (never
  // call Enqueue from a completion callback). Default 100,000.
  size_t max_queued_entries = 100000;
  // The clock for `linger`. Default (nullptr): RealClock().
  Clock* clock = nullptr;
};

struct GroupCommitStats {
  uint64_t requests = 0;  // requests completed (either way)
  uint64_t groups = 0;    // transactions attempted
  uint64_t failed_groups = 0;
  uint64_t entries = 0;         // entries committed
  uint64_t queued_entries = 0;  // entries waiting now
};

// Thread-safety: Enqueue and stats are safe from any number of threads. Callbacks run on the
// writer thread, in request order, after the store's RecordBatch returned for their group: with Ok
// only when the transaction committed, else with its error (the entries are then not recorded, and
// the caller must not commit the Kafka offsets they cover). Callbacks must be quick.
class GroupCommitter {
 public:
  using Callback = std::function<void(const Status&)>;

  // Starts the writer thread. `store` must outlive the committer.
  static Result<std::unique_ptr<GroupCommitter>> Start(IdempotencyStore* store,
                                                       GroupCommitOptions options = {});
  // Commits everything already queued, then stops the writer thread (see Stop).
  ~GroupCommitter();

  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `entries`; `done` is called once with the outcome. Invalid entries (see
  // ValidateEntries) fail this request alone, at once, on the calling thread; after Stop, requests
  // fail with FailedPrecondition. An empty request completes with Ok at once.
  void Enqueue(std::vector<Entry> entries, Callback done);
  // The same, as a future.
  std::future<Status> Enqueue(std::vector<Entry> entries);

  // Stops taking requests, commits what is queued, joins the writer. Idempotent. With a simulated
  // clock and a linger, the clock must be advanced for the last group to commit.
  void Stop();

  GroupCommitStats stats() const;

 private:
  struct Request {
    std::vector<Entry> entries;
    Callback done;
  };

  GroupCommitter(IdempotencyStore* store, GroupCommitOptions options);
  void Run();

  IdempotencyStore* const store_;
  const GroupCommitOptions options_;
  Clock& clock_;

  mutable std::mutex mu_;
  std::condition_variable work_cv_;   // writer waits for requests or stop
  std::condition_variable space_cv_;  // producers wait for queue space
  std::deque<Request> queue_;
  size_t queued_entries_ = 0;
  bool stopping_ = false;
  GroupCommitStats stats_;
  std::thread writer_;
};

}  // namespace sluice::idempotency

#include "sluice/idempotency/group_commit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>
#include <vector>

#include "sluice/testing/simulated_clock.h"
#include "test_util.h"

namespace sluice::idempotency {
namespace {

using test::FakeStore;
using test::TempDir;

std::vector<Entry> Entries(const std::string& prefix, int n) {
  std::vector<Entry> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Entry{prefix + "-" + std::to_string(i), Outcome::kDelivered, "", 1});
  }
  return out;
}

bool Ready(std::future<Status>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

std::unique_ptr<GroupCommitter> MustStart(IdempotencyStore* store, GroupCommitOptions o = {}) {
  auto c = GroupCommitter::Start(store, o);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(*c) : nullptr;
}

TEST(GroupCommitterTest, CompletesOnlyAfterTheTransactionCommitted) {
  FakeStore store;
  store.Hold();
  auto committer = MustStart(&store);
  auto first = committer->Enqueue(Entries("a", 3));
  ASSERT_TRUE(store.WaitForCalls(1));  // the writer is inside RecordBatch
  EXPECT_FALSE(Ready(first));          // ...so nothing is reported yet
  store.Release();
  EXPECT_EQ(first.get(), Status::Ok());
  EXPECT_EQ(store.batches().size(), 1u);
  EXPECT_EQ(store.batches()[0].size(), 3u);
}

TEST(GroupCommitterTest, RequestsQueuedDuringACommitShareTheNextTransaction) {
  FakeStore store;
  store.Hold();
  auto committer = MustStart(&store);
  auto first = committer->Enqueue(Entries("first", 1));
  ASSERT_TRUE(store.WaitForCalls(1));
  std::vector<std::future<Status>> rest;
  for (int i = 0; i < 5; ++i)
    rest.push_back(committer->Enqueue(Entries("r" + std::to_string(i), 2)));
  store.Release();
  EXPECT_TRUE(first.get().ok());
  for (auto& f : rest) EXPECT_TRUE(f.get().ok());
  const auto batches = store.batches();
  ASSERT_EQ(batches.size(), 2u);  // one group for the five
  ASSERT_EQ(batches[1].size(), 10u);
  EXPECT_EQ(batches[1][0].event_id, "r0-0");  // request order kept
  EXPECT_EQ(batches[1][9].event_id, "r4-1");
  const GroupCommitStats stats = committer->stats();
  EXPECT_EQ(stats.groups, 2u);
  EXPECT_EQ(stats.requests, 6u);
  EXPECT_EQ(stats.entries, 11u);
  EXPECT_EQ(stats.queued_entries, 0u);
}

TEST(GroupCommitterTest, GroupsRespectTheSizeCapWithoutSplittingRequests) {
  FakeStore store;
  store.Hold();
  GroupCommitOptions o;
  o.max_batch_entries = 5;
  auto committer = MustStart(&store, o);
  auto blocker = committer->Enqueue(Entries("blocker", 1));
  ASSERT_TRUE(store.WaitForCalls(1));
  std::vector<std::future<Status>> f;
  f.push_back(committer->Enqueue(Entries("a", 3)));
  f.push_back(committer->Enqueue(Entries("b", 3)));    // does not fit with a: next group
  f.push_back(committer->Enqueue(Entries("c", 2)));    // fits with b
  f.push_back(committer->Enqueue(Entries("big", 9)));  // alone, larger than the cap
  store.Release();
  for (auto& x : f) EXPECT_TRUE(x.get().ok());
  const auto batches = store.batches();
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[1].size(), 3u);
  EXPECT_EQ(batches[2].size(), 5u);
  EXPECT_EQ(batches[3].size(), 9u);
}

TEST(GroupCommitterTest, AFailedTransactionFailsEveryRequestInIt) {
  FakeStore store;
  store.Hold();
  auto committer = MustStart(&store);
  auto blocker = committer->Enqueue(Entries("blocker", 1));
  ASSERT_TRUE(store.WaitForCalls(1));
  auto a = committer->Enqueue(Entries("a", 1));
  std::promise<Status> b_done;
  committer->Enqueue(Entries("b", 1), [&](const Status& s) { b_done.set_value(s); });
  store.SetRecordStatus(ResourceExhaustedError("database or disk is full"));
  store.Release();
  EXPECT_EQ(blocker.get().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(a.get().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b_done.get_future().get().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(committer->stats().failed_groups, 2u);
  EXPECT_EQ(committer->stats().entries, 0u);
  // The committer keeps going once the store recovers.
  store.SetRecordStatus(Status::Ok());
  EXPECT_TRUE(committer->Enqueue(Entries("c", 1)).get().ok());
}

TEST(GroupCommitterTest, InvalidRequestsFailAloneAndAtOnce) {
  FakeStore store;
  store.Hold();
  auto committer = MustStart(&store);
  auto good = committer->Enqueue(Entries("good", 1));
  ASSERT_TRUE(store.WaitForCalls(1));
  std::vector<Entry> bad = Entries("bad", 2);
  bad[1].event_id = "";
  auto bad_f = committer->Enqueue(bad);
  ASSERT_TRUE(Ready(bad_f));  // while the writer is still blocked
  EXPECT_EQ(bad_f.get().code(), StatusCode::kInvalidArgument);
  auto empty = committer->Enqueue(std::vector<Entry>{});
  ASSERT_TRUE(Ready(empty));
  EXPECT_TRUE(empty.get().ok());
  store.Release();
  EXPECT_TRUE(good.get().ok());
  EXPECT_EQ(store.batches().size(), 1u);
}

TEST(GroupCommitterTest, StopCommitsWhatIsQueuedThenRefuses) {
  FakeStore store;
  store.Hold();
  auto committer = MustStart(&store);
  auto a = committer->Enqueue(Entries("a", 1));
  ASSERT_TRUE(store.WaitForCalls(1));
  auto b = committer->Enqueue(Entries("b", 1));
  std::thread stopper([&] { committer->Stop(); });
  store.Release();
  stopper.join();
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());  // queued before Stop: committed
  auto late = committer->Enqueue(Entries("late", 1));
  EXPECT_EQ(late.get().code(), StatusCode::kFailedPrecondition);
  committer->Stop();  // idempotent
  EXPECT_EQ(store.batches().size(), 2u);
}

TEST(GroupCommitterTest, LingerGathersRequestsOnTheInjectedClock) {
  FakeStore store;
  testing::SimulatedClock clock;
  GroupCommitOptions o;
  o.linger = std::chrono::milliseconds(5);
  o.max_batch_entries = 10;
  o.clock = &clock;
  auto committer = MustStart(&store, o);
  auto a = committer->Enqueue(Entries("a", 2));
  ASSERT_TRUE(clock.WaitForSleepers(1));  // the writer lingers
  auto b = committer->Enqueue(Entries("b", 2));
  EXPECT_FALSE(Ready(a));
  clock.Advance(std::chrono::milliseconds(5));
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
  ASSERT_EQ(store.batches().size(), 1u);
  EXPECT_EQ(store.batches()[0].size(), 4u);
  // A request that fills a group by itself does not linger.
  auto full = committer->Enqueue(Entries("full", 10));
  EXPECT_TRUE(full.get().ok());
  EXPECT_EQ(store.batches().size(), 2u);
}

TEST(GroupCommitterTest, EnqueueBlocksWhileTheQueueIsFull) {
  FakeStore store;
  store.Hold();
  GroupCommitOptions o;
  o.max_queued_entries = 4;
  auto committer = MustStart(&store, o);
  auto a = committer->Enqueue(Entries("a", 4));
  ASSERT_TRUE(store.WaitForCalls(1));
  std::atomic<bool> returned{false};
  std::future<Status> b;
  std::thread producer([&] {
    b = committer->Enqueue(Entries("b", 1));
    returned = true;
  });
  // The writer holds a's 4 entries, so b must wait for space; it cannot have returned while the
  // store is held.
  EXPECT_FALSE(returned.load());
  store.Release();
  producer.join();
  EXPECT_TRUE(returned.load());
  EXPECT_TRUE(a.get().ok());
  EXPECT_TRUE(b.get().ok());
}

TEST(GroupCommitterTest, RejectsBadOptions) {
  FakeStore store;
  EXPECT_EQ(GroupCommitter::Start(nullptr).status().code(), StatusCode::kInvalidArgument);
  GroupCommitOptions o;
  o.max_batch_entries = 0;
  EXPECT_EQ(GroupCommitter::Start(&store, o).status().code(), StatusCode::kInvalidArgument);
  o = {};
  o.max_queued_entries = 0;
  EXPECT_EQ(GroupCommitter::Start(&store, o).status().code(), StatusCode::kInvalidArgument);
}

TEST(GroupCommitterTest, ConcurrentProducersOnARealStore) {
  TempDir dir;
  SqliteStoreOptions so;
  so.path = dir.File("group.db");
  auto store = OpenSqliteStore(so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto committer = MustStart(store->get());
  constexpr int kThreads = 8;
  constexpr int kRequests = 100;
  constexpr int kPerRequest = 10;
  std::atomic<int> failures{0};
  std::atomic<int> early{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRequests; ++r) {
        const std::string prefix = "t" + std::to_string(t) + "r" + std::to_string(r);
        std::vector<Entry> entries = Entries(prefix, kPerRequest);
        std::vector<std::string> ids;
        for (const Entry& e : entries) ids.push_back(e.event_id);
        if (!committer->Enqueue(std::move(entries)).get().ok()) ++failures;
        // Once the future says Ok, a fresh read must see every entry.
        auto got = (*store)->CheckBatch(ids);
        if (!got.ok()) {
          ++failures;
          continue;
        }
        for (const auto& x : *got) {
          if (!x.has_value()) ++early;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(early.load(), 0);
  const GroupCommitStats stats = committer->stats();
  EXPECT_EQ(stats.requests, uint64_t{kThreads} * kRequests);
  EXPECT_EQ(stats.entries, uint64_t{kThreads} * kRequests * kPerRequest);
  EXPECT_LE(stats.groups, stats.requests);
  EXPECT_EQ((*store)->stats().recorded, uint64_t{kThreads} * kRequests * kPerRequest);
}

}  // namespace
}  // namespace sluice::idempotency

namespace sluice::idempotency {
namespace {

TEST(GroupCommitterRealStoreTest, DiskFullAndLockedReachTheCallers) {
  test::TempDir dir;
  SqliteStoreOptions so;
  so.path = dir.File("errors.db");
  so.busy_timeout = std::chrono::milliseconds(0);
  so.max_size_bytes = 128 * 1024;
  auto store = OpenSqliteStore(so);
  ASSERT_TRUE(store.ok()) << store.status();
  auto committer = GroupCommitter::Start(store->get());
  ASSERT_TRUE(committer.ok());

  // Locked by another connection: Unavailable, retryable, nothing recorded.
  {
    test::RawDb other(so.path);
    ASSERT_EQ(other.Exec("BEGIN IMMEDIATE"), SQLITE_OK);
    Status s = (*committer)->Enqueue(Entries("locked", 3)).get();
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s;
    ASSERT_EQ(other.Exec("ROLLBACK"), SQLITE_OK);
  }
  auto got = (*store)->CheckBatch(std::vector<std::string>{"locked-0"});
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE((*got)[0].has_value());
  EXPECT_TRUE((*committer)->Enqueue(Entries("locked", 3)).get().ok());  // and it recovers

  // Full: ResourceExhausted.
  Status s;
  for (int i = 0; i < 1000 && s.ok(); ++i) {
    s = (*committer)->Enqueue(Entries("fill" + std::to_string(i), 50)).get();
  }
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s;
  EXPECT_GE((*committer)->stats().failed_groups, 2u);
}

// A child process records through a GroupCommitter from several threads and reports each request
// once its future says Ok; after SIGKILL, every reported request must be in the store.
TEST(GroupCommitterRealStoreTest, AcknowledgedRequestsSurviveSigkill) {
  test::TempDir dir;
  SqliteStoreOptions so;
  so.path = dir.File("crash.db");
  constexpr int kThreads = 4;
  constexpr int kPerRequest = 20;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(fds[0]);
    auto store = OpenSqliteStore(so);
    if (!store.ok()) _exit(2);
    auto committer = GroupCommitter::Start(store->get());
    if (!committer.ok()) _exit(3);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int64_t r = 0;; ++r) {
          const std::string prefix = "c" + std::to_string(t) + "-" + std::to_string(r);
          if (!(*committer)->Enqueue(Entries(prefix, kPerRequest)).get().ok()) _exit(4);
          const int64_t ack[2] = {t, r};
          if (write(fds[1], ack, sizeof ack) != sizeof ack) _exit(5);
        }
      });
    }
    for (auto& t : threads) t.join();
    _exit(0);
  }
  close(fds[1]);
  std::vector<int64_t> last(kThreads, -1);
  int64_t ack[2];
  int acks = 0;
  while (acks < 400 && read(fds[0], ack, sizeof ack) == sizeof ack) {
    last[ack[0]] = std::max(last[ack[0]], ack[1]);
    ++acks;
  }
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  while (read(fds[0], ack, sizeof ack) == sizeof ack) last[ack[0]] = std::max(last[ack[0]], ack[1]);
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(acks, 400);

  auto store = OpenSqliteStore(so);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int t = 0; t < kThreads; ++t) {
    for (int64_t r = 0; r <= last[t]; ++r) {
      std::vector<std::string> ids;
      for (const Entry& e :
           Entries("c" + std::to_string(t) + "-" + std::to_string(r), kPerRequest)) {
        ids.push_back(e.event_id);
      }
      auto got = (*store)->CheckBatch(ids);
      ASSERT_TRUE(got.ok()) << got.status();
      for (const auto& x : *got) ASSERT_TRUE(x.has_value()) << "thread " << t << " request " << r;
    }
  }
}

}  // namespace
}  // namespace sluice::idempotency

// The replay engine against a fake ReplayIo: exactly-once bookkeeping, filters, loop guard, dry
// run, aborted transactions, limit, rate and idle stop. No network, no sleeping.
#include "sluice/dlq/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "test_records.h"

namespace sluice::dlq {
namespace {

using testing::DlqSpec;
using testing::MakeDlqMessage;
using Verdict = Decision::Verdict;

// Time that jumps forward when slept on (records what was slept).
class StepClock : public Clock {
 public:
  TimePoint Now() const override { return now_; }
  WallTime WallNow() const override { return WallTime(now_.time_since_epoch()); }
  void SleepUntil(TimePoint deadline) override {
    if (deadline > now_) {
      slept_ += deadline - now_;
      now_ = deadline;
    }
  }
  void Advance(Duration d) { now_ += d; }
  Duration slept() const { return slept_; }

 private:
  TimePoint now_{std::chrono::hours(1)};
  Duration slept_{0};
};

// A DLQ topic, a consumer group and a transactional producer, in memory.
class FakeIo : public ReplayIo {
 public:
  explicit FakeIo(StepClock* clock) : clock_(clock) {}

  void Add(const kafka::Message& m) {
    log_[m.partition].push_back(m);
    end_[m.partition] = m.offset + 1;
  }

  Result<std::vector<PartitionRange>> Start() override {
    ++starts;
    if (!start_error.ok()) return start_error;
    std::vector<PartitionRange> ranges;
    for (const auto& [p, end] : end_) {
      ranges.push_back({p, committed.count(p) ? committed[p] : 0, end});
      position_[p] = committed.count(p) ? committed[p] : 0;
    }
    return ranges;
  }

  Result<std::vector<kafka::Message>> Poll(size_t max, std::chrono::milliseconds timeout) override {
    ++polls;
    std::vector<kafka::Message> out;
    if (!error_events.empty()) {
      out.push_back(error_events.front());
      error_events.erase(error_events.begin());
    }
    for (auto& [p, records] : log_) {
      if (paused_.count(p)) continue;
      for (const auto& m : records) {
        if (out.size() >= max) break;
        if (m.offset >= position_[p]) {
          out.push_back(m);
          position_[p] = m.offset + 1;
        }
      }
    }
    if (out.empty()) clock_->Advance(timeout);  // nothing arrived: the wait passed
    return out;
  }

  void Pause(int32_t partition) override { paused_.insert(partition); }

  Result<int> PartitionCount(const std::string& topic) override {
    ++partition_queries;
    auto it = topics.find(topic);
    if (it == topics.end()) return NotFoundError("no topic " + topic);
    return it->second;
  }

  Status Begin() override {
    EXPECT_FALSE(in_txn_) << "Begin inside an open transaction";
    in_txn_ = true;
    ++begins;
    return Status::Ok();
  }

  Status Send(const kafka::ProducerRecord& r) override {
    EXPECT_TRUE(in_txn_) << "Send outside a transaction";
    if (r.value && r.value->size() > max_value) return InvalidArgumentError("message too large");
    open_.push_back(r);
    return Status::Ok();
  }

  Status Commit(const std::vector<kafka::PartitionOffset>& offsets) override {
    EXPECT_TRUE(in_txn_);
    ++commit_calls;
    if (fail_commits > 0) {
      --fail_commits;
      return UnavailableError("coordinator moved");
    }
    for (const auto& o : offsets) {
      EXPECT_EQ(o.topic, "sf.contact.events.dlq");
      EXPECT_GT(o.offset, committed[o.partition]) << "offsets only move forward";
      committed[o.partition] = o.offset;
    }
    produced.insert(produced.end(), open_.begin(), open_.end());
    open_.clear();
    in_txn_ = false;
    return Status::Ok();
  }

  Status Abort() override {
    ++aborts;
    open_.clear();
    in_txn_ = false;
    return Status::Ok();
  }

  Status Rewind() override {
    ++rewinds;
    for (auto& [p, pos] : position_) pos = committed.count(p) ? committed[p] : 0;
    paused_.clear();
    return Status::Ok();
  }

  // Test controls and observations.
  std::map<std::string, int> topics = {{"sf.contact.events", 4}, {"sf.account.events", 2}};
  std::map<int32_t, int64_t> committed;
  std::vector<kafka::ProducerRecord> produced;  // committed only
  std::vector<kafka::Message> error_events;
  Status start_error;
  int fail_commits = 0;
  size_t max_value = 1 << 20;
  int starts = 0, polls = 0, begins = 0, commit_calls = 0, aborts = 0, rewinds = 0;
  int partition_queries = 0;

 private:
  StepClock* clock_;
  std::map<int32_t, std::vector<kafka::Message>> log_;
  std::map<int32_t, int64_t> end_;
  std::map<int32_t, int64_t> position_;
  std::set<int32_t> paused_;
  std::vector<kafka::ProducerRecord> open_;
  bool in_txn_ = false;
};

class RecordingObserver : public ReplayObserver {
 public:
  void OnDecision(const DlqRecord& r, const Decision& d) override {
    decisions.emplace_back(r.Location(), d.verdict);
  }
  void OnProgress(const ReplayProgress& p) override { last = p; }
  std::vector<std::pair<std::string, Verdict>> decisions;
  ReplayProgress last;
};

class ReplayTest : public ::testing::Test {
 protected:
  ReplayTest() : io_(&clock_) {
    options_.dlq_topic = "sf.contact.events.dlq";
    options_.clock = &clock_;
  }

  // n records on each of `partitions` partitions; every third is
  // retry_exhausted/UNABLE_TO_LOCK_ROW.
  void Fill(int partitions, int n) {
    for (int p = 0; p < partitions; ++p) {
      for (int i = 0; i < n; ++i) {
        DlqSpec s;
        s.partition = p;
        s.offset = i;
        s.key = "K-" + std::to_string(p) + "-" + std::to_string(i);
        s.source_partition = p;
        if (i % 3 == 0) {
          s.error_class = "retry_exhausted";
          s.error_code = "UNABLE_TO_LOCK_ROW";
        }
        io_.Add(MakeDlqMessage(s));
      }
    }
  }

  Result<ReplayReport> Run(const ShutdownToken* shutdown = nullptr) {
    return RunReplay(options_, "g", io_, &observer_, shutdown);
  }

  StepClock clock_;
  FakeIo io_;
  ReplayOptions options_;
  RecordingObserver observer_;
};

TEST(ReplayHeadersTest, OriginalHeadersPlusReplayHeaders) {
  DlqSpec s;
  s.original_headers = {{"trace-id", "abc"}, {"sluice.custom", "keep"}, {"idempotency-key", "x"}};
  s.replay_count = 1;
  kafka::Message m = MakeDlqMessage(s);
  m.headers.emplace_back("sluice.replayed.from", "old/0/1");
  m.headers.emplace_back("sluice.value.omitted", "note");
  DlqRecord r = Inspect(m);
  kafka::Headers h = ReplayHeaders(r, 2);
  const kafka::Headers want = {{"trace-id", "abc"},
                               {"sluice.custom", "keep"},
                               {"idempotency-key", "x"},
                               {"sluice.replay.count", "2"},
                               {"sluice.replayed.from", "sf.contact.events.dlq/0/0"}};
  EXPECT_EQ(h, want);
}

TEST(DecideTest, ReplaysToTheSourceTopicAndPartition) {
  DlqSpec s;
  s.source_partition = 3;
  DlqRecord r = Inspect(MakeDlqMessage(s));
  ReplayOptions o;
  auto four = [](const std::string&) -> Result<int> { return 4; };
  Decision d = Decide(r, o, four);
  ASSERT_EQ(d.verdict, Verdict::kReplay) << d.reason;
  EXPECT_EQ(d.record.topic, "sf.contact.events");
  EXPECT_EQ(d.record.partition, 3);
  EXPECT_EQ(d.record.key, r.key);
  EXPECT_EQ(d.record.value, r.value);
  // Fewer partitions now, or another target: the partitioner decides.
  auto two = [](const std::string&) -> Result<int> { return 2; };
  EXPECT_EQ(Decide(r, o, two).record.partition, kafka::kAnyPartition);
  o.to_topic = "elsewhere";
  d = Decide(r, o, four);
  EXPECT_EQ(d.record.topic, "elsewhere");
  EXPECT_EQ(d.record.partition, kafka::kAnyPartition);
}

TEST(DecideTest, Refusals) {
  auto exists = [](const std::string&) -> Result<int> { return 1; };
  auto missing = [](const std::string& t) -> Result<int> { return NotFoundError(t); };
  ReplayOptions o;
  o.max_replays = 3;

  DlqSpec s;
  s.replay_count = 3;
  Decision d = Decide(Inspect(MakeDlqMessage(s)), o, exists);
  EXPECT_EQ(d.verdict, Verdict::kRefuse);
  EXPECT_NE(d.reason.find("replayed 3 times"), std::string::npos) << d.reason;
  s.replay_count = 2;
  EXPECT_EQ(Decide(Inspect(MakeDlqMessage(s)), o, exists).verdict, Verdict::kReplay);

  kafka::Message m = MakeDlqMessage({});
  m.headers.emplace_back("sluice.replay.count", "many");
  EXPECT_EQ(Decide(Inspect(m), o, exists).verdict, Verdict::kRefuse);

  m = MakeDlqMessage({});
  m.headers.emplace_back("sluice.value.omitted", "too big");
  m.value_is_null = true;
  EXPECT_EQ(Decide(Inspect(m), o, exists).verdict, Verdict::kRefuse);

  kafka::Message bare;
  bare.value = "x";
  d = Decide(Inspect(bare), o, exists);
  EXPECT_EQ(d.verdict, Verdict::kRefuse);
  EXPECT_NE(d.reason.find("--to"), std::string::npos);

  DlqSpec bad_topic;
  bad_topic.source_topic = "../etc/passwd";
  EXPECT_EQ(Decide(Inspect(MakeDlqMessage(bad_topic)), o, exists).verdict, Verdict::kRefuse);
  bad_topic.source_topic = std::string(300, 'a');
  EXPECT_EQ(Decide(Inspect(MakeDlqMessage(bad_topic)), o, exists).verdict, Verdict::kRefuse);

  d = Decide(Inspect(MakeDlqMessage({})), o, missing);
  EXPECT_EQ(d.verdict, Verdict::kRefuse);
  EXPECT_NE(d.reason.find("does not exist"), std::string::npos);

  o.filter.keys = {"nope"};
  EXPECT_EQ(Decide(Inspect(MakeDlqMessage({})), o, missing).verdict, Verdict::kSkip);
}

TEST_F(ReplayTest, ReplaysEverythingOnceAndCommitsEveryOffset) {
  Fill(3, 100);
  options_.batch_size = 7;
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->complete);
  EXPECT_EQ(r->to_read, 300);
  EXPECT_EQ(r->read, 300);
  EXPECT_EQ(r->replayed, 300);
  EXPECT_EQ(io_.produced.size(), 300u);
  EXPECT_EQ(io_.committed[0], 100);
  EXPECT_EQ(io_.committed[2], 100);
  std::set<std::string> keys;
  for (const auto& p : io_.produced) keys.insert(*p.key);
  EXPECT_EQ(keys.size(), 300u);
  EXPECT_EQ(r->transactions, io_.commit_calls);
  EXPECT_EQ(observer_.last.read, 300);
}

TEST_F(ReplayTest, FilteredReplayCommitsSkippedOffsetsButSendsOnlyMatches) {
  Fill(2, 30);
  options_.filter.error_codes = {"UNABLE_TO_LOCK_ROW"};
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->replayed, 20);
  EXPECT_EQ(r->skipped, 40);
  EXPECT_EQ(io_.produced.size(), 20u);
  EXPECT_EQ(io_.committed[0], 30);
  EXPECT_EQ(io_.committed[1], 30);
  for (const auto& p : io_.produced) {
    const auto& h = p.headers;
    EXPECT_TRUE(std::find(h.begin(), h.end(),
                          std::pair<std::string, std::string>("sluice.replay.count", "1")) !=
                h.end());
  }
}

TEST_F(ReplayTest, ResumesFromTheCommittedOffsets) {
  Fill(1, 50);
  io_.committed[0] = 20;  // an earlier run committed 20
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->to_read, 30);
  EXPECT_EQ(r->replayed, 30);
  ASSERT_FALSE(io_.produced.empty());
  EXPECT_EQ(*io_.produced.front().key, "K-0-20");
}

TEST_F(ReplayTest, NothingToDo) {
  Fill(2, 5);
  io_.committed = {{0, 5}, {1, 5}};
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->complete);
  EXPECT_EQ(r->read, 0);
  EXPECT_EQ(io_.begins, 0);
  EXPECT_EQ(io_.polls, 0);
}

TEST_F(ReplayTest, LoopGuardRefusesAndReports) {
  for (int i = 0; i < 6; ++i) {
    DlqSpec s;
    s.offset = i;
    s.key = "K" + std::to_string(i);
    s.replay_count = i;  // 0..5
    io_.Add(MakeDlqMessage(s));
  }
  options_.max_replays = 3;
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replayed, 3);
  EXPECT_EQ(r->refused, 3);
  ASSERT_EQ(r->refusals.size(), 3u);
  EXPECT_EQ(r->refusals[0].key, "K3");
  EXPECT_EQ(r->refusals[0].replay_count, 3);
  EXPECT_EQ(io_.committed[0], 6);  // refused records are consumed too
  ASSERT_EQ(io_.produced.size(), 3u);
  EXPECT_EQ(io_.produced[2].headers[io_.produced[2].headers.size() - 2].second, "3");
}

TEST_F(ReplayTest, DryRunWritesNothing) {
  Fill(2, 10);
  options_.dry_run = true;
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->replayed, 20);
  EXPECT_EQ(io_.begins, 0);
  EXPECT_EQ(io_.commit_calls, 0);
  EXPECT_TRUE(io_.produced.empty());
  EXPECT_TRUE(io_.committed.empty());
  EXPECT_EQ(observer_.decisions.size(), 20u);
}

TEST_F(ReplayTest, FailedCommitIsAbortedRewoundAndRetriedWithoutDoubles) {
  Fill(2, 40);
  options_.batch_size = 10;
  io_.fail_commits = 2;
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->aborted_transactions, 2);
  EXPECT_EQ(io_.aborts, 2);
  EXPECT_EQ(io_.rewinds, 2);
  EXPECT_EQ(r->replayed, 80);
  EXPECT_EQ(io_.produced.size(), 80u);
  std::set<std::string> keys;
  for (const auto& p : io_.produced) keys.insert(*p.key);
  EXPECT_EQ(keys.size(), 80u);
  EXPECT_EQ(observer_.decisions.size(), 80u);  // only committed decisions are reported
}

TEST_F(ReplayTest, PersistentFailureStopsWithAnError) {
  Fill(1, 10);
  io_.fail_commits = 100;
  options_.max_transaction_retries = 2;
  auto r = Run();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("rerun to resume"), std::string::npos);
  EXPECT_TRUE(io_.produced.empty());
  EXPECT_TRUE(io_.committed.empty());
  EXPECT_EQ(io_.aborts, 3);
}

TEST_F(ReplayTest, StartErrorsArePassedOn) {
  io_.start_error = UnavailableError("cannot reach Kafka");
  auto r = Run();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST_F(ReplayTest, FatalConsumerErrorStops) {
  Fill(1, 10);
  kafka::Message e;
  e.error = FailedPreconditionError("fatal Kafka error: fenced");
  io_.error_events.push_back(e);
  EXPECT_FALSE(Run().ok());
}

TEST_F(ReplayTest, TransientConsumerErrorsAreIgnored) {
  Fill(1, 10);
  kafka::Message e;
  e.error = UnavailableError("broker down");
  io_.error_events.push_back(e);
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replayed, 10);
}

TEST_F(ReplayTest, LimitStopsAfterNAndLeavesTheRest) {
  Fill(1, 50);
  options_.limit = 12;
  options_.batch_size = 5;
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->limit_reached);
  EXPECT_TRUE(r->complete);
  EXPECT_EQ(r->replayed, 12);
  EXPECT_EQ(io_.committed[0], 12);
  // The next run continues where this one stopped.
  options_.limit = 0;
  FakeIo& io = io_;
  auto again = RunReplay(options_, "g", io, nullptr, nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->replayed, 38);
  EXPECT_EQ(io_.produced.size(), 50u);
}

TEST_F(ReplayTest, LimitWithFilterCountsOnlyReplays) {
  Fill(1, 30);  // offsets 0,3,6,... are UNABLE_TO_LOCK_ROW
  options_.filter.error_codes = {"UNABLE_TO_LOCK_ROW"};
  options_.limit = 2;
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replayed, 2);
  EXPECT_EQ(io_.committed[0], 4);  // through offset 3; offset 6 (the third match) stays
}

TEST_F(ReplayTest, RateLimitsOnTheInjectedClock) {
  Fill(1, 100);
  options_.rate = 50;
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->replayed, 100);
  // 100 records at 50/s, starting empty with a burst of 5: about two seconds of waiting.
  const double slept = std::chrono::duration<double>(clock_.slept()).count();
  EXPECT_GE(slept, 1.8);
  EXPECT_LE(slept, 2.2);
  EXPECT_GE(io_.commit_calls, 2);  // a batch holds at most one second's worth
}

TEST_F(ReplayTest, UnproducibleRecordIsRefusedNotRetriedForever) {
  Fill(1, 5);
  io_.max_value = 10;  // every value is "too large"
  auto r = Run();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->refused, 5);
  EXPECT_EQ(r->replayed, 0);
  EXPECT_EQ(io_.committed[0], 5);
}

TEST_F(ReplayTest, MissingTargetTopicIsRefusedAndAskedOnce) {
  for (int i = 0; i < 10; ++i) {
    DlqSpec s;
    s.offset = i;
    s.source_topic = "sf.gone.events";
    io_.Add(MakeDlqMessage(s));
  }
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->refused, 10);
  EXPECT_EQ(io_.partition_queries, 1);
}

TEST_F(ReplayTest, MalformedRecordsDoNotStopTheRun) {
  kafka::Message junk;
  junk.topic = "sf.contact.events.dlq";
  junk.partition = 0;
  junk.offset = 0;
  junk.value = "\xff\xfe";
  junk.headers = {{"sluice.error.class", "\x1b[31m"}, {"sluice.replay.count", "x"}};
  io_.Add(junk);
  DlqSpec ok;
  ok.offset = 1;
  io_.Add(MakeDlqMessage(ok));
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->refused, 1);
  EXPECT_EQ(r->replayed, 1);
}

TEST_F(ReplayTest, StopsWhenNothingArrivesForTheIdleTimeout) {
  Fill(1, 10);
  io_.Pause(0);  // the fake never delivers
  options_.idle_timeout = std::chrono::seconds(5);
  auto r = Run();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->complete);
  EXPECT_NE(r->stopped_because.find("partition 0"), std::string::npos) << r->stopped_because;
}

TEST_F(ReplayTest, ShutdownStopsBetweenBatches) {
  Fill(1, 10);
  ShutdownToken token;
  token.Request();
  auto r = Run(&token);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->interrupted);
  EXPECT_FALSE(r->complete);
  EXPECT_EQ(io_.begins, 0);
}

}  // namespace
}  // namespace sluice::dlq

// sluice-relay on a real three-broker cluster (tools/kafka/broker start --nodes 3: replication 3,
// min.insync.replicas 2): a broker SIGKILLed mid-drain and started again on its data. Nothing may
// be lost or written twice; how long the drain takes to come back is measured and reported, not
// asserted (tests never fail on timing).
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "sluice/kafka/admin.h"
#include "sluice/testing/relay_harness.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-cluster-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto started = Broker({"start", "--nodes", "3", "--data", dir_ + "/data"});
    ASSERT_EQ(started.exit_code, 0) << "the cluster did not start";
    bootstrap_ = started.out.substr(0, started.out.find_last_not_of(" \n") + 1);
    bootstrap_ = bootstrap_.substr(bootstrap_.rfind('\n') + 1);
  }
  void TearDown() override {
    (void)Broker({"stop", "--data", dir_ + "/data"});
    std::filesystem::remove_all(dir_);
  }
  CommandResult Broker(std::vector<std::string> args) {
    args.insert(args.begin(), SourcePath("tools/kafka/broker"));
    ChildOptions options;
    options.stderr_path = dir_ + "/broker.stderr";
    auto r = RunCommand(args, 300s, options);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CommandResult{};
  }

  std::string dir_;
  std::string bootstrap_;
};

TEST_F(ClusterTest, ABrokerKilledMidDrainLosesNothingAndWritesNothingTwice) {
  RelayHarness::Options options;
  options.bootstrap = bootstrap_;
  options.replication = 3;
  options.partitions = 6;
  // 10 calls of 200 a second: a drain of ~20 s, long enough to kill a broker in the middle of it.
  options.delivery["requests_per_second"] = "10";
  auto h = RelayHarness::Create(options);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::vector<TestEvent> events;
  for (int i = 0; i < 40'000; ++i)
    events.push_back(MakeContactEvent("k" + std::to_string(i % 5000), i));
  ASSERT_TRUE((*h)->Produce(events).ok());
  ASSERT_TRUE((*h)->StartRelay(0).ok());
  ASSERT_TRUE((*h)->StartRelay(1).ok());

  // The ledger's size once a second: the drain rate before the kill, and when it is back.
  auto ledger_size = [&]() -> double {
    auto stats = (*h)->Stats();
    return stats.ok() ? static_cast<double>((*stats)["ledger_entries"]) : -1;
  };
  ASSERT_TRUE((*h)->WaitForLedger(8'000, 5min));
  const double before_start = ledger_size();
  std::this_thread::sleep_for(5s);
  const double rate_before = (ledger_size() - before_start) / 5.0;

  ASSERT_EQ(Broker({"kill", "--data", dir_ + "/data", "--node", "1"}).exit_code, 0);
  const auto killed_at = Clock::now();
  std::this_thread::sleep_for(10s);
  ASSERT_EQ(Broker({"resume", "--data", dir_ + "/data", "--node", "1"}).exit_code, 0);

  // Back to 80 % of the rate before: the first one-second window after the kill that reaches it.
  double recovered_s = -1;
  double last = ledger_size();
  auto last_at = Clock::now();
  while (last < static_cast<double>(events.size()) && Clock::now() - killed_at < 5min) {
    std::this_thread::sleep_for(1s);
    const double now = ledger_size();
    const auto at = Clock::now();
    const double rate = (now - last) / std::chrono::duration<double>(at - last_at).count();
    if (recovered_s < 0 && rate >= 0.8 * rate_before && at - killed_at > 10s) {
      recovered_s = std::chrono::duration<double>(at - killed_at).count();
    }
    last = now;
    last_at = at;
  }
  RecordProperty("rate_before_per_s", static_cast<int>(rate_before));
  RecordProperty("back_at_80_percent_after_s", static_cast<int>(recovered_s));
  std::printf(
      "drain %.0f events/s before the kill; back at 80%% %.1f s after it (broker down 10 s)\n",
      rate_before, recovered_s);

  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        auto ledger = (*h)->Ledger();
        return ledger.ok() && ledger->size() >= events.size();
      },
      5min));
  std::this_thread::sleep_for(2s);
  auto ledger = (*h)->Ledger();
  ASSERT_TRUE(ledger.ok());
  std::map<std::string, int> writes;
  for (const auto& row : *ledger) ++writes[row.event_id];
  size_t missing = 0, twice = 0;
  for (const auto& e : events) missing += writes.count(e.event_id) == 0 ? 1 : 0;
  for (const auto& [id, n] : writes) twice += n > 1 ? 1 : 0;
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(twice, 0u);
  auto dlq = (*h)->ReadDlq(0, 1s);
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
}

// Issue 12's first test. Three relays on the cluster drain plain creates (no event id field, so
// only the delivered-set can stop a second write); 10% of the events are published again at the end
// of the log, far from their originals; one relay is SIGKILLed twice mid-drain and restarted each
// time with no local store. Returns the event ids written twice that no kill explains: a kill
// explains an id whose first write reached sfsim while the killed relay could have had it in
// flight, just before the kill (Salesforce answered, the relay died before the changelog write:
// the crash window no delivered-set closes for plain creates; an event id field closes it).
struct DuplicateRun {
  size_t missing = 0;
  size_t unexplained = 0;  // written twice, not by a call in flight at a kill
  size_t explained = 0;    // written twice by a call in flight at a kill
};

DuplicateRun DuplicatesAcrossThreeRelays(const std::string& bootstrap, bool changelog,
                                         int originals, int requests_per_second) {
  RelayHarness::Options options;
  options.bootstrap = bootstrap;
  options.replication = 3;
  options.partitions = 6;
  options.changelog_enabled = changelog;
  options.event_id_field = "";
  options.sfsim_flags = {"--ledger-event-id-field", "Description"};
  options.delivery["requests_per_second"] = std::to_string(requests_per_second);
  options.delivery["records_per_second"] = std::to_string(200 * requests_per_second);
  auto h = RelayHarness::Create(options);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  if (!h.ok()) return {};
  std::vector<TestEvent> events;
  for (int i = 0; i < originals; ++i) {
    events.push_back(MakePlainContactCreate("k" + std::to_string(i % (originals / 10))));
  }
  std::vector<TestEvent> log = events;
  for (size_t i = 0; i < events.size(); i += 10) log.push_back(events[i]);
  EXPECT_TRUE((*h)->Produce(log).ok());
  for (int i = 0; i < 3; ++i) EXPECT_TRUE((*h)->StartRelay(i).ok());

  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::vector<int64_t> kills;
  for (double share : {0.25, 0.6}) {
    EXPECT_TRUE((*h)->WaitForLedger(static_cast<uint64_t>(share * originals), 5min));
    kills.push_back(wall_ms());
    EXPECT_EQ((*h)->StopRelay(2, /*kill=*/true), 128 + SIGKILL);
    (*h)->RemoveStore(2);
    EXPECT_TRUE((*h)->StartRelay(2).ok());
  }
  EXPECT_TRUE((*h)->WaitForLedger(events.size(), 10min));
  // Every copy read (skipped or written again) before the count: the group committed it all.
  kafka::AdminOptions admin_options;
  admin_options.bootstrap = bootstrap;
  auto admin = kafka::Admin::Create(admin_options);
  EXPECT_TRUE(admin.ok());
  if (!admin.ok()) return {};
  EXPECT_TRUE(RelayHarness::WaitFor(
      [&] {
        auto lag = (*admin)->Lag((*h)->topic() + "-group", (*h)->topic(), 10s);
        if (!lag.ok()) return false;
        int64_t behind = 0;
        for (const auto& p : *lag) behind += p.committed < 0 ? p.high_watermark : p.lag;
        return behind == 0;
      },
      5min));
  std::this_thread::sleep_for(3s);
  auto ledger = (*h)->Ledger();
  EXPECT_TRUE(ledger.ok());
  if (!ledger.ok()) return {};
  std::map<std::string, std::vector<int64_t>> writes;  // event id -> received_ms of each write
  for (const auto& row : *ledger) writes[row.event_id].push_back(row.received_ms);
  DuplicateRun run;
  for (const auto& e : events) run.missing += writes.count(e.event_id) == 0 ? 1 : 0;
  // sfsim answers in milliseconds here; what follows its answer (the result, the changelog write
  // with acks=all on three brokers) takes tens of ms on a loaded machine. 3 s is ample, and short
  // against the drain, so that the copies written again are not taken for the crash window.
  constexpr int64_t kInFlightMs = 3'000;
  for (auto& [id, at] : writes) {
    if (at.size() < 2) continue;
    std::sort(at.begin(), at.end());
    bool explained = false;
    for (int64_t k : kills) explained |= at[0] > k - kInFlightMs && at[0] <= k + 1'000 && at[1] > k;
    (explained ? run.explained : run.unexplained) += 1;
  }
  std::printf(
      "changelog %s: %zu events + %zu copies, %zu missing, %zu written twice by calls in "
      "flight at the two kills, %zu written twice otherwise\n",
      changelog ? "on" : "off", events.size(), log.size() - events.size(), run.missing,
      run.explained, run.unexplained);
  return run;
}

TEST_F(ClusterTest, ThreeRelaysWriteNoEventTwiceAcrossInstancesAndKills) {
  const DuplicateRun run =
      DuplicatesAcrossThreeRelays(bootstrap_, /*changelog=*/true, 300'000, /*rps=*/150);
  EXPECT_EQ(run.missing, 0u);
  EXPECT_EQ(run.unexplained, 0u);
  RecordProperty("written_twice_in_flight_at_kills", static_cast<int>(run.explained));
}

// The same with the changelog off, at a fifth of the size and a slower rate (a drain of ~30 s, so
// most originals are written well before a kill): the copies of what the killed relay had
// delivered are written again, so the check above can fail.
TEST_F(ClusterTest, WithoutTheChangelogTheThreeRelaysWriteEventsTwice) {
  const DuplicateRun run =
      DuplicatesAcrossThreeRelays(bootstrap_, /*changelog=*/false, 60'000, /*rps=*/10);
  EXPECT_EQ(run.missing, 0u);
  EXPECT_GT(run.unexplained, 0u);
}

}  // namespace
}  // namespace sluice::testing

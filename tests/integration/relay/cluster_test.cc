// sluice-relay on a real three-broker cluster (tools/kafka/broker start --nodes 3: replication 3,
// min.insync.replicas 2): a broker SIGKILLed mid-drain and started again on its data. Nothing may
// be lost or written twice; how long the drain takes to come back is measured and reported, not
// asserted (tests never fail on timing).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

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

}  // namespace
}  // namespace sluice::testing

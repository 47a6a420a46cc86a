// sluice-flood end to end with the real sluice-relay and sluice-sfsim: the report must show every
// event delivered exactly once, in order per key, and every invalid event in the DLQ.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/process.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

static const bool kBroker = RegisterKafkaBrokerEnvironment();

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class FloodRelayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = KafkaBroker::Shared();
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *broker;
    dir_ = (fs::temp_directory_path() / KafkaBroker::UniqueName("flood-e2e")).string();
    fs::create_directories(dir_);
    auto topic = broker_->CreateTopic(3, "sf.flood");
    ASSERT_TRUE(topic.ok()) << topic.status();
    topic_ = *topic;
    group_ = topic_ + "-relay";
    ChildOptions sim_options;
    sim_options.stderr_path = dir_ + "/sfsim.log";
    auto sim = SfsimProcess::Start({}, sim_options);
    ASSERT_TRUE(sim.ok()) << sim.status();
    sim_ = std::move(*sim);
    StartRelay();
  }

  void TearDown() override {
    if (relay_) relay_->Stop(seconds(15));
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "relay log:\n%s\n", ReadFile(dir_ + "/relay.log").c_str());
    }
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  void StartRelay() {
    const std::string config = dir_ + "/relay.yaml";
    std::ofstream(config) << "instance_id: relay-flood\n"
                          << "kafka:\n"
                          << "  bootstrap: \"" << broker_->bootstrap() << "\"\n"
                          << "  group_id: \"" << group_ << "\"\n"
                          << "  topics: [\"" << topic_ << "\"]\n"
                          << "  commit_interval: 200ms\n"
                          << "salesforce:\n"
                          << "  login_url: \"" << sim_->base_url() << "\"\n"
                          << "  auth:\n"
                          << "    flow: client_credentials\n"
                          << "    client_id: " << SfsimProcess::kClientId << "\n"
                          << "    client_secret: " << SfsimProcess::kClientSecret << "\n"
                          << "delivery:\n"
                          << "  requests_per_second: 2000\n"
                          << "  max_in_flight: 8\n"
                          << "idempotency:\n"
                          << "  path: \"" << dir_ << "/relay.db\"\n"
                          << "http:\n"
                          << "  listen: \"127.0.0.1:0\"\n";
    ChildOptions options;
    options.stderr_path = dir_ + "/relay.log";
    auto relay = ChildProcess::Start({BinPath("sluice-relay"), "--config", config}, options);
    ASSERT_TRUE(relay.ok()) << relay.status();
    relay_ = std::move(*relay);
    auto line = relay_->WaitForLine("metrics on", seconds(30));
    ASSERT_TRUE(line.ok()) << line.status() << ReadFile(dir_ + "/relay.log");
    metrics_url_ = line->substr(line->find("http://")) + "/metrics";
  }

  // Runs sluice-flood; returns its exit code and fills the parsed report.
  int Flood(std::vector<std::string> args, rapidjson::Document* report) {
    std::vector<std::string> argv = {BinPath("sluice-flood"),
                                     "--bootstrap",
                                     broker_->bootstrap(),
                                     args[0],
                                     "--topic",
                                     topic_,
                                     "--group",
                                     group_,
                                     "--sfsim",
                                     sim_->base_url(),
                                     "--relay-metrics",
                                     metrics_url_,
                                     "--sample-interval",
                                     "200ms",
                                     "--drain-timeout",
                                     "120s",
                                     "--report",
                                     dir_ + "/report",
                                     "--progress",
                                     "lines"};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    ChildOptions options;
    options.stderr_path = dir_ + "/flood.log";
    auto r = RunCommand(argv, milliseconds(300000), options);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return -1;
    out_ = r->out;
    report->Parse(ReadFile(dir_ + "/report.json").c_str());
    EXPECT_TRUE(report->IsObject()) << out_ << ReadFile(dir_ + "/flood.log");
    return r->exit_code;
  }

  KafkaBroker* broker_ = nullptr;
  std::string dir_, topic_, group_, metrics_url_, out_;
  std::unique_ptr<SfsimProcess> sim_;
  std::unique_ptr<ChildProcess> relay_;
};

TEST_F(FloodRelayTest, SmallBurstIsDeliveredExactlyOnce) {
  rapidjson::Document r;
  const int code = Flood({"burst", "--events", "3000", "--keys", "200", "--key-distribution",
                          "zipf:1.1", "--assert", "missing==0", "--assert", "duplicates==0",
                          "--assert", "out_of_order==0", "--assert", "drain_time_s<120"},
                         &r);
  ASSERT_EQ(code, 0) << out_ << ReadFile(dir_ + "/flood.log");
  ASSERT_TRUE(r["verification"].IsObject()) << out_;
  const auto& v = r["verification"];
  EXPECT_EQ(v["expected"].GetInt64(), 3000);
  EXPECT_EQ(v["delivered"].GetInt64(), 3000);
  EXPECT_EQ(v["missing"].GetInt64(), 0);
  EXPECT_EQ(v["duplicates"].GetInt64(), 0);
  EXPECT_EQ(v["out_of_order"].GetInt64(), 0);
  EXPECT_TRUE(r["drain"]["drained"].GetBool());
  EXPECT_EQ(r["latency"]["count"].GetInt64(), 3000);
  EXPECT_GT(r["api"]["api_calls"].GetInt64(), 0);
  EXPECT_TRUE(r["api"]["call_latency_s"].IsNumber()) << "from the relay's /metrics";
  EXPECT_TRUE(r["passed"].GetBool());
  EXPECT_NE(out_.find("missing 0, duplicates 0"), std::string::npos) << out_;

  // Every sample is consistent: nothing delivered before it was produced (the remote figures are
  // read before the generator's counters). Not "delivered <= acked": the relay may consume an
  // event before its acknowledgement reaches the producer.
  const auto& series = r["series"];
  ASSERT_GT(series.Size(), 2u);
  for (const auto& s : series.GetArray()) {
    ASSERT_TRUE(s["delivered"].IsInt64());
    EXPECT_LE(s["delivered"].GetInt64(), s["produced"].GetInt64()) << s["t_s"].GetDouble();
    EXPECT_LE(s["acked"].GetInt64(), s["produced"].GetInt64()) << s["t_s"].GetDouble();
  }
  // Deliveries by sample interval, from the ledger: all of them, and none after the drain ended
  // (the drain ends only when a sample begun after the burst reads no lag).
  const auto& delivered = r["delivered_series"];
  EXPECT_DOUBLE_EQ(delivered["bin_s"].GetDouble(), 0.2);
  int64_t sum = 0;
  double last_bin_start = 0;
  for (rapidjson::SizeType i = 0; i < delivered["counts"].Size(); ++i) {
    const int64_t n = delivered["counts"][i].GetInt64();
    sum += n;
    if (n > 0) last_bin_start = 0.2 * i;
  }
  EXPECT_EQ(sum, 3000);
  EXPECT_LE(last_bin_start, r["drain"]["drain_end_s"].GetDouble());
  ASSERT_GT(r["latency_series"]["points"].Size(), 0u);
  // What the run measured against.
  ASSERT_TRUE(r["relay_settings"].IsObject()) << "from the relay's /metrics";
  EXPECT_EQ(r["relay_settings"]["max_in_flight"].GetInt64(), 8);
  EXPECT_EQ(r["relay_settings"]["requests_per_second"].GetDouble(), 2000);
  EXPECT_EQ(r["relay_settings"]["max_records"].GetInt64(), 200);
  EXPECT_NE(std::string(r["relay_settings"]["mode"].GetString()).find("idempotency store on"),
            std::string::npos);
  ASSERT_TRUE(r["sfsim_latency"].IsObject()) << "from sfsim's /sim/stats";
  EXPECT_TRUE(r["sfsim_latency"]["base_ms"].IsNumber());
  EXPECT_GT(r["environment"]["librdkafka_version"].GetStringLength(), 0u);

  // The planner calibrated from the report this run wrote: every figure it takes is the run's.
  auto plan = RunCommand({BinPath("sluice-flood"), "plan", "--events", "1000000", "--calibrate",
                          dir_ + "/report.json", "--max-records-per-s", "12345", "--json"},
                         seconds(30));
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->exit_code, 0) << plan->out;
  rapidjson::Document p;
  p.Parse(plan->out.c_str());
  ASSERT_TRUE(p.IsObject()) << plan->out;
  const auto& in = p["input"];
  EXPECT_DOUBLE_EQ(in["call_latency_s"].GetDouble(), r["api"]["call_latency_s"].GetDouble());
  EXPECT_DOUBLE_EQ(in["records_per_call"].GetDouble(),
                   std::min(200.0, r["api"]["records_per_call"].GetDouble()));
  EXPECT_EQ(in["concurrency"].GetInt64(), 8);                    // the relay's max_in_flight
  EXPECT_DOUBLE_EQ(in["max_requests_per_s"].GetDouble(), 2000);  // its requests_per_second
  EXPECT_DOUBLE_EQ(in["max_records_per_s"].GetDouble(), 12345);  // given: the flag wins
  if (r["api"]["daily_max"].IsInt64()) {
    EXPECT_EQ(in["daily_allocation"].GetInt64(), r["api"]["daily_max"].GetInt64());
  }
  EXPECT_GT(p["bulk"]["api_calls"].GetInt64(), 0);
  EXPECT_TRUE(p["recommended"].IsString());
}

TEST_F(FloodRelayTest, InjectedInvalidEventsShowUpInTheDlq) {
  rapidjson::Document r;
  const int code =
      Flood({"burst", "--events", "2000", "--invalid-fraction", "0.05", "--assert", "missing==0",
             "--assert", "invalid_not_in_dlq==0", "--assert", "invalid_delivered==0"},
            &r);
  ASSERT_EQ(code, 0) << out_ << ReadFile(dir_ + "/flood.log");
  const int64_t invalid = r["generator"]["invalid"].GetInt64();
  EXPECT_GT(invalid, 50);
  const auto& v = r["verification"];
  EXPECT_EQ(v["invalid_in_dlq"].GetInt64(), invalid);
  EXPECT_EQ(v["delivered"].GetInt64(), 2000 - invalid);
  EXPECT_EQ(r["dlq_records"].GetInt64(), invalid);
  EXPECT_EQ(v["missing"].GetInt64(), 0);
}

}  // namespace
}  // namespace sluice::testing

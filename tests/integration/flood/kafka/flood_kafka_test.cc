// sluice-flood, the real binary, against a real broker and a real sluice-sfsim.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "sluice/envelope/event.h"
#include "sluice/flood/generator.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/process.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::flood {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::KafkaBroker;

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "flood-kafka-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

Outcome Flood(const std::vector<std::string>& args, const TempDir& dir,
              milliseconds timeout = milliseconds(180000)) {
  std::vector<std::string> argv = {testing::BinPath("sluice-flood")};
  argv.insert(argv.end(), args.begin(), args.end());
  const std::string err = dir / "stderr.txt";
  std::filesystem::remove(err);
  testing::ChildOptions options;
  options.stderr_path = err;
  auto r = testing::RunCommand(argv, timeout, options);
  Outcome o;
  if (!r.ok()) {
    o.err = r.status().ToString();
    return o;
  }
  o.exit_code = r->exit_code;
  o.out = r->out;
  o.err = ReadFile(err);
  return o;
}

rapidjson::Document ReadReport(const std::string& path) {
  rapidjson::Document doc;
  doc.Parse(ReadFile(path).c_str());
  return doc;
}

// Consumes `topic` with `group` and commits everything it reads until `stop`, like a relay that
// delivers instantly. Returns the records it saw.
std::vector<kafka::Message> ConsumeAndCommit(const std::string& bootstrap, const std::string& group,
                                             const std::string& topic, std::atomic<bool>& stop,
                                             int64_t expect = -1) {
  kafka::ConsumerOptions co;
  co.bootstrap = bootstrap;
  co.group_id = group;
  auto consumer = kafka::Consumer::Create(co);
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  if (!consumer.ok()) return {};
  EXPECT_TRUE((*consumer)->Subscribe({topic}).ok());
  std::vector<kafka::Message> seen;
  const auto deadline = std::chrono::steady_clock::now() + seconds(120);
  while (!stop && std::chrono::steady_clock::now() < deadline &&
         (expect < 0 || static_cast<int64_t>(seen.size()) < expect)) {
    auto batch = (*consumer)->Poll(1000, milliseconds(200));
    if (!batch.ok()) break;
    for (kafka::Message& m : *batch) {
      if (m.is_error()) continue;
      EXPECT_TRUE((*consumer)->StoreOffset(m.topic, m.partition, m.offset + 1).ok());
      seen.push_back(std::move(m));
    }
    if (!batch->empty()) {
      EXPECT_TRUE((*consumer)->Commit(true).ok());
    }
  }
  (void)(*consumer)->Close();
  return seen;
}

class FloodKafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = KafkaBroker::Shared();
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *broker;
    topic_ = KafkaBroker::UniqueName("flood");
  }
  KafkaBroker* broker_ = nullptr;
  std::string topic_;
  TempDir dir_;
};

TEST_F(FloodKafkaTest, BurstLandsOnTheTopicAsValidAndInvalidEnvelopes) {
  const Outcome o = Flood({"--bootstrap",
                           broker_->bootstrap(),
                           "burst",
                           "--events",
                           "3000",
                           "--topic",
                           topic_,
                           "--partitions",
                           "3",
                           "--no-drain",
                           "--invalid-fraction",
                           "0.1",
                           "--keys",
                           "100",
                           "--key-distribution",
                           "zipf:1.1",
                           "--report",
                           dir_ / "r",
                           "--progress",
                           "lines"},
                          dir_);
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  EXPECT_NE(o.out.find("produced      3000 events (3000 acked, 0 failed)"), std::string::npos)
      << o.out;

  // The topic holds exactly what flood says it produced.
  auto admin = broker_->admin();
  ASSERT_TRUE(admin.ok());
  auto marks = (*admin)->Watermarks(topic_, seconds(10));
  ASSERT_TRUE(marks.ok()) << marks.status();
  ASSERT_EQ(marks->size(), 3u);
  int64_t total = 0;
  for (const auto& m : *marks) total += m.high - m.low;
  EXPECT_EQ(total, 3000);

  rapidjson::Document report = ReadReport(dir_ / "r.json");
  ASSERT_TRUE(report.IsObject());
  EXPECT_EQ(report["generator"]["acked"].GetInt64(), 3000);
  const int64_t invalid = report["generator"]["invalid"].GetInt64();
  EXPECT_GT(invalid, 200);
  EXPECT_LT(invalid, 400);
  EXPECT_TRUE(report["verification"].IsNull());  // no sfsim: nothing to verify against
  EXPECT_TRUE(fs::exists(dir_ / "r.csv"));
  EXPECT_TRUE(fs::exists(dir_ / "r.html"));

  // Invalid records carry their event id in a header (their value may not be JSON); valid ones in
  // the envelope. The invalid ones fail the envelope check, the others pass.
  std::atomic<bool> stop{false};
  auto records =
      ConsumeAndCommit(broker_->bootstrap(), KafkaBroker::UniqueName("g"), topic_, stop, 3000);
  ASSERT_EQ(records.size(), 3000u);
  int64_t failed = 0;
  std::set<std::string> ids;
  for (const kafka::Message& m : records) {
    std::string id;
    for (const auto& [k, v] : m.headers) {
      if (k == kEventIdHeader) id = v;
    }
    auto e = envelope::ParseEvent(m.value, {});
    if (!e.ok()) {
      ++failed;
      EXPECT_EQ(id.size(), 36u);
    } else {
      EXPECT_TRUE(id.empty());
      id = e->event_id;
      EXPECT_EQ(e->external_id, m.key);
      EXPECT_EQ(m.value.size(), 512u);
    }
    ids.insert(id);
  }
  EXPECT_EQ(failed, invalid);
  EXPECT_EQ(ids.size(), 3000u);
}

TEST_F(FloodKafkaTest, TheDrainIsMeasuredFromTheGroupsLag) {
  const std::string group = KafkaBroker::UniqueName("relay");
  std::atomic<bool> stop{false};
  std::vector<kafka::Message> seen;
  std::thread relay([&] { seen = ConsumeAndCommit(broker_->bootstrap(), group, topic_, stop); });
  const Outcome o = Flood({"--bootstrap",
                           broker_->bootstrap(),
                           "rate",
                           "--rate",
                           "200",
                           "--duration",
                           "2s",
                           "--topic",
                           topic_,
                           "--partitions",
                           "2",
                           "--group",
                           group,
                           "--sample-interval",
                           "100ms",
                           "--drain-timeout",
                           "60s",
                           "--report",
                           dir_ / "r",
                           "--assert",
                           "drain_time_s<60",
                           "--assert",
                           "generator_bottleneck==0"},
                          dir_);
  stop = true;
  relay.join();
  ASSERT_EQ(o.exit_code, 0) << o.out << o.err;
  rapidjson::Document report = ReadReport(dir_ / "r.json");
  EXPECT_TRUE(report["drain"]["drained"].GetBool());
  EXPECT_TRUE(report["drain"]["drain_time_s"].IsNumber());
  EXPECT_GT(report["drain"]["peak_backlog"].GetInt64(), 0);
  EXPECT_EQ(report["generator"]["acked"].GetInt64(), 400);
  // The series shows the lag per partition, and the last sample an empty backlog.
  const auto& series = report["series"].GetArray();
  ASSERT_GT(series.Size(), 3u);
  EXPECT_EQ(series[series.Size() - 1]["backlog"].GetInt64(), 0);
  EXPECT_EQ(series[series.Size() - 1]["lag"].Size(), 2u);
  EXPECT_TRUE(report["passed"].GetBool());
  EXPECT_EQ(seen.size(), 400u);
}

TEST_F(FloodKafkaTest, BacklogWaitsForTheConsumerThenMeasuresTheDrain) {
  const std::string group = KafkaBroker::UniqueName("relay");
  std::vector<std::string> argv = {testing::BinPath("sluice-flood"),
                                   "--bootstrap",
                                   broker_->bootstrap(),
                                   "backlog",
                                   "--events",
                                   "500",
                                   "--topic",
                                   topic_,
                                   "--group",
                                   group,
                                   "--sample-interval",
                                   "100ms",
                                   "--consumer-start-timeout",
                                   "60s",
                                   "--drain-timeout",
                                   "60s",
                                   "--report",
                                   dir_ / "r",
                                   "--progress",
                                   "lines"};
  testing::ChildOptions options;
  options.stderr_path = dir_ / "stderr.txt";
  auto child = testing::ChildProcess::Start(argv, options);
  ASSERT_TRUE(child.ok()) << child.status();
  auto line = (*child)->WaitForLine("start the relay", seconds(120));
  ASSERT_TRUE(line.ok()) << line.status() << ReadFile(dir_ / "stderr.txt");
  std::atomic<bool> stop{false};
  auto seen = ConsumeAndCommit(broker_->bootstrap(), group, topic_, stop, 500);
  EXPECT_EQ(seen.size(), 500u);
  auto code = (*child)->Wait(seconds(120));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << ReadFile(dir_ / "stderr.txt");
  rapidjson::Document report = ReadReport(dir_ / "r.json");
  ASSERT_TRUE(report.IsObject());
  EXPECT_STREQ(report["inputs"]["mode"].GetString(), "backlog");
  EXPECT_TRUE(report["drain"]["drained"].GetBool());
  EXPECT_TRUE(report["drain"]["drain_time_s"].IsNumber());
  EXPECT_EQ(report["drain"]["peak_backlog"].GetInt64(), 500);
}

TEST_F(FloodKafkaTest, LedgerVerificationCountsWhatNeverArrivedAndAFailedAssertExitsOne) {
  auto sim = testing::SfsimProcess::Start();
  ASSERT_TRUE(sim.ok()) << sim.status();
  const Outcome o =
      Flood({"--bootstrap", broker_->bootstrap(), "burst", "--events", "200", "--topic", topic_,
             "--sfsim", (*sim)->base_url(), "--drain-timeout", "1s", "--sample-interval", "100ms",
             "--report", dir_ / "r", "--assert", "missing==0", "--assert", "duplicates==0"},
            dir_);
  // Nobody consumed: all 200 are missing from the ledger, so missing==0 fails.
  EXPECT_EQ(o.exit_code, 1) << o.out << o.err;
  EXPECT_NE(o.out.find("missing==0: 200 (fail)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("duplicates==0: 0 (pass)"), std::string::npos) << o.out;
  rapidjson::Document report = ReadReport(dir_ / "r.json");
  ASSERT_TRUE(report["verification"].IsObject());
  EXPECT_EQ(report["verification"]["missing"].GetInt64(), 200);
  EXPECT_EQ(report["verification"]["missing_ids"].Size(), 100u);  // listed up to 100
  EXPECT_FALSE(report["drain"]["drained"].GetBool());
  EXPECT_FALSE(report["passed"].GetBool());
  EXPECT_EQ(report["api"]["api_calls"].GetInt64(), 0);
}

TEST_F(FloodKafkaTest, AnUnreachableBrokerOrSfsimIsAClearError) {
  // Port 1 on loopback: nothing listens.
  Outcome o = Flood({"--bootstrap", "127.0.0.1:1", "burst", "--events", "5", "--no-report"}, dir_,
                    milliseconds(120000));
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  EXPECT_NE(o.err.find("sluice-flood: "), std::string::npos) << o.err;
  o = Flood({"--bootstrap", broker_->bootstrap(), "burst", "--events", "5", "--topic", topic_,
             "--sfsim", "http://127.0.0.1:1", "--no-report"},
            dir_);
  EXPECT_EQ(o.exit_code, 3) << o.out << o.err;
  EXPECT_NE(o.err.find("did not answer /sim/stats"), std::string::npos) << o.err;
}

TEST_F(FloodKafkaTest, BadCommandLinesExitTwoWithAMessage) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {{"burst", "--events", "5"}, "--bootstrap HOST:PORT is required"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--assert", "missing<<1"},
            "malformed threshold"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--assert", "lost==0"},
            "unknown metric 'lost'"},
           {{"--bootstrap", "h:1", "flood"}, "unknown command 'flood'"},
           {{"--bootstrap", "h:1", "-X", "linger.ms", "burst", "--events", "5"}, "-X expects"},
           {{"plan", "--events", "0"}, "--events must be > 0"},
           {{"plan", "--events", "10", "--calibrate", "/nonexistent.json"}, "cannot read"},
       }) {
    const Outcome o = Flood(c.args, dir_, milliseconds(30000));
    EXPECT_EQ(o.exit_code, 2) << ::testing::PrintToString(c.args) << o.err;
    EXPECT_NE(o.err.find(c.says), std::string::npos)
        << ::testing::PrintToString(c.args) << " -> " << o.err;
    EXPECT_TRUE(o.out.empty()) << o.out;
  }
}

TEST_F(FloodKafkaTest, PlanCalibratesFromARealReport) {
  std::ofstream(dir_ / "report.json")
      << R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":0.25,"records_per_call":100}})";
  const Outcome o = Flood({"plan", "--events", "100000", "--concurrency", "5", "--calibrate",
                           dir_ / "report.json", "--json"},
                          dir_);
  ASSERT_EQ(o.exit_code, 0) << o.err;
  rapidjson::Document plan;
  plan.Parse(o.out.c_str());
  ASSERT_TRUE(plan.IsObject()) << o.out;
  EXPECT_EQ(plan["api_calls"].GetInt64(), 1000);
  EXPECT_DOUBLE_EQ(plan["calls_per_s"].GetDouble(), 20);  // 5 in flight / 0.25 s
  EXPECT_DOUBLE_EQ(plan["input"]["records_per_call"].GetDouble(), 100);
}

}  // namespace
}  // namespace sluice::flood

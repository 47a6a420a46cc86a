// No secret reaches a log line: a relay at --log-level trace (logging.level: trace, librdkafka's
// conf and security debug contexts on) drains, refreshes its token, and stops; its whole log is
// scanned for the client secret, the Kafka SASL password and any Salesforce access token. Then
// sluice-flood and sluice-dlq run at trace level with SASL passwords in their config files and on
// their command lines, beside an sfsim at trace level; their logs, output and the flood report
// are scanned the same way.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "sluice/testing/process.h"
#include "sluice/testing/relay_harness.h"
#include "sluice/testing/sfsim_process.h"
#include "sluice/testing/temp_file.h"

namespace sluice::testing {
namespace {

using std::chrono::minutes;

namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr char kSaslPassword[] = "kafka-Pa55word-never-logged";
// The tools' Kafka passwords: in a config file and on a command line, for each tool.
constexpr char kFloodFilePassword[] = "flood-file-Pa55-never-logged";
constexpr char kFloodFlagPassword[] = "flood-flag-Pa55-never-logged";
constexpr char kDlqFilePassword[] = "dlq-file-Pa55-never-logged";
constexpr char kDlqFlagPassword[] = "dlq-flag-Pa55-never-logged";

// The secrets found in `text`, by name; empty when none. sfsim's tokens are the org id, "!AR" and
// 96 characters of [A-Za-z0-9._] (libs/sfsim/src/auth.cc).
std::vector<std::string> Leaks(const std::string& text) {
  std::vector<std::string> found;
  if (text.find(SfsimProcess::kClientSecret) != std::string::npos) found.push_back("client secret");
  for (const char* password : {kSaslPassword, kFloodFilePassword, kFloodFlagPassword,
                               kDlqFilePassword, kDlqFlagPassword}) {
    if (text.find(password) != std::string::npos) found.push_back(password);
  }
  if (std::regex_search(text, std::regex("!AR[A-Za-z0-9._]{16}"))) found.push_back("access token");
  return found;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SecretsTest, TheScanFindsEachSecret) {
  // The scan itself can fail: each secret, planted, is found.
  EXPECT_EQ(Leaks(std::string("x ") + SfsimProcess::kClientSecret).size(), 1u);
  EXPECT_EQ(Leaks(std::string("sasl.password=") + kSaslPassword).size(), 1u);
  EXPECT_EQ(Leaks("Authorization: Bearer 00D000000000001!ARabcdefghijklmnop.qrstuv").size(), 1u);
  EXPECT_EQ(Leaks(std::string("-X sasl.password=") + kDlqFlagPassword).size(), 1u);
  EXPECT_EQ(Leaks(std::string("sasl.password: ") + kFloodFilePassword).size(), 1u);
  EXPECT_TRUE(Leaks("nothing here: 00D000000000001 !AR short").empty());
}

TEST(SecretsTest, ATraceLevelRunLogsNoSecret) {
  // The SASL password from a file (kafka.properties sasl.password_file), as a mounted secret.
  TempFile password_file(std::string(kSaslPassword) + "\n", ".secret");
  RelayHarness::Options options;
  options.log_level = "trace";
  options.kafka_properties = {{"sasl.password_file", password_file.path()},
                              {"debug", "conf,security"}};
  auto h = RelayHarness::Create(options);
  ASSERT_TRUE(h.ok()) << h.status();
  std::vector<TestEvent> first, second;
  for (int i = 0; i < 1'000; ++i) {
    first.push_back(MakeContactEvent("K-" + std::to_string(i % 100), i));
    second.push_back(MakeContactEvent("K-" + std::to_string(i % 100), 1'000 + i));
  }
  ASSERT_TRUE((*h)->Produce(first).ok());
  ASSERT_TRUE((*h)->StartRelay().ok());
  ASSERT_TRUE((*h)->WaitForLedger(first.size(), minutes(2)));
  // A refresh mid-run: the new token is logged about, never logged.
  ASSERT_TRUE((*h)->sfsim().ScheduleFault(R"({"kind":"expire_tokens"})").ok());
  ASSERT_TRUE((*h)->Produce(second).ok());
  ASSERT_TRUE((*h)->WaitForLedger(first.size() + second.size(), minutes(2)));
  EXPECT_EQ((*h)->StopRelay(0, false), 0);

  std::ifstream in((*h)->work_dir() + "/relay-0.log");
  std::stringstream log;
  log << in.rdbuf();
  const std::string text = log.str();
  // A real trace-level log: the relay's own debug lines, librdkafka's conf dump and the token
  // lines are all in it.
  EXPECT_NE(text.find("obtained a Salesforce access token"), std::string::npos);
  EXPECT_NE(text.find("refreshed a Salesforce access token"), std::string::npos);
  EXPECT_NE(text.find("\"level\":\"debug\""), std::string::npos);
  EXPECT_NE(text.find("sasl.password"), std::string::npos) << "no conf dump in the log";
  EXPECT_GT(text.size(), 10'000u);
  const auto leaks = Leaks(text);
  EXPECT_TRUE(leaks.empty()) << "leaked: " << ::testing::PrintToString(leaks);

  // Every line is one JSON object naming the instance, and the important lines carry fields:
  // the assignment names its partitions, the token lines their org.
  std::istringstream lines(text);
  int assigned = 0, tokens = 0, n = 0;
  for (std::string line; std::getline(lines, line);) {
    ++n;
    rapidjson::Document doc;
    doc.Parse(line.c_str(), line.size());
    ASSERT_TRUE(!doc.HasParseError() && doc.IsObject()) << "line " << n << ": " << line;
    ASSERT_TRUE(doc.HasMember("instance") && doc["instance"].IsString()) << line;
    EXPECT_STREQ(doc["instance"].GetString(), "relay-0");
    if (!doc.HasMember("event")) continue;
    const std::string event = doc["event"].GetString();
    if (event == "assigned") {
      ++assigned;
      EXPECT_TRUE(doc["count"].IsUint64()) << line;
      EXPECT_NE(std::string(doc["partitions"].GetString()).find((*h)->topic() + "["),
                std::string::npos)
          << line;
    } else if (event == "token_obtained" || event == "token_refreshed") {
      ++tokens;
      EXPECT_TRUE(doc["org_id"].IsString()) << line;
    }
  }
  EXPECT_GE(assigned, 1);
  EXPECT_GE(tokens, 2);
}

// sluice-flood, sluice-dlq and sluice-sfsim at trace level (librdkafka's conf and security debug
// contexts on too), each tool with one SASL password in its config file and another on its
// command line: no log line, output or report holds any of them, the sfsim client secret or a
// token. The flood report records its command line, so -X sasl.password=... is the case to watch.
TEST(SecretsTest, FloodDlqAndSfsimAtTraceLevelLogNoSecret) {
  RelayHarness::Options options;
  options.sfsim_flags = {"--log-level", "trace"};
  auto h = RelayHarness::Create(options);
  ASSERT_TRUE(h.ok()) << h.status();
  auto port = (*h)->StartRelay();
  ASSERT_TRUE(port.ok()) << port.status();
  const std::string dir = (*h)->work_dir();
  const std::string bootstrap = (*h)->bootstrap();
  const std::string debug = "debug=conf,security";

  // sluice-flood: a burst with invalid events, so that the relay fills the DLQ for sluice-dlq.
  const std::string flood_config = dir + "/flood.yaml";
  std::ofstream(flood_config) << "kafka:\n  sasl.password: \"" << kFloodFilePassword << "\"\n";
  ChildOptions flood_options;
  flood_options.stderr_path = dir + "/flood.log";
  flood_options.env = {"SLUICE_FLOOD_LOG_LEVEL=trace"};
  auto flood = RunCommand({BinPath("sluice-flood"),
                           "--config",
                           flood_config,
                           "--bootstrap",
                           bootstrap,
                           "-X",
                           debug,
                           "-X",
                           std::string("sasl.password=") + kFloodFlagPassword,
                           "burst",
                           "--topic",
                           (*h)->topic(),
                           "--events",
                           "300",
                           "--invalid-fraction",
                           "0.1",
                           "--group",
                           (*h)->topic() + "-group",
                           "--sfsim",
                           (*h)->sfsim().base_url(),
                           "--relay-metrics",
                           "http://127.0.0.1:" + std::to_string(*port) + "/metrics",
                           "--sample-interval",
                           "200ms",
                           "--drain-timeout",
                           "120s",
                           "--report",
                           dir + "/report",
                           "--progress",
                           "lines",
                           "--assert",
                           "missing==0"},
                          milliseconds(180'000), flood_options);
  ASSERT_TRUE(flood.ok()) << flood.status();
  EXPECT_EQ(flood->exit_code, 0) << flood->out << ReadAll(dir + "/flood.log");

  // sluice-dlq: the file's password in one run, the command line's in another.
  const std::string dlq_config = dir + "/dlq.yaml";
  std::ofstream(dlq_config) << "kafka:\n  sasl.password: \"" << kDlqFilePassword << "\"\n";
  ChildOptions dlq_options;
  dlq_options.stderr_path = dir + "/dlq.log";
  dlq_options.env = {"SLUICE_DLQ_LOG_LEVEL=trace"};
  std::string dlq_out;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--config", dlq_config, "-X", debug, "stats"},
        std::vector<std::string>{"-X", std::string("sasl.password=") + kDlqFlagPassword, "-X",
                                 debug, "list"}}) {
    std::vector<std::string> argv = {BinPath("sluice-dlq"), "--bootstrap", bootstrap};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--topic", (*h)->dlq_topic(), "--timeout", "30s"});
    auto dlq = RunCommand(argv, milliseconds(120'000), dlq_options);
    ASSERT_TRUE(dlq.ok()) << dlq.status();
    EXPECT_EQ(dlq->exit_code, 0) << dlq->out << ReadAll(dir + "/dlq.log");
    dlq_out += dlq->out;
  }
  EXPECT_EQ((*h)->StopRelay(0, false), 0);

  // What was scanned is real: each tool logged at trace level, librdkafka dumped the
  // configuration holding the password's key, and the report and the DLQ listing are there.
  const std::string flood_log = ReadAll(dir + "/flood.log");
  const std::string dlq_log = ReadAll(dir + "/dlq.log");
  const std::string sfsim_log = ReadAll(dir + "/sfsim.log");
  EXPECT_NE(flood_log.find("sasl.password"), std::string::npos) << "no conf dump from flood";
  EXPECT_NE(dlq_log.find("sasl.password"), std::string::npos) << "no conf dump from dlq";
  EXPECT_NE(sfsim_log.find("token_issued"), std::string::npos) << "sfsim not at debug or below";
  EXPECT_NE(dlq_out.find("invalid_envelope"), std::string::npos) << dlq_out;
  std::map<std::string, std::string> scanned = {
      {"flood.log", flood_log}, {"flood stdout", flood->out},
      {"dlq.log", dlq_log},     {"dlq stdout", dlq_out},
      {"sfsim.log", sfsim_log}, {"relay-0.log", ReadAll(dir + "/relay-0.log")}};
  int reports = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind("report", 0) == 0) {
      scanned[name] = ReadAll(entry.path().string());
      ++reports;
    }
  }
  EXPECT_GE(reports, 1) << "no flood report written";
  EXPECT_NE(scanned["report.json"].find("sasl.password=<redacted>"), std::string::npos)
      << "the report's command line should show the flag, redacted";
  for (const auto& [name, text] : scanned) {
    const auto leaks = Leaks(text);
    EXPECT_TRUE(leaks.empty()) << name << " leaked: " << ::testing::PrintToString(leaks);
  }
}

}  // namespace
}  // namespace sluice::testing

// No secret reaches a log line: a relay at --log-level trace (logging.level: trace, librdkafka's
// conf and security debug contexts on) drains, refreshes its token, and stops; its whole log is
// scanned for the client secret, the Kafka SASL password and any Salesforce access token.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "sluice/testing/relay_harness.h"
#include "sluice/testing/sfsim_process.h"
#include "sluice/testing/temp_file.h"

namespace sluice::testing {
namespace {

using std::chrono::minutes;

constexpr char kSaslPassword[] = "kafka-Pa55word-never-logged";

// The secrets found in `text`, by name; empty when none. sfsim's tokens are the org id, "!AR" and
// 96 characters of [A-Za-z0-9._] (libs/sfsim/src/auth.cc).
std::vector<std::string> Leaks(const std::string& text) {
  std::vector<std::string> found;
  if (text.find(SfsimProcess::kClientSecret) != std::string::npos) found.push_back("client secret");
  if (text.find(kSaslPassword) != std::string::npos) found.push_back("SASL password");
  if (std::regex_search(text, std::regex("!AR[A-Za-z0-9._]{16}"))) found.push_back("access token");
  return found;
}

TEST(SecretsTest, TheScanFindsEachSecret) {
  // The scan itself can fail: each secret, planted, is found.
  EXPECT_EQ(Leaks(std::string("x ") + SfsimProcess::kClientSecret).size(), 1u);
  EXPECT_EQ(Leaks(std::string("sasl.password=") + kSaslPassword).size(), 1u);
  EXPECT_EQ(Leaks("Authorization: Bearer 00D000000000001!ARabcdefghijklmnop.qrstuv").size(), 1u);
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

}  // namespace
}  // namespace sluice::testing

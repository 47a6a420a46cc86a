// The whole path: HTTP client -> sluice-gateway -> Kafka -> sluice-relay -> sluice-sfsim. Every
// event answered 202 reaches the org exactly once.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <fstream>
#include <map>
#include <sstream>

#include "load.h"
#include "sluice/testing/gateway_process.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/relay_harness.h"

namespace sluice::testing {
namespace {

[[maybe_unused]] const bool kBroker = RegisterKafkaBrokerEnvironment();

TEST(GatewayEndToEndTest, AHundredThousandEventsReachTheOrgOnceEach) {
  RelayHarness::Options ho;
  ho.partitions = 4;
  ho.sfsim_flags = {"--daily-api-requests", "100000000"};
  ho.delivery = {{"requests_per_second", "2000"}, {"records_per_second", "200000"}};
  ho.log_level = "warn";
  auto harness = RelayHarness::Create(ho);
  ASSERT_TRUE(harness.ok()) << harness.status().ToString();
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  GatewayProcessOptions go;
  go.bootstrap = (*broker)->bootstrap();
  go.topics = {{"Contact", (*harness)->topic()}};
  auto gw = GatewayProcess::Start(go);
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  ASSERT_TRUE((*harness)->StartRelay(0).ok());

  LoadRunner::Options lo;
  lo.port = (*gw)->port();
  lo.connections = 8;
  lo.batch = 100;
  lo.run = 7;
  lo.max_events = 100'000;
  lo.token = kGatewayToken;
  LoadRunner load(lo);
  load.Start();
  load.Join();
  const auto accepted = load.Accepted();
  ASSERT_EQ(accepted.size(), 100'000u) << "not every request was answered 202";

  ASSERT_TRUE((*harness)->WaitForLedger(100'000, std::chrono::minutes(5)));
  auto ledger = (*harness)->Ledger();
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  std::map<std::string, int> writes;
  size_t unexpected = 0;
  for (const LedgerRow& row : *ledger) {
    if (!accepted.count(row.event_id)) ++unexpected;
    ++writes[row.event_id];
  }
  size_t missing = 0, duplicated = 0;
  for (const auto& [id, where] : accepted) {
    auto it = writes.find(id);
    if (it == writes.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++duplicated;
    }
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(unexpected, 0u);
  EXPECT_EQ(ledger->size(), 100'000u);
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// sluice-flood --via: the flood's own verification (sfsim's ledger) over the HTTP path, with a
// gateway that pushes back (a small unacknowledged-events bound, so 429s are retried).
TEST(GatewayEndToEndTest, FloodViaTheGatewayVerifiesFromTheLedger) {
  RelayHarness::Options ho;
  ho.partitions = 4;
  ho.sfsim_flags = {"--daily-api-requests", "100000000"};
  ho.log_level = "warn";
  auto harness = RelayHarness::Create(ho);
  ASSERT_TRUE(harness.ok()) << harness.status().ToString();
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  GatewayProcessOptions go;
  go.bootstrap = (*broker)->bootstrap();
  go.topics = {{"Contact", (*harness)->topic()}};
  go.extra_yaml = "limits: {max_events: 100, max_unacked_events: 300}\n";
  auto gw = GatewayProcess::Start(go);
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  ASSERT_TRUE((*harness)->StartRelay(0).ok());
  const std::string token_file = (*harness)->work_dir() + "/gateway-token";
  std::ofstream(token_file) << kGatewayToken << "\n";
  const std::string report = (*harness)->work_dir() + "/flood";
  auto r = RunCommand({BinPath("sluice-flood"),
                       "--bootstrap",
                       (*broker)->bootstrap(),
                       "burst",
                       "--events",
                       "20000",
                       "--keys",
                       "5000",
                       "--topic",
                       (*harness)->topic(),
                       "--group",
                       (*harness)->topic() + "-group",
                       "--sfsim",
                       (*harness)->sfsim().base_url(),
                       "--via",
                       "http://127.0.0.1:" + std::to_string((*gw)->port()),
                       "--via-connections",
                       "8",
                       "--via-batch",
                       "100",
                       "--via-token-file",
                       token_file,
                       "--report",
                       report,
                       "--drain-timeout",
                       "300s",
                       "--progress",
                       "none",
                       "--assert",
                       "missing==0",
                       "--assert",
                       "duplicates==0"},
                      std::chrono::minutes(6));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->out;
  std::ifstream in(report + ".json");
  std::stringstream json;
  json << in.rdbuf();
  rapidjson::Document d;
  d.Parse(json.str().c_str());
  ASSERT_FALSE(d.HasParseError());
  ASSERT_TRUE(d.HasMember("verification"));
  const auto& v = d["verification"];
  EXPECT_EQ(v["delivered"].GetInt64(), 20000);
  EXPECT_EQ(v["missing"].GetInt64(), 0);
  EXPECT_EQ(v["duplicates"].GetInt64(), 0);
  EXPECT_EQ(v["acked"].GetInt64(), 20000);
  // The gateway's figures are in the report, not only on stderr: every event answered 202 once,
  // and with max_unacked_events 300 against 8 connections of 100, some requests got 429s and
  // were retried.
  ASSERT_TRUE(d.HasMember("gateway") && d["gateway"].IsObject()) << json.str().substr(0, 3000);
  const auto& g = d["gateway"];
  EXPECT_EQ(g["url"].GetString(), "http://127.0.0.1:" + std::to_string((*gw)->port()));
  EXPECT_EQ(g["events_accepted"].GetInt64(), 20000);
  EXPECT_EQ(g["accepted_202"].GetInt64(), 200);  // 20,000 events in requests of 100
  EXPECT_EQ(g["requests"].GetInt64(), g["accepted_202"].GetInt64() + g["throttled_429"].GetInt64() +
                                          g["unavailable_503"].GetInt64() +
                                          g["no_answer"].GetInt64());
  EXPECT_EQ(g["retries"].GetInt64(), g["requests"].GetInt64() - g["accepted_202"].GetInt64());
  EXPECT_STREQ(g["time_to_202_from"].GetString(), "handed_over");  // an unpaced burst
  EXPECT_EQ(g["time_to_202"]["count"].GetInt64(), 200);
  EXPECT_GT(g["time_to_202"]["max_ms"].GetDouble(), 0.0);
  EXPECT_LE(g["time_to_202"]["p50_ms"].GetDouble(), g["time_to_202"]["p99_ms"].GetDouble());
  // The CSV holds the counts per sample; the last sample's are the totals so far.
  std::ifstream csv(report + ".csv");
  std::string header;
  std::getline(csv, header);
  EXPECT_NE(header.find(",gateway_requests,gateway_202,gateway_429,gateway_503"), std::string::npos)
      << header;
  // The HTML page names them too.
  std::ifstream html_in(report + ".html");
  std::stringstream html;
  html << html_in.rdbuf();
  EXPECT_NE(html.str().find("through sluice-gateway"), std::string::npos);
}

// A paced --via run (rate): each request's time to 202 counts from the intended send time of its
// last event, so the report says "intended", and the times are those of this run (not an epoch
// apart, which a mix of clocks would give).
TEST(GatewayEndToEndTest, APacedFloodViaTheGatewayTimesFromTheIntendedSendTimes) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto topic = (*broker)->CreateTopic(4, "gw-paced");
  ASSERT_TRUE(topic.ok());
  GatewayProcessOptions go;
  go.bootstrap = (*broker)->bootstrap();
  go.topics = {{"Contact", *topic}};
  auto gw = GatewayProcess::Start(go);
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  const std::string token_file = (*gw)->dir() + "/flood-token";
  std::ofstream(token_file) << kGatewayToken << "\n";
  const std::string report = (*gw)->dir() + "/paced";
  auto r = RunCommand({BinPath("sluice-flood"),
                       "--bootstrap",
                       (*broker)->bootstrap(),
                       "rate",
                       "--rate",
                       "2000",
                       "--duration",
                       "2s",
                       "--topic",
                       *topic,
                       "--via",
                       "http://127.0.0.1:" + std::to_string((*gw)->port()),
                       "--via-batch",
                       "50",
                       "--via-token-file",
                       token_file,
                       "--no-drain",
                       "--report",
                       report,
                       "--progress",
                       "none"},
                      std::chrono::minutes(3));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::ifstream in(report + ".json");
  std::stringstream json;
  json << in.rdbuf();
  rapidjson::Document d;
  d.Parse(json.str().c_str());
  ASSERT_FALSE(d.HasParseError()) << r->out;
  ASSERT_TRUE(d.HasMember("gateway") && d["gateway"].IsObject()) << json.str().substr(0, 3000);
  const auto& g = d["gateway"];
  EXPECT_STREQ(g["time_to_202_from"].GetString(), "intended");
  EXPECT_EQ(g["events_accepted"].GetInt64(), 4000);
  EXPECT_EQ(g["accepted_202"].GetInt64(), 80);  // 4,000 events in requests of 50
  const auto& t = g["time_to_202"];
  EXPECT_EQ(t["count"].GetInt64(), 80);
  EXPECT_GE(t["p50_ms"].GetDouble(), 0.0);
  EXPECT_LE(t["p50_ms"].GetDouble(), t["max_ms"].GetDouble());
  // Bounded by the run itself (a 2 s schedule and its answers), not by some clock's epoch.
  EXPECT_LT(t["max_ms"].GetDouble(), 120'000.0);
}

}  // namespace
}  // namespace sluice::testing

// The whole path: HTTP client -> sluice-gateway -> Kafka -> sluice-relay -> sluice-sfsim. Every
// event answered 202 reaches the org exactly once.
#include <gtest/gtest.h>

#include <map>

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

#include "relay_metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::relay {
namespace {

std::string Render(const RelayMetrics& m) { return m.registry->RenderPrometheus(); }

// Every instance samples the lag of whole topics; only the partitions it owns are exported, so a
// sum over instances counts each partition once.
TEST(RelayMetricsTest, LagIsExportedForOwnedPartitionsOnly) {
  RelayMetrics m;
  m.registry = std::make_shared<metrics::Registry>();
  ASSERT_TRUE(m.Register().ok());
  m.SetOwnedPartitions({{"sf.a", 0}, {"sf.a", 2}});
  auto lag = [](int32_t partition, int64_t n) {
    return kafka::PartitionLag{.partition = partition, .lag = n};
  };
  m.SetLag("sf.a", {lag(0, 10), lag(1, 11), lag(2, 12)});
  m.SetLag("sf.b", {lag(0, 99)});
  std::string text = Render(m);
  EXPECT_NE(text.find(R"(sluice_relay_partition_lag{topic="sf.a",partition="0"} 10)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(sluice_relay_partition_lag{topic="sf.a",partition="2"} 12)"),
            std::string::npos);
  EXPECT_EQ(text.find(R"(partition="1"})"), std::string::npos) << text;
  EXPECT_EQ(text.find("sf.b"), std::string::npos) << text;
  EXPECT_FALSE(m.Lag("sf.a", 1).has_value());

  // Partition 0 moves away: its lag is forgotten at once, not left at its last value.
  m.SetOwnedPartitions({{"sf.a", 2}});
  text = Render(m);
  EXPECT_EQ(text.find(R"(partition="0"})"), std::string::npos) << text;
  EXPECT_EQ(m.Lag("sf.a", 2), 12);
}

// Consumed, delivered and dead-lettered are per source topic, so a dashboard can tell which
// topic's producers send what Salesforce refuses.
TEST(RelayMetricsTest, ConsumedDeliveredAndDeadLetteredCarryTheTopic) {
  RelayMetrics m;
  m.registry = std::make_shared<metrics::Registry>();
  ASSERT_TRUE(m.Register().ok());
  m.Consumed("sf.a").Increment(3);
  m.Consumed("sf.b").Increment();
  m.Delivered("sf.a").Increment(2);
  m.Consumed("sf.a").Increment();
  m.CountDeadLetter("sf.b", "permanent", "INVALID_FIELD");
  const std::string text = Render(m);
  for (const char* want : {R"(sluice_relay_consumed_total{topic="sf.a"} 4)",
                           R"(sluice_relay_consumed_total{topic="sf.b"} 1)",
                           R"(sluice_relay_delivered_total{topic="sf.a"} 2)",
                           R"(sluice_relay_dead_lettered_total{topic="sf.b",class="permanent",)"
                           R"(code="INVALID_FIELD"} 1)"}) {
    EXPECT_NE(text.find(want), std::string::npos) << want << "\n" << text;
  }
  // A topic's delivered series starts at 0 with its first record, so rate() sees the first rise.
  EXPECT_NE(text.find(R"(sluice_relay_delivered_total{topic="sf.b"} 0)"), std::string::npos)
      << text;
  EXPECT_EQ(text.find("sf.c"), std::string::npos) << text;
  EXPECT_EQ(&m.Consumed("sf.a"), &m.Consumed("sf.a"));
}

}  // namespace
}  // namespace sluice::relay

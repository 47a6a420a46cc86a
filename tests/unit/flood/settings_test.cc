#include "sluice/flood/settings.h"

#include <gtest/gtest.h>

namespace sluice::flood {
namespace {

TEST(SettingsTest, RelaySettingsFromMetrics) {
  const auto samples = ParsePrometheusText(
      "# TYPE sluice_relay_settings_info gauge\n"
      "sluice_relay_settings_info{mode=\"idempotency store on, event id field Sluice_Event_Id__c\","
      "max_records=\"200\",linger_ms=\"20\",max_in_flight=\"20\",requests_per_second=\"100\","
      "records_per_second=\"20000\"} 1\n"
      "sluice_relay_in_flight_limit 10\n"
      "sluice_relay_request_rate_limit 50.5\n"
      "sluice_relay_delivered_total 7\n");
  auto s = RelaySettingsFrom(samples);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->mode, "idempotency store on, event id field Sluice_Event_Id__c");
  EXPECT_EQ(s->max_records, 200);
  EXPECT_EQ(s->linger_ms, 20);
  EXPECT_EQ(s->max_in_flight, 20);
  EXPECT_EQ(s->requests_per_second, 100);
  EXPECT_EQ(s->records_per_second, 20000);
  EXPECT_EQ(s->in_flight_limit, 10);
  EXPECT_EQ(s->request_rate_limit, 50.5);
}

TEST(SettingsTest, AnOlderRelayStatesOnlyItsGaugesAndHostileLabelsAreLeftOut) {
  auto gauges = RelaySettingsFrom(ParsePrometheusText("sluice_relay_in_flight_limit 4\n"));
  ASSERT_TRUE(gauges);
  EXPECT_EQ(gauges->in_flight_limit, 4);
  EXPECT_FALSE(gauges->mode);
  EXPECT_FALSE(gauges->max_records);

  EXPECT_FALSE(RelaySettingsFrom(ParsePrometheusText("sluice_relay_delivered_total 1\n")));
  EXPECT_FALSE(RelaySettingsFrom({}));

  auto hostile = RelaySettingsFrom(
      ParsePrometheusText("sluice_relay_settings_info{mode=\"" + std::string(500, 'x') +
                          "\",max_records=\"-5\",linger_ms=\"abc\",max_in_flight=\"1e400\","
                          "requests_per_second=\"nan\"} "
                          "1\n"));
  // Nothing usable: the labels were too long, negative, not numbers or not finite.
  EXPECT_FALSE(hostile);
}

TEST(SettingsTest, SfsimLatencyModelFromStats) {
  auto m = SfsimLatencyFromStats(
      R"({"requests_total":1,"latency_model":{"base_ms":40,"per_record_ms":0.5,)"
      R"("tail_median_ms":0,"tail_sigma":1,"max_ms":600000}})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->base_ms, 40);
  EXPECT_EQ(m->per_record_ms, 0.5);
  EXPECT_EQ(m->max_ms, 600000);
  EXPECT_FALSE(SfsimLatencyFromStats(R"({"requests_total":1})"));  // an older sfsim
  EXPECT_FALSE(SfsimLatencyFromStats("not json"));
  EXPECT_FALSE(SfsimLatencyFromStats(R"({"latency_model":{"base_ms":"40"}})"));
  EXPECT_FALSE(SfsimLatencyFromStats(
      R"({"latency_model":{"base_ms":-1,"per_record_ms":0,"tail_median_ms":0,"tail_sigma":1,"max_ms":1}})"));
  EXPECT_FALSE(SfsimLatencyFromStats(std::string(100000, '[')));
}

}  // namespace
}  // namespace sluice::flood

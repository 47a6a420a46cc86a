#include "sluice/flood/sources.h"

#include <gtest/gtest.h>

#include <cmath>

namespace sluice::flood {
namespace {

TEST(SimStatsTest, ParsesSfsimStats) {
  auto s = ParseSimStats(R"({"requests_total":12,"requests":{"composite_upsert":{"200":9,"503":2},
      "token":{"200":1,"reset":3}},"records_written":1500,"records_failed":4,
      "ledger_entries":1500,"duplicate_event_ids":0,"api_usage":{"used":11,"max":15000},
      "faults":{"lock_rows":6}})");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->records_written, 1500);
  EXPECT_EQ(s->records_failed, 4);
  EXPECT_EQ(s->api_used, 11);
  EXPECT_EQ(s->api_max, 15000);
  EXPECT_EQ(s->lock_rows, 6);
  EXPECT_EQ(s->responses_by_status.at("200"), 10);
  EXPECT_EQ(s->responses_by_status.at("503"), 2);
  EXPECT_EQ(s->responses_by_status.at("reset"), 3);
}

TEST(SimStatsTest, RejectsWhatIsNotSfsim) {
  for (const char* bad : {"", "[]", "{", "null", R"({"ok":true})", R"({"records_written":"x"})",
                          "<html>503</html>"}) {
    EXPECT_FALSE(ParseSimStats(bad).ok()) << bad;
  }
  EXPECT_FALSE(ParseSimStats(std::string(200000, '[')).ok());
  // Wrong types inside are ignored, not trusted.
  auto s = ParseSimStats(
      R"({"records_written":5,"api_usage":"lots","requests":{"x":7,"y":{"200":"a"}}})");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->api_used, 0);
  EXPECT_TRUE(s->responses_by_status.empty());
}

TEST(LedgerLinesTest, ParsesEntriesAndSkipsGarbage) {
  const std::string text =
      R"({"seq":1,"received_ms":1767225600123,"sobject":"Contact","event_id":"a","created":true})"
      "\n"
      "not json\n"
      R"({"seq":2,"received_ms":"soon","event_id":"b"})"
      "\n"
      R"({"seq":3,"received_ms":1767225600200,"event_id":""})"
      "\r\n\n" +
      std::string(70000, 'x') + "\n" +
      R"({"seq":4,"received_ms":9223372036854775807,"event_id":"d"})";
  LedgerPage p = ParseLedgerLines(text);
  ASSERT_EQ(p.entries.size(), 3u);
  EXPECT_EQ(p.entries[0].event_id, "a");
  EXPECT_EQ(p.entries[0].received_unix_ns, 1'767'225'600'123'000'000);
  EXPECT_EQ(p.entries[1].event_id, "");
  EXPECT_EQ(p.entries[2].received_unix_ns, INT64_MAX);  // saturated, not overflowed
  EXPECT_EQ(p.last_seq, 4u);
  EXPECT_EQ(p.bad_lines, 3);
}

TEST(PrometheusTextTest, ParsesSamplesLabelsAndSpecialValues) {
  int64_t bad = -1;
  auto samples = ParsePrometheusText(
      "# HELP sluice_relay_delivered_total Events.\n"
      "# TYPE sluice_relay_delivered_total counter\n"
      "sluice_relay_delivered_total 1500\n"
      "sluice_relay_dead_lettered_total{class=\"invalid_envelope\",code=\"not_json\"} 3\n"
      "sluice_relay_dead_lettered_total{class=\"permanent\",code=\"REQUIRED_FIELD_MISSING\"} 1 "
      "1700000000000\n"
      "weird{a=\"x\\\"y\\\\z\\n\"} +Inf\n"
      "  sluice_relay_call_latency_seconds_sum 12.5\n"
      "sluice_relay_call_latency_seconds_count 50\n"
      "broken{a=\"x} 1\n"
      "nolabelvalue\n"
      "1bad 2\n"
      "x{a=b} 1\n",
      &bad);
  EXPECT_EQ(bad, 4);
  ASSERT_EQ(samples.size(), 6u);
  EXPECT_EQ(samples[3].labels.at("a"), "x\"y\\z\n");
  EXPECT_TRUE(std::isinf(samples[3].value));
  RelayFigures f = RelayFiguresFrom(samples);
  EXPECT_EQ(f.delivered, 1500);
  EXPECT_EQ(f.call_latency_sum_s, 12.5);
  EXPECT_EQ(f.call_latency_count, 50);
  EXPECT_EQ(f.dead_lettered_by_code.at("not_json"), 3);
  EXPECT_FALSE(f.requests_sent.has_value());
}

// The relay counts consumed, delivered and dead-lettered per source topic; the figures are the
// sums over topics (and, for the DLQ, over classes).
TEST(PrometheusTextTest, FiguresSumOverTopics) {
  auto samples = ParsePrometheusText(
      "sluice_relay_delivered_total{topic=\"sf.a\"} 1000\n"
      "sluice_relay_delivered_total{topic=\"sf.b\"} 500\n"
      "sluice_relay_dead_lettered_total{topic=\"sf.a\",class=\"permanent\",code=\"X\"} 2\n"
      "sluice_relay_dead_lettered_total{topic=\"sf.b\",class=\"permanent\",code=\"X\"} 3\n");
  RelayFigures f = RelayFiguresFrom(samples);
  EXPECT_EQ(f.delivered, 1500);
  EXPECT_EQ(f.dead_lettered_by_code.at("X"), 5);
}

TEST(PrometheusTextTest, HostileInputIsBounded) {
  std::string many;
  for (int i = 0; i < 120000; ++i) many += "m 1\n";
  int64_t bad = 0;
  EXPECT_EQ(ParsePrometheusText(many, &bad).size(), 100000u);
  EXPECT_EQ(bad, 20000);
  std::string labels = "m{";
  for (int i = 0; i < 100; ++i) labels += "l" + std::to_string(i) + "=\"v\",";
  labels += "} 1\n";
  EXPECT_TRUE(ParsePrometheusText(labels).empty());
  EXPECT_TRUE(ParsePrometheusText(std::string(1 << 20, '{')).empty());
}

}  // namespace
}  // namespace sluice::flood

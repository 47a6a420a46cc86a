#include "sluice/flood/planner.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cmath>

#include "sluice/relay/options.h"

namespace sluice::flood {
namespace {

// The relay's settings are the planner's defaults: a plan without flags is a relay without
// configuration.
TEST(PlannerTest, DefaultsAreTheRelaysDefaults) {
  const PlanInput plan;
  const relay::RelayOptions relay;
  EXPECT_EQ(plan.records_per_call, static_cast<double>(relay.max_records));
  EXPECT_EQ(plan.concurrency, relay.max_in_flight);
  EXPECT_EQ(plan.max_requests_per_s, relay.requests_per_second);
  EXPECT_EQ(plan.max_records_per_s, relay.records_per_second);
  EXPECT_EQ(plan.daily_reserve, relay.budget_reserve);
}

TEST(PlannerTest, ConcurrencyBinds) {
  PlanInput in;
  in.events = 1'000'000;
  in.records_per_call = 200;
  in.concurrency = 10;
  in.call_latency_s = 0.5;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->api_calls, 5000);
  EXPECT_DOUBLE_EQ(r->calls_per_s, 20);  // 10 in flight / 0.5 s
  EXPECT_DOUBLE_EQ(r->drain_time_s, 4999.0 / 20 + 0.5);
  EXPECT_EQ(r->binding, "concurrency");
  EXPECT_DOUBLE_EQ(r->daily_share, 0.05);
  EXPECT_TRUE(r->fits_daily_allocation);
  EXPECT_EQ(r->daily_remaining, 90000);  // the relay's 10% reserve kept back
  EXPECT_NEAR(r->events_per_s, 1'000'000 / (4999.0 / 20 + 0.5), 1e-6);
}

TEST(PlannerTest, PartialLastCallRoundsUp) {
  PlanInput in;
  in.events = 401;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->api_calls, 3);
}

TEST(PlannerTest, RequestCeilingBindsWhenLower) {
  PlanInput in;
  in.events = 6'000'000;
  in.concurrency = 25;
  in.call_latency_s = 0.25;  // 100 calls/s from concurrency
  in.max_requests_per_s = 40;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->binding, "requests_per_second");
  EXPECT_DOUBLE_EQ(r->calls_per_s, 40);
  EXPECT_EQ(r->api_calls, 30000);
  EXPECT_DOUBLE_EQ(r->drain_time_s, 29999.0 / 40 + 0.25);
  ASSERT_EQ(r->limits.size(), 3u);  // concurrency, requests and records per second
}

TEST(PlannerTest, RecordCeilingBindsWhenLower) {
  PlanInput in;
  in.events = 10000;
  in.records_per_call = 100;
  in.concurrency = 50;
  in.call_latency_s = 0.1;
  in.max_requests_per_s = 400;
  in.max_records_per_s = 2000;  // 20 calls/s of 100 records
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->binding, "records_per_second");
  EXPECT_DOUBLE_EQ(r->calls_per_s, 20);
}

TEST(PlannerTest, DailyAllocationBindsWhenTheCallsDoNotFit) {
  PlanInput in;
  in.events = 6'000'000;  // 30,000 calls
  in.daily_allocation = 15000;
  in.daily_used = 5000;
  in.daily_reserve = 0.2;  // usable 12,000/day, 7,000 left today
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->daily_remaining, 7000);
  EXPECT_FALSE(r->fits_daily_allocation);
  EXPECT_EQ(r->binding, "daily_allocation");
  EXPECT_DOUBLE_EQ(r->daily_share, 2.0);
  // 23,000 calls beyond today's 7,000 need two more 24 h windows of 12,000.
  EXPECT_DOUBLE_EQ(r->drain_time_s, 2 * 86400.0);
}

TEST(PlannerTest, ExhaustedAllocation) {
  PlanInput in;
  in.events = 10;
  in.daily_allocation = 1000;
  in.daily_used = 1000;
  in.daily_reserve = 0;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->fits_daily_allocation);
  EXPECT_EQ(r->daily_remaining, 0);
  EXPECT_DOUBLE_EQ(r->drain_time_s, 86400);
}

TEST(PlannerTest, RejectsBadInput) {
  const auto bad = [](auto mutate) {
    PlanInput in;
    in.events = 100;
    mutate(in);
    return Plan(in).status().code();
  };
  EXPECT_EQ(bad([](PlanInput& i) { i.events = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.records_per_call = 201; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.records_per_call = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.concurrency = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.call_latency_s = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.call_latency_s = NAN; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.max_requests_per_s = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.max_records_per_s = INFINITY; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.daily_allocation = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.daily_used = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.daily_reserve = 1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.instances = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.relay_events_per_s = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.parents = -1; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.parent_zipf = NAN; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.bulk_records_per_job = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.bulk_concurrent_jobs = 101; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.bulk_records_per_s = 0; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.bulk_poll_interval_s = INFINITY; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](PlanInput& i) { i.bulk_daily_batches = 0; }), StatusCode::kInvalidArgument);
}

// 1,000,000 events: 5,000 collections calls at 40 calls/s (20 in flight of 0.5 s), against ten
// bulk jobs of 100,000 in two waves of five, each 20 s of processing plus polls and six calls.
TEST(PlannerTest, BulkAgainstCollections) {
  PlanInput in;
  in.events = 1'000'000;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->api_calls, 5000);
  EXPECT_EQ(r->binding, "concurrency");
  EXPECT_DOUBLE_EQ(r->drain_time_s, 4999.0 / 40 + 0.5);
  EXPECT_EQ(r->bulk.jobs, 10);
  EXPECT_EQ(r->bulk.batches, 100);
  EXPECT_EQ(r->bulk.api_calls, 10 * (6 + 4 + 1));
  EXPECT_DOUBLE_EQ(r->bulk.job_time_s, 20 + 2.5 + 3);
  EXPECT_DOUBLE_EQ(r->bulk.drain_time_s, 2 * 25.5);
  EXPECT_EQ(r->bulk.binding, "bulk_processing");
  EXPECT_DOUBLE_EQ(r->bulk.daily_records_share, 1e6 / 150e6);
  EXPECT_DOUBLE_EQ(r->bulk.daily_batches_share, 100.0 / 15000);
  EXPECT_TRUE(r->bulk.fits_daily_allocations);
  EXPECT_EQ(r->recommended, "bulk");
  ASSERT_EQ(r->advice.size(), 3u);
  EXPECT_NE(r->advice[0].find("delivery.max_in_flight"), std::string::npos) << r->advice[0];
  EXPECT_NE(r->advice[2].find("2.20% of the calls"), std::string::npos) << r->advice[2];
  EXPECT_NE(r->advice[2].find("not built yet"), std::string::npos) << r->advice[2];
}

TEST(PlannerTest, BulkAllocationsBindAHugeBacklog) {
  PlanInput in;
  in.events = 200'000'000;  // over 150 M records a day
  in.daily_allocation = 10'000'000;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->bulk.fits_daily_allocations);
  EXPECT_EQ(r->bulk.binding, "bulk_daily_batches");  // 20,000 batches against 15,000
  EXPECT_DOUBLE_EQ(r->bulk.drain_time_s, 86400);
  EXPECT_NE(r->advice[1].find("over days"), std::string::npos) << r->advice[1];
}

// 100,000 Contacts over 50 Accounts, Zipf 1.5: the largest Account holds about 43% of them, and
// its 200-record calls go one at a time.
TEST(PlannerTest, ParentLocksBindASkewedParentDistribution) {
  PlanInput in;
  in.events = 100'000;
  in.parents = 50;
  auto even = Plan(in);
  ASSERT_TRUE(even.ok());
  EXPECT_EQ(even->largest_parent_children, 2000);
  EXPECT_EQ(even->binding, "concurrency");  // 10 calls in a row: 5 s, against 12.5 s
  in.parent_zipf = 1.5;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  EXPECT_GT(r->largest_parent_children, 40'000);
  EXPECT_LT(r->largest_parent_children, 45'000);
  EXPECT_EQ(r->binding, "parent_locks");
  const double sequential = std::ceil(r->largest_parent_children / 200.0);
  EXPECT_NEAR(r->drain_time_s, sequential * 0.5, 0.5);
  EXPECT_NE(r->advice[0].find("one call at a time"), std::string::npos) << r->advice[0];
  // A billion parents with Zipf 1: the share comes from the harmonic sum's integral.
  in.parents = 1'000'000'000;
  in.parent_zipf = 1.0;
  auto many = Plan(in);
  ASSERT_TRUE(many.ok());
  EXPECT_NEAR(static_cast<double>(many->largest_parent_children), 100'000 / 21.3, 100);
}

TEST(PlannerTest, RelayCapacityBindsWithTooFewInstances) {
  PlanInput in;
  in.events = 1'000'000;
  in.relay_events_per_s = 2000;
  auto one = Plan(in);
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->binding, "relay_capacity");  // 10 calls/s
  EXPECT_EQ(one->bulk.binding, "relay_capacity");
  in.instances = 4;  // 40 calls/s: equal to the concurrency bound
  auto four = Plan(in);
  ASSERT_TRUE(four.ok());
  EXPECT_LT(four->drain_time_s, one->drain_time_s / 3.9);
  EXPECT_NE(one->advice[0].find("add instances"), std::string::npos) << one->advice[0];
}

TEST(PlannerTest, JsonAndTextCarryTheFigures) {
  PlanInput in;
  in.events = 1'000'000;
  auto r = Plan(in);
  ASSERT_TRUE(r.ok());
  rapidjson::Document doc;
  doc.Parse(PlanToJson(in, *r).c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["schema"].GetString(), "sluice.flood.plan/v1");
  EXPECT_EQ(doc["api_calls"].GetInt64(), 5000);
  EXPECT_STREQ(doc["binding"].GetString(), "concurrency");
  EXPECT_EQ(doc["bulk"]["api_calls"].GetInt64(), 110);
  EXPECT_STREQ(doc["recommended"].GetString(), "bulk");
  EXPECT_EQ(doc["advice"].Size(), 3u);
  EXPECT_EQ(doc["input"]["concurrency"].GetInt64(), 20);
  const std::string text = FormatPlan(in, *r);
  EXPECT_NE(text.find("API calls           5000"), std::string::npos) << text;
  EXPECT_NE(text.find("110 (10 jobs, 100 batches)"), std::string::npos) << text;
  EXPECT_NE(text.find("binding limit       concurrency"), std::string::npos) << text;
  EXPECT_NE(text.find("- recommended: bulk"), std::string::npos) << text;
}

TEST(CalibrationTest, ReadsMeasuredFiguresFromAReport) {
  auto c = CalibrationFromReport(
      R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":0.42,"records_per_call":187.5}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->call_latency_s, 0.42);
  EXPECT_DOUBLE_EQ(c->records_per_call, 187.5);
  EXPECT_FALSE(c->concurrency);
  EXPECT_FALSE(c->daily_allocation);
}

TEST(CalibrationTest, ReadsTheRelaySettingsAndTheOrgsAllocation) {
  auto c = CalibrationFromReport(
      R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":0.2,"records_per_call":150,)"
      R"("daily_used":1234,"daily_max":500000},"relay_settings":{"max_in_flight":8,)"
      R"("requests_per_second":2000,"records_per_second":null}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->concurrency, 8);
  EXPECT_EQ(c->max_requests_per_s, 2000);
  EXPECT_FALSE(c->max_records_per_s);
  EXPECT_EQ(c->daily_allocation, 500000);
  EXPECT_EQ(c->daily_used, 1234);
  PlanInput in;
  ApplyCalibration(*c, {"concurrency"}, &in);  // --concurrency given: kept
  EXPECT_EQ(in.concurrency, 20);
  EXPECT_DOUBLE_EQ(in.call_latency_s, 0.2);
  EXPECT_DOUBLE_EQ(in.records_per_call, 150);
  EXPECT_DOUBLE_EQ(in.max_requests_per_s, 2000);
  EXPECT_DOUBLE_EQ(in.max_records_per_s, 20000);  // not in the report: the default stays
  EXPECT_EQ(in.daily_allocation, 500000);
  EXPECT_EQ(in.daily_used, 1234);
}

TEST(CalibrationTest, RejectsWhatIsNotAMeasuredReport) {
  for (
      const char* bad : {
          "",
          "not json",
          "[]",
          R"({"schema":"other/v1"})",
          R"({"schema":"sluice.flood.report/v1"})",
          R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":null,"records_per_call":5}})",
          R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":"1","records_per_call":5}})",
          R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":-1,"records_per_call":5}})",
          R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":1,"records_per_call":0}})",
      }) {
    EXPECT_FALSE(CalibrationFromReport(bad).ok()) << bad;
  }
  // Deeply nested JSON must not crash the parser.
  std::string deep(100000, '[');
  EXPECT_FALSE(CalibrationFromReport(deep).ok());
}

}  // namespace
}  // namespace sluice::flood

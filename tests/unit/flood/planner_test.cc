#include "sluice/flood/planner.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cmath>

namespace sluice::flood {
namespace {

TEST(PlannerTest, ConcurrencyBindsByDefault) {
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
  EXPECT_EQ(r->daily_remaining, 100000);
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
  ASSERT_EQ(r->limits.size(), 2u);
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
  const std::string text = FormatPlan(in, *r);
  EXPECT_NE(text.find("API calls needed    5000"), std::string::npos) << text;
  EXPECT_NE(text.find("binding limit       concurrency"), std::string::npos) << text;
}

TEST(CalibrationTest, ReadsMeasuredFiguresFromAReport) {
  auto c = CalibrationFromReport(
      R"({"schema":"sluice.flood.report/v1","api":{"call_latency_s":0.42,"records_per_call":187.5}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_DOUBLE_EQ(c->call_latency_s, 0.42);
  EXPECT_DOUBLE_EQ(c->records_per_call, 187.5);
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

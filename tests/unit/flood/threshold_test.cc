#include "sluice/flood/threshold.h"

#include <gtest/gtest.h>

namespace sluice::flood {
namespace {

const std::vector<std::string> kKnown = {"drain_time_s", "duplicates", "missing", "latency_p99_ms"};

TEST(ThresholdTest, ParsesEveryOperator) {
  struct Case {
    const char* text;
    CompareOp op;
    double value;
  };
  for (const Case& c : {Case{"drain_time_s<120", CompareOp::kLess, 120},
                        Case{"drain_time_s<=120.5", CompareOp::kLessEqual, 120.5},
                        Case{"missing>0", CompareOp::kGreater, 0},
                        Case{"missing>=1e3", CompareOp::kGreaterEqual, 1000},
                        Case{"duplicates==0", CompareOp::kEqual, 0},
                        Case{"duplicates!=-2", CompareOp::kNotEqual, -2},
                        Case{"  latency_p99_ms  <  250 ", CompareOp::kLess, 250}}) {
    auto t = ParseThreshold(c.text, kKnown);
    ASSERT_TRUE(t.ok()) << c.text << ": " << t.status();
    EXPECT_EQ(t->op, c.op) << c.text;
    EXPECT_DOUBLE_EQ(t->value, c.value) << c.text;
    EXPECT_EQ(t->text, c.text);
  }
}

TEST(ThresholdTest, UnknownMetricNamesTheKnownOnes) {
  auto t = ParseThreshold("drain_time<120", kKnown);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("unknown metric 'drain_time'"), std::string::npos)
      << t.status();
  EXPECT_NE(t.status().message().find("drain_time_s, duplicates"), std::string::npos);
}

TEST(ThresholdTest, MalformedExpressionsSayWhy) {
  struct Case {
    std::string text;
    const char* why;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {"   ", "empty"},
           {"<5", "no metric name"},
           {"missing", "no operator"},
           {"missing=0", "use '=='"},
           {"missing=>0", "use '=='"},
           {"missing<", "no number"},
           {"missing<abc", "not a finite number"},
           {"missing<5x", "not a finite number"},
           {"missing<1e999", "not a finite number"},
           {"missing<nan", "not a finite number"},
           {"missing<inf", "not a finite number"},
           {"missing<<5", "not a finite number"},
           {"missing~5", "unknown operator"},
           {"missing < 5 6", "not a finite number"},
           {std::string("missing<\x01\xff"), "\\x01\\xff"},
           {std::string(5000, 'a') + "<1", "too long"},
       }) {
    auto t = ParseThreshold(c.text, kKnown);
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(c.why), std::string::npos)
        << c.text << " -> " << t.status();
    EXPECT_NE(t.status().message().find("malformed threshold"), std::string::npos);
  }
}

TEST(ThresholdTest, Evaluates) {
  std::vector<Threshold> ts;
  for (const char* s : {"drain_time_s<120", "duplicates==0", "missing<=0", "latency_p99_ms>=5",
                        "missing!=0", "drain_time_s>200"}) {
    ts.push_back(*ParseThreshold(s, kKnown));
  }
  std::map<std::string, std::optional<double>> figures = {
      {"drain_time_s", 84.2}, {"duplicates", 0}, {"missing", 0}, {"latency_p99_ms", 5}};
  auto out = EvaluateThresholds(ts, figures);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_TRUE(out[0].passed);
  EXPECT_EQ(out[0].message, "drain_time_s<120: 84.2 (pass)");
  EXPECT_TRUE(out[1].passed);
  EXPECT_TRUE(out[2].passed);
  EXPECT_TRUE(out[3].passed);
  EXPECT_FALSE(out[4].passed);
  EXPECT_FALSE(out[5].passed);
  EXPECT_EQ(out[5].message, "drain_time_s>200: 84.2 (fail)");
}

TEST(ThresholdTest, NotMeasuredFails) {
  std::vector<Threshold> ts = {*ParseThreshold("drain_time_s<120", kKnown)};
  auto out = EvaluateThresholds(ts, {{"drain_time_s", std::nullopt}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].passed);
  EXPECT_FALSE(out[0].actual.has_value());
  EXPECT_EQ(out[0].message, "drain_time_s<120: not measured (fail)");
  EXPECT_FALSE(EvaluateThresholds(ts, {})[0].passed);
}

}  // namespace
}  // namespace sluice::flood

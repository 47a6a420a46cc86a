#include "sluice/flow/backoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "sluice/core/clock.h"

namespace sluice::flow {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using TimePoint = Clock::TimePoint;

const TimePoint kT0 = TimePoint(seconds(1000));

std::unique_ptr<Backoff> Make(BackoffOptions o = {}, UniformSource u = SeededUniform(42)) {
  auto b = Backoff::Create(o, std::move(u));
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(b).value();
}

TEST(BackoffTest, CeilingGrowsExponentiallyUpToTheCap) {
  auto b = Make();
  EXPECT_EQ(b->Ceiling(1), milliseconds(200));
  EXPECT_EQ(b->Ceiling(2), milliseconds(400));
  EXPECT_EQ(b->Ceiling(3), milliseconds(800));
  EXPECT_EQ(b->Ceiling(8), milliseconds(25'600));
  EXPECT_EQ(b->Ceiling(9), seconds(30));
  EXPECT_EQ(b->Ceiling(1'000'000), seconds(30));  // No overflow.
  EXPECT_EQ(b->Ceiling(0), milliseconds(200));
  EXPECT_EQ(b->Ceiling(-5), milliseconds(200));
}

TEST(BackoffTest, DelaysStayWithinZeroAndTheCeiling) {
  BackoffOptions o;
  o.max_attempts = 100;
  auto b = Make(o);
  for (int attempt = 1; attempt < 20; ++attempt) {
    for (int i = 0; i < 500; ++i) {
      BackoffDecision d = b->Next(attempt, kT0, kT0);
      ASSERT_TRUE(d.retry());
      ASSERT_GE(d.delay, nanoseconds(0));
      ASSERT_LE(d.delay, b->Ceiling(attempt)) << attempt;
    }
  }
}

// Full jitter: uniform over [0, ceiling]. With a fixed seed, 20,000 draws have a mean near half the
// ceiling and each quarter of the range holds about a quarter of the draws.
TEST(BackoffTest, FullJitterIsUniform) {
  auto b = Make({}, SeededUniform(2024));
  const double ceiling = std::chrono::duration<double>(b->Ceiling(3)).count();
  const int n = 20'000;
  double sum = 0;
  int quarters[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; ++i) {
    const double d = std::chrono::duration<double>(b->Next(3, kT0, kT0).delay).count();
    sum += d;
    quarters[std::min(3, static_cast<int>(d / ceiling * 4))]++;
  }
  EXPECT_NEAR(sum / n / ceiling, 0.5, 0.01);
  for (int q : quarters) EXPECT_NEAR(static_cast<double>(q) / n, 0.25, 0.015);
}

TEST(BackoffTest, SameSeedSameDelays) {
  auto a = Make({}, SeededUniform(9));
  auto b = Make({}, SeededUniform(9));
  auto c = Make({}, SeededUniform(10));
  bool differs = false;
  for (int i = 1; i < 8; ++i) {
    const auto da = a->Next(i, kT0, kT0).delay;
    EXPECT_EQ(da, b->Next(i, kT0, kT0).delay);
    differs |= da != c->Next(i, kT0, kT0).delay;
  }
  EXPECT_TRUE(differs);
}

TEST(BackoffTest, AttemptsRunOutAtMaxAttempts) {
  auto b = Make();  // 8 attempts in all.
  for (int attempt = 1; attempt < 8; ++attempt) EXPECT_TRUE(b->Next(attempt, kT0, kT0).retry());
  EXPECT_EQ(b->Next(8, kT0, kT0).kind, BackoffDecision::Kind::kAttemptsExhausted);
  EXPECT_EQ(b->Next(9, kT0, kT0).kind, BackoffDecision::Kind::kAttemptsExhausted);

  BackoffOptions one;
  one.max_attempts = 1;
  EXPECT_EQ(Make(one)->Next(1, kT0, kT0).kind, BackoffDecision::Kind::kAttemptsExhausted);
}

TEST(BackoffTest, ElapsedBudgetRunsOutAndClipsTheLastDelay) {
  BackoffOptions o;
  o.max_elapsed = seconds(10);
  o.initial = seconds(20);
  o.cap = seconds(20);
  // A source that always returns the top of the range.
  auto b = Make(o, [] { return 0.999999; });
  BackoffDecision d = b->Next(1, kT0, kT0 + seconds(7));
  ASSERT_TRUE(d.retry());
  EXPECT_EQ(d.delay, seconds(3));  // Clipped so the next attempt starts by the deadline.
  EXPECT_EQ(b->Next(2, kT0, kT0 + seconds(10)).kind, BackoffDecision::Kind::kElapsedExhausted);
  EXPECT_EQ(b->Next(2, kT0, kT0 + minutes(60)).kind, BackoffDecision::Kind::kElapsedExhausted);
}

TEST(BackoffTest, AHostileRandomSourceCannotPushDelaysOutOfRange) {
  const double values[] = {std::nan(""),
                           -1.0,
                           1.0,
                           7.5,
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity()};
  for (double v : values) {
    auto b = Make({}, [v] { return v; });
    BackoffDecision d = b->Next(2, kT0, kT0);
    ASSERT_TRUE(d.retry());
    EXPECT_GE(d.delay, nanoseconds(0)) << v;
    EXPECT_LE(d.delay, milliseconds(400)) << v;
  }
}

TEST(BackoffTest, JitteredExponentialStaysInItsBand) {
  auto u = SeededUniform(5);
  for (int n = 1; n < 12; ++n) {
    const auto base = std::min<Clock::Duration>(seconds(60), seconds(1) * (1 << (n - 1)));
    for (int i = 0; i < 200; ++i) {
      const auto d = JitteredExponential(seconds(1), 2.0, seconds(60), n, 0.5, u());
      ASSERT_GE(d, base / 2);
      ASSERT_LE(d, base);
    }
  }
  EXPECT_EQ(JitteredExponential(seconds(1), 2.0, seconds(60), 3, 0.0, 0.7), seconds(4));
  EXPECT_EQ(JitteredExponential(seconds(1), 2.0, seconds(60), 3, std::nan(""), 0.7), seconds(4));
}

TEST(BackoffTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  struct Case {
    const char* field;
    void (*mutate)(BackoffOptions&);
  };
  const Case cases[] = {
      {"initial", [](BackoffOptions& o) { o.initial = seconds(0); }},
      {"initial", [](BackoffOptions& o) { o.initial = seconds(-1); }},
      {"initial", [](BackoffOptions& o) { o.initial = Clock::Duration::max(); }},
      {"multiplier", [](BackoffOptions& o) { o.multiplier = 0.5; }},
      {"multiplier", [](BackoffOptions& o) { o.multiplier = std::nan(""); }},
      {"multiplier", [](BackoffOptions& o) { o.multiplier = 1e9; }},
      {"cap", [](BackoffOptions& o) { o.cap = milliseconds(100); }},
      {"cap", [](BackoffOptions& o) { o.cap = Clock::Duration::max(); }},
      {"max_attempts", [](BackoffOptions& o) { o.max_attempts = 0; }},
      {"max_attempts", [](BackoffOptions& o) { o.max_attempts = -3; }},
      {"max_elapsed", [](BackoffOptions& o) { o.max_elapsed = seconds(0); }},
      {"max_elapsed", [](BackoffOptions& o) { o.max_elapsed = Clock::Duration::min(); }},
  };
  for (const Case& c : cases) {
    BackoffOptions o;
    c.mutate(o);
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
    EXPECT_FALSE(Backoff::Create(o, SeededUniform(1)).ok());
  }
  EXPECT_FALSE(Backoff::Create({}, UniformSource()).ok());
}

}  // namespace
}  // namespace sluice::flow

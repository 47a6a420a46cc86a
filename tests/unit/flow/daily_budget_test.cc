#include "sluice/flow/daily_budget.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "sluice/testing/simulated_clock.h"

namespace sluice::flow {
namespace {

using std::chrono::seconds;
using testing::SimulatedClock;

std::unique_ptr<DailyBudgetGuard> Make(const Clock& clock, DailyBudgetOptions o = {}) {
  auto g = DailyBudgetGuard::Create(o, clock);
  EXPECT_TRUE(g.ok()) << g.status();
  return std::move(g).value();
}

TEST(DailyBudgetGuardTest, AllowsBeforeAnyObservation) {
  SimulatedClock clock;
  auto g = Make(clock);
  EXPECT_TRUE(g->Allow());
  EXPECT_FALSE(g->TryProbe());
  EXPECT_FALSE(g->NextProbeAt().has_value());
}

TEST(DailyBudgetGuardTest, StopsAtTheReserve) {
  SimulatedClock clock;
  auto g = Make(clock);  // Reserve 10%.
  EXPECT_EQ(g->ThresholdFor(100'000), 90'000);
  ASSERT_TRUE(g->Observe(89'999, 100'000).ok());
  EXPECT_TRUE(g->Allow());
  ASSERT_TRUE(g->Observe(90'000, 100'000).ok());
  EXPECT_FALSE(g->Allow());
  EXPECT_EQ(g->blocks(), 1);
  EXPECT_EQ(g->used(), 90'000);
  EXPECT_EQ(g->max(), 100'000);
}

TEST(DailyBudgetGuardTest, ThresholdRounding) {
  SimulatedClock clock;
  DailyBudgetOptions o;
  o.reserve = 0.25;
  auto g = Make(clock, o);
  EXPECT_EQ(g->ThresholdFor(15'000), 11'250);
  EXPECT_EQ(g->ThresholdFor(10), 8);  // ⌈7.5⌉.
  EXPECT_EQ(g->ThresholdFor(1), 1);
  EXPECT_EQ(g->ThresholdFor(0), 0);
  // At the int64 limit the product is no longer exact; it must stay sane (no overflow).
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_GE(g->ThresholdFor(big), big / 4 * 3 - 2);
  EXPECT_LE(g->ThresholdFor(big), big / 4 * 3 + 3);
  o.reserve = 0;
  auto none = Make(clock, o);
  EXPECT_EQ(none->ThresholdFor(15'000), 15'000);
  ASSERT_TRUE(none->Observe(14'999, 15'000).ok());
  EXPECT_TRUE(none->Allow());
  ASSERT_TRUE(none->Observe(15'000, 15'000).ok());
  EXPECT_FALSE(none->Allow());
}

TEST(DailyBudgetGuardTest, ProbesOncePerIntervalWhileBlocked) {
  SimulatedClock clock;
  auto g = Make(clock);
  const auto start = clock.Now();
  ASSERT_TRUE(g->Observe(95'000, 100'000).ok());
  EXPECT_EQ(g->NextProbeAt(), start + seconds(60));
  clock.Advance(seconds(59));
  EXPECT_FALSE(g->TryProbe());
  clock.Advance(seconds(1));
  EXPECT_TRUE(g->TryProbe());
  EXPECT_FALSE(g->TryProbe());
  // The probe's answer: still over. Stay blocked, next probe a minute after this one.
  ASSERT_TRUE(g->Observe(94'000, 100'000).ok());
  EXPECT_FALSE(g->Allow());
  EXPECT_EQ(g->NextProbeAt(), start + seconds(120));
  EXPECT_EQ(g->blocks(), 1);
}

TEST(DailyBudgetGuardTest, FallingUsageReopens) {
  SimulatedClock clock;
  auto g = Make(clock);
  ASSERT_TRUE(g->Observe(99'000, 100'000).ok());
  clock.Advance(seconds(60));
  ASSERT_TRUE(g->TryProbe());
  ASSERT_TRUE(g->Observe(70'000, 100'000).ok());  // The rolling window moved on.
  EXPECT_TRUE(g->Allow());
  EXPECT_FALSE(g->TryProbe());
  EXPECT_FALSE(g->NextProbeAt().has_value());
  // A bigger allocation reopens too.
  ASSERT_TRUE(g->Observe(95'000, 100'000).ok());
  ASSERT_FALSE(g->Allow());
  ASSERT_TRUE(g->Observe(95'000, 200'000).ok());
  EXPECT_TRUE(g->Allow());
  EXPECT_EQ(g->blocks(), 2);
}

TEST(DailyBudgetGuardTest, MarkExhaustedBlocksUntilUsageIsSeenBelowTheThreshold) {
  SimulatedClock clock;
  auto g = Make(clock);
  const auto start = clock.Now();
  g->MarkExhausted();
  EXPECT_FALSE(g->Allow());
  EXPECT_EQ(g->NextProbeAt(), start + seconds(60));
  g->MarkExhausted();  // Again while blocked: no new block, the probe time stays.
  EXPECT_EQ(g->blocks(), 1);
  clock.Advance(seconds(60));
  EXPECT_TRUE(g->TryProbe());
  ASSERT_TRUE(g->Observe(1'000, 100'000).ok());
  EXPECT_TRUE(g->Allow());
}

TEST(DailyBudgetGuardTest, UsageOverTheMaxBlocks) {
  SimulatedClock clock;
  auto g = Make(clock);
  ASSERT_TRUE(g->Observe(100'500, 100'000).ok());
  EXPECT_FALSE(g->Allow());
}

TEST(DailyBudgetGuardTest, HostileObservationsAreRejectedAndChangeNothing) {
  SimulatedClock clock;
  auto g = Make(clock);
  ASSERT_TRUE(g->Observe(10, 100).ok());
  EXPECT_EQ(g->Observe(5, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g->Observe(5, -100).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g->Observe(-1, 100).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(g->Observe(std::numeric_limits<int64_t>::min(), 100).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(g->used(), 10);
  EXPECT_EQ(g->max(), 100);
  EXPECT_TRUE(g->Allow());
  ASSERT_TRUE(
      g->Observe(std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::max()).ok());
  EXPECT_FALSE(g->Allow());
}

TEST(DailyBudgetGuardTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  SimulatedClock clock;
  for (double reserve : {-0.1, 1.0, 1.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
    DailyBudgetOptions o;
    o.reserve = reserve;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << reserve;
    EXPECT_NE(s.message().find("reserve"), std::string::npos);
    EXPECT_FALSE(DailyBudgetGuard::Create(o, clock).ok());
  }
  for (auto d : {Clock::Duration::zero(), Clock::Duration(-5), Clock::Duration::max()}) {
    DailyBudgetOptions o;
    o.probe_interval = d;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("probe_interval"), std::string::npos);
  }
}

}  // namespace
}  // namespace sluice::flow

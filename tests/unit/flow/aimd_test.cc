#include "sluice/flow/aimd.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "sluice/testing/simulated_clock.h"

namespace sluice::flow {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::SimulatedClock;

std::unique_ptr<Aimd> Make(const Clock& clock, AimdOptions o = {}) {
  auto aimd = Aimd::Create(o, clock);
  EXPECT_TRUE(aimd.ok()) << aimd.status();
  return std::move(aimd).value();
}

TEST(AimdTest, StartsAtTheCeiling) {
  SimulatedClock clock;
  auto aimd = Make(clock);
  EXPECT_DOUBLE_EQ(aimd->value(), 100);
}

TEST(AimdTest, OneBurstOfFailuresIsOneDecrease) {
  SimulatedClock clock;
  auto aimd = Make(clock);
  EXPECT_TRUE(aimd->OnPressure());
  EXPECT_DOUBLE_EQ(aimd->value(), 50);
  for (int i = 0; i < 20; ++i) {
    clock.Advance(milliseconds(40));  // 800 ms in all: still within the 1 s cool-down.
    EXPECT_FALSE(aimd->OnPressure());
  }
  EXPECT_DOUBLE_EQ(aimd->value(), 50);
  clock.Advance(milliseconds(200));  // 1000 ms after the decrease.
  EXPECT_TRUE(aimd->OnPressure());
  EXPECT_DOUBLE_EQ(aimd->value(), 25);
  EXPECT_EQ(aimd->decreases(), 2);
}

TEST(AimdTest, NeverBelowTheFloor) {
  SimulatedClock clock;
  auto aimd = Make(clock);  // Floor 10% of 100.
  for (int i = 0; i < 10; ++i) {
    aimd->OnPressure();
    clock.Advance(seconds(1));
  }
  EXPECT_DOUBLE_EQ(aimd->value(), 10);
  EXPECT_FALSE(aimd->OnPressure());
}

TEST(AimdTest, IncreasesOneStepPerSuccessInterval) {
  SimulatedClock clock;
  auto aimd = Make(clock);
  ASSERT_TRUE(aimd->OnPressure());  // 50.
  // Successes right after the decrease do nothing until a full interval has passed.
  clock.Advance(milliseconds(999));
  EXPECT_FALSE(aimd->OnSuccess());
  clock.Advance(milliseconds(1));
  EXPECT_TRUE(aimd->OnSuccess());
  EXPECT_DOUBLE_EQ(aimd->value(), 55);
  // Many successes within one interval: one step.
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(aimd->OnSuccess());
  // Ten more intervals of steady success climb 50 more, capped at the ceiling.
  for (int i = 0; i < 10; ++i) {
    clock.Advance(seconds(1));
    aimd->OnSuccess();
  }
  EXPECT_DOUBLE_EQ(aimd->value(), 100);
  clock.Advance(seconds(1));
  EXPECT_FALSE(aimd->OnSuccess());
}

TEST(AimdTest, CeilingChangesKeepTheFraction) {
  SimulatedClock clock;
  auto aimd = Make(clock);
  ASSERT_TRUE(aimd->OnPressure());
  ASSERT_TRUE(aimd->SetCeiling(40).ok());  // This instance's share shrank.
  EXPECT_DOUBLE_EQ(aimd->value(), 20);
  EXPECT_DOUBLE_EQ(aimd->fraction(), 0.5);
  EXPECT_FALSE(aimd->SetCeiling(std::nan("")).ok());
  EXPECT_FALSE(aimd->SetCeiling(0).ok());
  EXPECT_DOUBLE_EQ(aimd->ceiling(), 40);
}

TEST(AimdTest, ZeroCoolDownDecreasesOnEverySignal) {
  SimulatedClock clock;
  AimdOptions o;
  o.cool_down = seconds(0);
  o.floor_fraction = 0.01;
  auto aimd = Make(clock, o);
  EXPECT_TRUE(aimd->OnPressure());
  EXPECT_TRUE(aimd->OnPressure());
  EXPECT_DOUBLE_EQ(aimd->value(), 25);
}

TEST(AimdTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    const char* field;
    void (*mutate)(AimdOptions&);
  };
  const Case cases[] = {
      {"ceiling", [](AimdOptions& o) { o.ceiling = 0; }},
      {"ceiling", [](AimdOptions& o) { o.ceiling = -5; }},
      {"ceiling", [](AimdOptions& o) { o.ceiling = std::nan(""); }},
      {"ceiling", [](AimdOptions& o) { o.ceiling = 1e300; }},
      {"floor_fraction", [](AimdOptions& o) { o.floor_fraction = 0; }},
      {"floor_fraction", [](AimdOptions& o) { o.floor_fraction = 1.5; }},
      {"initial_fraction", [](AimdOptions& o) { o.initial_fraction = 0.01; }},
      {"decrease_factor", [](AimdOptions& o) { o.decrease_factor = 1; }},
      {"decrease_factor", [](AimdOptions& o) { o.decrease_factor = 0; }},
      {"decrease_factor", [](AimdOptions& o) { o.decrease_factor = -0.5; }},
      {"cool_down", [](AimdOptions& o) { o.cool_down = seconds(-1); }},
      {"cool_down", [](AimdOptions& o) { o.cool_down = std::chrono::hours(24 * 400); }},
      {"increase_fraction", [](AimdOptions& o) { o.increase_fraction = 0; }},
      {"increase_fraction", [](AimdOptions& o) { o.increase_fraction = 2; }},
      {"increase_interval", [](AimdOptions& o) { o.increase_interval = seconds(-1); }},
  };
  for (const Case& c : cases) {
    AimdOptions o;
    c.mutate(o);
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
  }
  AimdOptions o;
  o.decrease_factor = nan;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.increase_fraction = inf;
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_TRUE(AimdOptions{}.Validate().ok());
}

}  // namespace
}  // namespace sluice::flow

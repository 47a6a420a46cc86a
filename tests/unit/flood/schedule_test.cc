#include "sluice/flood/schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "sluice/testing/simulated_clock.h"

namespace sluice::flood {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;

TEST(ScheduleTest, BurstAsFastAsPossibleIsAllDueAtTheStart) {
  auto s = Schedule::Burst(1000);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->count(), 1000);
  EXPECT_EQ(s->duration(), Clock::Duration{0});
  EXPECT_EQ(s->IntendedOffset(0), Clock::Duration{0});
  EXPECT_EQ(s->IntendedOffset(999), Clock::Duration{0});
}

TEST(ScheduleTest, BurstOverAWindowIsSpreadEvenly) {
  auto s = Schedule::Burst(1'000'000, seconds(1));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->IntendedOffset(0), Clock::Duration{0});
  EXPECT_EQ(s->IntendedOffset(1), std::chrono::microseconds(1));
  EXPECT_EQ(s->IntendedOffset(500'000), milliseconds(500));
  EXPECT_EQ(s->IntendedOffset(999'999), std::chrono::microseconds(999'999));
}

TEST(ScheduleTest, RateGivesRateTimesDurationEvents) {
  auto s = Schedule::Rate(250, seconds(4));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->count(), 1000);
  EXPECT_EQ(s->IntendedOffset(1), milliseconds(4));
  EXPECT_EQ(s->IntendedOffset(250), seconds(1));
  EXPECT_DOUBLE_EQ(s->PlannedRateAt(seconds(2)), 250);
  EXPECT_DOUBLE_EQ(s->PlannedRateAt(seconds(5)), 0);
}

TEST(ScheduleTest, RampStagesFollowEachOtherWithPauses) {
  auto s = Schedule::Ramp({{10, seconds(1)}, {0, seconds(2)}, {100, seconds(1)}});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->count(), 110);
  EXPECT_EQ(s->duration(), seconds(4));
  EXPECT_EQ(s->IntendedOffset(9), milliseconds(900));
  // The pause stage has no events: event 10 is the first of the third stage, at 3 s.
  EXPECT_EQ(s->IntendedOffset(10), seconds(3));
  EXPECT_EQ(s->IntendedOffset(11), milliseconds(3010));
  EXPECT_DOUBLE_EQ(s->PlannedRateAt(milliseconds(1500)), 0);
  EXPECT_DOUBLE_EQ(s->PlannedRateAt(milliseconds(3500)), 100);
}

TEST(ScheduleTest, OffsetsNeverDecrease) {
  auto s = Schedule::Ramp({{7, seconds(3)}, {1000, milliseconds(333)}, {3, seconds(1)}});
  ASSERT_TRUE(s.ok());
  for (int64_t i = 1; i < s->count(); ++i) {
    ASSERT_LE(s->IntendedOffset(i - 1), s->IntendedOffset(i)) << i;
  }
}

TEST(ScheduleTest, LongDenseStagesDoNotOverflow) {
  // 10^12 events over 100 days: index * duration_ns is far beyond int64.
  auto s = Schedule::Burst(1'000'000'000'000, std::chrono::hours(24 * 100));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->IntendedOffset(500'000'000'000), std::chrono::hours(24 * 50));
}

TEST(ScheduleTest, RejectsBadPlans) {
  EXPECT_FALSE(Schedule::Burst(0).ok());
  EXPECT_FALSE(Schedule::Burst(-5).ok());
  EXPECT_FALSE(Schedule::Burst(10, Clock::Duration{-1}).ok());
  EXPECT_FALSE(Schedule::Rate(-1, seconds(1)).ok());
  EXPECT_FALSE(Schedule::Rate(std::numeric_limits<double>::quiet_NaN(), seconds(1)).ok());
  EXPECT_FALSE(Schedule::Rate(std::numeric_limits<double>::infinity(), seconds(1)).ok());
  EXPECT_FALSE(Schedule::Rate(10, Clock::Duration{0}).ok());
  EXPECT_FALSE(Schedule::Rate(0.5, seconds(1)).ok());  // no events at all
  EXPECT_FALSE(Schedule::Rate(1e300, seconds(10)).ok());
  EXPECT_FALSE(Schedule::Ramp({}).ok());
}

TEST(ParseRampStagesTest, ParsesStages) {
  auto r = ParseRampStages("1000:30s,5000:1m,0:10s");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_DOUBLE_EQ((*r)[1].per_second, 5000);
  EXPECT_EQ((*r)[1].duration, seconds(60));
  EXPECT_DOUBLE_EQ((*r)[2].per_second, 0);
  // A bare number is no longer seconds: the unit is written out.
  EXPECT_THAT(ParseRampStages("10:30").status().message(), HasSubstr("30 needs a unit"));
}

TEST(ParseRampStagesTest, RejectsMalformedStages) {
  for (const char* bad : {"", "1000", "1000:", ":30s", "abc:1s", "-5:1s", "10:1s,", ",10:1s",
                          "10:1s,,20:1s", "10:1q", "1e999:1s", "10:30", "10:-1s", "10:1 s"}) {
    auto r = ParseRampStages(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "1:1s,";
  many += "1:1s";
  EXPECT_FALSE(ParseRampStages(many).ok());
}

TEST(PacerTest, LateCallerIsReleasedAtOnceAndTheLagIsRecorded) {
  testing::SimulatedClock clock;
  auto s = Schedule::Rate(10, seconds(1));
  ASSERT_TRUE(s.ok());
  Pacer pacer(*s, clock);
  pacer.Start();
  const Clock::TimePoint start = clock.Now();
  clock.Advance(milliseconds(2500));  // nobody sleeps: the generator is 2.5 s behind event 0
  EXPECT_EQ(pacer.WaitTurn(0), start);
  EXPECT_EQ(pacer.last_behind(), milliseconds(2500));
  EXPECT_EQ(pacer.WaitTurn(9), start + milliseconds(900));
  EXPECT_EQ(pacer.last_behind(), milliseconds(1600));
  EXPECT_EQ(pacer.max_behind(), milliseconds(2500));
  EXPECT_EQ(pacer.late_events(), 2);
}

// The rate plan on a simulated clock: a producer thread paced by the Pacer releases every event
// exactly at its intended time, and the events released per simulated second are the plan's.
TEST(PacerTest, SimulatedClockProvesTheRampPlan) {
  testing::SimulatedClock clock;
  auto s = Schedule::Ramp({{5, seconds(2)}, {20, seconds(1)}, {0, seconds(1)}, {8, seconds(1)}});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->count(), 38);
  Pacer pacer(*s, clock);
  pacer.Start();
  const Clock::TimePoint start = pacer.start();

  std::vector<Clock::TimePoint> released(static_cast<size_t>(s->count()));
  std::vector<Clock::TimePoint> intended(static_cast<size_t>(s->count()));
  std::thread producer([&] {
    for (int64_t i = 0; i < s->count(); ++i) {
      intended[static_cast<size_t>(i)] = pacer.WaitTurn(i);
      released[static_cast<size_t>(i)] = clock.Now();
    }
  });
  // Advance to each due time in turn; the pacer sleeps exactly when the next event is due later
  // than now, so the test knows when a sleeper will appear.
  Clock::Duration now{0};
  for (int64_t i = 0; i < s->count(); ++i) {
    const Clock::Duration due = s->IntendedOffset(i);
    if (due > now) {
      ASSERT_TRUE(clock.WaitForSleepers(1));
      clock.AdvanceTo(start + due);
      now = due;
    }
  }
  producer.join();

  std::vector<int> per_second(5, 0);
  for (int64_t i = 0; i < s->count(); ++i) {
    const auto k = static_cast<size_t>(i);
    EXPECT_EQ(released[k], intended[k]) << i;
    EXPECT_EQ(intended[k], start + s->IntendedOffset(i)) << i;
    ++per_second[static_cast<size_t>((released[k] - start) / seconds(1))];
  }
  EXPECT_EQ(per_second, (std::vector<int>{5, 5, 20, 0, 8}));
  EXPECT_EQ(pacer.max_behind(), Clock::Duration{0});
  EXPECT_EQ(pacer.late_events(), 0);
}

TEST(PacerTest, BurstIsReleasedWithoutSleeping) {
  testing::SimulatedClock clock;
  auto s = Schedule::Burst(1000);
  ASSERT_TRUE(s.ok());
  Pacer pacer(*s, clock);
  pacer.Start();
  for (int64_t i = 0; i < 1000; ++i) pacer.WaitTurn(i);  // would hang if it slept
  EXPECT_EQ(clock.sleepers(), 0);
  EXPECT_EQ(pacer.max_behind(), Clock::Duration{0});
}

// Counts the reads of a SimulatedClock and moves it on by 1 ms at each.
class CountingClock final : public Clock {
 public:
  TimePoint Now() const override {
    ++reads;
    inner.Advance(milliseconds(1));
    return inner.Now();
  }
  WallTime WallNow() const override { return inner.WallNow(); }
  void SleepUntil(TimePoint deadline) override { inner.SleepUntil(deadline); }

  mutable testing::SimulatedClock inner;
  mutable int reads = 0;
};

// An unpaced burst reads the clock for the first late event, then every 64th and the last only,
// and still counts every late event and the exact lag of the last one.
TEST(PacerTest, UnpacedBurstReadsTheClockSparinglyAndCountsEveryLateEvent) {
  CountingClock clock;
  auto s = Schedule::Burst(1000);
  ASSERT_TRUE(s.ok());
  Pacer pacer(*s, clock);
  pacer.StartAt(clock.inner.Now());
  for (int64_t i = 0; i < 1000; ++i) pacer.WaitTurn(i);
  // Reads: events 0 and 1 (the first late one, 2 ms after the start), then 64, 128, ..., 960 and
  // the last, 999.
  EXPECT_EQ(clock.reads, 2 + 15 + 1);
  EXPECT_EQ(pacer.late_events(), 999);  // all but event 0, released 1 ms after the start
  EXPECT_EQ(pacer.max_behind(), milliseconds(18));
  EXPECT_EQ(pacer.last_behind(), milliseconds(18));
}

// A paced schedule still reads the clock for every event.
TEST(PacerTest, PacedScheduleReadsTheClockForEveryEvent) {
  CountingClock clock;
  auto s = Schedule::Rate(1000, seconds(1));  // one event per ms, as the clock moves
  ASSERT_TRUE(s.ok());
  Pacer pacer(*s, clock);
  pacer.StartAt(clock.inner.Now());
  for (int64_t i = 0; i < 1000; ++i) pacer.WaitTurn(i);
  EXPECT_EQ(clock.reads, 1000);
  EXPECT_EQ(pacer.max_behind(), milliseconds(1));
  EXPECT_EQ(pacer.late_events(), 0);  // 1 ms behind is not beyond the 1 ms threshold
}

}  // namespace
}  // namespace sluice::flood

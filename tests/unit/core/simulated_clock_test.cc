#include "sluice/testing/simulated_clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace sluice::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(SimulatedClockTest, TimeMovesOnlyWhenAdvanced) {
  SimulatedClock clock;
  auto t0 = clock.Now();
  EXPECT_EQ(clock.Now(), t0);
  clock.Advance(milliseconds(250));
  EXPECT_EQ(clock.Now() - t0, milliseconds(250));
  auto w0 = clock.WallMillis();
  clock.Advance(seconds(2));
  EXPECT_EQ(clock.WallMillis() - w0, 2000);
}

TEST(SimulatedClockTest, WallStartsWhereAsked) {
  SimulatedClock clock(1000);
  EXPECT_EQ(clock.WallMillis(), 1000);
}

TEST(SimulatedClockTest, SleepUntilPastDeadlineReturnsAtOnce) {
  SimulatedClock clock;
  clock.Advance(seconds(1));
  clock.SleepUntil(clock.Now() - milliseconds(1));
  clock.SleepFor(milliseconds(0));
  EXPECT_EQ(clock.sleepers(), 0);
}

TEST(SimulatedClockTest, SleepersWakeInDeadlineOrder) {
  SimulatedClock clock;
  const auto start = clock.Now();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<int> order;
  std::vector<std::thread> threads;
  auto wait_for_wakes = [&](size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, seconds(10), [&] { return order.size() >= n; });
  };
  // Started in an order unlike their deadlines.
  const int delays_ms[] = {300, 100, 200, 100};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      clock.SleepUntil(start + milliseconds(delays_ms[i]));
      std::lock_guard lock(mu);
      order.push_back(delays_ms[i]);
      cv.notify_all();
    });
    ASSERT_TRUE(clock.WaitForSleepers(i + 1));
  }
  clock.Advance(milliseconds(150));  // releases both 100 ms sleepers and nobody else
  EXPECT_EQ(clock.sleepers(), 2);
  ASSERT_TRUE(wait_for_wakes(2));
  EXPECT_EQ(clock.Now() - start, milliseconds(150));
  clock.Advance(milliseconds(60));  // 210 ms: the 200 ms sleeper
  EXPECT_EQ(clock.sleepers(), 1);
  ASSERT_TRUE(wait_for_wakes(3));
  clock.Advance(milliseconds(89));  // 299 ms: still short of 300
  EXPECT_EQ(clock.sleepers(), 1);
  clock.Advance(milliseconds(1));
  EXPECT_EQ(clock.sleepers(), 0);
  for (auto& t : threads) t.join();
  EXPECT_EQ(order, (std::vector<int>{100, 100, 200, 300}));
}

TEST(SimulatedClockTest, OneAdvanceReleasesEveryDueSleeper) {
  SimulatedClock clock;
  std::vector<std::thread> threads;
  for (int i = 1; i <= 3; ++i) {
    threads.emplace_back([&, i] { clock.SleepFor(seconds(i)); });
    ASSERT_TRUE(clock.WaitForSleepers(i));
  }
  clock.Advance(seconds(3));
  EXPECT_EQ(clock.sleepers(), 0);
  for (auto& t : threads) t.join();
}

TEST(SimulatedClockTest, NoRealTimePasses) {
  SimulatedClock clock;
  auto real_start = std::chrono::steady_clock::now();
  std::thread t([&] { clock.SleepFor(std::chrono::hours(24)); });
  ASSERT_TRUE(clock.WaitForSleepers(1));
  clock.Advance(std::chrono::hours(24));
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, seconds(5));
}

}  // namespace
}  // namespace sluice::testing

#include "sluice/flow/concurrency_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace sluice::flow {
namespace {

std::unique_ptr<ConcurrencyGate> Make(int64_t limit) {
  ConcurrencyGateOptions o;
  o.limit = limit;
  auto gate = ConcurrencyGate::Create(o);
  EXPECT_TRUE(gate.ok()) << gate.status();
  return std::move(gate).value();
}

TEST(ConcurrencyGateTest, DefaultCeilingIsTwenty) {
  auto gate = ConcurrencyGate::Create({});
  ASSERT_TRUE(gate.ok());
  int acquired = 0;
  while ((*gate)->TryAcquire()) ++acquired;
  EXPECT_EQ(acquired, 20);
  EXPECT_EQ((*gate)->in_flight(), 20);
  EXPECT_EQ((*gate)->peak(), 20);
}

TEST(ConcurrencyGateTest, ReleaseFreesASlot) {
  auto gate = Make(2);
  ASSERT_TRUE(gate->TryAcquire());
  ASSERT_TRUE(gate->TryAcquire());
  EXPECT_FALSE(gate->TryAcquire());
  ASSERT_TRUE(gate->Release().ok());
  EXPECT_TRUE(gate->TryAcquire());
}

TEST(ConcurrencyGateTest, LoweringBelowInFlightOnlyStopsNewAcquisitions) {
  auto gate = Make(10);
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(gate->TryAcquire());
  ASSERT_TRUE(gate->SetLimit(3).ok());
  EXPECT_EQ(gate->in_flight(), 8);
  EXPECT_FALSE(gate->TryAcquire());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(gate->Release().ok());
    EXPECT_FALSE(gate->TryAcquire()) << "in flight " << gate->in_flight();
  }
  ASSERT_TRUE(gate->Release().ok());  // 2 in flight, limit 3.
  EXPECT_TRUE(gate->TryAcquire());
  EXPECT_FALSE(gate->TryAcquire());
  ASSERT_TRUE(gate->SetLimit(5).ok());
  EXPECT_TRUE(gate->TryAcquire());
}

TEST(ConcurrencyGateTest, PeakTracksTheHighestCount) {
  auto gate = Make(5);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(gate->TryAcquire());
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(gate->Release().ok());
  EXPECT_EQ(gate->peak(), 4);
  gate->ResetPeak();
  EXPECT_EQ(gate->peak(), 1);
}

TEST(ConcurrencyGateTest, ReleaseWithNothingInFlightIsAnError) {
  auto gate = Make(1);
  EXPECT_EQ(gate->Release().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(gate->in_flight(), 0);
  // And does not raise the effective ceiling.
  EXPECT_TRUE(gate->TryAcquire());
  EXPECT_FALSE(gate->TryAcquire());
}

TEST(ConcurrencyGateTest, ManyThreadsNeverExceedTheCeiling) {
  auto gate = Make(7);
  std::atomic<int> current{0};
  std::atomic<int> worst{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20'000; ++i) {
        if (!gate->TryAcquire()) continue;
        int now = ++current;
        int prev = worst.load();
        while (now > prev && !worst.compare_exchange_weak(prev, now)) {
        }
        --current;
        EXPECT_TRUE(gate->Release().ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(worst.load(), 7);
  EXPECT_LE(gate->peak(), 7);
  EXPECT_EQ(gate->in_flight(), 0);
}

TEST(ConcurrencyGateTest, HostileLimitsAreRejected) {
  for (int64_t limit : {int64_t{0}, int64_t{-1}, int64_t{1'000'001}, INT64_MIN, INT64_MAX}) {
    ConcurrencyGateOptions o;
    o.limit = limit;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << limit;
    EXPECT_NE(s.message().find("limit"), std::string::npos);
    EXPECT_FALSE(ConcurrencyGate::Create(o).ok());
  }
  auto gate = Make(4);
  EXPECT_FALSE(gate->SetLimit(0).ok());
  EXPECT_EQ(gate->limit(), 4);
}

}  // namespace
}  // namespace sluice::flow

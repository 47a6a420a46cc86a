#include "sluice/flow/token_bucket.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include "sluice/testing/simulated_clock.h"

namespace sluice::flow {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using testing::SimulatedClock;

std::unique_ptr<TokenBucket> Make(const Clock& clock, double rate, double burst,
                                  bool start_full = true) {
  TokenBucketOptions o;
  o.rate_per_second = rate;
  o.burst = burst;
  o.start_full = start_full;
  auto bucket = TokenBucket::Create(o, clock);
  EXPECT_TRUE(bucket.ok()) << bucket.status();
  return std::move(bucket).value();
}

TEST(TokenBucketTest, BurstIsAvailableAtOnceThenTheRateApplies) {
  SimulatedClock clock;
  auto bucket = Make(clock, 100, 10);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(bucket->TryAcquire()) << i;
  Acquisition denied = bucket->TryAcquire();
  EXPECT_FALSE(denied.granted);
  EXPECT_EQ(denied.wait, milliseconds(10));
}

TEST(TokenBucketTest, WaitIsJustEnough) {
  SimulatedClock clock;
  auto bucket = Make(clock, 3, 1);  // 1/3 s per token: not a whole number of nanoseconds.
  ASSERT_TRUE(bucket->TryAcquire());
  Acquisition denied = bucket->TryAcquire();
  ASSERT_FALSE(denied.granted);
  clock.Advance(denied.wait - nanoseconds(2));
  EXPECT_FALSE(bucket->TryAcquire().granted);
  clock.Advance(nanoseconds(2));
  EXPECT_TRUE(bucket->TryAcquire().granted);
}

// A sender that always waits exactly as told achieves the configured rate: over 60 simulated
// seconds at 100/s, burst + 6000 grants, give or take one.
TEST(TokenBucketTest, AchievesTheRateOverSimulatedTime) {
  for (double rate : {1.0, 7.0, 100.0, 2500.0}) {
    SimulatedClock clock;
    const double burst = 10;
    auto bucket = Make(clock, rate, burst);
    const auto end = clock.Now() + seconds(60);
    int64_t granted = 0;
    while (true) {
      Acquisition a = bucket->TryAcquire();
      if (a.granted) {
        ++granted;
        continue;
      }
      if (clock.Now() + a.wait > end) break;
      clock.Advance(a.wait);
    }
    const double expected = burst + rate * 60;
    EXPECT_LE(std::abs(static_cast<double>(granted) - expected), 1.0)
        << "rate " << rate << " granted " << granted;
  }
}

// A sender polling on a coarse, irregular tick does no better than the rate either.
TEST(TokenBucketTest, PollingOnIrregularTicksNeverExceedsTheRate) {
  SimulatedClock clock;
  auto bucket = Make(clock, 100, 5, /*start_full=*/false);
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int> tick_us(1, 40'000);
  const auto start = clock.Now();
  int64_t granted = 0;
  while (clock.Now() - start < seconds(60)) {
    while (bucket->TryAcquire()) ++granted;
    clock.Advance(std::chrono::microseconds(tick_us(rng)));
    // At every moment: grants ≤ rate × elapsed (+ epsilon), since the bucket started empty.
    const double elapsed = std::chrono::duration<double>(clock.Now() - start).count();
    ASSERT_LE(static_cast<double>(granted), 100 * elapsed + 1e-6);
  }
  EXPECT_GE(granted, 100 * 60 - 5 - 1);
}

TEST(TokenBucketTest, RequestsLargerThanTheBurstRunIntoDebtAndKeepTheLongRunRate) {
  SimulatedClock clock;
  auto bucket = Make(clock, 50, 10);  // 50 records/s, batches of 200.
  ASSERT_TRUE(bucket->TryAcquire(200));
  EXPECT_NEAR(bucket->level(), -190, 1e-9);
  Acquisition a = bucket->TryAcquire(200);
  ASSERT_FALSE(a.granted);
  EXPECT_EQ(a.wait, seconds(4));  // Back to full (10) from -190 at 50/s.
  // Over 100 s, records granted ≈ burst + 50 × 100 (one batch of slack).
  const auto end = clock.Now() + seconds(100);
  int64_t records = 200;
  while (true) {
    Acquisition b = bucket->TryAcquire(200);
    if (b.granted) {
      records += 200;
      continue;
    }
    if (clock.Now() + b.wait > end) break;
    clock.Advance(b.wait);
  }
  EXPECT_GE(records, 5000 + 10 - 200);
  EXPECT_LE(records, 5000 + 10 + 200);
}

TEST(TokenBucketTest, RefundGivesTokensBackUpToTheBurst) {
  SimulatedClock clock;
  auto bucket = Make(clock, 1, 3);
  ASSERT_TRUE(bucket->TryAcquire(3));
  EXPECT_FALSE(bucket->TryAcquire().granted);
  bucket->Refund(2);
  EXPECT_NEAR(bucket->level(), 2, 1e-9);
  bucket->Refund(100);
  EXPECT_NEAR(bucket->level(), 3, 1e-9);
  bucket->Refund(-5);
  EXPECT_NEAR(bucket->level(), 3, 1e-9);
}

TEST(TokenBucketTest, SetRateAppliesFromNowAndClampsTheLevel) {
  SimulatedClock clock;
  auto bucket = Make(clock, 10, 100, /*start_full=*/false);
  clock.Advance(seconds(2));  // 20 tokens at the old rate.
  ASSERT_TRUE(bucket->SetRate(1000).ok());
  EXPECT_NEAR(bucket->level(), 20, 1e-9);
  clock.Advance(milliseconds(50));  // 50 more at the new rate.
  EXPECT_NEAR(bucket->level(), 70, 1e-6);
  ASSERT_TRUE(bucket->SetRate(1000, 30).ok());  // A smaller burst clamps the level.
  EXPECT_NEAR(bucket->level(), 30, 1e-6);
  EXPECT_EQ(bucket->burst(), 30);
  EXPECT_EQ(bucket->rate(), 1000);
  // Debt survives a rate change.
  ASSERT_TRUE(bucket->TryAcquire(80));
  ASSERT_TRUE(bucket->SetRate(5).ok());
  EXPECT_NEAR(bucket->level(), -50, 1e-6);
}

TEST(TokenBucketTest, StartsEmptyWhenAsked) {
  SimulatedClock clock;
  auto bucket = Make(clock, 10, 5, /*start_full=*/false);
  EXPECT_EQ(bucket->level(), 0);
  Acquisition a = bucket->TryAcquire();
  EXPECT_FALSE(a.granted);
  EXPECT_EQ(a.wait, milliseconds(100));
}

TEST(TokenBucketTest, ZeroAndNegativeRequestsAreGrantedWithoutTakingTokens) {
  SimulatedClock clock;
  auto bucket = Make(clock, 10, 5);
  EXPECT_TRUE(bucket->TryAcquire(0));
  EXPECT_TRUE(bucket->TryAcquire(-7));
  EXPECT_NEAR(bucket->level(), 5, 1e-9);
}

TEST(TokenBucketTest, HugeRequestsSaturateTheWaitInsteadOfOverflowing) {
  SimulatedClock clock;
  auto bucket = Make(clock, 1e-6, 1);
  ASSERT_TRUE(bucket->TryAcquire(std::numeric_limits<int64_t>::max()));
  Acquisition a = bucket->TryAcquire();
  EXPECT_FALSE(a.granted);
  EXPECT_GT(a.wait, seconds(0));
  EXPECT_LE(a.wait, std::chrono::hours(24 * 365 * 100));
}

TEST(TokenBucketTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  SimulatedClock clock;
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  for (double rate : {0.0, -1.0, nan, inf, -inf, 1e-7, 1e10}) {
    TokenBucketOptions o;
    o.rate_per_second = rate;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << rate;
    EXPECT_NE(s.message().find("rate_per_second"), std::string::npos) << s;
    EXPECT_FALSE(TokenBucket::Create(o, clock).ok());
  }
  for (double burst : {0.0, 0.5, -3.0, nan, inf, 1e13}) {
    TokenBucketOptions o;
    o.burst = burst;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << burst;
    EXPECT_NE(s.message().find("burst"), std::string::npos) << s;
  }
  EXPECT_TRUE(TokenBucketOptions{}.Validate().ok());
}

TEST(TokenBucketTest, HostileSetRateChangesNothing) {
  SimulatedClock clock;
  auto bucket = Make(clock, 10, 5);
  EXPECT_FALSE(bucket->SetRate(std::nan("")).ok());
  EXPECT_FALSE(bucket->SetRate(-1).ok());
  EXPECT_FALSE(bucket->SetRate(10, std::nan("")).ok());
  EXPECT_FALSE(bucket->SetRate(10, -2).ok());
  EXPECT_EQ(bucket->rate(), 10);
  EXPECT_EQ(bucket->burst(), 5);
}

}  // namespace
}  // namespace sluice::flow

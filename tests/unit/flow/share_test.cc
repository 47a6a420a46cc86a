#include "sluice/flow/share.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

namespace sluice::flow {
namespace {

TEST(ShareTest, RatesScaleExactly) {
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 4, 16), 25);
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 16, 16), 100);
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 5, 16), 31.25);
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 1, 3) * 3, 100);
}

TEST(ShareTest, CountsRoundDown) {
  EXPECT_EQ(*ScaleCountForShare(20, 6, 16), 7);  // 7.5
  EXPECT_EQ(*ScaleCountForShare(20, 5, 16), 6);  // 6.25
  EXPECT_EQ(*ScaleCountForShare(20, 16, 16), 20);
  EXPECT_EQ(*ScaleCountForShare(20, 1, 3), 6);  // 6.67
}

TEST(ShareTest, ANonEmptyAssignmentNeverGetsZero) {
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 1, 1000), 1);  // 0.1 raised to the minimum.
  EXPECT_EQ(*ScaleCountForShare(20, 1, 64), 1);       // 0 raised to the minimum.
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 1, 1000, 5), 5);
  EXPECT_EQ(*ScaleCountForShare(20, 1, 64, 3), 3);
}

TEST(ShareTest, TheMinimumNeverExceedsTheCeiling) {
  EXPECT_DOUBLE_EQ(*ScaleForShare(0.5, 1, 10), 0.5);
  EXPECT_EQ(*ScaleCountForShare(2, 1, 10, 5), 2);
  EXPECT_DOUBLE_EQ(*ScaleForShare(0, 1, 10), 0);
}

TEST(ShareTest, AnEmptyAssignmentGetsZero) {
  EXPECT_DOUBLE_EQ(*ScaleForShare(100, 0, 16), 0);
  EXPECT_EQ(*ScaleCountForShare(20, 0, 16), 0);
}

// Random splits of the partitions among instances: the shares never sum above the ceiling when the
// ceiling leaves room for every instance's minimum, and each non-empty share is at least the
// minimum.
TEST(ShareTest, SharesNeverSumAboveTheCeiling) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 2000; ++round) {
    const int64_t total = std::uniform_int_distribution<int64_t>(1, 256)(rng);
    const int instances = static_cast<int>(
        std::uniform_int_distribution<int64_t>(1, std::min<int64_t>(total, 12))(rng));
    const int64_t count_ceiling = std::uniform_int_distribution<int64_t>(instances, 500)(rng);
    const double rate_ceiling = std::uniform_real_distribution<double>(instances, 5000)(rng);
    // Every instance gets at least one partition; the rest land at random.
    std::vector<int64_t> assigned(instances, 1);
    for (int64_t p = instances; p < total; ++p) {
      assigned[std::uniform_int_distribution<int>(0, instances - 1)(rng)]++;
    }
    int64_t count_sum = 0;
    double rate_sum = 0;
    for (int64_t a : assigned) {
      const int64_t c = *ScaleCountForShare(count_ceiling, a, total);
      const double r = *ScaleForShare(rate_ceiling, a, total);
      EXPECT_GE(c, 1);
      EXPECT_GE(r, 1.0);
      count_sum += c;
      rate_sum += r;
    }
    // Counts: the floor can exceed the ceiling only by the minimums it raised.
    if (count_ceiling >= total) {
      EXPECT_LE(count_sum, count_ceiling) << round;
    }
    if (rate_ceiling >= static_cast<double>(total)) {
      EXPECT_LE(rate_sum, rate_ceiling * (1 + 1e-12)) << round;
    }
  }
}

TEST(ShareTest, HugeValuesDoNotOverflow) {
  const int64_t big = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(*ScaleCountForShare(big, 1, 2), big / 2);
  EXPECT_EQ(*ScaleCountForShare(big, big, big), big);
  EXPECT_EQ(*ScaleCountForShare(big, big - 1, big), big - 1);
  EXPECT_DOUBLE_EQ(*ScaleForShare(std::numeric_limits<double>::max(), 1, 2),
                   std::numeric_limits<double>::max() / 2);
}

TEST(ShareTest, HostileInputsAreRejected) {
  const double nan = std::nan("");
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(ScaleForShare(100, 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ScaleForShare(100, 1, -4).ok());
  EXPECT_FALSE(ScaleForShare(100, -1, 4).ok());
  EXPECT_FALSE(ScaleForShare(100, 5, 4).ok());
  EXPECT_FALSE(ScaleForShare(nan, 1, 4).ok());
  EXPECT_FALSE(ScaleForShare(inf, 1, 4).ok());
  EXPECT_FALSE(ScaleForShare(-1, 1, 4).ok());
  EXPECT_FALSE(ScaleForShare(100, 1, 4, nan).ok());
  EXPECT_FALSE(ScaleForShare(100, 1, 4, -1).ok());
  EXPECT_FALSE(ScaleCountForShare(20, 1, 0).ok());
  EXPECT_FALSE(ScaleCountForShare(20, 5, 4).ok());
  EXPECT_FALSE(ScaleCountForShare(-20, 1, 4).ok());
  EXPECT_FALSE(ScaleCountForShare(20, 1, 4, -1).ok());
  EXPECT_NE(ScaleCountForShare(20, 5, 4).status().message().find("assigned_partitions"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::flow

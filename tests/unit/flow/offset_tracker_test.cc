#include "sluice/flow/offset_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <vector>

namespace sluice::flow {
namespace {

TEST(OffsetTrackerTest, NothingTrackedNothingToCommit) {
  OffsetTracker t;
  EXPECT_FALSE(t.Committable(0).has_value());
  EXPECT_TRUE(t.partitions().empty());
}

TEST(OffsetTrackerTest, CommitsUpToTheLowestUnresolvedOffset) {
  OffsetTracker t;
  for (int64_t o = 0; o < 10; ++o) ASSERT_TRUE(t.Track(3, o).ok());
  EXPECT_EQ(t.Committable(3), 0);
  for (int64_t o : {5, 3, 1}) ASSERT_TRUE(t.Resolve(3, o).ok());
  EXPECT_EQ(t.Committable(3), 0);
  ASSERT_TRUE(t.Resolve(3, 0).ok());
  EXPECT_EQ(t.Committable(3), 2);
  ASSERT_TRUE(t.Resolve(3, 2).ok());
  EXPECT_EQ(t.Committable(3), 4);
  ASSERT_TRUE(t.Resolve(3, 4).ok());
  EXPECT_EQ(t.Committable(3), 6);
  EXPECT_EQ(t.outstanding(3), 4u);
  for (int64_t o : {9, 8, 7, 6}) ASSERT_TRUE(t.Resolve(3, o).ok());
  EXPECT_EQ(t.Committable(3), 10);  // All resolved: one past the last tracked.
  EXPECT_EQ(t.outstanding(), 0u);
}

TEST(OffsetTrackerTest, GapsComeFromTrackedOffsetsNotArithmetic) {
  OffsetTracker t;
  for (int64_t o : {5, 7, 9, 12}) ASSERT_TRUE(t.Track(0, o).ok());
  EXPECT_EQ(t.Committable(0), 5);
  ASSERT_TRUE(t.Resolve(0, 7).ok());
  ASSERT_TRUE(t.Resolve(0, 5).ok());
  EXPECT_EQ(t.Committable(0), 9);
  ASSERT_TRUE(t.Resolve(0, 12).ok());
  EXPECT_EQ(t.Committable(0), 9);
  ASSERT_TRUE(t.Resolve(0, 9).ok());
  EXPECT_EQ(t.Committable(0), 13);
  // Offsets in the gaps were never tracked.
  EXPECT_EQ(t.Resolve(0, 6).code(), StatusCode::kNotFound);
  // Tracking continues after a gap.
  ASSERT_TRUE(t.Track(0, 100).ok());
  EXPECT_EQ(t.Committable(0), 100);
}

TEST(OffsetTrackerTest, PartitionsAreIndependent) {
  OffsetTracker t;
  ASSERT_TRUE(t.Track(0, 10).ok());
  ASSERT_TRUE(t.Track(1, 10).ok());
  ASSERT_TRUE(t.Resolve(1, 10).ok());
  EXPECT_EQ(t.Committable(0), 10);
  EXPECT_EQ(t.Committable(1), 11);
  EXPECT_EQ(t.partitions(), (std::vector<PartitionId>{0, 1}));
  EXPECT_EQ(t.outstanding(), 1u);
}

TEST(OffsetTrackerTest, ResetForgetsAPartition) {
  OffsetTracker t;
  for (int64_t o = 0; o < 5; ++o) ASSERT_TRUE(t.Track(2, o).ok());
  t.Reset(2);
  EXPECT_FALSE(t.Committable(2).has_value());
  EXPECT_EQ(t.outstanding(), 0u);
  EXPECT_EQ(t.Resolve(2, 3).code(), StatusCode::kNotFound);
  // Reassigned later, possibly from an earlier position.
  ASSERT_TRUE(t.Track(2, 1).ok());
  EXPECT_EQ(t.Committable(2), 1);
  t.Reset(42);  // Unknown: no effect.
}

TEST(OffsetTrackerTest, BadCallsAreReported) {
  OffsetTracker t;
  EXPECT_EQ(t.Track(0, -1).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(t.Track(0, 5).ok());
  EXPECT_EQ(t.Track(0, 5).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(t.Track(0, 4).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(t.Track(0, 6).ok());
  EXPECT_EQ(t.Resolve(9, 5).code(), StatusCode::kNotFound);
  EXPECT_EQ(t.Resolve(0, 99).code(), StatusCode::kNotFound);
  EXPECT_EQ(t.Resolve(0, -3).code(), StatusCode::kNotFound);
  ASSERT_TRUE(t.Resolve(0, 6).ok());
  EXPECT_EQ(t.Resolve(0, 6).code(), StatusCode::kAlreadyExists);
  ASSERT_TRUE(t.Resolve(0, 5).ok());
  EXPECT_EQ(t.Resolve(0, 5).code(), StatusCode::kNotFound);  // Behind the watermark now.
  EXPECT_EQ(t.Committable(0), 7);
  EXPECT_EQ(t.outstanding(), 0u);
}

// Checks every Committable against a brute-force reference while resolving in random order.
TEST(OffsetTrackerTest, RandomResolutionOrderMatchesAReference) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    OffsetTracker t;
    std::vector<int64_t> tracked;
    int64_t next = std::uniform_int_distribution<int64_t>(0, 1000)(rng);
    for (int i = 0; i < 500; ++i) {
      tracked.push_back(next);
      ASSERT_TRUE(t.Track(7, next).ok());
      next += std::uniform_int_distribution<int64_t>(1, 4)(rng);  // Gaps.
    }
    std::set<int64_t> unresolved(tracked.begin(), tracked.end());
    std::vector<int64_t> order = tracked;
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t o : order) {
      ASSERT_TRUE(t.Resolve(7, o).ok());
      unresolved.erase(o);
      const int64_t want = unresolved.empty() ? tracked.back() + 1 : *unresolved.begin();
      ASSERT_EQ(t.Committable(7), want) << "seed " << seed;
      ASSERT_EQ(t.outstanding(7), unresolved.size());
    }
  }
}

// A million outstanding offsets with gaps, resolved in random order.
TEST(OffsetTrackerTest, AMillionOutstandingOffsets) {
  OffsetTracker t;
  const int n = 1'000'000;
  std::vector<int64_t> tracked(n);
  for (int i = 0; i < n; ++i) {
    tracked[i] = int64_t{3} * i + (i % 2);  // Irregular gaps.
    ASSERT_TRUE(t.Track(0, tracked[i]).ok());
  }
  EXPECT_EQ(t.outstanding(), static_cast<size_t>(n));
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(3);
  std::shuffle(order.begin(), order.end(), rng);
  std::vector<bool> done(n, false);
  int low = 0;
  for (int k = 0; k < n; ++k) {
    ASSERT_TRUE(t.Resolve(0, tracked[order[k]]).ok());
    done[order[k]] = true;
    while (low < n && done[low]) ++low;
    if (k % 9973 == 0 || k == n - 1) {
      const int64_t want = low == n ? tracked.back() + 1 : tracked[low];
      ASSERT_EQ(t.Committable(0), want) << k;
    }
  }
  EXPECT_EQ(t.outstanding(), 0u);
}

}  // namespace
}  // namespace sluice::flow

#include "sluice/metrics/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace sluice::metrics {
namespace {

// The exact nearest-rank quantile of `sorted`, the definition Quantile() promises to approximate.
uint64_t ExactQuantile(const std::vector<uint64_t>& sorted, double q) {
  if (q <= 0) return sorted.front();
  if (q >= 1) return sorted.back();
  auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted.size())));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Checks every quantile of interest against the documented bound 2^-(k+1).
void ExpectWithinBound(const std::vector<uint64_t>& values, int precision_bits,
                       const std::string& what) {
  LogLinearHistogram h({.precision_bits = precision_bits});
  for (uint64_t v : values) h.Record(v);
  std::vector<uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const long double bound = std::ldexp(1.0L, -(precision_bits + 1));
  for (double q : {0.0, 0.001, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0}) {
    const uint64_t exact = ExactQuantile(sorted, q);
    const uint64_t got = h.Quantile(q);
    const long double err = std::fabs(static_cast<long double>(got) - exact);
    EXPECT_LE(err, static_cast<long double>(exact) * bound)
        << what << " k=" << precision_bits << " q=" << q << " exact=" << exact << " got=" << got;
  }
  EXPECT_EQ(h.Count(), values.size()) << what;
  EXPECT_EQ(h.Min(), sorted.front()) << what;
  EXPECT_EQ(h.Max(), sorted.back()) << what;
  long double sum = 0;
  for (uint64_t v : values) sum += v;
  const long double mean = sum / values.size();
  EXPECT_NEAR(static_cast<double>(h.Mean()), static_cast<double>(mean),
              static_cast<double>(mean) * 1e-9 + 1e-9)
      << what;
}

TEST(LogLinearHistogramTest, EmptyHistogramReportsZeros) {
  LogLinearHistogram h;
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Min(), 0u);
  EXPECT_EQ(h.Max(), 0u);
  EXPECT_EQ(h.Mean(), 0.0);
  EXPECT_EQ(h.Quantile(0.5), 0u);
  EXPECT_TRUE(h.NonEmptyBuckets().empty());
}

TEST(LogLinearHistogramTest, BucketsTileTheValueRangeWithBoundedWidth) {
  for (int k : {1, 3, 7}) {
    LogLinearHistogram h({.precision_bits = k});
    // Exhaustively over small values: buckets are contiguous and contain their values.
    uint64_t expected_lowest = 0;
    for (uint64_t v = 0; v < 200000;) {
      const uint64_t lo = h.LowestEquivalent(v);
      const uint64_t hi = h.HighestEquivalent(v);
      ASSERT_EQ(lo, expected_lowest) << "k=" << k << " v=" << v;
      ASSERT_LE(lo, v);
      ASSERT_GE(hi, v);
      ASSERT_EQ(h.LowestEquivalent(hi), lo);
      ASSERT_EQ(h.HighestEquivalent(lo), hi);
      // Width relative to the smallest value in the bucket.
      if (hi > lo) {
        ASSERT_LE(static_cast<double>(hi - lo + 1), std::ldexp(lo, -k) + 1e-9) << v;
      }
      expected_lowest = hi + 1;
      v = hi + 1;
    }
  }
}

TEST(LogLinearHistogramTest, HugeValuesStayInRange) {
  LogLinearHistogram h;
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(h.HighestEquivalent(max), max);
  EXPECT_LE(h.LowestEquivalent(max), max);
  EXPECT_GT(h.LowestEquivalent(max), max - (max >> 7));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t v = rng() >> (rng() % 64);
    ASSERT_LE(h.LowestEquivalent(v), v);
    ASSERT_GE(h.HighestEquivalent(v), v);
  }
}

TEST(LogLinearHistogramTest, UniformQuantilesWithinBound) {
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> dist(0, 1'000'000);
  std::vector<uint64_t> values(200000);
  for (auto& v : values) v = dist(rng);
  for (int k : {1, 4, 7, 10}) ExpectWithinBound(values, k, "uniform");
}

TEST(LogLinearHistogramTest, LognormalQuantilesWithinBound) {
  std::mt19937_64 rng(1234);
  std::lognormal_distribution<double> dist(10.0, 2.0);  // median ~22,000, long tail
  std::vector<uint64_t> values(200000);
  for (auto& v : values) v = static_cast<uint64_t>(dist(rng));
  for (int k : {2, 7}) ExpectWithinBound(values, k, "lognormal");
}

TEST(LogLinearHistogramTest, ConstantAndZeroAreExact) {
  ExpectWithinBound(std::vector<uint64_t>(1000, 0), 7, "zeros");
  ExpectWithinBound(std::vector<uint64_t>(1000, 123456789), 7, "constant");
  LogLinearHistogram h;
  for (int i = 0; i < 10; ++i) h.Record(123456789);
  // Clamping to [Min, Max] makes a constant series exact despite the bucket width.
  EXPECT_EQ(h.Quantile(0.5), 123456789u);
  EXPECT_EQ(h.Quantile(0.999), 123456789u);
}

TEST(LogLinearHistogramTest, HugeValuesWithinBound) {
  std::mt19937_64 rng(99);
  std::vector<uint64_t> values(50000);
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  for (auto& v : values) v = max - (rng() >> 8);
  values.push_back(max);
  values.push_back(0);
  ExpectWithinBound(values, 7, "huge");
}

TEST(LogLinearHistogramTest, QuantileHandlesOutOfRangeArguments) {
  LogLinearHistogram h;
  for (uint64_t v : {5, 10, 1000}) h.Record(v);
  EXPECT_EQ(h.Quantile(-1), 5u);
  EXPECT_EQ(h.Quantile(std::nan("")), 5u);
  EXPECT_EQ(h.Quantile(2), 1000u);
  EXPECT_EQ(h.Quantile(0.5), 10u);
}

TEST(LogLinearHistogramTest, ValuesAboveTheRangeLandInTheTopBucket) {
  LogLinearHistogram h({.precision_bits = 4, .highest_value_bits = 20});
  EXPECT_EQ(h.bucket_count(), (20u - 4u + 1u) * 16u + 1u);
  h.Record(1);
  h.Record(uint64_t{1} << 40);
  EXPECT_EQ(h.Count(), 2u);
  EXPECT_EQ(h.Max(), uint64_t{1} << 40);
  EXPECT_EQ(h.Quantile(1.0), uint64_t{1} << 40);
  auto buckets = h.NonEmptyBuckets();
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[1].highest, std::numeric_limits<uint64_t>::max());
}

TEST(LogLinearHistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> dist(8.0, 1.5);
  LogLinearHistogram a, b, all;
  for (int i = 0; i < 50000; ++i) {
    const auto v = static_cast<uint64_t>(dist(rng));
    (i % 3 == 0 ? a : b).Record(v);
    all.Record(v);
  }
  ASSERT_TRUE(a.Merge(b).ok());
  EXPECT_EQ(a.Count(), all.Count());
  EXPECT_EQ(a.Min(), all.Min());
  EXPECT_EQ(a.Max(), all.Max());
  EXPECT_NEAR(a.Mean(), all.Mean(), all.Mean() * 1e-12);
  for (double q : {0.5, 0.9, 0.99, 0.999}) EXPECT_EQ(a.Quantile(q), all.Quantile(q)) << q;
  const auto ab = a.NonEmptyBuckets();
  const auto ex = all.NonEmptyBuckets();
  ASSERT_EQ(ab.size(), ex.size());
  for (size_t i = 0; i < ab.size(); ++i) {
    EXPECT_EQ(ab[i].lowest, ex[i].lowest);
    EXPECT_EQ(ab[i].count, ex[i].count);
  }
  // Merging an empty histogram changes nothing, including min.
  LogLinearHistogram empty;
  ASSERT_TRUE(a.Merge(empty).ok());
  EXPECT_EQ(a.Min(), all.Min());
}

TEST(LogLinearHistogramTest, MergeRejectsDifferentLayouts) {
  LogLinearHistogram a({.precision_bits = 7});
  LogLinearHistogram b({.precision_bits = 6});
  b.Record(3);
  Status s = a.Merge(b);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(a.Count(), 0u);
}

TEST(LogLinearHistogramTest, ResetAndCopy) {
  LogLinearHistogram h;
  for (uint64_t v = 1; v <= 100; ++v) h.Record(v);
  LogLinearHistogram copy = h;
  h.Reset();
  EXPECT_EQ(h.Count(), 0u);
  EXPECT_EQ(h.Max(), 0u);
  EXPECT_TRUE(h.NonEmptyBuckets().empty());
  h.Record(7);
  EXPECT_EQ(h.Min(), 7u);
  EXPECT_EQ(copy.Count(), 100u);
  EXPECT_EQ(copy.Quantile(0.5), 50u);
  LogLinearHistogram other({.precision_bits = 3});
  other = copy;
  EXPECT_EQ(other.options().precision_bits, 7);
  EXPECT_EQ(other.Quantile(0.9), 90u);
}

TEST(LogLinearHistogramTest, BucketIterationCoversEveryValue) {
  LogLinearHistogram h({.precision_bits = 3});
  std::mt19937_64 rng(11);
  std::vector<uint64_t> values;
  for (int i = 0; i < 10000; ++i) values.push_back(rng() % 100000);
  for (uint64_t v : values) h.Record(v);
  uint64_t total = 0;
  uint64_t last_highest = 0;
  bool first = true;
  h.ForEachNonEmptyBucket([&](const LogLinearHistogram::Bucket& b) {
    EXPECT_LE(b.lowest, b.highest);
    if (!first) {
      EXPECT_GT(b.lowest, last_highest);
    }
    first = false;
    last_highest = b.highest;
    const auto n = std::count_if(values.begin(), values.end(),
                                 [&](uint64_t v) { return v >= b.lowest && v <= b.highest; });
    EXPECT_EQ(b.count, static_cast<uint64_t>(n));
    total += b.count;
  });
  EXPECT_EQ(total, values.size());
}

TEST(LogLinearHistogramTest, CumulativeCountsAreExactOnLadderBounds) {
  LogLinearHistogram h({.precision_bits = 5});
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> dist(9.0, 2.0);
  std::vector<uint64_t> values;
  for (int i = 0; i < 20000; ++i) values.push_back(static_cast<uint64_t>(dist(rng)));
  for (uint64_t v : values) h.Record(v);
  const std::vector<uint64_t> bounds = LadderBounds(100, 10'000'000, 4);
  const std::vector<uint64_t> got = h.CumulativeCounts(bounds);
  ASSERT_EQ(got.size(), bounds.size());
  for (size_t i = 0; i < bounds.size(); ++i) {
    const auto exact =
        std::count_if(values.begin(), values.end(), [&](uint64_t v) { return v <= bounds[i]; });
    EXPECT_EQ(got[i], static_cast<uint64_t>(exact)) << "le=" << bounds[i];
  }
}

TEST(LogLinearHistogramTest, LadderBounds) {
  EXPECT_EQ(LadderBounds(1000, 8000, 2),
            (std::vector<uint64_t>{768, 1024, 1536, 2048, 3072, 4096, 6144, 8192}));
  EXPECT_EQ(LadderBounds(1, 16, 1), (std::vector<uint64_t>{1, 2, 4, 8, 16}));
  EXPECT_EQ(LadderBounds(0, 3, 4), (std::vector<uint64_t>{1, 2, 3}));
  // Not a power of two: rounded down to one.
  EXPECT_EQ(LadderBounds(4, 8, 3), (std::vector<uint64_t>{4, 6, 8}));
  const auto all = LadderBounds(1, std::numeric_limits<uint64_t>::max(), 1);
  EXPECT_EQ(all.size(), 65u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

TEST(LogLinearHistogramTest, ConcurrentRecordLosesNothing) {
  LogLinearHistogram h;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&h, t] {
      for (int i = 0; i < kPerThread; ++i) h.Record(static_cast<uint64_t>(i % 5000 + t));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.Count(), uint64_t{kThreads} * kPerThread);
  uint64_t total = 0;
  for (const auto& b : h.NonEmptyBuckets()) total += b.count;
  EXPECT_EQ(total, uint64_t{kThreads} * kPerThread);
  EXPECT_EQ(h.Min(), 0u);
  EXPECT_EQ(h.Max(), 4999u + kThreads - 1);
}

TEST(LogLinearHistogramTest, OptionsAreValidated) {
  EXPECT_TRUE(ValidateHistogramOptions({}).ok());
  EXPECT_EQ(ValidateHistogramOptions({.precision_bits = 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateHistogramOptions({.precision_bits = 15}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateHistogramOptions({.precision_bits = 7, .highest_value_bits = 7}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateHistogramOptions({.precision_bits = 7, .highest_value_bits = 65}).code(),
            StatusCode::kInvalidArgument);
  // The constructor clamps instead of failing.
  LogLinearHistogram h({.precision_bits = 99, .highest_value_bits = 3});
  EXPECT_EQ(h.options().precision_bits, 14);
  h.Record(12345);
  EXPECT_EQ(h.Max(), 12345u);
}

}  // namespace
}  // namespace sluice::metrics

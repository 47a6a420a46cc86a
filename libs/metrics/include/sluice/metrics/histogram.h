// LogLinearHistogram: a bounded-memory histogram of non-negative integer values (latencies in
// microseconds, sizes in bytes) with a documented relative error, shared by the relay (delivery
// latency) and sluice-flood (end-to-end latency over millions of events).
//
// Layout (HdrHistogram-like). Let k = precision_bits and S = 2^k. Value 0 has its own bucket.
// Every other value v is placed by x = v - 1: values with x < 2S get a bucket each (exact), and for
// x in [2^m, 2^(m+1)) with m >= k+1 the octave is split into S linear sub-buckets of width
// 2^(m-k). A bucket therefore covers the integer range (lowest - 1, highest], i.e. highest is
// inclusive, which is what a Prometheus `le` bound means: every bucket's `highest` is an exact
// `le`.
//
// Accuracy: a bucket's width is at most 2^-k of the values it holds, and reported quantiles are the
// middle of their bucket (clamped to [Min(), Max()]), so the relative error of Quantile() against
// the exact nearest-rank quantile of the recorded values is at most 2^-(k+1): 0.39% at the
// default k = 7 (the issue asks for <= 1%). Count(), Min(), Max() are exact; Mean() is exact up to
// double rounding of the running sum.
//
// Memory: (highest_value_bits - k + 1) * 2^k + 1 eight-byte counters, fixed at construction:
// 59 KiB at the defaults (k = 7, 64 bits), 35 KiB for k = 7 and 40 bits (values up to ~12.7 days in
// microseconds), 4.6 KiB for k = 4 and 40 bits.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::metrics {

struct LogLinearHistogramOptions {
  // Each octave is split into 2^precision_bits linear sub-buckets. Range 1..14. Default 7, which
  // bounds the relative error of quantiles by 2^-8 = 0.39%.
  int precision_bits = 7;
  // Values up to 2^highest_value_bits are resolved; larger values are counted in the top bucket
  // (Min/Max/Mean stay exact). Range precision_bits + 2 .. 64. Default 64: every uint64_t value.
  int highest_value_bits = 64;
};

// Returns InvalidArgument naming the field when `options` is out of range.
Status ValidateHistogramOptions(const LogLinearHistogramOptions& options);

// Thread-safety: Record() is lock-free and safe from any number of threads at once (one relaxed
// atomic add per bucket, plus the count, sum and min/max atomics). Readers (Count, Quantile,
// NonEmptyBuckets, ...) are safe concurrently with Record() and see a recent, possibly not
// point-in-time consistent, state. Reset() and Merge() are safe to call concurrently with Record()
// but are not atomic with respect to it (a value recorded during a Reset may be half-kept).
class LogLinearHistogram {
 public:
  struct Bucket {
    uint64_t lowest = 0;   // smallest value counted in this bucket
    uint64_t highest = 0;  // largest value counted in this bucket (inclusive)
    uint64_t count = 0;
  };

  // Out-of-range options are clamped into range (use ValidateHistogramOptions to reject them).
  explicit LogLinearHistogram(LogLinearHistogramOptions options = {});
  // Copies are snapshots of the counters.
  LogLinearHistogram(const LogLinearHistogram& other);
  LogLinearHistogram& operator=(const LogLinearHistogram& other);

  void Record(uint64_t value) { RecordN(value, 1); }
  // Records `value` `n` times.
  void RecordN(uint64_t value, uint64_t n);

  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  // Smallest/largest recorded value; 0 when empty.
  uint64_t Min() const;
  uint64_t Max() const;
  // Sum of recorded values as a double; 0 when empty.
  double Sum() const { return sum_.load(std::memory_order_relaxed); }
  // Arithmetic mean; 0 when empty.
  double Mean() const;
  // The nearest-rank quantile: the value of rank ceil(q * Count()) (at least 1) in sorted order,
  // within the relative error above. q is clamped to [0, 1]; q = 0 gives Min(), q = 1 Max().
  // 0 when empty.
  uint64_t Quantile(double q) const;

  // Adds `other`'s counts into this one. InvalidArgument when the options differ.
  Status Merge(const LogLinearHistogram& other);
  // Forgets everything recorded.
  void Reset();

  // Non-empty buckets in increasing value order.
  std::vector<Bucket> NonEmptyBuckets() const;
  void ForEachNonEmptyBucket(const std::function<void(const Bucket&)>& fn) const;

  // For each bound (ascending), the number of recorded values <= bound. Exact when the bound is
  // some bucket's `highest` (see LadderBounds); otherwise values in the bucket straddling the bound
  // are not counted (an under-count limited to that one bucket).
  std::vector<uint64_t> CumulativeCounts(std::span<const uint64_t> bounds) const;

  // The bucket a value falls in, as [LowestEquivalent, HighestEquivalent].
  uint64_t LowestEquivalent(uint64_t value) const;
  uint64_t HighestEquivalent(uint64_t value) const;

  const LogLinearHistogramOptions& options() const { return options_; }
  size_t bucket_count() const { return bucket_count_; }
  size_t memory_bytes() const { return bucket_count_ * sizeof(std::atomic<uint64_t>); }

 private:
  size_t IndexOf(uint64_t value) const;
  uint64_t BucketLowest(size_t index) const;
  uint64_t BucketHighest(size_t index) const;
  std::vector<uint64_t> SnapshotCounts() const;

  LogLinearHistogramOptions options_;
  size_t bucket_count_ = 0;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> min_{UINT64_MAX};
  std::atomic<uint64_t> max_{0};
  std::atomic<double> sum_{0};
};

// A Prometheus `le` ladder aligned with the histogram's bucket edges, so that every bound counts
// exactly: `per_octave` (a power of two, at most 2^precision_bits) bounds per power of two, from
// the largest ladder value <= max(lowest, 1) up to the smallest ladder value >= highest. For
// example LadderBounds(1000, 8000, 2) = {768, 1024, 1536, 2048, 3072, 4096, 6144, 8192}.
std::vector<uint64_t> LadderBounds(uint64_t lowest, uint64_t highest, int per_octave = 1);

}  // namespace sluice::metrics

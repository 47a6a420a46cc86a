#include "sluice/metrics/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

namespace sluice::metrics {
namespace {

constexpr int kMinPrecisionBits = 1;
constexpr int kMaxPrecisionBits = 14;

LogLinearHistogramOptions Clamp(LogLinearHistogramOptions o) {
  o.precision_bits = std::clamp(o.precision_bits, kMinPrecisionBits, kMaxPrecisionBits);
  o.highest_value_bits = std::clamp(o.highest_value_bits, o.precision_bits + 1, 64);
  return o;
}

// Lowers `target` to `value` if smaller (raises if `greater`); lock-free, loops only while it wins.
void UpdateMin(std::atomic<uint64_t>& target, uint64_t value) {
  uint64_t cur = target.load(std::memory_order_relaxed);
  while (value < cur && !target.compare_exchange_weak(cur, value, std::memory_order_relaxed)) {
  }
}
void UpdateMax(std::atomic<uint64_t>& target, uint64_t value) {
  uint64_t cur = target.load(std::memory_order_relaxed);
  while (value > cur && !target.compare_exchange_weak(cur, value, std::memory_order_relaxed)) {
  }
}

}  // namespace

Status ValidateHistogramOptions(const LogLinearHistogramOptions& o) {
  if (o.precision_bits < kMinPrecisionBits || o.precision_bits > kMaxPrecisionBits) {
    return InvalidArgumentError("precision_bits must be in 1..14, got " +
                                std::to_string(o.precision_bits));
  }
  if (o.highest_value_bits < o.precision_bits + 1 || o.highest_value_bits > 64) {
    return InvalidArgumentError("highest_value_bits must be in precision_bits+1..64, got " +
                                std::to_string(o.highest_value_bits));
  }
  return Status::Ok();
}

LogLinearHistogram::LogLinearHistogram(LogLinearHistogramOptions options)
    : options_(Clamp(options)) {
  const size_t sub = size_t{1} << options_.precision_bits;
  bucket_count_ =
      static_cast<size_t>(options_.highest_value_bits + 1 - options_.precision_bits) * sub + 1;
  counts_ = std::make_unique<std::atomic<uint64_t>[]>(bucket_count_);
  for (size_t i = 0; i < bucket_count_; ++i) counts_[i].store(0, std::memory_order_relaxed);
}

LogLinearHistogram::LogLinearHistogram(const LogLinearHistogram& other)
    : LogLinearHistogram(other.options_) {
  Status merged = Merge(other);
  (void)merged;  // same options: cannot fail
}

LogLinearHistogram& LogLinearHistogram::operator=(const LogLinearHistogram& other) {
  if (this == &other) return *this;
  if (other.options_.precision_bits != options_.precision_bits ||
      other.options_.highest_value_bits != options_.highest_value_bits) {
    LogLinearHistogram copy(other);
    options_ = copy.options_;
    bucket_count_ = copy.bucket_count_;
    counts_ = std::move(copy.counts_);
    count_.store(copy.count_.load());
    min_.store(copy.min_.load());
    max_.store(copy.max_.load());
    sum_.store(copy.sum_.load());
    return *this;
  }
  Reset();
  Status merged = Merge(other);
  (void)merged;
  return *this;
}

size_t LogLinearHistogram::IndexOf(uint64_t value) const {
  if (value == 0) return 0;
  const uint64_t x = value - 1;
  const int k = options_.precision_bits;
  const int msb = 63 - std::countl_zero(x | 1);
  const int shift = std::max(0, msb - k);
  const size_t index = 1 + (static_cast<size_t>(shift) << k) + static_cast<size_t>(x >> shift);
  return std::min(index, bucket_count_ - 1);
}

uint64_t LogLinearHistogram::BucketLowest(size_t index) const {
  if (index == 0) return 0;
  const size_t j = index - 1;
  const int k = options_.precision_bits;
  const int shift = std::max<int>(0, static_cast<int>(j >> k) - 1);
  const uint64_t x_lo = static_cast<uint64_t>(j - (static_cast<size_t>(shift) << k)) << shift;
  return x_lo + 1;
}

uint64_t LogLinearHistogram::BucketHighest(size_t index) const {
  if (index == 0) return 0;
  const size_t j = index - 1;
  const int k = options_.precision_bits;
  const int shift = std::max<int>(0, static_cast<int>(j >> k) - 1);
  const uint64_t x_lo = static_cast<uint64_t>(j - (static_cast<size_t>(shift) << k)) << shift;
  const uint64_t x_hi = x_lo + ((uint64_t{1} << shift) - 1);
  if (index == bucket_count_ - 1) return UINT64_MAX;  // the top bucket also holds larger values
  return x_hi + 1;
}

uint64_t LogLinearHistogram::LowestEquivalent(uint64_t value) const {
  return BucketLowest(IndexOf(value));
}

uint64_t LogLinearHistogram::HighestEquivalent(uint64_t value) const {
  return BucketHighest(IndexOf(value));
}

void LogLinearHistogram::RecordN(uint64_t value, uint64_t n) {
  if (n == 0) return;
  counts_[IndexOf(value)].fetch_add(n, std::memory_order_relaxed);
  count_.fetch_add(n, std::memory_order_relaxed);
  sum_.fetch_add(static_cast<double>(value) * static_cast<double>(n), std::memory_order_relaxed);
  UpdateMin(min_, value);
  UpdateMax(max_, value);
}

uint64_t LogLinearHistogram::Min() const {
  return Count() == 0 ? 0 : min_.load(std::memory_order_relaxed);
}

uint64_t LogLinearHistogram::Max() const {
  return Count() == 0 ? 0 : max_.load(std::memory_order_relaxed);
}

double LogLinearHistogram::Mean() const {
  const uint64_t n = Count();
  return n == 0 ? 0.0 : Sum() / static_cast<double>(n);
}

std::vector<uint64_t> LogLinearHistogram::SnapshotCounts() const {
  std::vector<uint64_t> out(bucket_count_);
  for (size_t i = 0; i < bucket_count_; ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

uint64_t LogLinearHistogram::Quantile(double q) const {
  if (Count() == 0) return 0;
  if (!(q > 0)) return Min();  // also NaN
  if (q >= 1) return Max();
  const std::vector<uint64_t> counts = SnapshotCounts();
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  if (total == 0) return 0;
  // Nearest rank: ceil(q * total), at least 1. In double, so that 0.9 * 1000 is 900, not 900.00..2.
  uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(total)));
  rank = std::clamp<uint64_t>(rank, 1, total);
  uint64_t seen = 0;
  const uint64_t lo_clamp = Min();
  const uint64_t hi_clamp = Max();
  for (size_t i = 0; i < counts.size(); ++i) {
    seen += counts[i];
    if (seen >= rank) {
      const uint64_t lo = BucketLowest(i);
      const uint64_t hi = BucketHighest(i);
      const uint64_t mid = lo + (hi - lo) / 2 + ((hi - lo) & 1);  // middle, rounded up
      return std::clamp(mid, std::min(lo_clamp, hi_clamp), hi_clamp);
    }
  }
  return Max();
}

Status LogLinearHistogram::Merge(const LogLinearHistogram& other) {
  if (other.options_.precision_bits != options_.precision_bits ||
      other.options_.highest_value_bits != options_.highest_value_bits) {
    return InvalidArgumentError("cannot merge histograms with different options");
  }
  uint64_t added = 0;
  for (size_t i = 0; i < bucket_count_; ++i) {
    const uint64_t c = other.counts_[i].load(std::memory_order_relaxed);
    if (c != 0) {
      counts_[i].fetch_add(c, std::memory_order_relaxed);
      added += c;
    }
  }
  if (added == 0) return Status::Ok();
  count_.fetch_add(added, std::memory_order_relaxed);
  sum_.fetch_add(other.Sum(), std::memory_order_relaxed);
  UpdateMin(min_, other.min_.load(std::memory_order_relaxed));
  UpdateMax(max_, other.max_.load(std::memory_order_relaxed));
  return Status::Ok();
}

void LogLinearHistogram::Reset() {
  for (size_t i = 0; i < bucket_count_; ++i) counts_[i].store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
  min_.store(UINT64_MAX, std::memory_order_relaxed);
  max_.store(0, std::memory_order_relaxed);
}

void LogLinearHistogram::ForEachNonEmptyBucket(const std::function<void(const Bucket&)>& fn) const {
  for (size_t i = 0; i < bucket_count_; ++i) {
    const uint64_t c = counts_[i].load(std::memory_order_relaxed);
    if (c != 0) fn(Bucket{BucketLowest(i), BucketHighest(i), c});
  }
}

std::vector<LogLinearHistogram::Bucket> LogLinearHistogram::NonEmptyBuckets() const {
  std::vector<Bucket> out;
  ForEachNonEmptyBucket([&](const Bucket& b) { out.push_back(b); });
  return out;
}

std::vector<uint64_t> LogLinearHistogram::CumulativeCounts(std::span<const uint64_t> bounds) const {
  std::vector<uint64_t> out;
  out.reserve(bounds.size());
  const std::vector<uint64_t> counts = SnapshotCounts();
  size_t next = 0;       // next bucket not yet added
  uint64_t running = 0;  // sum of counts[0..next)
  for (uint64_t bound : bounds) {
    // Add every bucket whose highest value is <= bound.
    while (next < counts.size() && BucketHighest(next) <= bound) {
      running += counts[next];
      ++next;
    }
    out.push_back(running);
  }
  return out;
}

std::vector<uint64_t> LadderBounds(uint64_t lowest, uint64_t highest, int per_octave) {
  per_octave = std::clamp(per_octave, 1, 1 << kMaxPrecisionBits);
  per_octave = static_cast<int>(std::bit_floor(static_cast<unsigned>(per_octave)));
  lowest = std::max<uint64_t>(lowest, 1);
  highest = std::max(highest, lowest);
  const int step_bits = std::countr_zero(static_cast<unsigned>(per_octave));
  // All ladder values in increasing order: 2^m * (1 + i / per_octave), integers only.
  std::vector<uint64_t> ladder;
  for (int m = 0; m < 64; ++m) {
    const uint64_t base = uint64_t{1} << m;
    for (int i = 0; i < per_octave; ++i) {
      if (m < step_bits && (static_cast<uint64_t>(i) << m) % static_cast<uint64_t>(per_octave)) {
        continue;  // not an integer
      }
      const uint64_t add = m >= step_bits ? static_cast<uint64_t>(i) << (m - step_bits)
                                          : (static_cast<uint64_t>(i) << m) >> step_bits;
      ladder.push_back(base + add);
    }
  }
  ladder.push_back(UINT64_MAX);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < ladder.size(); ++i) {
    const bool next_le_lowest = i + 1 < ladder.size() && ladder[i + 1] <= lowest;
    if (next_le_lowest) continue;  // start at the largest value <= lowest
    out.push_back(ladder[i]);
    if (ladder[i] >= highest) break;
  }
  return out;
}

}  // namespace sluice::metrics

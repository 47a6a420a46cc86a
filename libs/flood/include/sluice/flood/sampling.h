// Seeded random choices for sluice-flood: which key an event gets and how big its payload is.
//
// Every sampler takes its own 64-bit seed and draws from std::mt19937_64, whose output sequence the
// C++ standard fixes; the mapping to uniform doubles and the distributions below are written here
// (not std::uniform_*_distribution, whose algorithms differ between standard libraries), so a seed
// reproduces the same run on any platform.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::flood {

// A uniform double in [0, 1) from 53 random bits.
double UniformUnit(std::mt19937_64& rng);

struct KeySpace {
  enum class Shape { kUniform, kZipf };
  // Number of distinct keys (rank 0 .. keys-1). Default 10,000.
  int64_t keys = 10000;
  // Uniform (default) or zipf: P(rank k) proportional to 1 / (k+1)^exponent.
  Shape shape = Shape::kUniform;
  // Zipf exponent, > 0 (1.0 is the classic "rank 1 twice as often as rank 2"). Default 1.0.
  double exponent = 1.0;
};

// Parses "uniform" or "zipf" / "zipf:1.2" into shape and exponent.
Status ParseKeyShape(std::string_view text, KeySpace* space);

// Draws key ranks from a KeySpace. Zipf uses rejection-inversion sampling (Hormann & Derflinger,
// 1996): O(1) memory and time per draw for any number of keys, where a cumulative table would cost
// 8 bytes per key; no Debian library provides a zipf sampler (Boost.Random and <random> do not).
// Thread-safety: not thread-safe (owns its generator); use one per thread.
class KeySampler {
 public:
  static Result<KeySampler> Create(const KeySpace& space, uint64_t seed);

  // A rank in [0, keys).
  int64_t Next();
  const KeySpace& space() const { return space_; }

 private:
  KeySampler(const KeySpace& space, uint64_t seed);
  double H(double x) const;
  double HInverse(double x) const;

  KeySpace space_;
  std::mt19937_64 rng_;
  // Zipf constants (see Next()).
  double h_x1_ = 0;
  double h_n_ = 0;
  double s_ = 0;
};

struct PayloadSizes {
  enum class Shape { kFixed, kUniform, kWeighted };
  Shape shape = Shape::kFixed;
  // kFixed: the size. Default 512 bytes.
  int64_t fixed = 512;
  // kUniform: inclusive bounds.
  int64_t min = 0;
  int64_t max = 0;
  // kWeighted: sizes with relative weights.
  std::vector<std::pair<int64_t, double>> weighted;
};

// Largest payload flood will generate (Kafka's default max.message.bytes is ~1 MB).
inline constexpr int64_t kMaxPayloadBytes = 16 * 1024 * 1024;

// Parses "512", "fixed:512", "uniform:100-2000" or "weighted:256=50,1024=40,8192=10".
Result<PayloadSizes> ParsePayloadSizes(std::string_view text);

// Draws payload sizes (bytes) from a PayloadSizes.
// Thread-safety: not thread-safe; use one per thread.
class PayloadSampler {
 public:
  static Result<PayloadSampler> Create(const PayloadSizes& sizes, uint64_t seed);
  int64_t Next();

 private:
  PayloadSampler(const PayloadSizes& sizes, uint64_t seed);

  PayloadSizes sizes_;
  std::mt19937_64 rng_;
  std::vector<double> cumulative_;  // kWeighted: running sum of weights, normalised to 1
};

// Decides which events are deliberately invalid: a Bernoulli draw with probability `fraction`.
// Thread-safety: not thread-safe.
class InvalidPicker {
 public:
  InvalidPicker(double fraction, uint64_t seed) : fraction_(fraction), rng_(seed) {}
  bool Next() { return fraction_ > 0 && UniformUnit(rng_) < fraction_; }

 private:
  double fraction_;
  std::mt19937_64 rng_;
};

}  // namespace sluice::flood

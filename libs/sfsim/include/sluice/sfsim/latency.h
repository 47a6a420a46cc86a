// The latency model: base + per-record cost + a lognormal tail, capped.
#pragma once

#include <random>

#include "sluice/core/clock.h"
#include "sluice/sfsim/options.h"

namespace sluice::sfsim {

// Thread-safety: not thread-safe (it owns a random engine); the simulator calls it under its lock.
class LatencyModel {
 public:
  LatencyModel(const LatencyOptions& options, uint64_t seed);
  // Time one request touching `records` records takes (0 records for non-record calls).
  Clock::Duration Sample(int records);
  void set_options(const LatencyOptions& options) { options_ = options; }

 private:
  LatencyOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace sluice::sfsim

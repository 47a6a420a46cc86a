#include "sluice/sfsim/latency.h"

#include <algorithm>
#include <cmath>

namespace sluice::sfsim {

LatencyModel::LatencyModel(const LatencyOptions& options, uint64_t seed)
    : options_(options), rng_(seed) {}

Clock::Duration LatencyModel::Sample(int records) {
  double ms = options_.base_ms + options_.per_record_ms * std::max(records, 0);
  if (options_.tail_median_ms > 0) {
    std::lognormal_distribution<double> tail(std::log(options_.tail_median_ms),
                                             std::max(options_.tail_sigma, 0.0));
    ms += tail(rng_);
  }
  ms = std::clamp(ms, 0.0, std::max(options_.max_ms, 0.0));
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double, std::milli>(ms));
}

}  // namespace sluice::sfsim

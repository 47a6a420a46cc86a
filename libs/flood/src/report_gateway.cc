// GatewayTimeTo202 (report.h): the time-to-202 percentiles of a --via run.
#include <algorithm>

#include "sluice/flood/report.h"
#include "sluice/metrics/histogram.h"

namespace sluice::flood {

LatencyFigures GatewayTimeTo202(const std::vector<GatewayAnswerTimes>& answers) {
  // Microseconds, with the layout of the end-to-end latency (VerifierOptions): 0.39% error.
  metrics::LogLinearHistogram us(metrics::LogLinearHistogramOptions{7, 40});
  for (const GatewayAnswerTimes& a : answers) {
    us.Record(static_cast<uint64_t>(std::max<int64_t>(0, a.answered_ns - a.from_ns) / 1000));
  }
  return LatencyFromHistogram(us);
}

}  // namespace sluice::flood

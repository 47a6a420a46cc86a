// Long-running request counting and the random and scheduled faults.
#include <openssl/hmac.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "simulator_impl.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {

int64_t Simulator::Impl::LongRunning(TimePoint now) {
  TimePoint cutoff = now - options_.limits.long_running_threshold;
  int64_t n = 0;
  for (const auto& [ticket, start] : in_flight_) {
    if (start > cutoff) break;  // ordered by ticket, so by start
    ++n;
  }
  peak_long_running_ = std::max(peak_long_running_, n);
  return n;
}

void Simulator::Impl::UpdateLongRunningPeak(TimePoint now) { (void)LongRunning(now); }

double Simulator::Impl::Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

bool Simulator::Impl::FaultRoll(const char* kind, double rate) {
  for (const auto& f : scheduled_) {
    if (f.kind == kind && f.until > ctx_.now && Uniform() < f.rate) return true;
  }
  return rate > 0 && Uniform() < rate;
}

std::optional<http::ServerResponse> Simulator::Impl::UnavailableFault() {
  bool html = false;
  bool hit = false;
  for (const auto& f : scheduled_) {
    if (f.kind == "unavailable" && f.until > ctx_.now && Uniform() < f.rate) {
      hit = true;
      html = f.html;
      break;
    }
  }
  if (!hit && options_.faults.unavailable_rate > 0 &&
      Uniform() < options_.faults.unavailable_rate) {
    hit = true;
    html = options_.faults.unavailable_html_fraction > 0 &&
           Uniform() < options_.faults.unavailable_html_fraction;
  }
  if (!hit) return std::nullopt;
  if (html) {
    http::ServerResponse res;
    res.status = 503;
    res.headers.Add("Content-Type", "text/html;charset=UTF-8");
    res.body = kMaintenanceHtml;
    return res;
  }
  return ApiError(503, "SERVER_UNAVAILABLE", "Server too busy");
}

bool Simulator::Impl::SlowFault() {
  for (const auto& f : scheduled_) {
    if (f.kind == "slow" && f.until > ctx_.now && Uniform() < f.rate) {
      ctx_.slow_ms = f.slow_ms;
      return true;
    }
  }
  if (options_.faults.slow_rate > 0 && Uniform() < options_.faults.slow_rate) {
    ctx_.slow_ms = options_.faults.slow_ms;
    return true;
  }
  return false;
}

bool Simulator::Impl::LockFault() { return FaultRoll("lock_rows", options_.faults.lock_row_rate); }

}  // namespace sluice::sfsim

// TokenBucket: a rate limit (tokens per second) with a burst allowance, on the injected Clock.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::flow {

struct TokenBucketOptions {
  // Tokens added per second. Must be finite and within [1e-6, 1e9]. Default 100.
  double rate_per_second = 100.0;
  // Most tokens the bucket holds (the largest burst). Must be finite and within [1, 1e12].
  // Default 10.
  double burst = 10.0;
  // Whether the bucket starts full (true: a burst is allowed at once) or empty. Default true.
  bool start_full = true;

  // Ok, or InvalidArgument naming the offending field.
  Status Validate() const;
};

// Result of TokenBucket::TryAcquire.
struct Acquisition {
  bool granted = false;
  // When not granted: how long until the same request would be granted if nothing else takes
  // tokens (rounded up to the next nanosecond). Zero when granted.
  Clock::Duration wait{0};

  explicit operator bool() const { return granted; }
};

// A token bucket for requests/s or records/s. The level refills continuously at the rate up to
// the burst. A request for n tokens is granted once the level reaches min(n, burst); the level then
// drops by n and may go negative ("debt"), so requests larger than the burst (a 200-record batch
// against a 50 records/s bucket) still pass, and the long-run rate still holds: the debt is
// repaid before anything else is granted.
//
// Thread-safety: internally locked; every method may be called from any thread (sender threads
// acquire, the metrics scraper reads level(), the control loop calls SetRate).
class TokenBucket {
 public:
  // InvalidArgument when `options` is invalid. `clock` must outlive the bucket.
  static Result<std::unique_ptr<TokenBucket>> Create(const TokenBucketOptions& options,
                                                     const Clock& clock);

  TokenBucket(const TokenBucket&) = delete;
  TokenBucket& operator=(const TokenBucket&) = delete;

  // Takes n tokens if available now (n <= 0 is granted without taking anything).
  Acquisition TryAcquire(int64_t n = 1);

  // Gives back n tokens taken by TryAcquire but not used (say, the concurrency gate refused the
  // request after the bucket granted it). The level never rises above the burst.
  void Refund(int64_t n);

  // Changes the rate from now on (tokens accrued so far were accrued at the old rate) and, unless
  // `burst` is 0 (keep the current one), the burst; the level is clamped to the new burst and any
  // debt is kept. InvalidArgument (and no change) for values Options::Validate would reject.
  Status SetRate(double rate_per_second, double burst = 0.0);

  // The current level (may be negative while in debt), refilled to now. For metrics.
  double level() const;
  double rate() const;
  double burst() const;

 private:
  TokenBucket(const TokenBucketOptions& options, const Clock& clock);
  // Refills level_ to `now`. Requires mu_.
  void RefillLocked(Clock::TimePoint now) const;

  const Clock& clock_;
  mutable std::mutex mu_;
  double rate_;
  double burst_;
  mutable double level_;
  mutable Clock::TimePoint last_;
};

}  // namespace sluice::flow

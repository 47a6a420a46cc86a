// ConcurrencyGate: a ceiling on requests in flight, adjustable at run time.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "sluice/core/status.h"

namespace sluice::flow {

struct ConcurrencyGateOptions {
  // Most requests in flight at once. Must be within [1, 1,000,000]. Default 20 (Salesforce's
  // concurrent long-running request limit is 25 per org; stay below it).
  int64_t limit = 20;

  Status Validate() const;
};

// Counts requests in flight against a limit. Lowering the limit below the current count never
// cancels anything: it only refuses new acquisitions until enough releases bring the count below
// the new limit.
//
// Thread-safety: internally locked; all methods may be called from any thread (sender threads
// acquire and release, the control loop changes the limit, the metrics scraper reads).
class ConcurrencyGate {
 public:
  static Result<std::unique_ptr<ConcurrencyGate>> Create(const ConcurrencyGateOptions& options);

  ConcurrencyGate(const ConcurrencyGate&) = delete;
  ConcurrencyGate& operator=(const ConcurrencyGate&) = delete;

  // Takes a slot when in_flight() < limit(); false otherwise.
  bool TryAcquire();
  // Gives a slot back. FailedPrecondition (and no change) when nothing is in flight: a caller bug
  // (a double release) that must not silently raise the effective ceiling.
  Status Release();

  // InvalidArgument (and no change) for a limit Options::Validate would reject.
  Status SetLimit(int64_t limit);

  int64_t limit() const;
  int64_t in_flight() const;
  // Highest in_flight() seen since creation or the last ResetPeak().
  int64_t peak() const;
  void ResetPeak();

 private:
  explicit ConcurrencyGate(const ConcurrencyGateOptions& options);

  mutable std::mutex mu_;
  int64_t limit_;
  int64_t in_flight_ = 0;
  int64_t peak_ = 0;
};

}  // namespace sluice::flow

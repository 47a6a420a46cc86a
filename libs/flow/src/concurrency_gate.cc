#include "sluice/flow/concurrency_gate.h"

#include <algorithm>

#include "internal.h"

namespace sluice::flow {

namespace {

constexpr int64_t kMaxLimit = 1'000'000;

Status ValidateLimit(int64_t limit) {
  if (limit < 1 || limit > kMaxLimit) {
    return internal::Invalid("concurrency_gate", "limit", "must be within [1, 1000000]");
  }
  return Status::Ok();
}

}  // namespace

Status ConcurrencyGateOptions::Validate() const { return ValidateLimit(limit); }

Result<std::unique_ptr<ConcurrencyGate>> ConcurrencyGate::Create(
    const ConcurrencyGateOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<ConcurrencyGate>(new ConcurrencyGate(options));
}

ConcurrencyGate::ConcurrencyGate(const ConcurrencyGateOptions& options) : limit_(options.limit) {}

bool ConcurrencyGate::TryAcquire() {
  std::lock_guard lock(mu_);
  if (in_flight_ >= limit_) return false;
  ++in_flight_;
  peak_ = std::max(peak_, in_flight_);
  return true;
}

Status ConcurrencyGate::Release() {
  std::lock_guard lock(mu_);
  if (in_flight_ == 0) {
    return FailedPreconditionError("concurrency_gate: Release() with nothing in flight");
  }
  --in_flight_;
  return Status::Ok();
}

Status ConcurrencyGate::SetLimit(int64_t limit) {
  RETURN_IF_ERROR(ValidateLimit(limit));
  std::lock_guard lock(mu_);
  limit_ = limit;
  return Status::Ok();
}

int64_t ConcurrencyGate::limit() const {
  std::lock_guard lock(mu_);
  return limit_;
}

int64_t ConcurrencyGate::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

int64_t ConcurrencyGate::peak() const {
  std::lock_guard lock(mu_);
  return peak_;
}

void ConcurrencyGate::ResetPeak() {
  std::lock_guard lock(mu_);
  peak_ = in_flight_;
}

}  // namespace sluice::flow

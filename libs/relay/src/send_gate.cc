#include "send_gate.h"

#include <algorithm>

#include "sluice/flow/share.h"

namespace sluice::relay {
namespace {

// Small bursts: a long-idle relay must not fire a whole second's worth of requests at once.
double RequestBurst(double rate) { return std::max(1.0, rate / 20.0); }
double RecordBurst(double rate, size_t max_records) {
  return std::max<double>(static_cast<double>(max_records), rate / 20.0);
}

}  // namespace

Result<std::unique_ptr<SendGate>> SendGate::Create(const SendGateOptions& options, Clock& clock,
                                                   flow::UniformSource uniform) {
  std::unique_ptr<SendGate> g(new SendGate(options, clock));
  g->request_share_ = options.requests_per_second;
  ASSIGN_OR_RETURN(g->request_bucket_,
                   flow::TokenBucket::Create(
                       flow::TokenBucketOptions{.rate_per_second = options.requests_per_second,
                                                .burst = RequestBurst(options.requests_per_second)},
                       clock));
  ASSIGN_OR_RETURN(g->record_bucket_,
                   flow::TokenBucket::Create(
                       flow::TokenBucketOptions{
                           .rate_per_second = options.records_per_second,
                           .burst = RecordBurst(options.records_per_second, options.max_records)},
                       clock));
  ASSIGN_OR_RETURN(g->gate_, flow::ConcurrencyGate::Create(
                                 flow::ConcurrencyGateOptions{.limit = options.max_in_flight}));
  // The ramp after an outage: from the floor (10 %) back to the ceiling in 9 s, 10 % a second.
  ASSIGN_OR_RETURN(g->aimd_,
                   flow::Aimd::Create(flow::AimdOptions{.ceiling = options.requests_per_second,
                                                        .increase_fraction = 0.1},
                                      clock));
  ASSIGN_OR_RETURN(g->breaker_,
                   flow::CircuitBreaker::Create(options.circuit, clock, std::move(uniform)));
  ASSIGN_OR_RETURN(g->budget_,
                   flow::DailyBudgetGuard::Create(
                       flow::DailyBudgetOptions{.reserve = options.budget_reserve,
                                                .probe_interval = options.budget_probe_interval},
                       clock));
  return g;
}

Hold SendGate::CheckOrgHolds() const {
  if (!budget_->Allow()) return Hold::kBudget;
  if (breaker_->state() == flow::BreakerState::kOpen &&
      breaker_->RemainingOpen() > Clock::Duration::zero()) {
    return Hold::kBreaker;
  }
  return Hold::kNone;
}

Hold SendGate::Check(int64_t records) const {
  if (Hold h = CheckOrgHolds(); h != Hold::kNone) return h;
  if (gate_->in_flight() >= gate_->limit()) return Hold::kConcurrency;
  if (request_bucket_->level() + 1e-9 < 1.0) return Hold::kRequestRate;
  const double need = std::min<double>(static_cast<double>(records), record_bucket_->burst());
  if (record_bucket_->level() + 1e-9 < need) return Hold::kRecordRate;
  return Hold::kNone;
}

Hold SendGate::Acquire(int64_t records, flow::Admission* admission) {
  // The buckets are not looked at twice: taking from them says whether they would allow it.
  if (Hold h = CheckOrgHolds(); h != Hold::kNone) return h;
  if (!gate_->TryAcquire()) return Hold::kConcurrency;
  if (!request_bucket_->TryAcquire(1)) {
    (void)gate_->Release();
    return Hold::kRequestRate;
  }
  if (!record_bucket_->TryAcquire(records)) {
    request_bucket_->Refund(1);
    (void)gate_->Release();
    return Hold::kRecordRate;
  }
  *admission = breaker_->Admit();
  if (*admission == flow::Admission::kRejected) {
    record_bucket_->Refund(records);
    request_bucket_->Refund(1);
    (void)gate_->Release();
    return Hold::kBreaker;
  }
  return Hold::kNone;
}

void SendGate::Release() { (void)gate_->Release(); }

bool SendGate::Pressure(bool failed) {
  outcomes_.push_back(failed);
  failed_in_window_ += failed ? 1 : 0;
  if (outcomes_.size() > kOutcomeWindow) {
    failed_in_window_ -= outcomes_.front() ? 1 : 0;
    outcomes_.pop_front();
  }
  // Too few outcomes say nothing about a share; a fresh relay's first failures wait for a few more.
  constexpr size_t kMinOutcomes = 4;
  return outcomes_.size() >= kMinOutcomes &&
         static_cast<double>(failed_in_window_) >=
             options_.pressure_ratio * static_cast<double>(outcomes_.size());
}

void SendGate::OnAnswered(flow::Admission admission) {
  (void)Pressure(false);
  breaker_->OnSuccess(admission);
  if (aimd_->OnSuccess())
    (void)request_bucket_->SetRate(aimd_->value(), RequestBurst(request_share_));
}

void SendGate::OnOrgFailure(flow::Admission admission) {
  const bool pressure = Pressure(true);
  if (!pressure && admission != flow::Admission::kProbe) {
    // A scattered failure: its records are requeued; the breaker and the rate are left alone.
    return;
  }
  breaker_->OnFailure(admission, flow::FailureKind::kOrgWide);
  if (pressure && aimd_->OnPressure())
    (void)request_bucket_->SetRate(aimd_->value(), RequestBurst(request_share_));
}

void SendGate::OnAuthFailure(flow::Admission admission) {
  // Not the org's health: the breaker is not charged; the engine holds sends until a token
  // comes back. A probe slot is given back.
  if (admission == flow::Admission::kProbe) breaker_->CancelProbe();
}

void SendGate::OnLimits(int64_t api_used, int64_t api_max) {
  (void)budget_->Observe(api_used, api_max);
}

void SendGate::MarkBudgetExhausted() { budget_->MarkExhausted(); }

void SendGate::ApplyShare(int64_t assigned, int64_t total) {
  if (assigned <= 0) return;  // keep the last share; nothing is sent without partitions
  // Rates get no minimum: a share under 1 request/s is a slower bucket (one call every few
  // seconds), and a floor of 1 per instance would let many instances together pass the ceiling.
  const double rps = flow::ScaleForShare(options_.requests_per_second, assigned, total, 0.0)
                         .value_or(options_.requests_per_second);
  const double recs = flow::ScaleForShare(options_.records_per_second, assigned, total, 0.0)
                          .value_or(options_.records_per_second);
  const int64_t inflight = flow::ScaleCountForShare(options_.max_in_flight, assigned, total)
                               .value_or(options_.max_in_flight);
  request_share_ = rps;
  (void)aimd_->SetCeiling(rps);
  (void)request_bucket_->SetRate(aimd_->value(), RequestBurst(rps));
  (void)record_bucket_->SetRate(recs, RecordBurst(recs, options_.max_records));
  (void)gate_->SetLimit(std::max<int64_t>(inflight, 1));
}

std::optional<Clock::TimePoint> SendGate::NextOpening(Hold hold, int64_t records) const {
  const auto now = clock_.Now();
  auto after_seconds = [&](double s) {
    return now +
           std::chrono::duration_cast<Clock::Duration>(
               std::chrono::duration<double>(std::max(s, 0.0)) + std::chrono::microseconds(1));
  };
  switch (hold) {
    case Hold::kNone:
      return now;
    case Hold::kBudget:
      return budget_->NextProbeAt();
    case Hold::kBreaker:
      if (breaker_->state() == flow::BreakerState::kOpen) return now + breaker_->RemainingOpen();
      return std::nullopt;
    case Hold::kConcurrency:
      return std::nullopt;
    case Hold::kRequestRate:
      return after_seconds((1.0 - request_bucket_->level()) / request_bucket_->rate());
    case Hold::kRecordRate: {
      const double need = std::min<double>(static_cast<double>(records), record_bucket_->burst());
      return after_seconds((need - record_bucket_->level()) / record_bucket_->rate());
    }
  }
  return std::nullopt;
}

bool SendGate::TryBudgetProbe() { return budget_->TryProbe(); }
std::optional<Clock::TimePoint> SendGate::NextBudgetProbe() const { return budget_->NextProbeAt(); }

}  // namespace sluice::relay

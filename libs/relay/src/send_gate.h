// SendGate: everything that decides whether a Salesforce call may go now — the daily budget, the
// circuit breaker, the concurrency gate and the request and record token buckets — with the
// taking and the giving back in one place, and the instance's share of the group's ceilings
// applied by the same code at start-up and on every rebalance.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/flow/aimd.h"
#include "sluice/flow/circuit_breaker.h"
#include "sluice/flow/concurrency_gate.h"
#include "sluice/flow/daily_budget.h"
#include "sluice/flow/random.h"
#include "sluice/flow/token_bucket.h"

namespace sluice::relay {

struct SendGateOptions {
  // The group's ceilings; an instance takes its share (ApplyShare).
  double requests_per_second = 100;
  double records_per_second = 20'000;
  int64_t max_in_flight = 20;
  // Records per call, for the record bucket's burst.
  size_t max_records = 200;
  double budget_reserve = 0.1;
  Clock::Duration budget_probe_interval = std::chrono::seconds(60);
  flow::CircuitBreakerOptions circuit;
  // Org-wide failures back off (AIMD) and count toward opening the breaker only while they are at
  // least this share of the last kOutcomeWindow answered calls: one 503 in ten is retried, not
  // answered by cutting the rate. A half-open probe's failure always counts.
  double pressure_ratio = 0.25;
};

// Calls whose outcomes decide whether org-wide failures are pressure or scattered.
inline constexpr size_t kOutcomeWindow = 20;

// What holds a call back; kNone when it may go.
enum class Hold { kNone, kBudget, kBreaker, kConcurrency, kRequestRate, kRecordRate };

// Thread-safety: engine thread only (the flow parts it holds are locked, so the metrics scraper
// may read them through the accessors).
class SendGate {
 public:
  static Result<std::unique_ptr<SendGate>> Create(const SendGateOptions& options, Clock& clock,
                                                  flow::UniformSource uniform);

  // What would hold back a call of `records` records now; nothing is taken.
  Hold Check(int64_t records) const;
  // Takes a concurrency slot, a request and `records` records and admits the call through the
  // breaker; kNone and the admission when taken, otherwise what held it (nothing is kept).
  Hold Acquire(int64_t records, flow::Admission* admission);
  // The call ended (every outcome): gives its concurrency slot back.
  void Release();

  // Outcomes, for the breaker and AIMD.
  void OnAnswered(flow::Admission admission);        // the org answered (any per-record result)
  void OnOrgFailure(flow::Admission admission);      // 503, timeout, connection, concurrency
  void OnAuthFailure(flow::Admission admission);     // credentials refused
  void OnLimits(int64_t api_used, int64_t api_max);  // Sforce-Limit-Info or /limits
  void MarkBudgetExhausted();

  // The instance's share: `assigned` of `total` partitions.
  void ApplyShare(int64_t assigned, int64_t total);

  // When a held call might pass without any completion (a token refills, the breaker's open
  // period ends); nullopt when only a completion can help.
  std::optional<Clock::TimePoint> NextOpening(Hold hold, int64_t records) const;
  // The budget probe is due (the budget guard allows one per interval).
  bool TryBudgetProbe();
  std::optional<Clock::TimePoint> NextBudgetProbe() const;

  bool budget_allows() const { return budget_->Allow(); }
  flow::BreakerState breaker_state() const { return breaker_->state(); }
  int64_t in_flight() const { return gate_->in_flight(); }
  int64_t concurrency_limit() const { return gate_->limit(); }
  double request_rate() const { return request_bucket_->rate(); }
  double record_rate() const { return record_bucket_->rate(); }
  int64_t api_max() const { return budget_->max(); }

  flow::TokenBucket& request_bucket() { return *request_bucket_; }
  flow::TokenBucket& record_bucket() { return *record_bucket_; }
  flow::ConcurrencyGate& gate() { return *gate_; }
  flow::CircuitBreaker& breaker() { return *breaker_; }
  flow::Aimd& aimd() { return *aimd_; }

 private:
  SendGate(const SendGateOptions& options, Clock& clock) : options_(options), clock_(clock) {}

  // The budget reserve, or the breaker's open period: holds that come before any slot or token.
  Hold CheckOrgHolds() const;
  // Records an outcome; true when the window's failure share has reached pressure_ratio.
  bool Pressure(bool failed);

  const SendGateOptions options_;
  Clock& clock_;
  std::deque<bool> outcomes_;  // the last kOutcomeWindow calls: failed?
  size_t failed_in_window_ = 0;
  double request_share_ = 0;  // this instance's request ceiling, before AIMD
  std::unique_ptr<flow::TokenBucket> request_bucket_;
  std::unique_ptr<flow::TokenBucket> record_bucket_;
  std::unique_ptr<flow::ConcurrencyGate> gate_;
  std::unique_ptr<flow::Aimd> aimd_;
  std::unique_ptr<flow::CircuitBreaker> breaker_;
  std::unique_ptr<flow::DailyBudgetGuard> budget_;
};

}  // namespace sluice::relay

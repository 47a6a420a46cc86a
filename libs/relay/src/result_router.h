// Result routing: what a Salesforce answer means for the call and for each of its records. Pure
// functions of the answer and the retry policy, so every branch is unit-tested without a relay.
#pragma once

#include <string>

#include "sluice/core/clock.h"
#include "sluice/flow/backoff.h"
#include "sluice/flow/key_scheduler.h"
#include "sluice/salesforce/client.h"

namespace sluice::relay {

// What the whole call's answer means.
enum class CallVerdict {
  kAnswered,         // per-record results follow (success or the records' own errors)
  kOrgFailure,       // 503, timeout, connection, concurrency limit: requeue all, uncharged
  kBudgetExhausted,  // the daily allocation is used up: requeue all, uncharged, pause
  kAuthFailure,      // credentials refused after a refresh: requeue all, uncharged, re-authenticate
};
CallVerdict ClassifyCall(const salesforce::WriteResult& result);

// What happens to one record of an answered call.
enum class RecordAction {
  kDelivered,   // record it in the store, then resolve
  kRetry,       // back to its key after `delay`; the attempt was charged
  kDeadLetter,  // to the DLQ with `error_class`, `code`, `message`; the attempt was charged
  kRequeue,     // back to its key now, uncharged (an org-wide class on a single record)
};

struct RecordRoute {
  RecordAction action = RecordAction::kDelivered;
  Clock::Duration delay{0};
  std::string error_class;  // envelope::kClass*
  std::string code;
  std::string message;
  // Whether this outcome counts as an attempt of the record (sluice.attempts).
  bool charged = false;
};

// `record` is the record's result, or nullptr when the answer had none for it. `attempts` is the
// charged attempts including this one.
RecordRoute RouteRecord(const salesforce::RecordResult* record, int http_status,
                        const flow::Dispatch& dispatch, int attempts, flow::Backoff& backoff,
                        Clock::TimePoint now);

}  // namespace sluice::relay

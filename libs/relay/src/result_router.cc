#include "result_router.h"

#include <fmt/format.h>

#include "sluice/envelope/dlq.h"

namespace sluice::relay {

using salesforce::ErrorClass;

CallVerdict ClassifyCall(const salesforce::WriteResult& result) {
  if (!result.request_error) return CallVerdict::kAnswered;
  switch (result.request_error->error_class) {
    case ErrorClass::kRetryableOrg:
      return CallVerdict::kOrgFailure;
    case ErrorClass::kBudgetExhausted:
      return CallVerdict::kBudgetExhausted;
    case ErrorClass::kAuth:
      return CallVerdict::kAuthFailure;
    default:
      return CallVerdict::kAnswered;  // the records carry the error
  }
}

RecordRoute RouteRecord(const salesforce::RecordResult* record, int http_status,
                        const flow::Dispatch& dispatch, int attempts, flow::Backoff& backoff,
                        Clock::TimePoint now) {
  RecordRoute route;
  if (record != nullptr && record->success) {
    route.action = RecordAction::kDelivered;
    route.charged = true;
    return route;
  }
  const salesforce::SfError err = record != nullptr
                                      ? record->error
                                      : salesforce::SfError{ErrorClass::kRetryableRecord,
                                                            "RESULT_MISSING",
                                                            "no result for this record",
                                                            {},
                                                            http_status};
  route.code = err.code;
  switch (err.error_class) {
    case ErrorClass::kPermanent:
      route.action = RecordAction::kDeadLetter;
      route.charged = true;
      route.error_class = envelope::kClassPermanent;
      route.message = err.message;
      return route;
    case ErrorClass::kRetryableRecord: {
      route.charged = true;
      auto decision = backoff.Next(dispatch.attempt, dispatch.first_attempt, now);
      if (decision.retry()) {
        route.action = RecordAction::kRetry;
        route.delay = decision.delay;
      } else {
        route.action = RecordAction::kDeadLetter;
        route.error_class = envelope::kClassRetryExhausted;
        route.message = fmt::format("{} (after {} attempts)", err.message, attempts);
      }
      return route;
    }
    default:  // org-wide classes on a single record: not the record's fault
      route.action = RecordAction::kRequeue;
      return route;
  }
}

}  // namespace sluice::relay

#include "sluice/idempotency/store.h"

#include <string>

namespace sluice::idempotency {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kDelivered:
      return "delivered";
    case Outcome::kDeadLettered:
      return "dead_lettered";
  }
  return "unknown";
}

Status ValidateEntries(std::span<const Entry> entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    const std::string where = "entry " + std::to_string(i) + ": ";
    if (e.event_id.empty()) return InvalidArgumentError(where + "event_id is empty");
    if (e.event_id.size() > kMaxEventIdBytes) {
      return InvalidArgumentError(where + "event_id is longer than " +
                                  std::to_string(kMaxEventIdBytes) + " bytes");
    }
    if (e.outcome != Outcome::kDelivered && e.outcome != Outcome::kDeadLettered) {
      return InvalidArgumentError(where + "outcome " + std::to_string(static_cast<int>(e.outcome)) +
                                  " is not delivered or dead_lettered");
    }
    if (e.salesforce_id.size() > kMaxSalesforceIdBytes) {
      return InvalidArgumentError(where + "salesforce_id is longer than " +
                                  std::to_string(kMaxSalesforceIdBytes) + " bytes");
    }
  }
  return Status::Ok();
}

}  // namespace sluice::idempotency

// Counters kept by the Salesforce client, for the metrics registry and for tests.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "sluice/salesforce/errors.h"

namespace sluice::salesforce {

// Plain atomics so any component can update them and a metrics registry can read them later.
// Indexed arrays use ErrorClass as the index (kErrorClassCount entries).
// Thread-safety: every field is an atomic; safe from any thread.
struct SalesforceStats {
  // HTTP requests sent to the REST API (an auth retry counts as a second request).
  std::atomic<uint64_t> requests{0};
  // Requests by outcome: kNone for an answered 2xx, else the class of the whole-request error.
  std::array<std::atomic<uint64_t>, kErrorClassCount> requests_by_class{};
  // Records by outcome: kNone delivered, else the class of the record's error (records of a
  // failed request count under the request's class).
  std::array<std::atomic<uint64_t>, kErrorClassCount> records_by_class{};
  // Records rejected before sending (fields not a JSON object, bad external id, too large).
  std::atomic<uint64_t> records_rejected_locally{0};
  // 401s answered by refreshing the token and sending again.
  std::atomic<uint64_t> auth_retries{0};
  // Token endpoint requests, and those that failed.
  std::atomic<uint64_t> token_requests{0};
  std::atomic<uint64_t> token_failures{0};
  // Last Sforce-Limit-Info seen: daily API requests used and allocated (-1 before the first).
  std::atomic<int64_t> api_usage_used{-1};
  std::atomic<int64_t> api_usage_max{-1};
};

}  // namespace sluice::salesforce

// Envelopes for the gateway's unit tests.
#pragma once

#include <cstdio>
#include <string>

namespace sluice::gateway::testing {

// A valid upsert of a Contact; `n` makes the event id and the key distinct.
inline std::string ContactEvent(int n, const std::string& sobject = "Contact") {
  char id[64];
  std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
  return std::string("{\"event_id\":\"") + id + "\",\"operation\":\"upsert\",\"sobject\":\"" +
         sobject + "\",\"external_id_field\":\"Sluice_Key__c\",\"external_id\":\"K-" +
         std::to_string(n) +
         "\",\"fields\":{\"LastName\":\"Ng\"},\"occurred_at\":\"2026-11-21T05:52:18.123Z\"}";
}

inline std::string EventId(int n) {
  char id[64];
  std::snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012d", n);
  return id;
}

}  // namespace sluice::gateway::testing

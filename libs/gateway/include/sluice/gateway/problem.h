// RFC 9457 problem details (application/problem+json): every error the gateway answers.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace sluice::gateway {

inline constexpr char kProblemContentType[] = "application/problem+json";
// Problem type URIs are kProblemTypeBase + a slug, e.g. ".../invalid-events".
inline constexpr char kProblemTypeBase[] = "https://sluice.dev/problems/";

// What is wrong with one event of a request. Thread-safety: a value type.
struct EventProblem {
  size_t index = 0;    // 0-based position of the event in the request (array element, NDJSON line)
  std::string field;   // JSON pointer inside the event ("/event_id"); "" for the whole event
  std::string code;    // envelope codes (not_json, schema, too_large, ...) or gateway codes
  std::string detail;  // for people; never holds a secret
  friend bool operator==(const EventProblem&, const EventProblem&) = default;
};

// One event's outcome in a 503 answer after a produce was attempted.
// Thread-safety: a value type.
struct EventOutcome {
  size_t index = 0;
  std::string event_id;
  bool acked = false;
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
};

// Thread-safety: a value type.
struct Problem {
  int status = 400;
  std::string slug;    // the end of the type URI, e.g. "invalid-events"
  std::string title;   // short, the same for every problem of this slug
  std::string detail;  // this occurrence
  // Seconds for the Retry-After header (429, 503); 0: no header.
  int64_t retry_after_seconds = 0;
  // Per-event problems; at most kMaxListedErrors are rendered, error_count tells the total.
  std::vector<EventProblem> errors;
  size_t error_count = 0;  // 0: errors.size()
  // Per-event outcomes (503 after produce attempts): which events the broker acknowledged.
  std::vector<EventOutcome> outcomes;

  static constexpr size_t kMaxListedErrors = 100;

  // The problem+json document.
  std::string ToJson() const;
};

// Convenience constructors.
Problem MakeProblem(int status, std::string slug, std::string title, std::string detail);

}  // namespace sluice::gateway

// Request bodies of POST /v1/events: one envelope (application/json), a JSON array of envelopes
// (application/json), or NDJSON (application/x-ndjson), each envelope checked against
// schemas/event.schema.json by libs/envelope.
//
// Batch semantics: all or nothing. A body with any bad event is refused whole, with one
// EventProblem per bad event (index and field), and nothing of it is produced.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/envelope/event.h"
#include "sluice/gateway/problem.h"

namespace sluice::gateway {

// Thread-safety: a value type.
struct BodyLimits {
  // Events in one request; more answers 413. Default 1,000.
  size_t max_events = 1000;
  // One envelope's bytes (its array element or NDJSON line); more is that event's 413.
  // Default 1 MiB.
  size_t max_event_bytes = 1024 * 1024;
  // Nesting of objects and arrays inside one envelope (a valid one nests 2). Default 8.
  int max_depth = 8;
  // Schema file for tests; empty (default): the compiled-in schemas/event.schema.json.
  std::string schema_path;
};

// The body form a Content-Type names.
enum class BodyForm { kJson, kNdjson };

// The form for a Content-Type header value ("application/json; charset=utf-8"): application/json
// (or any application/*+json) is kJson; application/x-ndjson, application/ndjson and
// application/jsonl are kNdjson. nullopt (a 415) for anything else, and for a charset other than
// utf-8.
std::optional<BodyForm> FormOf(std::string_view content_type);

// What ParseBody found: the events, in request order, or the problem that refuses the request.
// Thread-safety: a value type.
struct ParsedBody {
  std::vector<envelope::Event> events;
  std::optional<Problem> problem;
  bool ok() const { return !problem.has_value(); }
};

// Parses and validates a body. `idempotency_key` is the Idempotency-Key header (nullopt when
// absent): with exactly one event it must equal that event's event_id; with more it is a 400.
// Duplicate event ids within one body are a 400. Empty bodies and bodies without events are a
// 400; too many events a 413; an event over max_event_bytes a 413 (when every bad event is too
// large; otherwise a 400 listing all). The body must already be within the server's body limit.
// Thread-safety: a pure function.
ParsedBody ParseBody(BodyForm form, std::string_view body,
                     std::optional<std::string_view> idempotency_key, const BodyLimits& limits);

}  // namespace sluice::gateway

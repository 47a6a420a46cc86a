#include "sluice/gateway/body.h"

#include <algorithm>
#include <cctype>
#include <unordered_set>

#include "sluice/core/utf8.h"

namespace sluice::gateway {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n')) {
    s.remove_prefix(1);
  }
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

Problem BadRequest(std::string detail) {
  return MakeProblem(400, "invalid-body", "The request body is not valid", std::move(detail));
}

Problem TooManyEvents(size_t max) {
  return MakeProblem(413, "too-many-events", "Too many events in one request",
                     "a request holds at most " + std::to_string(max) + " events");
}

// An element of a top-level JSON array, or an error.
struct Split {
  std::vector<std::string_view> elements;
  std::optional<Problem> problem;
};

// Cuts a JSON array into its elements' text without building a DOM: strings and nesting are
// tracked so that commas inside elements do not cut, and nesting deeper than `max_depth` inside an
// element stops the scan (so a body nested 10,000 deep costs one pass and no recursion). Each
// element's own JSON is checked later by envelope::ParseEvent.
Split SplitArray(std::string_view body, const BodyLimits& limits) {
  Split out;
  size_t pos = 0;
  auto skip_ws = [&] {
    while (pos < body.size() &&
           (body[pos] == ' ' || body[pos] == '\t' || body[pos] == '\r' || body[pos] == '\n')) {
      ++pos;
    }
  };
  skip_ws();
  if (pos >= body.size() || body[pos] != '[') {
    out.problem = BadRequest("expected a JSON array of events");
    return out;
  }
  ++pos;
  skip_ws();
  if (pos < body.size() && body[pos] == ']') {
    ++pos;
    skip_ws();
    out.problem = BadRequest(pos == body.size() ? "the array holds no events"
                                                : "unexpected bytes after the array at byte " +
                                                      std::to_string(pos));
    return out;
  }
  size_t start = pos;
  int depth = 0;
  bool in_string = false;
  for (; pos < body.size(); ++pos) {
    const char c = body[pos];
    if (in_string) {
      if (c == '\\') {
        ++pos;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limits.max_depth) {
        Problem p =
            BadRequest("event " + std::to_string(out.elements.size()) + " nests deeper than " +
                       std::to_string(limits.max_depth) + " levels");
        p.errors.push_back({out.elements.size(), "", envelope::kCodeTooDeep,
                            "nesting deeper than " + std::to_string(limits.max_depth)});
        out.problem = std::move(p);
        return out;
      }
    } else if (c == '}' || c == ']') {
      if (depth > 0) {
        --depth;
        continue;
      }
      if (c == '}') {
        out.problem = BadRequest("unbalanced '}' at byte " + std::to_string(pos));
        return out;
      }
      out.elements.push_back(Trim(body.substr(start, pos - start)));
      ++pos;
      skip_ws();
      if (pos != body.size()) {
        out.problem = BadRequest("unexpected bytes after the array at byte " + std::to_string(pos));
      }
      return out;
    } else if (c == ',' && depth == 0) {
      out.elements.push_back(Trim(body.substr(start, pos - start)));
      if (out.elements.size() > limits.max_events) {
        out.problem = TooManyEvents(limits.max_events);
        return out;
      }
      start = pos + 1;
    }
  }
  out.problem = BadRequest("the array does not end (no closing ']')");
  return out;
}

// Splits NDJSON into its non-blank lines (a trailing '\r' is dropped).
Split SplitLines(std::string_view body, const BodyLimits& limits) {
  Split out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string_view::npos) nl = body.size();
    std::string_view line = Trim(body.substr(pos, nl - pos));
    if (!line.empty()) {
      out.elements.push_back(line);
      if (out.elements.size() > limits.max_events) {
        out.problem = TooManyEvents(limits.max_events);
        return out;
      }
    }
    pos = nl + 1;
  }
  if (out.elements.empty()) out.problem = BadRequest("the body holds no events");
  return out;
}

}  // namespace

std::optional<BodyForm> FormOf(std::string_view content_type) {
  std::string_view media = content_type;
  std::string_view params;
  if (size_t semi = media.find(';'); semi != std::string_view::npos) {
    params = media.substr(semi + 1);
    media = media.substr(0, semi);
  }
  const std::string m = Lower(Trim(media));
  // Parameters: only charset matters, and only utf-8 (JSON's encoding) is accepted.
  while (!params.empty()) {
    size_t semi = params.find(';');
    std::string_view param = Trim(params.substr(0, semi));
    params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
    size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    if (Lower(Trim(param.substr(0, eq))) != "charset") continue;
    std::string value = Lower(Trim(param.substr(eq + 1)));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (value != "utf-8" && value != "utf8") return std::nullopt;
  }
  if (m == "application/json" ||
      (m.starts_with("application/") && m.ends_with("+json") && m.size() > 17)) {
    return BodyForm::kJson;
  }
  if (m == "application/x-ndjson" || m == "application/ndjson" || m == "application/jsonl" ||
      m == "application/x-jsonlines") {
    return BodyForm::kNdjson;
  }
  return std::nullopt;
}

ParsedBody ParseBody(BodyForm form, std::string_view body,
                     std::optional<std::string_view> idempotency_key, const BodyLimits& limits) {
  ParsedBody out;
  if (Trim(body).empty()) {
    out.problem = BadRequest("the body is empty");
    return out;
  }
  if (auto bad = FindInvalidUtf8(body)) {
    Problem p = BadRequest("invalid UTF-8 at byte " + std::to_string(*bad));
    out.problem = std::move(p);
    return out;
  }
  Split split;
  if (form == BodyForm::kNdjson) {
    split = SplitLines(body, limits);
  } else {
    std::string_view t = Trim(body);
    if (t.front() == '[') {
      split = SplitArray(t, limits);
    } else {
      split.elements.push_back(t);
    }
  }
  if (split.problem) {
    out.problem = std::move(split.problem);
    return out;
  }
  if (split.elements.size() > limits.max_events) {
    out.problem = TooManyEvents(limits.max_events);
    return out;
  }
  if (idempotency_key && split.elements.size() > 1) {
    out.problem = MakeProblem(400, "idempotency-key-on-batch", "Idempotency-Key on a batch",
                              "the Idempotency-Key header names one event; a batch of " +
                                  std::to_string(split.elements.size()) +
                                  " events carries each key in its event_id");
    return out;
  }
  envelope::EnvelopeOptions eo;
  eo.schema_path = limits.schema_path;
  eo.max_bytes = limits.max_event_bytes;
  eo.max_depth = limits.max_depth;
  envelope::Headers headers;
  if (idempotency_key) headers.emplace_back(envelope::kIdempotencyKeyHeader, *idempotency_key);

  std::vector<EventProblem> errors;
  size_t too_large = 0;
  out.events.reserve(split.elements.size());
  std::unordered_set<std::string_view> ids;
  ids.reserve(split.elements.size() * 2);
  for (size_t i = 0; i < split.elements.size(); ++i) {
    envelope::ParsedEvent parsed = envelope::ParseEvent(split.elements[i], headers, eo);
    if (parsed.ok()) {
      out.events.push_back(std::move(parsed).value());
      continue;
    }
    if (const envelope::EnvelopeError* e = parsed.error()) {
      if (e->code == envelope::kCodeTooLarge) ++too_large;
      errors.push_back({i, e->field, e->code, e->message});
    } else {
      // Not the event's fault (the schema failed to load): a server error.
      out.problem = MakeProblem(500, "internal", "Internal error", parsed.status().message());
      out.events.clear();
      return out;
    }
    out.events.emplace_back();  // keeps indexes aligned; dropped below
  }
  if (errors.empty()) {
    for (size_t i = 0; i < out.events.size(); ++i) {
      if (!ids.insert(out.events[i].event_id).second) {
        errors.push_back(
            {i, "/event_id", "duplicate_event_id",
             "event_id " + out.events[i].event_id + " appears earlier in the same request"});
      }
    }
  }
  if (!errors.empty()) {
    const bool all_too_large = too_large == errors.size();
    Problem p =
        all_too_large
            ? MakeProblem(413, "event-too-large", "An event is too large",
                          "an event is larger than " + std::to_string(limits.max_event_bytes) +
                              " bytes; nothing of this request was produced")
            : MakeProblem(400, "invalid-events", "Invalid events",
                          std::to_string(errors.size()) + " of " +
                              std::to_string(split.elements.size()) +
                              " events are invalid; nothing of this request was produced");
    p.error_count = errors.size();
    p.errors = std::move(errors);
    out.problem = std::move(p);
    out.events.clear();
  }
  return out;
}

}  // namespace sluice::gateway

#include "sluice/gateway/problem.h"

#include <algorithm>

#include "sluice/core/logging.h"

namespace sluice::gateway {

std::string Problem::ToJson() const {
  std::string out;
  out.reserve(256 + errors.size() * 96 + outcomes.size() * 96);
  out += "{\"type\":\"";
  out += kProblemTypeBase;
  out += JsonEscape(slug);
  out += "\",\"title\":\"";
  out += JsonEscape(title);
  out += "\",\"status\":";
  out += std::to_string(status);
  out += ",\"detail\":\"";
  out += JsonEscape(detail);
  out += "\"";
  if (!errors.empty()) {
    out += ",\"error_count\":";
    out += std::to_string(error_count == 0 ? errors.size() : error_count);
    out += ",\"errors\":[";
    const size_t n = std::min(errors.size(), kMaxListedErrors);
    for (size_t i = 0; i < n; ++i) {
      const EventProblem& e = errors[i];
      if (i > 0) out += ',';
      out += "{\"index\":";
      out += std::to_string(e.index);
      out += ",\"field\":\"";
      out += JsonEscape(e.field);
      out += "\",\"code\":\"";
      out += JsonEscape(e.code);
      out += "\",\"detail\":\"";
      out += JsonEscape(e.detail);
      out += "\"}";
    }
    out += ']';
  }
  if (!outcomes.empty()) {
    out += ",\"events\":[";
    for (size_t i = 0; i < outcomes.size(); ++i) {
      const EventOutcome& o = outcomes[i];
      if (i > 0) out += ',';
      out += "{\"index\":";
      out += std::to_string(o.index);
      out += ",\"event_id\":\"";
      out += JsonEscape(o.event_id);
      out += "\",\"status\":\"";
      out += o.acked ? "acked" : "not_acked";
      out += "\"";
      if (o.acked) {
        out += ",\"topic\":\"";
        out += JsonEscape(o.topic);
        out += "\",\"partition\":";
        out += std::to_string(o.partition);
        out += ",\"offset\":";
        out += std::to_string(o.offset);
      }
      out += '}';
    }
    out += ']';
  }
  out += '}';
  return out;
}

Problem MakeProblem(int status, std::string slug, std::string title, std::string detail) {
  Problem p;
  p.status = status;
  p.slug = std::move(slug);
  p.title = std::move(title);
  p.detail = std::move(detail);
  return p;
}

}  // namespace sluice::gateway

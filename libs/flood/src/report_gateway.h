// The report's "gateway" section (sluice-flood --via) in JSON; private to libs/flood
// (report.cc writes it with its other sections).
#pragma once

#include <cmath>
#include <string>

#include "sluice/flood/report.h"

namespace sluice::flood::internal {

// Answers of one HTTP status (0: no answer), or 0.
inline int64_t StatusCount(const GatewayFigures& g, int status) {
  auto it = g.statuses.find(status);
  return it == g.statuses.end() ? 0 : it->second;
}

// Writes `l` as the schema's latency object (unit, count, percentiles, buckets).
template <typename Writer>
void WriteLatencyJson(Writer& w, const LatencyFigures& l) {
  const auto num = [&w](double v) {
    if (std::isfinite(v)) {
      w.Double(v);
    } else {
      w.Null();
    }
  };
  w.StartObject();
  w.Key("unit");
  w.String("ms");
  w.Key("count");
  w.Int64(l.count);
  w.Key("p50_ms");
  num(l.p50_ms);
  w.Key("p90_ms");
  num(l.p90_ms);
  w.Key("p99_ms");
  num(l.p99_ms);
  w.Key("p999_ms");
  num(l.p999_ms);
  w.Key("max_ms");
  num(l.max_ms);
  w.Key("mean_ms");
  num(l.mean_ms);
  w.Key("buckets");
  w.StartArray();
  for (const auto& [le, n] : l.buckets) {
    w.StartArray();
    num(le);
    w.Int64(n);
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
}

// Writes the gateway section: null without --via.
template <typename Writer>
void WriteGatewayJson(Writer& w, const std::optional<GatewayFigures>& gateway) {
  if (!gateway) {
    w.Null();
    return;
  }
  const GatewayFigures& g = *gateway;
  w.StartObject();
  w.Key("url");
  w.String(g.url.data(), static_cast<unsigned>(g.url.size()));
  w.Key("requests");
  w.Int64(g.requests);
  w.Key("retries");
  w.Int64(g.retries);
  w.Key("events_accepted");
  w.Int64(g.events_accepted);
  w.Key("accepted_202");
  w.Int64(StatusCount(g, 202));
  w.Key("throttled_429");
  w.Int64(StatusCount(g, 429));
  w.Key("unavailable_503");
  w.Int64(StatusCount(g, 503));
  w.Key("no_answer");
  w.Int64(StatusCount(g, 0));
  w.Key("statuses");
  w.StartObject();
  for (const auto& [status, n] : g.statuses) {
    const std::string key = std::to_string(status);
    w.Key(key.data(), static_cast<unsigned>(key.size()));
    w.Int64(n);
  }
  w.EndObject();
  w.Key("time_to_202_from");
  w.String(g.time_to_202_from.data(), static_cast<unsigned>(g.time_to_202_from.size()));
  w.Key("time_to_202");
  WriteLatencyJson(w, g.time_to_202);
  w.EndObject();
}

}  // namespace sluice::flood::internal

#include "sluice/flood/report.h"

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include "report_gateway.h"
#include "report_text.h"

namespace sluice::flood {
using internal::AllPassed;
using internal::OptText;
namespace {

using JsonWriter = rapidjson::PrettyWriter<rapidjson::StringBuffer>;

void Num(JsonWriter& w, double v) {
  if (std::isfinite(v)) {
    w.Double(v);
  } else {
    w.Null();
  }
}
void OptNum(JsonWriter& w, const std::optional<double>& v) {
  if (v) {
    Num(w, *v);
  } else {
    w.Null();
  }
}
void OptInt(JsonWriter& w, const std::optional<int64_t>& v) {
  if (v) {
    w.Int64(*v);
  } else {
    w.Null();
  }
}
void Str(JsonWriter& w, const std::string& s) {
  w.String(s.data(), static_cast<unsigned>(s.size()));
}
void StrList(JsonWriter& w, const std::vector<std::string>& v) {
  w.StartArray();
  for (const auto& s : v) Str(w, s);
  w.EndArray();
}

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

void WriteVerification(JsonWriter& w, const Verification& v) {
  w.StartObject();
  const std::pair<const char*, int64_t> counts[] = {
      {"produced", v.produced},
      {"acked", v.acked},
      {"produce_failed", v.produce_failed},
      {"produce_uncertain", v.produce_uncertain},
      {"expected", v.expected},
      {"delivered", v.delivered},
      {"missing", v.missing},
      {"duplicates", v.duplicates},
      {"duplicated_events", v.duplicated_events},
      {"out_of_order", v.out_of_order},
      {"invalid_produced", v.invalid_produced},
      {"invalid_in_dlq", v.invalid_in_dlq},
      {"invalid_not_in_dlq", v.invalid_not_in_dlq},
      {"invalid_delivered", v.invalid_delivered},
      {"valid_in_dlq", v.valid_in_dlq},
      {"foreign_ledger_entries", v.foreign_ledger_entries},
      {"negative_latencies", v.negative_latencies},
  };
  for (const auto& [name, value] : counts) {
    w.Key(name);
    w.Int64(value);
  }
  w.Key("missing_ids");
  StrList(w, v.missing_ids);
  w.Key("duplicate_ids");
  StrList(w, v.duplicate_ids);
  w.Key("invalid_not_in_dlq_ids");
  StrList(w, v.invalid_not_in_dlq_ids);
  w.Key("valid_in_dlq_ids");
  StrList(w, v.valid_in_dlq_ids);
  w.Key("out_of_order_list");
  w.StartArray();
  for (const OutOfOrder& o : v.out_of_order_list) {
    w.StartObject();
    w.Key("event_id");
    Str(w, o.event_id);
    w.Key("key");
    w.Int64(o.key);
    w.Key("key_seq");
    w.Uint(o.key_seq);
    w.Key("after_key_seq");
    w.Uint(o.after_key_seq);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
}

}  // namespace

LatencyFigures LatencyFromHistogram(const metrics::LogLinearHistogram& us) {
  LatencyFigures f;
  f.count = static_cast<int64_t>(us.Count());
  if (f.count == 0) return f;
  f.p50_ms = Ms(us.Quantile(0.5));
  f.p90_ms = Ms(us.Quantile(0.9));
  f.p99_ms = Ms(us.Quantile(0.99));
  f.p999_ms = Ms(us.Quantile(0.999));
  f.max_ms = Ms(us.Max());
  f.mean_ms = us.Mean() / 1000.0;
  us.ForEachNonEmptyBucket([&](const metrics::LogLinearHistogram::Bucket& b) {
    f.buckets.emplace_back(Ms(b.highest), static_cast<int64_t>(b.count));
  });
  return f;
}

LatencySeries LatencySeriesFromBins(
    const std::vector<std::shared_ptr<metrics::LogLinearHistogram>>& bins, double bin_s) {
  LatencySeries out;
  out.bin_s = bin_s;
  for (size_t i = 0; i < bins.size(); ++i) {
    const auto& h = bins[i];
    if (!h || h->Count() == 0) continue;
    LatencyPoint p;
    p.t_s = bin_s * static_cast<double>(i + 1);
    p.count = static_cast<int64_t>(h->Count());
    p.p50_ms = Ms(h->Quantile(0.5));
    p.p90_ms = Ms(h->Quantile(0.9));
    p.p99_ms = Ms(h->Quantile(0.99));
    p.max_ms = Ms(h->Max());
    out.points.push_back(p);
  }
  return out;
}

const std::vector<std::string>& FigureNames() {
  static const std::vector<std::string> kNames = {
      "produced",
      "acked",
      "produce_failed",
      "produce_uncertain",
      "events_per_s",
      "mb_per_s",
      "generator_behind_max_s",
      "generator_late_events",
      "generator_bottleneck",
      "delivered",
      "missing",
      "duplicates",
      "out_of_order",
      "invalid_produced",
      "invalid_in_dlq",
      "invalid_not_in_dlq",
      "invalid_delivered",
      "valid_in_dlq",
      "dlq_records",
      "drain_time_s",
      "peak_backlog",
      "time_to_first_delivery_s",
      "delivered_per_s",
      "latency_p50_ms",
      "latency_p90_ms",
      "latency_p99_ms",
      "latency_p999_ms",
      "latency_max_ms",
      "latency_mean_ms",
      "api_calls",
      "records_per_call",
      "call_latency_s",
      "api_errors",
  };
  return kNames;
}

std::map<std::string, std::optional<double>> Figures(const Report& r) {
  std::map<std::string, std::optional<double>> f;
  const auto d = [](int64_t v) { return std::optional<double>(static_cast<double>(v)); };
  const auto od = [](const std::optional<int64_t>& v) -> std::optional<double> {
    if (!v) return std::nullopt;
    return static_cast<double>(*v);
  };
  f["produced"] = d(r.generator.produced);
  f["acked"] = d(r.generator.acked);
  f["produce_failed"] = d(r.generator.failed);
  f["produce_uncertain"] = d(r.generator.uncertain);
  f["events_per_s"] = r.generator.events_per_s;
  f["mb_per_s"] = r.generator.mb_per_s;
  f["generator_behind_max_s"] = r.generator.max_behind_s;
  f["generator_late_events"] = d(r.generator.late_events);
  f["generator_bottleneck"] = r.generator.bottleneck ? 1.0 : 0.0;
  f["invalid_produced"] = d(r.generator.invalid);
  for (const char* name : {"delivered", "missing", "duplicates", "out_of_order", "invalid_in_dlq",
                           "invalid_not_in_dlq", "invalid_delivered", "valid_in_dlq"}) {
    f[name] = std::nullopt;
  }
  if (r.verification) {
    const Verification& v = *r.verification;
    f["delivered"] = d(v.delivered);
    f["missing"] = d(v.missing);
    f["duplicates"] = d(v.duplicates);
    f["out_of_order"] = d(v.out_of_order);
    f["invalid_in_dlq"] = d(v.invalid_in_dlq);
    f["invalid_not_in_dlq"] = d(v.invalid_not_in_dlq);
    f["invalid_delivered"] = d(v.invalid_delivered);
    f["valid_in_dlq"] = d(v.valid_in_dlq);
  }
  f["dlq_records"] = od(r.dlq_records);
  f["drain_time_s"] = r.drain.drain_time_s;
  f["peak_backlog"] = od(r.drain.peak_backlog);
  f["time_to_first_delivery_s"] = r.drain.time_to_first_delivery_s;
  f["delivered_per_s"] = r.drain.delivered_per_s;
  const bool lat = r.latency.count > 0;
  f["latency_p50_ms"] = lat ? std::optional<double>(r.latency.p50_ms) : std::nullopt;
  f["latency_p90_ms"] = lat ? std::optional<double>(r.latency.p90_ms) : std::nullopt;
  f["latency_p99_ms"] = lat ? std::optional<double>(r.latency.p99_ms) : std::nullopt;
  f["latency_p999_ms"] = lat ? std::optional<double>(r.latency.p999_ms) : std::nullopt;
  f["latency_max_ms"] = lat ? std::optional<double>(r.latency.max_ms) : std::nullopt;
  f["latency_mean_ms"] = lat ? std::optional<double>(r.latency.mean_ms) : std::nullopt;
  f["api_calls"] = od(r.api.api_calls);
  f["records_per_call"] = r.api.records_per_call;
  f["call_latency_s"] = r.api.call_latency_s;
  int64_t errors = 0;
  for (const auto& [code, n] : r.api.errors_by_code) errors += n;
  f["api_errors"] = r.api.api_calls || !r.api.errors_by_code.empty() ? d(errors) : std::nullopt;
  return f;
}

std::string ReportToJson(const Report& r) {
  rapidjson::StringBuffer buf;
  JsonWriter w(buf);
  w.SetIndent(' ', 1);
  w.SetFormatOptions(rapidjson::kFormatSingleLineArray);
  w.StartObject();
  w.Key("schema");
  w.String(kReportSchema);

  w.Key("inputs");
  w.StartObject();
  const ReportInputs& in = r.inputs;
  w.Key("mode");
  Str(w, in.mode);
  w.Key("topic");
  Str(w, in.topic);
  w.Key("sobject");
  Str(w, in.sobject);
  w.Key("events");
  w.Int64(in.events);
  w.Key("planned_duration_s");
  Num(w, in.planned_duration_s);
  w.Key("schedule");
  Str(w, in.schedule);
  w.Key("keys");
  w.Int64(in.keys);
  w.Key("key_distribution");
  Str(w, in.key_distribution);
  w.Key("payload_sizes");
  Str(w, in.payload_sizes);
  w.Key("invalid_fraction");
  Num(w, in.invalid_fraction);
  w.Key("seed");
  w.Uint64(in.seed);
  w.Key("run_id");
  Str(w, fmt::format("{:012x}", in.run_id));
  w.Key("bootstrap");
  Str(w, in.bootstrap);
  w.Key("group");
  Str(w, in.group);
  w.Key("dlq_topic");
  Str(w, in.dlq_topic);
  w.Key("sfsim_url");
  Str(w, in.sfsim_url);
  w.Key("relay_metrics_url");
  Str(w, in.relay_metrics_url);
  w.Key("assertions");
  StrList(w, in.assertions);
  w.EndObject();

  w.Key("environment");
  w.StartObject();
  const ReportEnvironment& env = r.environment;
  w.Key("tool_version");
  Str(w, env.tool_version);
  w.Key("librdkafka_version");
  Str(w, env.librdkafka_version);
  w.Key("hostname");
  Str(w, env.hostname);
  w.Key("cpus");
  w.Int(env.cpus);
  w.Key("started_at");
  Str(w, env.started_at);
  w.Key("finished_at");
  Str(w, env.finished_at);
  w.Key("command_line");
  Str(w, env.command_line);
  w.EndObject();

  w.Key("generator");
  w.StartObject();
  const GeneratorFigures& g = r.generator;
  w.Key("produced");
  w.Int64(g.produced);
  w.Key("acked");
  w.Int64(g.acked);
  w.Key("failed");
  w.Int64(g.failed);
  w.Key("uncertain");
  w.Int64(g.uncertain);
  w.Key("invalid");
  w.Int64(g.invalid);
  w.Key("bytes");
  w.Int64(g.bytes);
  w.Key("produce_time_s");
  Num(w, g.produce_time_s);
  w.Key("events_per_s");
  Num(w, g.events_per_s);
  w.Key("mb_per_s");
  Num(w, g.mb_per_s);
  w.Key("max_behind_s");
  Num(w, g.max_behind_s);
  w.Key("late_events");
  w.Int64(g.late_events);
  w.Key("bottleneck");
  w.Bool(g.bottleneck);
  w.EndObject();

  w.Key("drain");
  w.StartObject();
  const DrainFigures& dr = r.drain;
  w.Key("burst_end_s");
  OptNum(w, dr.burst_end_s);
  w.Key("drain_end_s");
  OptNum(w, dr.drain_end_s);
  w.Key("drain_time_s");
  OptNum(w, dr.drain_time_s);
  w.Key("peak_backlog");
  OptInt(w, dr.peak_backlog);
  w.Key("time_to_first_delivery_s");
  OptNum(w, dr.time_to_first_delivery_s);
  w.Key("delivered_per_s");
  OptNum(w, dr.delivered_per_s);
  w.Key("drained");
  w.Bool(dr.drained);
  w.EndObject();

  w.Key("api");
  w.StartObject();
  w.Key("api_calls");
  OptInt(w, r.api.api_calls);
  w.Key("records_per_call");
  OptNum(w, r.api.records_per_call);
  w.Key("call_latency_s");
  OptNum(w, r.api.call_latency_s);
  w.Key("daily_used");
  OptInt(w, r.api.daily_used);
  w.Key("daily_max");
  OptInt(w, r.api.daily_max);
  w.Key("errors_by_code");
  w.StartObject();
  for (const auto& [code, n] : r.api.errors_by_code) {
    Str(w, code);
    w.Int64(n);
  }
  w.EndObject();
  w.EndObject();

  w.Key("latency");
  internal::WriteLatencyJson(w, r.latency);

  w.Key("verification");
  if (r.verification) {
    WriteVerification(w, *r.verification);
  } else {
    w.Null();
  }
  w.Key("dlq_records");
  OptInt(w, r.dlq_records);

  w.Key("thresholds");
  w.StartArray();
  for (const ThresholdOutcome& t : r.thresholds) {
    w.StartObject();
    w.Key("expression");
    Str(w, t.threshold.text);
    w.Key("metric");
    Str(w, t.threshold.metric);
    w.Key("passed");
    w.Bool(t.passed);
    w.Key("actual");
    OptNum(w, t.actual);
    w.Key("message");
    Str(w, t.message);
    w.EndObject();
  }
  w.EndArray();
  w.Key("passed");
  w.Bool(AllPassed(r));
  w.Key("notes");
  StrList(w, r.notes);

  w.Key("series");
  w.StartArray();
  for (const Sample& s : r.samples) {
    w.StartObject();
    w.Key("t_s");
    Num(w, s.t_s);
    w.Key("produced");
    w.Int64(s.produced);
    w.Key("acked");
    w.Int64(s.acked);
    w.Key("delivered");
    OptInt(w, s.delivered);
    w.Key("backlog");
    OptInt(w, s.backlog);
    w.Key("lag");
    w.StartArray();
    for (int64_t v : s.lag) w.Int64(v);
    w.EndArray();
    w.Key("api_calls");
    OptInt(w, s.api_calls);
    w.Key("errors");
    OptInt(w, s.errors);
    w.Key("dlq_records");
    OptInt(w, s.dlq_records);
    w.Key("generator_behind_s");
    Num(w, s.generator_behind_s);
    w.EndObject();
  }
  w.EndArray();
  w.Key("delivered_per_s");
  w.StartArray();
  for (int64_t v : r.delivered_per_s) w.Int64(v);
  w.EndArray();
  w.Key("delivered_series");
  w.StartObject();
  w.Key("bin_s");
  Num(w, r.delivered_bin_s);
  w.Key("counts");
  w.StartArray();
  for (int64_t v : r.delivered_per_bin) w.Int64(v);
  w.EndArray();
  w.EndObject();
  w.Key("latency_series");
  w.StartObject();
  w.Key("bin_s");
  Num(w, r.latency_series.bin_s);
  w.Key("points");
  w.StartArray();
  for (const LatencyPoint& p : r.latency_series.points) {
    w.StartObject();
    w.Key("t_s");
    Num(w, p.t_s);
    w.Key("count");
    w.Int64(p.count);
    w.Key("p50_ms");
    Num(w, p.p50_ms);
    w.Key("p90_ms");
    Num(w, p.p90_ms);
    w.Key("p99_ms");
    Num(w, p.p99_ms);
    w.Key("max_ms");
    Num(w, p.max_ms);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.Key("relay_settings");
  if (r.relay_settings) {
    const RelaySettings& rs = *r.relay_settings;
    w.StartObject();
    w.Key("mode");
    if (rs.mode) {
      Str(w, *rs.mode);
    } else {
      w.Null();
    }
    w.Key("max_records");
    OptInt(w, rs.max_records);
    w.Key("linger_ms");
    OptNum(w, rs.linger_ms);
    w.Key("max_in_flight");
    OptInt(w, rs.max_in_flight);
    w.Key("requests_per_second");
    OptNum(w, rs.requests_per_second);
    w.Key("records_per_second");
    OptNum(w, rs.records_per_second);
    w.Key("in_flight_limit");
    OptNum(w, rs.in_flight_limit);
    w.Key("request_rate_limit");
    OptNum(w, rs.request_rate_limit);
    w.EndObject();
  } else {
    w.Null();
  }
  w.Key("gateway");
  internal::WriteGatewayJson(w, r.gateway);
  w.Key("sfsim_latency");
  if (r.sfsim_latency) {
    const SfsimLatencyModel& m = *r.sfsim_latency;
    w.StartObject();
    w.Key("base_ms");
    Num(w, m.base_ms);
    w.Key("per_record_ms");
    Num(w, m.per_record_ms);
    w.Key("tail_median_ms");
    Num(w, m.tail_median_ms);
    w.Key("tail_sigma");
    Num(w, m.tail_sigma);
    w.Key("max_ms");
    Num(w, m.max_ms);
    w.EndObject();
  } else {
    w.Null();
  }
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::string ReportToCsv(const Report& r) {
  size_t partitions = 0;
  bool gateway = false;  // --via: the gateway's answers so far, per sample
  for (const Sample& s : r.samples) {
    partitions = std::max(partitions, s.lag.size());
    gateway = gateway || s.gateway_requests.has_value();
  }
  std::string out =
      "t_s,produced,acked,delivered,backlog,api_calls,errors,dlq_records,generator_behind_s,"
      "produced_per_s,delivered_per_s";
  if (gateway) out += ",gateway_requests,gateway_202,gateway_429,gateway_503";
  for (size_t p = 0; p < partitions; ++p) out += fmt::format(",lag_p{}", p);
  out += "\n";
  const auto opt = [](const std::optional<int64_t>& v) {
    return v ? std::to_string(*v) : std::string();
  };
  const Sample* prev = nullptr;
  for (const Sample& s : r.samples) {
    std::string produced_rate, delivered_rate;
    if (prev && s.t_s > prev->t_s) {
      const double dt = s.t_s - prev->t_s;
      produced_rate = fmt::format("{:.3f}", static_cast<double>(s.produced - prev->produced) / dt);
      if (s.delivered && prev->delivered) {
        delivered_rate =
            fmt::format("{:.3f}", static_cast<double>(*s.delivered - *prev->delivered) / dt);
      }
    }
    out += fmt::format("{:.3f},{},{},{},{},{},{},{},{:.6f},{},{}", s.t_s, s.produced, s.acked,
                       opt(s.delivered), opt(s.backlog), opt(s.api_calls), opt(s.errors),
                       opt(s.dlq_records), s.generator_behind_s, produced_rate, delivered_rate);
    if (gateway) {
      out += fmt::format(",{},{},{},{}", opt(s.gateway_requests), opt(s.gateway_202),
                         opt(s.gateway_429), opt(s.gateway_503));
    }
    for (size_t p = 0; p < partitions; ++p) {
      out += ",";
      if (p < s.lag.size()) out += std::to_string(s.lag[p]);
    }
    out += "\n";
    prev = &s;
  }
  return out;
}

std::string ReportSummary(const Report& r) {
  std::string out;
  const GeneratorFigures& g = r.generator;
  out +=
      fmt::format("produced      {} events ({} acked, {} failed) at {:.0f} events/s, {:.1f} MB/s\n",
                  g.produced, g.acked, g.failed + g.uncertain, g.events_per_s, g.mb_per_s);
  if (g.bottleneck) {
    out +=
        fmt::format("generator     FELL BEHIND schedule by up to {:.3f} s: it was the bottleneck\n",
                    g.max_behind_s);
  }
  out += fmt::format("drain time    {}\n", OptText(r.drain.drain_time_s, " s"));
  out += fmt::format("delivered/s   {}\n", OptText(r.drain.delivered_per_s, "", 0));
  out += fmt::format("peak backlog  {}\n", OptText(r.drain.peak_backlog));
  if (r.latency.count > 0) {
    out += fmt::format(
        "latency       p50 {:.1f} ms, p90 {:.1f} ms, p99 {:.1f} ms, p99.9 {:.1f} ms, max {:.1f} "
        "ms\n",
        r.latency.p50_ms, r.latency.p90_ms, r.latency.p99_ms, r.latency.p999_ms, r.latency.max_ms);
  }
  if (r.gateway) {
    const GatewayFigures& gw = *r.gateway;
    out += fmt::format(
        "gateway       {} requests: 202 {}, 429 {}, 503 {}, no answer {}, retries {}; time to 202 "
        "(from {}) p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms\n",
        gw.requests, internal::StatusCount(gw, 202), internal::StatusCount(gw, 429),
        internal::StatusCount(gw, 503), internal::StatusCount(gw, 0), gw.retries,
        gw.time_to_202_from == "intended" ? "intended send" : "hand-over", gw.time_to_202.p50_ms,
        gw.time_to_202.p99_ms, gw.time_to_202.max_ms);
  }
  if (r.verification) {
    const Verification& v = *r.verification;
    out += fmt::format(
        "verified      delivered {}/{}, dead-lettered {}, missing {}, duplicates {}, out of order "
        "{}, invalid in DLQ {}/{}\n",
        v.delivered, v.expected, v.valid_in_dlq, v.missing, v.duplicates, v.out_of_order,
        v.invalid_in_dlq, v.invalid_produced);
  } else {
    out += "verified      not verified (no ledger)\n";
  }
  for (const std::string& n : r.notes) out += "note          " + n + "\n";
  for (const ThresholdOutcome& t : r.thresholds) {
    out += fmt::format("assert        {}\n", t.message);
  }
  return out;
}

std::string RedactUrlCredentials(std::string_view text) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t scheme = text.find("://", pos);
    if (scheme == std::string_view::npos) break;
    const size_t start = scheme + 3;
    size_t end = start;
    while (end < text.size() && text[end] != '/' && text[end] != '?' && text[end] != '#' &&
           text[end] != ' ' && text[end] != '\t' && text[end] != '\n' && text[end] != '"') {
      ++end;
    }
    const size_t at = text.substr(start, end - start).rfind('@');
    out.append(text.substr(pos, start - pos));
    if (at != std::string_view::npos) {
      out += "<redacted>";
      out.append(text.substr(start + at, end - start - at));
    } else {
      out.append(text.substr(start, end - start));
    }
    pos = end;
  }
  out.append(text.substr(pos));
  return out;
}

Status WriteFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return UnavailableError("cannot write " + tmp);
    f.write(content.data(), static_cast<std::streamsize>(content.size()));
    f.flush();
    if (!f) return UnavailableError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return UnavailableError("cannot rename " + tmp + " to " + path);
  }
  return Status::Ok();
}

}  // namespace sluice::flood

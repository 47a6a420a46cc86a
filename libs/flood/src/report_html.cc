// The HTML report: the summary table, static SVG charts drawn here (readable without JavaScript),
// the interactive charts of html_template.h's script, and the report's JSON.
#include <fmt/format.h>

#include <cmath>

#include "html_template.h"
#include "report_gateway.h"
#include "report_text.h"
#include "sluice/flood/report.h"
#include "sluice/flood/svg_chart.h"

namespace sluice::flood {
namespace {

using internal::AllPassed;
using internal::OptText;

// Rates between consecutive samples of a cumulative figure, as steps: each rate holds over its
// interval, and the last one ends at the last sample.
template <typename Get>
std::vector<std::pair<double, double>> SampleRates(const std::vector<Sample>& samples, Get get) {
  std::vector<std::pair<double, double>> out;
  for (size_t i = 1; i < samples.size(); ++i) {
    const Sample& a = samples[i - 1];
    const Sample& b = samples[i];
    const std::optional<int64_t> va = get(a), vb = get(b);
    const double dt = b.t_s - a.t_s;
    if (!(dt > 0) || !va || !vb) continue;
    out.emplace_back(a.t_s, std::max(0.0, static_cast<double>(*vb - *va) / dt));
  }
  if (!out.empty()) out.emplace_back(samples.back().t_s, out.back().second);
  return out;
}

// Per-bin counts as a rate per second, as steps over each whole bin: the line runs to the end of
// the last bin that had a delivery.
std::vector<std::pair<double, double>> BinRates(const std::vector<int64_t>& counts, double bin_s) {
  std::vector<std::pair<double, double>> out;
  if (!(bin_s > 0)) return out;
  for (size_t i = 0; i < counts.size(); ++i) {
    out.emplace_back(bin_s * static_cast<double>(i), static_cast<double>(counts[i]) / bin_s);
  }
  if (!out.empty()) out.emplace_back(bin_s * static_cast<double>(counts.size()), out.back().second);
  return out;
}

// The samples with the run's start in front: every cumulative figure is 0 at t = 0, so the first
// interval (before the first sample) is drawn too.
std::vector<Sample> FromStart(const std::vector<Sample>& samples) {
  std::vector<Sample> out;
  if (samples.empty()) return out;
  if (samples.front().t_s > 0) {
    Sample zero;
    if (!samples.empty() && samples.front().delivered) zero.delivered = 0;
    out.push_back(zero);
  }
  out.insert(out.end(), samples.begin(), samples.end());
  return out;
}

std::string ThroughputChart(const Report& r) {
  const std::vector<Sample> samples = FromStart(r.samples);
  LineChart c{"Produced, acknowledged and delivered events per second",
              "seconds since start",
              "events / s",
              {}};
  c.series.push_back(
      {"produced", SampleRates(samples, [](const Sample& s) { return std::optional(s.produced); }),
       true});
  c.series.push_back({"acked",
                      SampleRates(samples, [](const Sample& s) { return std::optional(s.acked); }),
                      true, true});
  if (!r.delivered_per_bin.empty()) {
    c.series.push_back({"delivered", BinRates(r.delivered_per_bin, r.delivered_bin_s), true});
  } else {
    c.series.push_back(
        {"delivered", SampleRates(samples, [](const Sample& s) { return s.delivered; }), true});
  }
  return SvgLineChart(c);
}

std::string CumulativeChart(const Report& r) {
  const std::vector<Sample> samples = FromStart(r.samples);
  LineChart c{
      "Events produced, acknowledged and delivered so far", "seconds since start", "events", {}};
  ChartSeries produced{"produced", {}}, acked{"acked", {}, false, true}, delivered{"delivered", {}};
  for (const Sample& s : samples) {
    produced.points.emplace_back(s.t_s, static_cast<double>(s.produced));
    acked.points.emplace_back(s.t_s, static_cast<double>(s.acked));
  }
  if (!r.delivered_per_bin.empty()) {
    // From the ledger: exact first deliveries at each bin's end.
    int64_t sum = 0;
    delivered.points.emplace_back(0, 0);
    for (size_t i = 0; i < r.delivered_per_bin.size(); ++i) {
      sum += r.delivered_per_bin[i];
      delivered.points.emplace_back(r.delivered_bin_s * static_cast<double>(i + 1),
                                    static_cast<double>(sum));
    }
  } else {
    for (const Sample& s : samples) {
      if (s.delivered) delivered.points.emplace_back(s.t_s, static_cast<double>(*s.delivered));
    }
  }
  c.series = {produced, acked, delivered};
  return SvgLineChart(c);
}

std::string BacklogChart(const Report& r) {
  LineChart c{"Backlog (consumer-group lag) over time", "seconds since start", "events", {}};
  ChartSeries total{"backlog", {}}, dlq{"DLQ records", {}, false, true};
  size_t parts = 0;
  for (const Sample& s : r.samples) parts = std::max(parts, s.lag.size());
  std::vector<ChartSeries> per(parts > 1 && parts <= 6 ? parts : 0);
  for (size_t p = 0; p < per.size(); ++p) per[p].name = fmt::format("partition {}", p);
  for (const Sample& s : r.samples) {
    if (s.backlog) total.points.emplace_back(s.t_s, static_cast<double>(*s.backlog));
    if (s.dlq_records) dlq.points.emplace_back(s.t_s, static_cast<double>(*s.dlq_records));
    for (size_t p = 0; p < per.size() && p < s.lag.size(); ++p) {
      per[p].points.emplace_back(s.t_s, static_cast<double>(s.lag[p]));
    }
  }
  c.series.push_back(total);
  for (auto& p : per) c.series.push_back(std::move(p));
  c.series.push_back(dlq);
  return SvgLineChart(c);
}

std::string LatencyOverTimeChart(const Report& r) {
  LineChart c{"End-to-end latency percentiles by delivery time",
              "seconds since start (delivery)",
              "milliseconds",
              {}};
  ChartSeries p50{"p50", {}}, p90{"p90", {}}, p99{"p99", {}}, max{"max", {}, false, true};
  for (const LatencyPoint& p : r.latency_series.points) {
    p50.points.emplace_back(p.t_s, p.p50_ms);
    p90.points.emplace_back(p.t_s, p.p90_ms);
    p99.points.emplace_back(p.t_s, p.p99_ms);
    max.points.emplace_back(p.t_s, p.max_ms);
  }
  c.series = {p50, p90, p99, max};
  return SvgLineChart(c);
}

std::string LatencyDistributionChart(const Report& r) {
  if (r.latency.count == 0) return "<p class=\"empty\">no deliveries measured</p>\n";
  return SvgHistogram("Distribution of end-to-end latency", "milliseconds (log scale)",
                      r.latency.buckets,
                      {{"p50", r.latency.p50_ms},
                       {"p90", r.latency.p90_ms},
                       {"p99", r.latency.p99_ms},
                       {"p99.9", r.latency.p999_ms}});
}

std::string PercentilesChart(const Report& r) {
  if (r.latency.count == 0) return "<p class=\"empty\">no deliveries measured</p>\n";
  return SvgBarChart("End-to-end latency percentiles", "milliseconds",
                     {{"p50", r.latency.p50_ms},
                      {"p90", r.latency.p90_ms},
                      {"p99", r.latency.p99_ms},
                      {"p99.9", r.latency.p999_ms},
                      {"max", r.latency.max_ms}});
}

std::string ErrorsChart(const Report& r) {
  std::vector<Bar> bars;
  for (const auto& [code, n] : r.api.errors_by_code) bars.push_back({code, static_cast<double>(n)});
  bars.push_back(
      {"produce failed", static_cast<double>(r.generator.failed + r.generator.uncertain)});
  if (r.verification) {
    bars.push_back({"missing", static_cast<double>(r.verification->missing)});
    bars.push_back({"dead-lettered", static_cast<double>(r.verification->valid_in_dlq)});
    bars.push_back({"duplicates", static_cast<double>(r.verification->duplicates)});
    bars.push_back({"out of order", static_cast<double>(r.verification->out_of_order)});
  }
  return SvgBarChart("Errors", "count", bars);
}

std::string Opt(const std::optional<double>& v, const char* unit = "") {
  return v ? fmt::format("{:g}{}", *v, unit) : std::string("not stated");
}
std::string Opt(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("not stated");
}

}  // namespace

std::string RelaySettingsText(const std::optional<RelaySettings>& s) {
  if (!s) return "not recorded (no --relay-metrics, or the relay does not export them)";
  return fmt::format(
      "mode: {} · batch size (max_records) {} · linger {} · in flight {} (this instance now {}) · "
      "requests/s {} (allowed now {}) · records/s {}",
      s->mode.value_or("not stated"), Opt(s->max_records), Opt(s->linger_ms, " ms"),
      Opt(s->max_in_flight), Opt(s->in_flight_limit), Opt(s->requests_per_second),
      Opt(s->request_rate_limit), Opt(s->records_per_second));
}

std::string SfsimLatencyText(const std::optional<SfsimLatencyModel>& m) {
  if (!m) return "not recorded (no --sfsim)";
  return fmt::format(
      "base {:g} ms + {:g} ms per record + lognormal tail (median {:g} ms, sigma {:g}), capped at "
      "{:g} ms",
      m->base_ms, m->per_record_ms, m->tail_median_ms, m->tail_sigma, m->max_ms);
}

std::string ReportToHtml(const Report& r) {
  std::string rows;
  const auto row = [&](std::string_view name, const std::string& value) {
    rows += fmt::format("<tr><th>{}</th><td>{}</td></tr>\n", HtmlEscape(name), HtmlEscape(value));
  };
  const GeneratorFigures& g = r.generator;
  row("mode", r.inputs.mode + " — " + r.inputs.schedule);
  row("topic", r.inputs.topic);
  row("produced",
      fmt::format("{} events, {} acked, {} failed; {:.0f} events/s, {:.1f} MB/s", g.produced,
                  g.acked, g.failed + g.uncertain, g.events_per_s, g.mb_per_s));
  row("generator behind schedule",
      fmt::format("max {:.3f} s{}", g.max_behind_s,
                  g.bottleneck ? " — the generator was the bottleneck" : ""));
  row("drain time", OptText(r.drain.drain_time_s, " s"));
  row("time to first delivery", OptText(r.drain.time_to_first_delivery_s, " s"));
  row("delivered per second", OptText(r.drain.delivered_per_s, "", 0));
  row("peak backlog", OptText(r.drain.peak_backlog));
  if (r.latency.count > 0) {
    row("latency (intended send → ledger)",
        fmt::format(
            "p50 {:.1f} ms · p90 {:.1f} ms · p99 {:.1f} ms · p99.9 {:.1f} ms · max {:.1f} ms",
            r.latency.p50_ms, r.latency.p90_ms, r.latency.p99_ms, r.latency.p999_ms,
            r.latency.max_ms));
  }
  if (r.gateway) {
    const GatewayFigures& gw = *r.gateway;
    row("through sluice-gateway",
        fmt::format("{} · {} requests: 202 {} · 429 {} · 503 {} · no answer {} · retries {} · {} "
                    "events accepted",
                    gw.url, gw.requests, internal::StatusCount(gw, 202),
                    internal::StatusCount(gw, 429), internal::StatusCount(gw, 503),
                    internal::StatusCount(gw, 0), gw.retries, gw.events_accepted));
    row(gw.time_to_202_from == "intended" ? "time to 202 (intended send → 202)"
                                          : "time to 202 (request complete → 202)",
        fmt::format(
            "p50 {:.1f} ms · p90 {:.1f} ms · p99 {:.1f} ms · p99.9 {:.1f} ms · max {:.1f} ms",
            gw.time_to_202.p50_ms, gw.time_to_202.p90_ms, gw.time_to_202.p99_ms,
            gw.time_to_202.p999_ms, gw.time_to_202.max_ms));
  }
  if (r.verification) {
    const Verification& v = *r.verification;
    row("verification",
        fmt::format("delivered {}/{} · dead-lettered {} · missing {} · duplicates {} · out of "
                    "order {}",
                    v.delivered, v.expected, v.valid_in_dlq, v.missing, v.duplicates,
                    v.out_of_order));
    row("invalid events", fmt::format("{} produced · {} in DLQ · {} delivered", v.invalid_produced,
                                      v.invalid_in_dlq, v.invalid_delivered));
  } else {
    row("verification", "not verified (no ledger)");
  }
  row("API calls", OptText(r.api.api_calls));
  row("records per call", OptText(r.api.records_per_call, "", 1));
  row("DLQ records", OptText(r.dlq_records));
  row("relay settings", RelaySettingsText(r.relay_settings));
  row("sfsim latency model", SfsimLatencyText(r.sfsim_latency));
  row("sampled every", fmt::format("{:g} s", r.delivered_bin_s));
  row("versions",
      fmt::format(
          "sluice-flood {} · librdkafka {}", r.environment.tool_version,
          r.environment.librdkafka_version.empty() ? "unknown" : r.environment.librdkafka_version));
  row("command line", r.environment.command_line);
  for (const ThresholdOutcome& t : r.thresholds) row("assert", t.message);
  for (const std::string& n : r.notes) row("note", n);

  const std::map<std::string_view, std::string> values = {
      {"TITLE", HtmlEscape(fmt::format("sluice-flood {} on {}", r.inputs.mode, r.inputs.topic))},
      {"VERDICT", AllPassed(r) ? "pass" : "fail"},
      {"STARTED", HtmlEscape(r.environment.started_at)},
      {"ROWS", rows},
      {"SVG_THROUGHPUT", ThroughputChart(r)},
      {"SVG_CUMULATIVE", CumulativeChart(r)},
      {"SVG_BACKLOG", BacklogChart(r)},
      {"SVG_LATENCY", LatencyOverTimeChart(r)},
      {"SVG_DISTRIBUTION", LatencyDistributionChart(r)},
      {"SVG_PERCENTILES", PercentilesChart(r)},
      {"SVG_ERRORS", ErrorsChart(r)},
      {"DATA", internal::ForScript(ReportToJson(r))},
  };
  return internal::FillTemplate(kHtmlTemplate, values);
}

}  // namespace sluice::flood

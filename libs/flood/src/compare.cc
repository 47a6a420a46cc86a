#include "sluice/flood/compare.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <vector>

#include "report_text.h"
#include "sluice/flood/report.h"
#include "sluice/flood/svg_chart.h"
#include "sluice/schemas/schemas.h"

namespace sluice::flood {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::optional<double> NumAt(const rapidjson::Value& doc, const char* pointer) {
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
  if (v == nullptr || !v->IsNumber()) return std::nullopt;
  const double d = v->GetDouble();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

std::string StrAt(const rapidjson::Value& doc, const char* pointer) {
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
  if (v == nullptr || !v->IsString()) return "";
  return std::string(v->GetString(), v->GetStringLength());
}

std::string Fmt(const std::optional<double>& v, int digits = 0, const char* unit = "") {
  if (!v) return "—";
  return fmt::format("{:.{}f}{}", *v, digits, unit);
}

// A report nests 5 levels deep; the schema validator (and this page) walk a document
// recursively, so anything deeper than this is refused before it is walked.
constexpr size_t kMaxDepth = 32;

// Whether `v` nests deeper than `limit`, found without recursion.
bool DeeperThan(const rapidjson::Value& root, size_t limit) {
  std::vector<std::pair<const rapidjson::Value*, size_t>> stack = {{&root, 1}};
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    if (depth > limit) return true;
    if (v->IsArray()) {
      for (const auto& item : v->GetArray()) {
        if (item.IsArray() || item.IsObject()) stack.emplace_back(&item, depth + 1);
      }
    } else if (v->IsObject()) {
      for (const auto& m : v->GetObject()) {
        if (m.value.IsArray() || m.value.IsObject()) stack.emplace_back(&m.value, depth + 1);
      }
    }
  }
  return false;
}

// One run's figures, as the page shows them.
struct Run {
  std::string name;
  std::unique_ptr<rapidjson::Document> doc;
  std::optional<double> Num(const char* pointer) const { return NumAt(*doc, pointer); }
  std::string Str(const char* pointer) const { return StrAt(*doc, pointer); }
};

Result<Run> ParseRun(const ReportText& in, const rapidjson::SchemaDocument& schema) {
  Run run;
  run.name = in.name;
  run.doc = std::make_unique<rapidjson::Document>();
  rapidjson::Document& d = *run.doc;
  // Iterative parsing: deeply nested hostile input cannot exhaust the stack.
  d.Parse<rapidjson::kParseIterativeFlag>(in.json.data(), in.json.size());
  if (d.HasParseError()) {
    return InvalidArgumentError(fmt::format("{}: not JSON: {} at byte {}", in.name,
                                            rapidjson::GetParseError_En(d.GetParseError()),
                                            d.GetErrorOffset()));
  }
  if (!d.IsObject() || !d.HasMember("schema") || !d["schema"].IsString() ||
      std::string_view(d["schema"].GetString()) != kReportSchema) {
    return InvalidArgumentError(fmt::format(
        "{}: not a sluice-flood report (expected \"schema\": \"{}\")", in.name, kReportSchema));
  }
  if (DeeperThan(d, kMaxDepth)) {
    return InvalidArgumentError(fmt::format(
        "{}: nested more than {} levels deep; not a sluice-flood report", in.name, kMaxDepth));
  }
  rapidjson::SchemaValidator validator(schema);
  if (!d.Accept(validator)) {
    rapidjson::StringBuffer where;
    validator.GetInvalidDocumentPointer().StringifyUriFragment(where);
    return InvalidArgumentError(fmt::format("{}: does not match {} at {} ({})", in.name,
                                            kReportSchema, where.GetString(),
                                            validator.GetInvalidSchemaKeyword()));
  }
  return run;
}

// Delivered events per second over time: the fine series when present, else the 1 s one.
std::vector<std::pair<double, double>> DeliveredRate(const Run& r) {
  std::vector<std::pair<double, double>> out;
  const rapidjson::Value& d = *r.doc;
  double bin = 1;
  const rapidjson::Value* counts = rapidjson::Pointer("/delivered_series/counts").Get(d);
  if (auto b = NumAt(d, "/delivered_series/bin_s");
      b && *b > 0 && counts && counts->IsArray() && !counts->Empty()) {
    bin = *b;
  } else {
    counts = rapidjson::Pointer("/delivered_per_s").Get(d);
  }
  if (counts == nullptr || !counts->IsArray()) return out;
  size_t i = 0;
  for (const auto& c : counts->GetArray()) {
    if (c.IsNumber()) out.emplace_back(bin * static_cast<double>(i), c.GetDouble() / bin);
    ++i;
  }
  if (!out.empty()) out.emplace_back(bin * static_cast<double>(i), out.back().second);
  return out;
}

std::vector<std::pair<double, double>> Backlog(const Run& r) {
  std::vector<std::pair<double, double>> out;
  const rapidjson::Value* series = rapidjson::Pointer("/series").Get(*r.doc);
  if (series == nullptr || !series->IsArray()) return out;
  for (const auto& s : series->GetArray()) {
    auto t = NumAt(s, "/t_s");
    auto b = NumAt(s, "/backlog");
    if (t && b) out.emplace_back(*t, *b);
  }
  return out;
}

std::string Settings(const Run& r) {
  const rapidjson::Value* s = rapidjson::Pointer("/relay_settings").Get(*r.doc);
  if (s == nullptr || !s->IsObject()) return "not recorded";
  RelaySettings rs;
  if (auto m = StrAt(*s, "/mode"); !m.empty()) rs.mode = m;
  const auto i = [&](const char* p) -> std::optional<int64_t> {
    auto v = NumAt(*s, p);
    if (!v) return std::nullopt;
    return static_cast<int64_t>(*v);
  };
  rs.max_records = i("/max_records");
  rs.linger_ms = NumAt(*s, "/linger_ms");
  rs.max_in_flight = i("/max_in_flight");
  rs.requests_per_second = NumAt(*s, "/requests_per_second");
  rs.records_per_second = NumAt(*s, "/records_per_second");
  rs.in_flight_limit = NumAt(*s, "/in_flight_limit");
  rs.request_rate_limit = NumAt(*s, "/request_rate_limit");
  return RelaySettingsText(rs);
}

std::string Latency(const Run& r) {
  const rapidjson::Value* m = rapidjson::Pointer("/sfsim_latency").Get(*r.doc);
  if (m == nullptr || !m->IsObject()) return "not recorded";
  SfsimLatencyModel l;
  l.base_ms = NumAt(*m, "/base_ms").value_or(kNaN);
  l.per_record_ms = NumAt(*m, "/per_record_ms").value_or(kNaN);
  l.tail_median_ms = NumAt(*m, "/tail_median_ms").value_or(kNaN);
  l.tail_sigma = NumAt(*m, "/tail_sigma").value_or(kNaN);
  l.max_ms = NumAt(*m, "/max_ms").value_or(kNaN);
  return SfsimLatencyText(l);
}

}  // namespace

Result<CompareOptions> ParseCompareCommandLine(const std::vector<std::string>& argv,
                                               std::string* help) {
  CompareOptions o;
  CLI::App app{"sluice-flood compare: one HTML page that sets runs side by side.",
               "sluice-flood compare"};
  app.add_option("reports", o.reports, "report JSON files written by runs (PREFIX.json)")
      ->required();
  app.add_option("-o,--output", o.output, "the page to write (default flood-compare.html)");
  app.footer(
      "Example:\n  sluice-flood compare base.json rate50.json rate100.json -o compare.html\n"
      "Exit status: 0 written, 2 a bad command line or report file, 3 the page could not be "
      "written. See docs/FLOOD.md.");
  std::vector<std::string> args(argv.begin() + std::min<size_t>(2, argv.size()), argv.end());
  std::reverse(args.begin(), args.end());  // CLI11 takes them in reverse order
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    *help = app.help();
    return o;
  } catch (const CLI::ParseError& e) {
    return InvalidArgumentError(std::string("compare: ") + e.what() +
                                "; run 'sluice-flood compare --help' for usage");
  }
  if (o.reports.size() < 2) {
    return InvalidArgumentError("compare: needs at least two reports to set side by side");
  }
  if (o.reports.size() > kMaxCompareReports) {
    return InvalidArgumentError(
        fmt::format("compare: at most {} reports on one page", kMaxCompareReports));
  }
  if (o.output.empty()) return InvalidArgumentError("compare: --output must not be empty");
  return o;
}

Result<std::string> ReadReportFile(const std::string& path, uint64_t max_bytes) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFoundError(path + ": no such file");
  if (!S_ISREG(st.st_mode)) return InvalidArgumentError(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return InvalidArgumentError(fmt::format("{}: {} bytes, more than the {} a report may have",
                                            path, st.st_size, max_bytes));
  }
  std::ifstream f(path, std::ios::binary);
  if (!f) return NotFoundError(path + ": cannot be read");
  std::string text(static_cast<size_t>(st.st_size), '\0');
  f.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (!f) return UnavailableError(path + ": cannot be read");
  return text;
}

Result<std::string> CompareReportsToHtml(const std::vector<ReportText>& reports) {
  // The compiled-in schemas/flood-report.schema.json, built for this call (no global state).
  rapidjson::Document schema_doc;
  const std::string_view schema_text = schemas::Get("flood-report.schema.json").value();
  schema_doc.Parse(schema_text.data(), schema_text.size());
  const rapidjson::SchemaDocument schema(schema_doc);
  std::vector<Run> runs;
  for (const ReportText& in : reports) {
    ASSIGN_OR_RETURN(Run run, ParseRun(in, schema));
    runs.push_back(std::move(run));
  }
  std::vector<std::string> labels;
  for (size_t i = 0; i < runs.size(); ++i) labels.push_back(fmt::format("run {}", i + 1));

  std::string table = "<table class=\"compare\">\n<tr><th></th>";
  for (size_t i = 0; i < runs.size(); ++i) {
    table += fmt::format("<th>{}<br><span class=\"file\">{}</span></th>", labels[i],
                         HtmlEscape(runs[i].name));
  }
  table += "</tr>\n";
  const auto section = [&](std::string_view name) {
    table += fmt::format("<tr class=\"section\"><th colspan=\"{}\">{}</th></tr>\n", runs.size() + 1,
                         HtmlEscape(name));
  };
  const auto row = [&](std::string_view name, auto cell) {
    table += fmt::format("<tr><th>{}</th>", HtmlEscape(name));
    for (const Run& r : runs) table += "<td>" + HtmlEscape(cell(r)) + "</td>";
    table += "</tr>\n";
  };
  const auto num = [&](std::string_view name, const char* pointer, int digits = 0,
                       const char* unit = "") {
    row(name, [&](const Run& r) { return Fmt(r.Num(pointer), digits, unit); });
  };
  section("Run");
  row("mode",
      [](const Run& r) { return r.Str("/inputs/mode") + " — " + r.Str("/inputs/schedule"); });
  row("topic", [](const Run& r) { return r.Str("/inputs/topic"); });
  row("started", [](const Run& r) { return r.Str("/environment/started_at"); });
  row("verdict", [](const Run& r) {
    const rapidjson::Value* p = rapidjson::Pointer("/passed").Get(*r.doc);
    return p && p->IsBool() ? (p->GetBool() ? "pass" : "fail") : "—";
  });
  section("Settings");
  row("relay", Settings);
  row("sfsim latency model", Latency);
  num("events planned", "/inputs/events");
  num("keys", "/inputs/keys");
  row("payload sizes", [](const Run& r) { return r.Str("/inputs/payload_sizes"); });
  row("versions", [](const Run& r) {
    return r.Str("/environment/tool_version") + " · librdkafka " +
           r.Str("/environment/librdkafka_version");
  });
  section("Rates");
  num("produced events/s", "/generator/events_per_s");
  num("delivered events/s", "/drain/delivered_per_s");
  num("drain time", "/drain/drain_time_s", 2, " s");
  num("time to first delivery", "/drain/time_to_first_delivery_s", 2, " s");
  num("peak backlog", "/drain/peak_backlog");
  num("API calls", "/api/api_calls");
  num("records per call", "/api/records_per_call", 1);
  num("mean call latency", "/api/call_latency_s", 3, " s");
  section("Latency (intended send → ledger)");
  num("p50", "/latency/p50_ms", 1, " ms");
  num("p90", "/latency/p90_ms", 1, " ms");
  num("p99", "/latency/p99_ms", 1, " ms");
  num("p99.9", "/latency/p999_ms", 1, " ms");
  num("max", "/latency/max_ms", 1, " ms");
  section("Outcomes");
  num("produced", "/generator/produced");
  num("acked", "/generator/acked");
  num("delivered", "/verification/delivered");
  num("dead-lettered (valid events in the DLQ)", "/verification/valid_in_dlq");
  num("missing", "/verification/missing");
  num("duplicates", "/verification/duplicates");
  num("out of order", "/verification/out_of_order");
  num("DLQ records", "/dlq_records");
  table += "</table>\n";

  const auto values = [&](const char* pointer) {
    std::vector<double> v;
    for (const Run& r : runs) v.push_back(r.Num(pointer).value_or(kNaN));
    return v;
  };
  std::string charts;
  charts += "<figure><figcaption>Latency percentiles</figcaption>" +
            SvgGroupedBarChart("Latency percentiles by run", "milliseconds", labels,
                               {{"p50", values("/latency/p50_ms")},
                                {"p90", values("/latency/p90_ms")},
                                {"p99", values("/latency/p99_ms")},
                                {"p99.9", values("/latency/p999_ms")},
                                {"max", values("/latency/max_ms")}}) +
            "</figure>\n";
  charts += "<figure><figcaption>Rates</figcaption>" +
            SvgGroupedBarChart("Rates by run", "events / s", labels,
                               {{"produced/s", values("/generator/events_per_s")},
                                {"delivered/s", values("/drain/delivered_per_s")}}) +
            "</figure>\n";
  LineChart delivered{
      "Delivered per second over time, by run", "seconds since start", "events / s", {}};
  LineChart backlog{"Backlog over time, by run", "seconds since start", "events", {}};
  for (size_t i = 0; i < runs.size(); ++i) {
    delivered.series.push_back({labels[i], DeliveredRate(runs[i]), true});
    backlog.series.push_back({labels[i], Backlog(runs[i])});
  }
  charts += "<figure><figcaption>Delivered per second</figcaption>" + SvgLineChart(delivered) +
            "</figure>\n";
  charts += "<figure><figcaption>Backlog</figcaption>" + SvgLineChart(backlog) + "</figure>\n";

  return fmt::format(R"HTML(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sluice-flood: {} runs compared</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; }}
h1 {{ font-size: 20px; }}
table.compare {{ border-collapse: collapse; width: 100%; margin: 16px 0; }}
table.compare th, table.compare td {{ border-bottom: 1px solid #eee; padding: 4px 8px; text-align: left; vertical-align: top; }}
table.compare tr.section th {{ background: #f3f3f3; padding-top: 10px; }}
.file {{ font-weight: normal; color: #666; font-size: 12px; }}
figure {{ margin: 24px 0; }} figcaption {{ font-weight: 600; margin-bottom: 4px; }}
svg.chart-svg {{ width: 100%; height: auto; background: #fafafa; border: 1px solid #eee; }}
svg .axis {{ stroke: #999; }} svg .grid {{ stroke: #e5e5e5; }}
svg text {{ font: 11px system-ui, sans-serif; fill: #555; }}
.empty {{ color: #888; font-style: italic; }}
</style>
</head>
<body data-runs="{}">
<h1>sluice-flood: {} runs compared</h1>
<p>Static page: no script, no network. "—" is a figure the run did not measure.</p>
{}{}</body>
</html>
)HTML",
                     runs.size(), runs.size(), runs.size(), table, charts);
}

int RunCompare(const CompareOptions& options, std::string* error) {
  std::vector<ReportText> texts;
  for (const std::string& path : options.reports) {
    auto text = ReadReportFile(path);
    if (!text.ok()) {
      *error = text.status().message();
      return 2;
    }
    texts.push_back({path, std::move(*text)});
  }
  auto html = CompareReportsToHtml(texts);
  if (!html.ok()) {
    *error = html.status().message();
    return 2;
  }
  if (Status st = WriteFile(options.output, *html); !st.ok()) {
    *error = st.message();
    return 3;
  }
  return 0;
}

}  // namespace sluice::flood

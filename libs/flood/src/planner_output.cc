// The planner's words: advice, text, JSON, and calibration from a run's report.
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>

#include "planner_internal.h"
#include "sluice/flood/planner.h"

namespace sluice::flood {
namespace {

bool Finite(double v) { return std::isfinite(v); }

std::string Duration(double s) {
  if (!Finite(s)) return "never";
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min ({:.0f} s)", s / 60, s);
  return fmt::format("{:.1f} h ({:.0f} s)", s / 3600, s);
}

std::string CollectionsAdvice(const PlanInput& in, const PlanResult& r) {
  const std::string& b = r.binding;
  if (b == "concurrency") {
    return fmt::format(
        "collections: {} calls in flight of {:.3g} s each allow {:.1f} calls/s; raise "
        "delivery.max_in_flight (Salesforce counts calls over 20 s against 25 long-running "
        "requests per org) or make the calls shorter",
        in.concurrency, in.call_latency_s, r.calls_per_s);
  }
  if (b == "requests_per_second") {
    return fmt::format(
        "collections: the ceiling of {:.0f} requests/s binds; raise delivery.requests_per_second "
        "(summed over instances) while the burst stays within the daily allocation ({:.1f}% of it "
        "now)",
        in.max_requests_per_s, 100 * r.daily_share);
  }
  if (b == "records_per_second") {
    return fmt::format(
        "collections: the ceiling of {:.0f} records/s binds; raise delivery.records_per_second",
        in.max_records_per_s);
  }
  if (b == "relay_capacity") {
    return fmt::format(
        "collections: {} relay instance(s) at {:.0f} events/s each bind; add instances, each on "
        "cores of its own",
        in.instances, in.relay_events_per_s);
  }
  if (b == "parent_locks") {
    return fmt::format(
        "collections: the parent with the most children holds {} of the {} events, and its "
        "children are written one call at a time (delivery.lock_fields); spread them over time "
        "or over more parents",
        r.largest_parent_children, in.events);
  }
  return fmt::format(
      "collections: {} calls do not fit the {} left of the daily allocation before the reserve; "
      "use Bulk API 2.0 ({} calls), raise the allocation, or spread the burst over days",
      r.api_calls, std::max<int64_t>(r.daily_remaining, 0), r.bulk.api_calls);
}

std::string BulkAdvice(const PlanInput& in, const PlanResult& r) {
  const std::string& b = r.bulk.binding;
  if (b == "bulk_processing") {
    return fmt::format(
        "bulk: {} job(s) at once, each processed at {:.0f} records/s, bind; more concurrent jobs "
        "or a faster org processing model",
        in.bulk_concurrent_jobs, in.bulk_records_per_s);
  }
  if (b == "relay_capacity") {
    return fmt::format("bulk: {} relay instance(s) at {:.0f} events/s each bind; add instances",
                       in.instances, in.relay_events_per_s);
  }
  if (b == "parent_locks") {
    return fmt::format(
        "bulk: the {} children of the largest parent go one job at a time; spread them over time",
        r.largest_parent_children);
  }
  if (b == "daily_allocation") {
    return fmt::format("bulk: its {} calls do not fit what is left of the daily API allocation",
                       r.bulk.api_calls);
  }
  return fmt::format(
      "bulk: the burst exceeds the 24 h Bulk API allocation of {} ({}); spread it "
      "over days",
      b == "bulk_daily_records" ? "records" : "batches",
      b == "bulk_daily_records" ? in.bulk_daily_records : in.bulk_daily_batches);
}

void WriteNumber(rapidjson::Writer<rapidjson::StringBuffer>& w, double v) {
  if (Finite(v)) {
    w.Double(v);
  } else {
    w.Null();
  }
}

}  // namespace

std::vector<std::string> Advise(const PlanInput& in, const PlanResult& r) {
  std::vector<std::string> out = {CollectionsAdvice(in, r), BulkAdvice(in, r)};
  const double calls_share = static_cast<double>(r.bulk.api_calls) /
                             static_cast<double>(std::max<int64_t>(r.api_calls, 1));
  out.push_back(fmt::format(
      "recommended: {} (drains in {} as collections, {} as bulk; bulk needs {:.2f}% of the calls "
      "collections would){}",
      r.recommended, Duration(r.drain_time_s), Duration(r.bulk.drain_time_s), 100 * calls_share,
      r.recommended == "bulk" ? "; sluice-relay writes collections only today (bulk delivery is "
                                "not built yet)"
                              : ""));
  return out;
}

std::string FormatPlan(const PlanInput& in, const PlanResult& r) {
  std::string out;
  out += fmt::format(
      "burst               {} events; {} records/call, {} in flight, {:.3g} s/call, {} relay "
      "instance(s)\n",
      in.events, in.records_per_call, in.concurrency, in.call_latency_s, in.instances);
  if (r.largest_parent_children > 0) {
    out += fmt::format("parents             {}, the largest with {} children\n", in.parents,
                       r.largest_parent_children);
  }
  out += fmt::format("{:<20}{:<28}{}\n", "", "collections", "bulk API 2.0");
  out += fmt::format(
      "{:<20}{:<28}{}\n", "API calls", r.api_calls,
      fmt::format("{} ({} jobs, {} batches)", r.bulk.api_calls, r.bulk.jobs, r.bulk.batches));
  out += fmt::format(
      "{:<20}{:<28}{}\n", "drain time",
      Duration(r.drain_time_s) + (r.fits_daily_allocation ? "" : " (at least)"),
      Duration(r.bulk.drain_time_s) + (r.bulk.fits_daily_allocations ? "" : " (at least)"));
  out +=
      fmt::format("{:<20}{:<28}{}\n", "throughput", fmt::format("{:.0f} events/s", r.events_per_s),
                  fmt::format("{:.0f} events/s", r.bulk.events_per_s));
  out += fmt::format(
      "{:<20}{:<28}{}\n", "daily allocations",
      fmt::format("{:.2f}% of {} calls{}", 100 * r.daily_share, in.daily_allocation,
                  r.fits_daily_allocation ? "" : ": DOES NOT FIT"),
      fmt::format("{:.2f}% calls, {:.2f}% records, {:.2f}% batches{}", 100 * r.bulk.daily_share,
                  100 * r.bulk.daily_records_share, 100 * r.bulk.daily_batches_share,
                  r.bulk.fits_daily_allocations ? "" : ": DOES NOT FIT"));
  out += fmt::format("{:<20}{:<28}{}\n", "binding limit", r.binding, r.bulk.binding);
  out += "limits (calls/s)   ";
  for (const PlanLimit& l : r.limits) out += fmt::format(" {}={:.1f}", l.name, l.calls_per_s);
  out += fmt::format("\ndaily remaining     {} calls before the reserve\n", r.daily_remaining);
  for (const std::string& a : r.advice) out += "- " + a + "\n";
  return out;
}

std::string PlanToJson(const PlanInput& in, const PlanResult& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  const auto i64 = [&](const char* k, int64_t v) {
    w.Key(k);
    w.Int64(v);
  };
  const auto num = [&](const char* k, double v) {
    w.Key(k);
    WriteNumber(w, v);
  };
  w.StartObject();
  w.Key("schema");
  w.String("sluice.flood.plan/v1");
  w.Key("input");
  w.StartObject();
  i64("events", in.events);
  num("records_per_call", in.records_per_call);
  i64("concurrency", in.concurrency);
  num("call_latency_s", in.call_latency_s);
  num("max_requests_per_s", in.max_requests_per_s);
  num("max_records_per_s", in.max_records_per_s);
  i64("daily_allocation", in.daily_allocation);
  i64("daily_used", in.daily_used);
  num("daily_reserve", in.daily_reserve);
  i64("instances", in.instances);
  num("relay_events_per_s", in.relay_events_per_s);
  i64("parents", in.parents);
  num("parent_zipf", in.parent_zipf);
  i64("bulk_records_per_job", in.bulk_records_per_job);
  i64("bulk_concurrent_jobs", in.bulk_concurrent_jobs);
  num("bulk_records_per_s", in.bulk_records_per_s);
  num("bulk_poll_interval_s", in.bulk_poll_interval_s);
  i64("bulk_daily_records", in.bulk_daily_records);
  i64("bulk_daily_batches", in.bulk_daily_batches);
  w.EndObject();
  i64("api_calls", r.api_calls);
  num("calls_per_s", r.calls_per_s);
  num("events_per_s", r.events_per_s);
  num("drain_time_s", r.drain_time_s);
  num("daily_share", r.daily_share);
  i64("daily_remaining", r.daily_remaining);
  w.Key("fits_daily_allocation");
  w.Bool(r.fits_daily_allocation);
  w.Key("binding");
  w.String(r.binding);
  w.Key("limits");
  w.StartObject();
  for (const PlanLimit& l : r.limits) num(l.name.c_str(), l.calls_per_s);
  w.EndObject();
  i64("largest_parent_children", r.largest_parent_children);
  w.Key("bulk");
  w.StartObject();
  i64("jobs", r.bulk.jobs);
  i64("batches", r.bulk.batches);
  i64("api_calls", r.bulk.api_calls);
  num("job_time_s", r.bulk.job_time_s);
  num("drain_time_s", r.bulk.drain_time_s);
  num("events_per_s", r.bulk.events_per_s);
  num("daily_share", r.bulk.daily_share);
  num("daily_records_share", r.bulk.daily_records_share);
  num("daily_batches_share", r.bulk.daily_batches_share);
  w.Key("fits_daily_allocations");
  w.Bool(r.bulk.fits_daily_allocations);
  w.Key("binding");
  w.String(r.bulk.binding);
  w.EndObject();
  w.Key("recommended");
  w.String(r.recommended);
  w.Key("advice");
  w.StartArray();
  for (const std::string& a : r.advice) w.String(a);
  w.EndArray();
  w.EndObject();
  return buf.GetString();
}

Result<Calibration> CalibrationFromReport(std::string_view report_json) {
  rapidjson::Document doc;
  // Iterative: a hostile, deeply nested file must not exhaust the stack.
  doc.Parse<rapidjson::kParseIterativeFlag>(report_json.data(), report_json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return InvalidArgumentError("the calibration report is not JSON");
  }
  if (!doc.HasMember("schema") || !doc["schema"].IsString() ||
      std::string_view(doc["schema"].GetString()) != "sluice.flood.report/v1") {
    return InvalidArgumentError(
        "the calibration report is not a sluice-flood report (schema sluice.flood.report/v1)");
  }
  if (!doc.HasMember("api") || !doc["api"].IsObject()) {
    return InvalidArgumentError("the calibration report has no api section");
  }
  const auto& api = doc["api"];
  Calibration c;
  const auto read = [&](const char* name, double* out) -> Status {
    if (!api.HasMember(name) || !api[name].IsNumber()) {
      return FailedPreconditionError(fmt::format(
          "the calibration report did not measure api.{} (was the relay's /metrics or sfsim's "
          "/sim/stats reachable during the run?)",
          name));
    }
    *out = api[name].GetDouble();
    if (!Finite(*out) || *out <= 0) {
      return InvalidArgumentError(fmt::format("api.{} in the report must be > 0", name));
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(read("call_latency_s", &c.call_latency_s));
  RETURN_IF_ERROR(read("records_per_call", &c.records_per_call));
  if (c.records_per_call > 200) c.records_per_call = 200;
  // Optional figures: a positive, finite number or nothing.
  const auto positive = [](const rapidjson::Value& o, const char* name) -> std::optional<double> {
    if (!o.IsObject() || !o.HasMember(name) || !o[name].IsNumber()) return std::nullopt;
    const double v = o[name].GetDouble();
    if (!Finite(v) || v <= 0 || v > 1e15) return std::nullopt;
    return v;
  };
  if (doc.HasMember("relay_settings")) {
    const auto& rs = doc["relay_settings"];
    if (auto v = positive(rs, "max_in_flight")) c.concurrency = static_cast<int64_t>(*v);
    c.max_requests_per_s = positive(rs, "requests_per_second");
    c.max_records_per_s = positive(rs, "records_per_second");
  }
  if (auto v = positive(api, "daily_max")) c.daily_allocation = static_cast<int64_t>(*v);
  if (api.HasMember("daily_used") && api["daily_used"].IsInt64() &&
      api["daily_used"].GetInt64() >= 0) {
    c.daily_used = api["daily_used"].GetInt64();
  }
  return c;
}

void ApplyCalibration(const Calibration& c, const std::vector<std::string>& keep, PlanInput* in) {
  const auto set = [&](const char* name, auto value, auto* field) {
    if (std::find(keep.begin(), keep.end(), name) == keep.end()) *field = value;
  };
  set("call_latency_s", c.call_latency_s, &in->call_latency_s);
  set("records_per_call", c.records_per_call, &in->records_per_call);
  if (c.concurrency) set("concurrency", *c.concurrency, &in->concurrency);
  if (c.max_requests_per_s)
    set("max_requests_per_s", *c.max_requests_per_s, &in->max_requests_per_s);
  if (c.max_records_per_s) set("max_records_per_s", *c.max_records_per_s, &in->max_records_per_s);
  if (c.daily_allocation) set("daily_allocation", *c.daily_allocation, &in->daily_allocation);
  if (c.daily_used) set("daily_used", *c.daily_used, &in->daily_used);
}

}  // namespace sluice::flood

#include "sluice/flood/planner.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <limits>

namespace sluice::flood {
namespace {

constexpr double kDaySeconds = 86400;

bool Finite(double v) { return std::isfinite(v); }

std::string Duration(double s) {
  if (s < 120) return fmt::format("{:.1f} s", s);
  if (s < 7200) return fmt::format("{:.1f} min ({:.0f} s)", s / 60, s);
  return fmt::format("{:.1f} h ({:.0f} s)", s / 3600, s);
}

}  // namespace

Status ValidatePlanInput(const PlanInput& in) {
  if (in.events <= 0) return InvalidArgumentError("--events must be > 0");
  if (in.events > (int64_t{1} << 40)) return InvalidArgumentError("--events is too large");
  if (!Finite(in.records_per_call) || in.records_per_call < 1 || in.records_per_call > 200) {
    return InvalidArgumentError("--records-per-call must be between 1 and 200");
  }
  if (in.concurrency <= 0 || in.concurrency > 100000) {
    return InvalidArgumentError("--concurrency must be between 1 and 100000");
  }
  if (!Finite(in.call_latency_s) || in.call_latency_s <= 0 || in.call_latency_s > 600) {
    return InvalidArgumentError("--call-latency must be > 0 and at most 600 s");
  }
  if (!Finite(in.max_requests_per_s) || in.max_requests_per_s < 0) {
    return InvalidArgumentError("--max-requests-per-s must be >= 0 (0 = no ceiling)");
  }
  if (!Finite(in.max_records_per_s) || in.max_records_per_s < 0) {
    return InvalidArgumentError("--max-records-per-s must be >= 0 (0 = no ceiling)");
  }
  if (in.daily_allocation <= 0) return InvalidArgumentError("--daily-allocation must be > 0");
  if (in.daily_used < 0) return InvalidArgumentError("--daily-used must be >= 0");
  if (!Finite(in.daily_reserve) || in.daily_reserve < 0 || in.daily_reserve >= 1) {
    return InvalidArgumentError("--daily-reserve must be in [0, 1)");
  }
  return Status::Ok();
}

Result<PlanResult> Plan(const PlanInput& in) {
  RETURN_IF_ERROR(ValidatePlanInput(in));
  PlanResult r;
  r.api_calls =
      static_cast<int64_t>(std::ceil(static_cast<double>(in.events) / in.records_per_call));

  // Little's law: with `concurrency` calls in flight each lasting `latency`, calls complete at
  // concurrency / latency per second.
  r.limits.push_back({"concurrency", static_cast<double>(in.concurrency) / in.call_latency_s});
  if (in.max_requests_per_s > 0) r.limits.push_back({"requests_per_second", in.max_requests_per_s});
  if (in.max_records_per_s > 0) {
    r.limits.push_back({"records_per_second", in.max_records_per_s / in.records_per_call});
  }
  const PlanLimit* binding = &r.limits.front();
  for (const PlanLimit& l : r.limits) {
    if (l.calls_per_s < binding->calls_per_s) binding = &l;
  }
  r.binding = binding->name;
  r.calls_per_s = binding->calls_per_s;
  r.drain_time_s = static_cast<double>(r.api_calls - 1) / r.calls_per_s + in.call_latency_s;

  const double usable_per_day =
      std::floor(static_cast<double>(in.daily_allocation) * (1 - in.daily_reserve));
  r.daily_remaining = static_cast<int64_t>(usable_per_day) - in.daily_used;
  r.daily_share = static_cast<double>(r.api_calls) / static_cast<double>(in.daily_allocation);
  if (r.api_calls > r.daily_remaining) {
    // The calls beyond what is left wait for the rolling 24 h window to free allocation: at best
    // one window per `usable_per_day` calls. A lower bound: it assumes the window frees all at
    // once.
    r.fits_daily_allocation = false;
    r.binding = "daily_allocation";
    const double beyond =
        static_cast<double>(r.api_calls - std::max<int64_t>(r.daily_remaining, 0));
    const double windows = usable_per_day > 0 ? std::ceil(beyond / usable_per_day)
                                              : std::numeric_limits<double>::infinity();
    r.drain_time_s = std::max(r.drain_time_s, windows * kDaySeconds);
  }
  r.events_per_s = Finite(r.drain_time_s) && r.drain_time_s > 0
                       ? static_cast<double>(in.events) / r.drain_time_s
                       : 0;
  return r;
}

std::string FormatPlan(const PlanInput& in, const PlanResult& r) {
  std::string out;
  out +=
      fmt::format("burst               {} events, {} records/call, {} in flight, {:.3g} s/call\n",
                  in.events, in.records_per_call, in.concurrency, in.call_latency_s);
  out += fmt::format("API calls needed    {}\n", r.api_calls);
  out += fmt::format("drain time          {}{}\n",
                     Finite(r.drain_time_s) ? Duration(r.drain_time_s) : std::string("never"),
                     r.fits_daily_allocation ? "" : " (at least: waits for the 24 h window)");
  out += fmt::format("throughput          {:.1f} calls/s, {:.0f} events/s\n", r.calls_per_s,
                     r.events_per_s);
  out += fmt::format("daily allocation    {:.2f}% of {} ({} left before the reserve){}\n",
                     100 * r.daily_share, in.daily_allocation, r.daily_remaining,
                     r.fits_daily_allocation ? "" : ": DOES NOT FIT");
  out += "limits (calls/s)   ";
  for (const PlanLimit& l : r.limits) out += fmt::format(" {}={:.1f}", l.name, l.calls_per_s);
  out += "\n";
  out += fmt::format("binding limit       {}\n", r.binding);
  return out;
}

std::string PlanToJson(const PlanInput& in, const PlanResult& r) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  const auto number = [&](double v) {
    if (Finite(v)) {
      w.Double(v);
    } else {
      w.Null();
    }
  };
  w.StartObject();
  w.Key("schema");
  w.String("sluice.flood.plan/v1");
  w.Key("input");
  w.StartObject();
  w.Key("events");
  w.Int64(in.events);
  w.Key("records_per_call");
  w.Double(in.records_per_call);
  w.Key("concurrency");
  w.Int64(in.concurrency);
  w.Key("call_latency_s");
  w.Double(in.call_latency_s);
  w.Key("max_requests_per_s");
  w.Double(in.max_requests_per_s);
  w.Key("max_records_per_s");
  w.Double(in.max_records_per_s);
  w.Key("daily_allocation");
  w.Int64(in.daily_allocation);
  w.Key("daily_used");
  w.Int64(in.daily_used);
  w.Key("daily_reserve");
  w.Double(in.daily_reserve);
  w.EndObject();
  w.Key("api_calls");
  w.Int64(r.api_calls);
  w.Key("calls_per_s");
  number(r.calls_per_s);
  w.Key("events_per_s");
  number(r.events_per_s);
  w.Key("drain_time_s");
  number(r.drain_time_s);
  w.Key("daily_share");
  number(r.daily_share);
  w.Key("daily_remaining");
  w.Int64(r.daily_remaining);
  w.Key("fits_daily_allocation");
  w.Bool(r.fits_daily_allocation);
  w.Key("binding");
  w.String(r.binding);
  w.Key("limits");
  w.StartObject();
  for (const PlanLimit& l : r.limits) {
    w.Key(l.name.c_str());
    number(l.calls_per_s);
  }
  w.EndObject();
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
  return c;
}

}  // namespace sluice::flood

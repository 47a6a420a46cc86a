// `sluice-flood plan`: a capacity projection without running anything.
//
// Given a burst and the org's limits, how long until Salesforce has every update, how many API
// calls does it take, what share of the daily allocation is that, and which limit binds?
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::flood {

struct PlanInput {
  // Events in the burst. Required (> 0).
  int64_t events = 0;
  // Records per sObject Collections call; Salesforce allows at most 200. Default 200.
  double records_per_call = 200;
  // Requests the relay keeps in flight at once. Default 10.
  int64_t concurrency = 10;
  // Mean latency of one API call, seconds. Default 0.5.
  double call_latency_s = 0.5;
  // Requests/second ceiling configured on the relay (summed over instances); 0 = none. Default 0.
  double max_requests_per_s = 0;
  // Records/second ceiling; 0 = none. Default 0.
  double max_records_per_s = 0;
  // The org's rolling 24 h API allocation. Default 100,000 (Enterprise base).
  int64_t daily_allocation = 100000;
  // Calls already used in the current 24 h window. Default 0.
  int64_t daily_used = 0;
  // Fraction of the allocation the relay keeps in reserve (stops short of). Default 0.
  double daily_reserve = 0;
};

// Checks ranges: positive events/records/concurrency/latency, records_per_call <= 200, fractions in
// [0, 1), nothing negative or non-finite.
Status ValidatePlanInput(const PlanInput& in);

// One limit and the call rate it allows.
struct PlanLimit {
  std::string name;  // "concurrency", "requests_per_second", "records_per_second"
  double calls_per_s = 0;
};

struct PlanResult {
  int64_t api_calls = 0;
  // Calls/second the binding limit allows.
  double calls_per_s = 0;
  double events_per_s = 0;
  // Time for the last call to finish: (api_calls - 1) / calls_per_s + call_latency_s, raised to
  // whole 24 h windows when the calls do not fit in the daily allocation (then a lower bound).
  double drain_time_s = 0;
  // api_calls / daily_allocation.
  double daily_share = 0;
  // Calls left before the reserve: daily_allocation * (1 - reserve) - daily_used.
  int64_t daily_remaining = 0;
  bool fits_daily_allocation = true;
  // "concurrency", "requests_per_second", "records_per_second" or "daily_allocation".
  std::string binding;
  std::vector<PlanLimit> limits;
};

Result<PlanResult> Plan(const PlanInput& in);

// Human-readable lines for a terminal.
std::string FormatPlan(const PlanInput& in, const PlanResult& r);
// A JSON object with the inputs and results.
std::string PlanToJson(const PlanInput& in, const PlanResult& r);

// What a real run measured, for `plan --calibrate REPORT.json`.
struct Calibration {
  double call_latency_s = 0;
  double records_per_call = 0;
};

// Reads api.call_latency_s and api.records_per_call from a flood report (JSON text). Errors when
// the text is not a sluice.flood.report/v1 report or the run did not measure them.
Result<Calibration> CalibrationFromReport(std::string_view report_json);

}  // namespace sluice::flood

// `sluice-flood plan`: a capacity projection without running anything.
//
// Given a burst and the org's limits, how long until Salesforce has every update, how many API
// calls does it take, what share of the daily allocations is that, and which limit binds? It
// models both ways the relay can write: sObject Collections (up to 200 records per call) and Bulk
// API 2.0 jobs, with parent-record locks and the number of relay instances (docs/FLOOD.md, "plan").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::flood {

// The inputs. The relay's settings default to the relay's own defaults (RelayOptions; a unit test
// ties them together), so a plan without flags describes a relay without configuration.
struct PlanInput {
  // Events in the burst. Required (> 0).
  int64_t events = 0;

  // --- The relay ---
  // Records per sObject Collections call (delivery.max_records); Salesforce allows at most 200.
  double records_per_call = 200;
  // Calls in flight over all instances (delivery.max_in_flight). Default 20.
  int64_t concurrency = 20;
  // Mean latency of one API call, seconds. Default 0.5.
  double call_latency_s = 0.5;
  // Requests/second ceiling over all instances (delivery.requests_per_second); 0 = none.
  double max_requests_per_s = 100;
  // Records/second ceiling (delivery.records_per_second); 0 = none.
  double max_records_per_s = 20000;
  // Share of the daily allocation the relay never uses (delivery.budget_reserve), in [0, 1).
  double daily_reserve = 0.1;
  // Relay instances in the group. Default 1.
  int64_t instances = 1;
  // Events/second one relay instance can process (its CPU); 0 = not modelled. docs/BENCHMARKS.md
  // has this machine's figure.
  double relay_events_per_s = 0;

  // --- The org ---
  // The rolling 24 h API allocation. Default 100,000 (Enterprise base).
  int64_t daily_allocation = 100000;
  // Calls already used in the current 24 h window. Default 0.
  int64_t daily_used = 0;

  // --- Parent-record locks ---
  // Distinct parent records the events' children point at (e.g. Accounts of Contacts); 0 = no
  // parent locks. Default 0.
  int64_t parents = 0;
  // How children spread over parents: 0 = evenly, s > 0 = Zipf with exponent s (a few parents hold
  // most children). Default 0.
  double parent_zipf = 0;

  // --- Bulk API 2.0 ---
  // Records per job (a window of events). Default 100,000.
  int64_t bulk_records_per_job = 100000;
  // Jobs processed at once. Default 5.
  int64_t bulk_concurrent_jobs = 5;
  // Records per second the org processes one job at. Default 5,000 (sluice-sfsim's default
  // processing model; measure your org).
  double bulk_records_per_s = 5000;
  // How often the relay polls a running job. Default 5 s.
  double bulk_poll_interval_s = 5;
  // Salesforce's rolling 24 h Bulk API allocations: records uploaded and internal batches of
  // 10,000 records. Defaults 150,000,000 and 15,000.
  int64_t bulk_daily_records = 150000000;
  int64_t bulk_daily_batches = 15000;
};

// Checks ranges: positive events/records/concurrency/latency/instances, records_per_call <= 200,
// fractions in [0, 1), nothing negative or non-finite.
Status ValidatePlanInput(const PlanInput& in);

// One limit and the call rate it allows.
struct PlanLimit {
  // "concurrency", "requests_per_second", "records_per_second", "relay_capacity", "parent_locks"
  std::string name;
  double calls_per_s = 0;
};

// Bulk API 2.0 for the same burst.
struct BulkPlan {
  int64_t jobs = 0;
  int64_t batches = 0;    // internal batches of 10,000 records
  int64_t api_calls = 0;  // create, upload, close, polls and three result reads per job
  double job_time_s = 0;  // processing time of one full job
  double drain_time_s = 0;
  double events_per_s = 0;
  double daily_share = 0;          // api_calls / daily_allocation
  double daily_records_share = 0;  // events / bulk_daily_records
  double daily_batches_share = 0;  // batches / bulk_daily_batches
  bool fits_daily_allocations = true;
  // "bulk_processing", "parent_locks", "bulk_daily_records", "bulk_daily_batches" or
  // "daily_allocation".
  std::string binding;
};

struct PlanResult {
  // sObject Collections.
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
  // "concurrency", "requests_per_second", "records_per_second", "relay_capacity",
  // "parent_locks" or "daily_allocation".
  std::string binding;
  std::vector<PlanLimit> limits;
  // Children of the parent with the most (0 without parent locks).
  int64_t largest_parent_children = 0;

  BulkPlan bulk;
  // "collections" or "bulk": the one that drains sooner within the allocations.
  std::string recommended;
  // What to change, one sentence per line: the binding limits of both, and the choice.
  std::vector<std::string> advice;
};

Result<PlanResult> Plan(const PlanInput& in);

// Human-readable lines for a terminal.
std::string FormatPlan(const PlanInput& in, const PlanResult& r);
// A JSON object with the inputs and results ("schema": "sluice.flood.plan/v1").
std::string PlanToJson(const PlanInput& in, const PlanResult& r);

// What a real run measured and ran against, for `plan --calibrate REPORT.json`: each figure is
// set only when the report has it.
struct Calibration {
  double call_latency_s = 0;                 // api.call_latency_s (required)
  double records_per_call = 0;               // api.records_per_call (required)
  std::optional<int64_t> concurrency;        // relay_settings.max_in_flight
  std::optional<double> max_requests_per_s;  // relay_settings.requests_per_second
  std::optional<double> max_records_per_s;   // relay_settings.records_per_second
  std::optional<int64_t> daily_allocation;   // api.daily_max
  std::optional<int64_t> daily_used;         // api.daily_used
};

// Reads the figures above from a flood report (JSON text). Errors when the text is not a
// sluice.flood.report/v1 report or the run did not measure the latency and records per call.
Result<Calibration> CalibrationFromReport(std::string_view report_json);

// Sets every figure `c` holds on `in`, except those named in `keep` (flags given on the command
// line, by their PlanInput field names).
void ApplyCalibration(const Calibration& c, const std::vector<std::string>& keep, PlanInput* in);

}  // namespace sluice::flood

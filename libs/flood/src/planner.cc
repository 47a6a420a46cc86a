// The planner's model: sObject Collections and Bulk API 2.0 for one burst, each against its
// limits. Output formats and calibration are in planner_output.cc.
#include "sluice/flood/planner.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "planner_internal.h"

namespace sluice::flood {
namespace {

constexpr double kDaySeconds = 86400;
constexpr double kBulkBatchRecords = 10000;
// Calls of one bulk job besides its polls: create, upload, close (UploadComplete), and the
// successful, failed and unprocessed results.
constexpr int64_t kBulkFixedCalls = 6;

bool Finite(double v) { return std::isfinite(v); }

int64_t CeilDiv(double a, double b) { return static_cast<int64_t>(std::ceil(a / b)); }

// The share of children under the parent with the most: 1/parents when spread evenly, and the
// first term of a Zipf distribution otherwise (the harmonic sum is exact up to a million parents
// and continued by its integral beyond).
double LargestParentShare(int64_t parents, double zipf) {
  if (zipf <= 0) return 1.0 / static_cast<double>(parents);
  constexpr int64_t kExact = 1'000'000;
  double h = 0;
  const int64_t exact = std::min(parents, kExact);
  for (int64_t k = 1; k <= exact; ++k) h += std::pow(static_cast<double>(k), -zipf);
  if (parents > exact) {
    const double a = static_cast<double>(exact) + 0.5, b = static_cast<double>(parents) + 0.5;
    h += zipf == 1 ? std::log(b / a) : (std::pow(b, 1 - zipf) - std::pow(a, 1 - zipf)) / (1 - zipf);
  }
  return 1.0 / h;
}

// Whole 24 h windows needed when `need` exceeds what is left (`left`) of an allocation of
// `per_day`: a lower bound that assumes the window frees all at once.
double WaitForWindows(double need, double left, double per_day) {
  const double beyond = need - std::max(left, 0.0);
  return per_day > 0 ? std::ceil(beyond / per_day) * kDaySeconds
                     : std::numeric_limits<double>::infinity();
}

// A time of `seconds` of one bulk job of `records`.
double BulkJobTime(const PlanInput& in, double records) {
  // Three calls before processing, detection at the next poll (half an interval on average), three
  // result reads after.
  return records / in.bulk_records_per_s + in.bulk_poll_interval_s / 2 + 6 * in.call_latency_s;
}

int64_t BulkJobCalls(const PlanInput& in, double records) {
  return kBulkFixedCalls + CeilDiv(records / in.bulk_records_per_s, in.bulk_poll_interval_s) + 1;
}

void PlanCollections(const PlanInput& in, PlanResult* r) {
  r->api_calls = CeilDiv(static_cast<double>(in.events), in.records_per_call);
  const double calls = static_cast<double>(r->api_calls);
  // Little's law: with `concurrency` calls in flight each lasting `latency`, calls complete at
  // concurrency / latency per second.
  r->limits.push_back({"concurrency", static_cast<double>(in.concurrency) / in.call_latency_s});
  if (in.max_requests_per_s > 0) {
    r->limits.push_back({"requests_per_second", in.max_requests_per_s});
  }
  if (in.max_records_per_s > 0) {
    r->limits.push_back({"records_per_second", in.max_records_per_s / in.records_per_call});
  }
  if (in.relay_events_per_s > 0) {
    r->limits.push_back({"relay_capacity", static_cast<double>(in.instances) *
                                               in.relay_events_per_s / in.records_per_call});
  }
  if (r->largest_parent_children > 0) {
    // Lock-aware batching writes one parent's children one call at a time.
    const double sequential =
        std::ceil(static_cast<double>(r->largest_parent_children) / in.records_per_call);
    r->limits.push_back({"parent_locks", calls / (sequential * in.call_latency_s)});
  }
  const PlanLimit* binding = &r->limits.front();
  for (const PlanLimit& l : r->limits) {
    if (l.calls_per_s < binding->calls_per_s) binding = &l;
  }
  r->binding = binding->name;
  r->calls_per_s = binding->calls_per_s;
  r->drain_time_s = (calls - 1) / r->calls_per_s + in.call_latency_s;

  const double usable =
      std::floor(static_cast<double>(in.daily_allocation) * (1 - in.daily_reserve));
  r->daily_remaining = static_cast<int64_t>(usable) - in.daily_used;
  r->daily_share = calls / static_cast<double>(in.daily_allocation);
  if (r->api_calls > r->daily_remaining) {
    r->fits_daily_allocation = false;
    r->binding = "daily_allocation";
    r->drain_time_s = std::max(
        r->drain_time_s, WaitForWindows(calls, static_cast<double>(r->daily_remaining), usable));
  }
  r->events_per_s = Finite(r->drain_time_s) && r->drain_time_s > 0
                        ? static_cast<double>(in.events) / r->drain_time_s
                        : 0;
}

void PlanBulk(const PlanInput& in, PlanResult* r) {
  BulkPlan& b = r->bulk;
  const double events = static_cast<double>(in.events);
  const double per_job = std::min(static_cast<double>(in.bulk_records_per_job), events);
  b.jobs = CeilDiv(events, per_job);
  const double last = events - per_job * static_cast<double>(b.jobs - 1);
  b.batches = (b.jobs - 1) * CeilDiv(per_job, kBulkBatchRecords) + CeilDiv(last, kBulkBatchRecords);
  b.api_calls = (b.jobs - 1) * BulkJobCalls(in, per_job) + BulkJobCalls(in, last);
  b.job_time_s = BulkJobTime(in, per_job);
  const int64_t waves =
      CeilDiv(static_cast<double>(b.jobs), static_cast<double>(in.bulk_concurrent_jobs));
  const bool last_alone = (b.jobs - 1) % in.bulk_concurrent_jobs == 0;
  b.drain_time_s = static_cast<double>(waves - 1) * b.job_time_s +
                   (last_alone ? BulkJobTime(in, last) : b.job_time_s);
  b.binding = "bulk_processing";
  if (in.relay_events_per_s > 0) {
    const double relay = events / (static_cast<double>(in.instances) * in.relay_events_per_s);
    if (relay > b.drain_time_s) {
      b.drain_time_s = relay;
      b.binding = "relay_capacity";
    }
  }
  if (r->largest_parent_children > 0) {
    // One parent's children go in one job at a time.
    const double sequential =
        std::ceil(static_cast<double>(r->largest_parent_children) / per_job) * b.job_time_s;
    if (sequential > b.drain_time_s) {
      b.drain_time_s = sequential;
      b.binding = "parent_locks";
    }
  }
  b.daily_share = static_cast<double>(b.api_calls) / static_cast<double>(in.daily_allocation);
  b.daily_records_share = events / static_cast<double>(in.bulk_daily_records);
  b.daily_batches_share =
      static_cast<double>(b.batches) / static_cast<double>(in.bulk_daily_batches);
  const auto over = [&](const char* name, double need, double left, double per_day) {
    if (need <= left) return;
    b.fits_daily_allocations = false;
    const double wait = WaitForWindows(need, left, per_day);
    if (wait >= b.drain_time_s) {
      b.drain_time_s = wait;
      b.binding = name;
    }
  };
  over("daily_allocation", static_cast<double>(b.api_calls),
       static_cast<double>(r->daily_remaining),
       std::floor(static_cast<double>(in.daily_allocation) * (1 - in.daily_reserve)));
  over("bulk_daily_records", events, static_cast<double>(in.bulk_daily_records),
       static_cast<double>(in.bulk_daily_records));
  over("bulk_daily_batches", static_cast<double>(b.batches),
       static_cast<double>(in.bulk_daily_batches), static_cast<double>(in.bulk_daily_batches));
  b.events_per_s = Finite(b.drain_time_s) && b.drain_time_s > 0 ? events / b.drain_time_s : 0;
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
  if (in.instances < 1 || in.instances > 10000) {
    return InvalidArgumentError("--instances must be between 1 and 10000");
  }
  if (!Finite(in.relay_events_per_s) || in.relay_events_per_s < 0) {
    return InvalidArgumentError("--relay-events-per-s must be >= 0 (0 = not modelled)");
  }
  if (in.parents < 0 || in.parents > (int64_t{1} << 40)) {
    return InvalidArgumentError("--parents must be >= 0 (0 = no parent locks)");
  }
  if (!Finite(in.parent_zipf) || in.parent_zipf < 0 || in.parent_zipf > 10) {
    return InvalidArgumentError("--parent-zipf must be between 0 (even) and 10");
  }
  if (in.bulk_records_per_job < 1 || in.bulk_records_per_job > 150'000'000) {
    return InvalidArgumentError("--bulk-records-per-job must be between 1 and 150000000");
  }
  if (in.bulk_concurrent_jobs < 1 || in.bulk_concurrent_jobs > 100) {
    return InvalidArgumentError("--bulk-concurrent-jobs must be between 1 and 100");
  }
  if (!Finite(in.bulk_records_per_s) || in.bulk_records_per_s <= 0) {
    return InvalidArgumentError("--bulk-records-per-s must be > 0");
  }
  if (!Finite(in.bulk_poll_interval_s) || in.bulk_poll_interval_s <= 0 ||
      in.bulk_poll_interval_s > 3600) {
    return InvalidArgumentError("--bulk-poll-interval must be > 0 and at most 1h");
  }
  if (in.bulk_daily_records <= 0 || in.bulk_daily_batches <= 0) {
    return InvalidArgumentError("the bulk daily allocations must be > 0");
  }
  return Status::Ok();
}

Result<PlanResult> Plan(const PlanInput& in) {
  RETURN_IF_ERROR(ValidatePlanInput(in));
  PlanResult r;
  if (in.parents > 0) {
    const double share = LargestParentShare(in.parents, in.parent_zipf);
    r.largest_parent_children = std::clamp<int64_t>(
        static_cast<int64_t>(std::ceil(static_cast<double>(in.events) * share)), 1, in.events);
  }
  PlanCollections(in, &r);
  PlanBulk(in, &r);
  r.recommended = r.bulk.drain_time_s < r.drain_time_s ||
                          (r.bulk.drain_time_s == r.drain_time_s && !r.fits_daily_allocation)
                      ? "bulk"
                      : "collections";
  r.advice = Advise(in, r);
  return r;
}

}  // namespace sluice::flood

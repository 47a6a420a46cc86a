// The checker's org- and DLQ-facing invariants: ceilings, outages, DLQ headers, memory.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "checker_index.h"

namespace sluice::sim::internal {

namespace {

using salesforce::ErrorClass;

std::string Inc(const Facts& f, Owner o) {
  auto it = f.instance_ids.find(o);
  return it == f.instance_ids.end() ? fmt::format("incarnation {}", o) : it->second;
}

int64_t WallMs(const Facts& f, TimePoint t) {
  return f.wall_start_ms +
         std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

bool RecordLevel(const std::string& code) {
  return code == "UNABLE_TO_LOCK_ROW" || code == "DUPLICATE_EXTERNAL_ID";
}

bool Charged(ErrorClass c) {
  return c == ErrorClass::kRetryableRecord || c == ErrorClass::kPermanent;
}

std::string WindowsAt(const Facts& f, TimePoint t) {
  static constexpr const char* kNames[] = {"org 503", "auth", "budget", "broker"};
  std::string out;
  for (const auto& w : f.windows) {
    if (t >= w.start && t < w.end) {
      out += fmt::format("{}{} window {}..{}", out.empty() ? "" : ", ",
                         kNames[static_cast<int>(w.kind)], FormatTime(w.start), FormatTime(w.end));
    }
  }
  return out.empty() ? "no fault window open" : out;
}

// The worst one-second window of `weight(call)` summed over calls by start time.
template <typename Weight>
std::pair<double, TimePoint> WorstSecond(const std::vector<CallFact>& calls, Weight weight) {
  double best = 0, sum = 0;
  TimePoint at{};
  size_t j = 0;
  for (size_t i = 0; i < calls.size(); ++i) {
    while (j < calls.size() && calls[j].start < calls[i].start + std::chrono::seconds(1)) {
      sum += weight(calls[j]);
      ++j;
    }
    if (sum > best) {
      best = sum;
      at = calls[i].start;
    }
    sum -= weight(calls[i]);
  }
  return {best, at};
}

}  // namespace

void CheckCeilings(const Index& ix, Sink& sink) {
  const Facts& f = ix.facts;
  const Limits& l = f.limits;
  const double slots = static_cast<double>(std::max(l.slots, 1));
  const double max_records = static_cast<double>(l.max_records);
  // Each instance's token buckets may hold a burst on top of its share of the rate; the records
  // bucket also lends one batch (a grant may take the level below zero).
  const double request_bound =
      l.requests_per_second + slots * std::max(1.0, l.requests_per_second / 20.0);
  const double record_bound =
      l.records_per_second +
      slots * (std::max(max_records, l.records_per_second / 20.0) + max_records);
  auto [requests, r_at] = WorstSecond(f.calls, [](const CallFact&) { return 1.0; });
  if (requests > request_bound + 1e-9) {
    sink.Add(kRequestRate,
             fmt::format("{:.0f} requests in the second from {} (ceiling {:.0f}/s, {:.1f} with "
                         "every instance's burst)",
                         requests, FormatTime(r_at), l.requests_per_second, request_bound));
  }
  auto [records, rec_at] =
      WorstSecond(f.calls, [](const CallFact& c) { return static_cast<double>(c.records.size()); });
  if (records > record_bound + 1e-9) {
    sink.Add(kRecordRate,
             fmt::format("{:.0f} records in the second from {} (ceiling {:.0f}/s, {:.0f} with "
                         "every instance's burst and one batch of debt)",
                         records, FormatTime(rec_at), l.records_per_second, record_bound));
  }
  // In flight, as the engines see it: from Write() to the callback (or the incarnation's end).
  std::vector<std::pair<TimePoint, int>> edges;
  for (const auto& c : f.calls) {
    edges.emplace_back(c.start, +1);
    edges.emplace_back(c.end.value_or(f.end), -1);
  }
  std::sort(edges.begin(), edges.end());  // at equal times, ends (-1) before starts
  int64_t now = 0, peak = 0;
  TimePoint peak_at{};
  for (const auto& [t, d] : edges) {
    now += d;
    if (now > peak) {
      peak = now;
      peak_at = t;
    }
  }
  if (peak > l.max_in_flight) {
    std::string who;
    for (const auto& c : f.calls) {
      if (c.start <= peak_at && c.end.value_or(f.end) > peak_at) {
        who += fmt::format(" {}:call{}", Inc(f, c.incarnation), c.id);
      }
    }
    sink.Add(kInFlight, fmt::format("{} calls in flight at {} (ceiling {}):{}", peak,
                                    FormatTime(peak_at), l.max_in_flight, who));
  }
}

void CheckDlq(const Index& ix, Sink& sink) {
  const Facts& f = ix.facts;
  for (const DlqView& v : ix.dlq) {
    const DlqFact& d = *v.fact;
    if (!d.landed) continue;
    const std::string who =
        fmt::format("DLQ record by {} at {}", d.instance_id, FormatTime(d.produced_at));
    if (v.source == nullptr) {
      sink.Add(kDlqHeaders, who + " matches no produced record (value changed?)");
      continue;
    }
    const ProducedRecord& src = *v.source;
    if (!v.info) {
      sink.Add(kDlqHeaders,
               fmt::format("{} for {} has no sluice.error.class header", who, ix.Where(src)));
      continue;
    }
    const envelope::DlqInfo& info = *v.info;
    const std::string what =
        fmt::format("{} for {} (class {}, code {}, attempts {})", who, ix.Where(src),
                    info.error_class, info.error_code, info.attempts);
    // Charged and uncharged answers this incarnation saw for the event: since it last got the
    // record (`since`), and since it first got it (`since_first`; a record re-fetched after a
    // rebalance may still be dead-lettered by the work item from before).
    TimePoint since{}, since_first = d.produced_at, after_dlq{};
    for (const DlqView& other : ix.dlq) {
      const DlqFact& o = *other.fact;
      if (&o != &d && o.landed && other.source == v.source && o.incarnation == d.incarnation &&
          o.produced_at < d.produced_at) {
        after_dlq = std::max(after_dlq, o.produced_at);
      }
    }
    for (const auto& h : f.hand_outs) {
      if (h.incarnation == d.incarnation && h.topic == src.topic && h.partition == src.partition &&
          h.offset == src.offset && h.at <= d.produced_at && h.at >= after_dlq) {
        since = std::max(since, h.at);
        since_first = std::min(since_first, h.at);
      }
    }
    int64_t charged = 0, charged_first = 0, uncharged = 0;
    std::string last_code;
    if (src.kind != EventKind::kInvalid) {
      for (const auto& c : f.calls) {
        if (c.incarnation != d.incarnation || !c.answered || c.start < since_first ||
            *c.end > d.produced_at) {
          continue;
        }
        for (const auto& r : c.records) {
          if (r.event_id != src.event_id) continue;
          if (Charged(r.error_class)) {
            ++charged_first;
            if (c.start >= since) ++charged;
            last_code = r.code;
          } else if (r.error_class != ErrorClass::kNone) {
            ++uncharged;
          }
        }
      }
    }
    // Deserved?
    if (src.kind == EventKind::kInvalid) {
      if (info.error_class != "invalid_envelope") {
        sink.Add(kDlqDeserved, what + ": an invalid envelope must be class invalid_envelope");
      }
    } else if (info.error_class == "invalid_envelope") {
      sink.Add(kDlqDeserved, what + ": a valid envelope dead-lettered as invalid");
    } else if (src.poison && info.error_class == "permanent") {
      if (info.error_code != "FIELD_CUSTOM_VALIDATION_EXCEPTION") {
        sink.Add(kDlqDeserved,
                 what + ": the org refused it with FIELD_CUSTOM_VALIDATION_EXCEPTION");
      }
    } else if (info.error_class != "retry_exhausted" || !RecordLevel(info.error_code) ||
               charged_first == 0) {
      sink.Add(kOutageNotPoison,
               fmt::format("{}: {}; the engine saw {} charged and {} org-wide failures for it; "
                           "at the time: {}",
                           what, src.poison ? "poison must be permanent" : "a healthy event",
                           charged_first, uncharged, WindowsAt(f, d.produced_at)));
    }
    // True?
    std::vector<std::string> wrong = info.warnings;
    if (info.source_topic != src.topic || info.source_partition != src.partition ||
        info.source_offset != src.offset) {
      wrong.push_back(fmt::format("source {}[{}]@{}", info.source_topic, info.source_partition,
                                  info.source_offset));
    }
    if (info.source_timestamp_ms != src.timestamp_ms) {
      wrong.push_back(fmt::format("source timestamp {} (produced {})", info.source_timestamp_ms,
                                  src.timestamp_ms));
    }
    if (info.relay_instance != d.instance_id) {
      wrong.push_back("instance " + info.relay_instance);
    }
    if (info.error_code.empty()) wrong.push_back("empty error code");
    if (info.error_message.empty()) wrong.push_back("empty error message");
    if (!d.record.key || *d.record.key != src.key) wrong.push_back("key changed");
    for (const auto& h : src.headers) {
      if (std::find(d.record.headers.begin(), d.record.headers.end(), h) ==
          d.record.headers.end()) {
        wrong.push_back("original header " + h.first + " dropped");
      }
    }
    if (info.error_class == "retry_exhausted" && !last_code.empty() &&
        info.error_code != last_code) {
      wrong.push_back(
          fmt::format("code {} but the last charged failure was {}", info.error_code, last_code));
    }
    // At least one when any was charged (a re-fetched record's older work item may still report
    // fewer than the newest), never more than were charged since it was first handed out.
    if (info.attempts < std::min<int64_t>(charged, 1) || info.attempts > charged_first) {
      wrong.push_back(
          fmt::format("sluice.attempts {} but {} charged attempts (record-level "
                      "failures) were answered to {} for it ({} since it last got "
                      "the record), besides {} uncharged",
                      info.attempts, charged_first, d.instance_id, charged, uncharged));
    }
    if (info.attempts > 0) {
      if (info.first_attempt_ms > info.last_attempt_ms ||
          info.last_attempt_ms > WallMs(f, d.produced_at) ||
          info.first_attempt_ms < WallMs(f, since_first)) {
        wrong.push_back(fmt::format("attempt times {}..{} outside {}..{}", info.first_attempt_ms,
                                    info.last_attempt_ms, WallMs(f, since_first),
                                    WallMs(f, d.produced_at)));
      }
    }
    for (const auto& w : wrong) sink.Add(kDlqHeaders, what + ": " + w);
  }
}

void CheckMemory(const Index& ix, Sink& sink) {
  const Limits& l = ix.facts.limits;
  const auto bound = static_cast<int64_t>(l.max_buffered_events + l.poll_batch);
  for (const auto& b : ix.facts.buffered) {
    if (b.measured && b.peak > bound) {
      sink.Add(kMemory, fmt::format("{} buffered {} events at {} (max_buffered_events {} + "
                                    "poll_batch {})",
                                    Inc(ix.facts, b.incarnation), b.peak, FormatTime(b.peak_at),
                                    l.max_buffered_events, l.poll_batch));
    }
  }
}

void CheckParentLocks(const Index& ix, Sink& sink) {
  const Facts& f = ix.facts;
  if (f.limits.lock_fields.empty()) return;
  // (incarnation, parent) -> the calls holding it, as [start, end) (end: the run's end when the
  // call never ended); a call's end is when the engine saw its answer.
  std::map<std::pair<Owner, std::string>, std::vector<const CallFact*>> holders;
  for (const CallFact& c : f.calls) {
    if (f.limits.lock_fields.count(c.sobject) == 0) continue;
    for (const auto& p : c.parents) holders[{c.incarnation, p}].push_back(&c);
  }
  for (auto& [who, calls] : holders) {
    std::sort(calls.begin(), calls.end(),
              [](const CallFact* a, const CallFact* b) { return a->start < b->start; });
    const CallFact* open = nullptr;  // the call with the latest end so far
    for (const CallFact* c : calls) {
      if (open != nullptr && c->start < open->end.value_or(f.end)) {
        sink.Add(kParentLocks,
                 fmt::format("{}: calls {} ({} .. {}) and {} (from {}) both hold parent {}",
                             Inc(f, who.first), open->id, FormatTime(open->start),
                             open->end ? FormatTime(*open->end) : std::string("end"), c->id,
                             FormatTime(c->start), who.second));
      }
      if (open == nullptr || c->end.value_or(f.end) > open->end.value_or(f.end)) open = c;
    }
  }
}

}  // namespace sluice::sim::internal

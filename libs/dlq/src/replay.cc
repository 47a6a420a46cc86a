#include "sluice/dlq/replay.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "sluice/dlq/format.h"
#include "sluice/flow/token_bucket.h"

namespace sluice::dlq {
namespace {

using Ms = std::chrono::milliseconds;

bool ValidTopicName(std::string_view t) {
  if (t.empty() || t.size() > 249 || t == "." || t == "..") return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

Decision Refuse(std::string reason) {
  Decision d;
  d.verdict = Decision::Verdict::kRefuse;
  d.reason = std::move(reason);
  return d;
}

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

kafka::Headers ReplayHeaders(const DlqRecord& record, int64_t count) {
  kafka::Headers out;
  out.reserve(record.headers.size() + 2);
  for (const auto& h : record.headers) {
    if (envelope::IsDlqHeader(h.first) || h.first == kHeaderValueOmitted ||
        h.first == kHeaderReplayCount || h.first == kHeaderReplayedFrom) {
      continue;
    }
    out.push_back(h);
  }
  out.emplace_back(kHeaderReplayCount, std::to_string(count));
  out.emplace_back(kHeaderReplayedFrom, record.Location());
  return out;
}

Result<Decision> DecideOrError(
    const DlqRecord& r, const ReplayOptions& options,
    const std::function<Result<int>(const std::string&)>& partitions_of) {
  if (!options.filter.Matches(r)) return Decision{};
  if (!r.replay_count_valid) {
    return Refuse("sluice.replay.count is unreadable, so the loop guard cannot vouch for it");
  }
  if (r.replay_count >= options.max_replays) {
    return Refuse(fmt::format("replayed {} times already (--max-replays {})", r.replay_count,
                              options.max_replays));
  }
  if (r.value_omitted) {
    return Refuse("the relay left the value out (too large for the DLQ topic): " +
                  Printable(r.value_omitted_note, 300));
  }
  const std::string target = options.to_topic.empty() ? r.info.source_topic : options.to_topic;
  if (target.empty()) return Refuse("no sluice.source.topic header (give --to TOPIC)");
  if (!ValidTopicName(target)) {
    return Refuse(fmt::format("'{}' is not a valid topic name", Printable(target, 120)));
  }
  auto partitions = partitions_of(target);
  if (!partitions.ok()) {
    if (partitions.status().code() == StatusCode::kNotFound) {
      return Refuse(fmt::format("target topic {} does not exist", target));
    }
    return partitions.status().WithContext("target topic " + target);
  }
  Decision d;
  d.verdict = Decision::Verdict::kReplay;
  d.record.topic = target;
  d.record.key = r.key;
  d.record.value = r.value;
  d.record.headers = ReplayHeaders(r, r.replay_count + 1);
  if (target == r.info.source_topic && r.info.source_partition >= 0 &&
      r.info.source_partition < *partitions) {
    d.record.partition = r.info.source_partition;
  }
  return d;
}

Decision Decide(const DlqRecord& record, const ReplayOptions& options,
                const std::function<Result<int>(const std::string&)>& partitions_of) {
  auto d = DecideOrError(record, options, partitions_of);
  if (!d.ok()) return Refuse(d.status().message());
  return std::move(d).value();
}

Result<ReplayReport> RunReplay(const ReplayOptions& options, const std::string& group_id,
                               ReplayIo& io, ReplayObserver* observer,
                               const ShutdownToken* shutdown) {
  Clock& clock = options.clock != nullptr ? *options.clock : RealClock();
  const auto started = clock.Now();
  ReplayReport report;
  report.group_id = group_id;
  report.dry_run = options.dry_run;

  ASSIGN_OR_RETURN(std::vector<PartitionRange> ranges, io.Start());
  std::map<int32_t, PartitionRange> range_of;
  std::set<int32_t> pending;
  for (const auto& r : ranges) {
    range_of[r.partition] = r;
    if (r.start < r.end) {
      pending.insert(r.partition);
      report.to_read += r.end - r.start;
    }
  }

  std::unique_ptr<flow::TokenBucket> bucket;
  size_t batch_max = std::max<size_t>(1, options.batch_size);
  if (options.rate > 0) {
    flow::TokenBucketOptions tb;
    tb.rate_per_second = options.rate;
    tb.burst = std::max(1.0, options.rate / 10);
    tb.start_full = false;
    ASSIGN_OR_RETURN(bucket, flow::TokenBucket::Create(tb, clock));
    batch_max = std::min(batch_max, static_cast<size_t>(std::max(1.0, options.rate)));
  }

  std::map<std::string, Result<int>> partition_cache;
  auto partitions_of = [&](const std::string& topic) -> Result<int> {
    auto it = partition_cache.find(topic);
    if (it != partition_cache.end()) return it->second;
    Result<int> n = io.PartitionCount(topic);
    // Only definite answers are cached; a transient failure is asked again next time.
    if (n.ok() || n.status().code() == StatusCode::kNotFound) partition_cache.emplace(topic, n);
    return n;
  };

  auto progress = [&] {
    if (observer == nullptr) return;
    ReplayProgress p;
    p.to_read = report.to_read;
    p.read = report.read;
    p.replayed = report.replayed;
    p.skipped = report.skipped;
    p.refused = report.refused;
    p.elapsed_s = Seconds(clock.Now() - started);
    observer->OnProgress(p);
  };

  auto last_activity = clock.Now();
  auto last_progress = clock.Now();
  int failures_in_a_row = 0;
  progress();
  while (!pending.empty()) {
    if (shutdown != nullptr && shutdown->requested()) {
      report.interrupted = true;
      report.stopped_because = "interrupted";
      break;
    }
    ASSIGN_OR_RETURN(std::vector<kafka::Message> messages, io.Poll(batch_max, Ms(200)));
    std::vector<const kafka::Message*> records;
    for (const auto& m : messages) {
      if (m.is_error()) {
        if (m.error.code() == StatusCode::kFailedPrecondition ||
            (m.error.code() == StatusCode::kNotFound && m.partition < 0)) {
          return m.error.WithContext("reading " + options.dlq_topic);
        }
        continue;  // transient: librdkafka retries by itself
      }
      auto it = range_of.find(m.partition);
      if (it == range_of.end() || pending.count(m.partition) == 0) continue;
      if (m.offset >= it->second.end) {
        // Arrived after the run started: left for the next run.
        pending.erase(m.partition);
        io.Pause(m.partition);
        continue;
      }
      records.push_back(&m);
    }
    const auto now = clock.Now();
    if (records.empty()) {
      if (now - last_activity > options.idle_timeout && !pending.empty()) {
        std::string where;
        for (int32_t p : pending) {
          where += fmt::format("{}partition {} (end offset {})", where.empty() ? "" : ", ", p,
                               range_of[p].end);
        }
        report.stopped_because = fmt::format(
            "no records arrived for {} s while {} still had records to read",
            std::chrono::duration_cast<std::chrono::seconds>(options.idle_timeout).count(), where);
        break;
      }
      if (now - last_progress >= std::chrono::seconds(1)) {
        last_progress = now;
        progress();
      }
      continue;
    }
    last_activity = now;

    // One batch: decide, produce the chosen records, commit them with the offsets consumed.
    std::vector<std::pair<DlqRecord, Decision>> batch;
    std::map<int32_t, int64_t> next_offsets;
    bool began = false;
    Status failure;
    int64_t batch_replayed = 0;
    for (const kafka::Message* m : records) {
      if (options.limit > 0 && report.replayed + batch_replayed >= options.limit) {
        report.limit_reached = true;
        break;
      }
      DlqRecord record = Inspect(*m);
      auto decided = DecideOrError(record, options, partitions_of);
      if (!decided.ok()) {
        failure = decided.status();
        break;
      }
      Decision d = std::move(decided).value();
      if (d.verdict == Decision::Verdict::kReplay) {
        if (bucket) {
          for (auto a = bucket->TryAcquire(1); !a; a = bucket->TryAcquire(1)) {
            clock.SleepFor(a.wait);
          }
        }
        if (!options.dry_run) {
          if (!began) {
            failure = io.Begin();
            if (!failure.ok()) break;
            began = true;
          }
          Status sent = io.Send(d.record);
          if (sent.code() == StatusCode::kInvalidArgument) {
            // The record itself cannot be produced (too large for the producer, say).
            d = Refuse("cannot be produced: " + sent.message());
          } else if (!sent.ok()) {
            failure = sent;
            break;
          }
        }
        if (d.verdict == Decision::Verdict::kReplay) ++batch_replayed;
      }
      next_offsets[m->partition] = m->offset + 1;
      batch.emplace_back(std::move(record), std::move(d));
    }
    if (failure.ok() && !options.dry_run && !batch.empty()) {
      if (!began) failure = io.Begin();
      if (failure.ok()) {
        std::vector<kafka::PartitionOffset> offsets;
        for (const auto& [p, o] : next_offsets) offsets.push_back({options.dlq_topic, p, o});
        failure = io.Commit(offsets);
      }
    }
    if (!failure.ok()) {
      // Nothing of this batch counts: abort, go back to the committed offsets, try again.
      if (!options.dry_run) {
        (void)io.Abort();
        ++report.aborted_transactions;
      }
      if (++failures_in_a_row > options.max_transaction_retries || options.dry_run) {
        return failure.WithContext(fmt::format(
            "replay batch failed {} times in a row; nothing of the failed batch was committed, "
            "rerun to resume",
            failures_in_a_row));
      }
      RETURN_IF_ERROR(io.Rewind());
      report.limit_reached = false;
      continue;
    }
    failures_in_a_row = 0;
    if (!options.dry_run && !batch.empty()) ++report.transactions;
    for (auto& [record, d] : batch) {
      ++report.read;
      switch (d.verdict) {
        case Decision::Verdict::kReplay:
          ++report.replayed;
          ++report.by_topic[d.record.topic];
          break;
        case Decision::Verdict::kSkip:
          ++report.skipped;
          break;
        case Decision::Verdict::kRefuse:
          ++report.refused;
          if (report.refusals.size() < options.max_refusals_kept) {
            report.refusals.push_back(Refusal{record.partition, record.offset,
                                              record.key ? Printable(*record.key, 120) : "(null)",
                                              record.replay_count, d.reason});
          }
          break;
      }
      if (observer != nullptr) observer->OnDecision(record, d);
    }
    for (const auto& [p, next] : next_offsets) {
      if (next >= range_of[p].end) {
        pending.erase(p);
        io.Pause(p);
      }
    }
    if (clock.Now() - last_progress >= Ms(200)) {
      last_progress = clock.Now();
      progress();
    }
    if (report.limit_reached) break;
  }
  report.complete = pending.empty() || report.limit_reached;
  if (report.complete) report.stopped_because.clear();
  report.elapsed_s = Seconds(clock.Now() - started);
  progress();
  return report;
}

}  // namespace sluice::dlq

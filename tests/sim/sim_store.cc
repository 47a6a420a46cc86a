#include "sim_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sluice::sim {
namespace {

// A later entry replaces an earlier one, except that a delivered one is never replaced by a
// dead-lettered one (the SQLite store's rule).
void Apply(StoreFile& file, const kafka::TopicPartition& source, const idempotency::Entry& e) {
  auto& row = file.rows[source][e.event_id];
  const bool keep_delivered = row.outcome == idempotency::Outcome::kDelivered &&
                              row.recorded_ms != 0 &&
                              e.outcome == idempotency::Outcome::kDeadLettered;
  if (!keep_delivered) {
    row.outcome = e.outcome;
    row.salesforce_id = e.salesforce_id;
    row.recorded_ms = e.recorded_ms;
  }
}

}  // namespace

SimStore::SimStore(World& world, Facts& facts, std::shared_ptr<StoreFile> file, Owner incarnation,
                   int slot, const SimStoreOptions& options,
                   std::shared_ptr<SimChangelog> changelog)
    : world_(world),
      facts_(facts),
      file_(std::move(file)),
      changelog_(options.changelog ? std::move(changelog) : nullptr),
      incarnation_(incarnation),
      slot_(slot),
      options_(options) {}

Result<std::vector<std::optional<idempotency::Resolution>>> SimStore::CheckBatch(
    const std::vector<std::string>& event_ids, const std::vector<kafka::TopicPartition>& sources) {
  if (event_ids.size() != sources.size()) return InvalidArgumentError("ids and sources differ");
  std::vector<std::optional<idempotency::Resolution>> out;
  out.reserve(event_ids.size());
  for (size_t i = 0; i < event_ids.size(); ++i) {
    const std::string& id = event_ids[i];
    if (id.empty() || id.size() > idempotency::kMaxEventIdBytes) {
      return InvalidArgumentError("bad event id");
    }
    auto part = file_->rows.find(sources[i]);
    if (part == file_->rows.end()) {
      out.emplace_back();
      continue;
    }
    auto it = part->second.find(id);
    if (it == part->second.end()) {
      out.emplace_back();
    } else {
      out.emplace_back(it->second);
    }
  }
  return out;
}

void SimStore::Record(std::vector<relay::StoreEntry> entries, Callback done) {
  if (closed_) {
    world_.Schedule(world_.Now(), incarnation_, [done = std::move(done)] {
      if (done) done(FailedPreconditionError("store closed"));
    });
    return;
  }
  const TimePoint at =
      std::max(last_completion_,
               world_.Now() + world_.UniformDuration(options_.latency_min, options_.latency_max));
  last_completion_ = at;
  const bool fail = world_.Chance(options_.failure_probability);
  ++*pending_;
  // Owned by the incarnation: a crash before the group commit loses the entries.
  world_.Schedule(
      at, incarnation_,
      [&world = world_, &facts = facts_, file = file_, pending = pending_,
       incarnation = incarnation_, slot = slot_, forget = options_.forget_records, fail,
       changelog = changelog_, entries = std::move(entries), done = std::move(done)] {
        --*pending;
        if (fail) {
          world.Trace(fmt::format("store {}: record of {} failed", incarnation, entries.size()));
          if (done) done(UnavailableError("database is locked"));
          return;
        }
        const int64_t now_ms = world.clock().WallMillis();
        for (auto [e, source] : entries) {
          facts.stored.push_back({world.Now(), slot, incarnation, e.event_id, e.outcome, !forget});
          if (forget) continue;
          if (e.recorded_ms <= 0) e.recorded_ms = now_ms;
          // The changelog write goes first in the real store; here both land with the commit.
          if (changelog && source.partition >= 0) {
            auto& log = changelog->log[source];
            log.push_back(e);
            // Our own write is applied here already (as the real store advances its offsets).
            size_t& applied = file->applied[source];
            if (applied + 1 == log.size()) applied = log.size();
          }
          Apply(*file, source, e);
        }
        if (done) done(Status::Ok());
      });
}

Status SimStore::Restore(const std::vector<kafka::TopicPartition>& partitions) {
  if (!changelog_) return Status::Ok();
  size_t applied = 0;
  for (const auto& tp : partitions) {
    const auto& log = changelog_->log[tp];
    size_t& next = file_->applied[tp];
    for (; next < log.size(); ++next, ++applied) Apply(*file_, tp, log[next]);
  }
  if (applied > 0) {
    world_.Trace(fmt::format("store {}: restored {} changelog entries", incarnation_, applied));
  }
  return Status::Ok();
}

void SimStore::Close() {
  if (closed_) return;
  auto pending = pending_;
  world_.RunUntil(world_.Now() + std::chrono::seconds(10), [pending] { return *pending <= 0; });
  closed_ = true;
}

}  // namespace sluice::sim

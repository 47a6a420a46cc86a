#include "sim_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sluice::sim {

SimStore::SimStore(World& world, Facts& facts, std::shared_ptr<StoreFile> file, Owner incarnation,
                   int slot, const SimStoreOptions& options)
    : world_(world),
      facts_(facts),
      file_(std::move(file)),
      incarnation_(incarnation),
      slot_(slot),
      options_(options) {}

Result<std::vector<std::optional<idempotency::Resolution>>> SimStore::CheckBatch(
    const std::vector<std::string>& event_ids) {
  std::vector<std::optional<idempotency::Resolution>> out;
  out.reserve(event_ids.size());
  for (const auto& id : event_ids) {
    if (id.empty() || id.size() > idempotency::kMaxEventIdBytes) {
      return InvalidArgumentError("bad event id");
    }
    auto it = file_->rows.find(id);
    if (it == file_->rows.end()) {
      out.emplace_back();
    } else {
      out.emplace_back(it->second);
    }
  }
  return out;
}

void SimStore::Record(std::vector<idempotency::Entry> entries, Callback done) {
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
       entries = std::move(entries), done = std::move(done)] {
        --*pending;
        if (fail) {
          world.Trace(fmt::format("store {}: record of {} failed", incarnation, entries.size()));
          if (done) done(UnavailableError("database is locked"));
          return;
        }
        const int64_t now_ms = world.clock().WallMillis();
        for (const auto& e : entries) {
          facts.stored.push_back({world.Now(), slot, incarnation, e.event_id, e.outcome, !forget});
          if (forget) continue;
          auto& row = file->rows[e.event_id];
          const bool keep_delivered = row.outcome == idempotency::Outcome::kDelivered &&
                                      row.recorded_ms != 0 &&
                                      e.outcome == idempotency::Outcome::kDeadLettered;
          if (!keep_delivered) {
            row.outcome = e.outcome;
            row.salesforce_id = e.salesforce_id;
            row.recorded_ms = e.recorded_ms > 0 ? e.recorded_ms : now_ms;
          }
        }
        if (done) done(Status::Ok());
      });
}

void SimStore::Close() {
  if (closed_) return;
  auto pending = pending_;
  world_.RunUntil(world_.Now() + std::chrono::seconds(10), [pending] { return *pending <= 0; });
  closed_ = true;
}

}  // namespace sluice::sim

#include "store_part.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <filesystem>
#include <mutex>
#include <set>

#include "sluice/changelog/applied_offsets.h"
#include "sluice/changelog/record.h"
#include "sluice/changelog/restore.h"
#include "sluice/changelog/standby.h"
#include "sluice/core/logging.h"
#include "sluice/idempotency/group_commit.h"
#include "sluice/idempotency/retention.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/producer.h"

namespace sluice::relay {
namespace {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;
constexpr Ms kAdminTimeout{10'000};
// The applied offsets of our own writes are saved at most this often (and at every restore and
// at close); a crash loses at most this much of the record, which costs a longer restore only.
constexpr Clock::Duration kSaveInterval = std::chrono::seconds(10);

struct ChangelogMetrics {
  metrics::Counter* written = nullptr;
  metrics::Counter* write_errors = nullptr;
  metrics::Counter* restored = nullptr;
  metrics::Counter* restores = nullptr;
  metrics::Counter* foreign = nullptr;
  metrics::Gauge* last_restore_seconds = nullptr;
  metrics::Counter* rebuilds = nullptr;
  metrics::Counter* standby_applied = nullptr;
  metrics::Gauge* standby_partitions = nullptr;

  Status Register(metrics::Registry& r) {
    ASSIGN_OR_RETURN(written,
                     r.AddCounter("sluice_relay_changelog_written_total",
                                  "Resolutions the broker acknowledged on the changelog."));
    ASSIGN_OR_RETURN(
        write_errors,
        r.AddCounter("sluice_relay_changelog_write_errors_total",
                     "Changelog writes that failed (the resolution is written again)."));
    ASSIGN_OR_RETURN(restored, r.AddCounter("sluice_relay_changelog_restored_entries_total",
                                            "Changelog entries applied to the local store."));
    ASSIGN_OR_RETURN(restores, r.AddCounter("sluice_relay_changelog_restores_total",
                                            "Restores run (one per assignment with partitions)."));
    ASSIGN_OR_RETURN(foreign,
                     r.AddCounter("sluice_relay_changelog_foreign_records_total",
                                  "Changelog records that were not the relay's: skipped."));
    ASSIGN_OR_RETURN(last_restore_seconds, r.AddGauge("sluice_relay_changelog_last_restore_seconds",
                                                      "How long the last restore took."));
    ASSIGN_OR_RETURN(rebuilds,
                     r.AddCounter("sluice_relay_store_rebuilds_total",
                                  "Local stores found missing or corrupt and rebuilt from the "
                                  "changelog."));
    ASSIGN_OR_RETURN(standby_applied,
                     r.AddCounter("sluice_relay_changelog_standby_applied_total",
                                  "Changelog entries of partitions this instance does not own "
                                  "applied to the local store (standby copies)."));
    ASSIGN_OR_RETURN(standby_partitions,
                     r.AddGauge("sluice_relay_changelog_standby_partitions",
                                "Changelog partitions followed as standby copies."));
    return Status::Ok();
  }
};

// One Record call waiting for the broker's acks of its changelog writes.
struct PendingRecord {
  std::vector<idempotency::Entry> entries;
  ResolutionStore::Callback done;
  size_t waiting = 0;
  Status error = Status::Ok();
  std::map<kafka::TopicPartition, int64_t> next;  // changelog partition -> last offset + 1
};

// Thread-safety: CheckBatch and Restore from the engine thread; Record from any thread; broker
// acks and commits arrive on the producer's and the committer's threads (guarded by mu_).
class StorePart final : public ResolutionStore {
 public:
  ~StorePart() override { Close(); }

  Result<std::vector<std::optional<idempotency::Resolution>>> CheckBatch(
      const std::vector<std::string>& ids) override {
    return store_->CheckBatch(ids);
  }

  void Record(std::vector<StoreEntry> entries, Callback done) override {
    auto pending = std::make_shared<PendingRecord>();
    pending->entries.reserve(entries.size());
    pending->done = std::move(done);
    // Wall time, as the store and its retention count it (Now() is monotonic).
    const int64_t now_ms = clock_->WallMillis();
    std::vector<kafka::ProducerRecord> records;
    for (auto& [e, source] : entries) {
      if (e.recorded_ms <= 0) e.recorded_ms = now_ms;  // the same time here and in the changelog
      if (producer_ && source.partition >= 0) {
        auto topic = ChangelogFor(source.topic);
        if (topic.ok()) {
          records.push_back(changelog::Encode(e, *topic, source.partition));
        } else {
          pending->error = topic.status();
        }
      }
      pending->entries.push_back(std::move(e));
    }
    if (!producer_) {
      committer_->Enqueue(std::move(pending->entries), std::move(pending->done));
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending->waiting = records.size() + 1;  // +1: released below, after every Produce
      queue_.push_back(pending);
    }
    for (const auto& r : records) {
      Status s = producer_->Produce(r, [this, pending](const kafka::DeliveryReport& report) {
        Acked(pending, report.status, {report.topic, report.partition}, report.offset);
      });
      if (!s.ok()) Acked(pending, s, {}, -1);
    }
    Acked(pending, Status::Ok(), {}, -1);
  }

  Status Restore(const std::vector<kafka::TopicPartition>& partitions) override {
    if (!producer_) return Status::Ok();
    std::vector<kafka::TopicPartition> changelogs;
    for (const auto& tp : partitions) {
      ASSIGN_OR_RETURN(const std::string cl, ChangelogFor(tp.topic));
      RETURN_IF_ERROR(EnsureChangelog(tp.topic, cl));
      changelogs.push_back({cl, tp.partition});
    }
    if (standby_) {
      // Standby copies stop following what is now ours before it is restored and written here.
      for (const auto& source : standby_sources_) {
        auto cl = ChangelogFor(source);
        if (cl.ok()) (void)EnsureChangelog(source, *cl);  // a source not there yet: later
      }
      owned_.insert(changelogs.begin(), changelogs.end());
      FollowTheRest();
    }
    if (partitions.empty()) return Status::Ok();
    std::map<std::string, std::map<int32_t, int64_t>> from;  // changelog topic -> partitions
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& cl : changelogs) from[cl.topic][cl.partition] = applied_.Next(cl);
    }
    for (const auto& [topic, starts] : from) {
      ASSIGN_OR_RETURN(auto stats, changelog::Restore(restore_options_, topic, starts, *store_));
      metrics_.restores->Increment();
      metrics_.restored->Increment(static_cast<uint64_t>(stats.applied));
      metrics_.foreign->Increment(static_cast<uint64_t>(stats.foreign));
      metrics_.last_restore_seconds->Set(static_cast<double>(stats.took.count()) / 1000.0);
      log_->info("restored {} partitions of {}: {} entries applied in {} ms", starts.size(), topic,
                 stats.applied, stats.took.count());
      if (stats.foreign > 0) {
        log_->warn("{} changelog records of {} are not the relay's and were skipped; the first: {}",
                   stats.foreign, topic, stats.first_foreign);
      }
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [p, next] : stats.next) applied_.Advance({topic, p}, next);
    }
    return SaveApplied();
  }

  void Released(const std::vector<kafka::TopicPartition>& partitions) override {
    if (!standby_) return;
    for (const auto& tp : partitions) {
      auto cl = ChangelogFor(tp.topic);
      if (cl.ok()) owned_.erase({*cl, tp.partition});
    }
    FollowTheRest();
  }

  void Close() override {
    if (producer_) (void)producer_->Flush(Ms(5'000));
    if (standby_) standby_->Stop();
    if (committer_) committer_->Stop();
    if (purger_) purger_->Stop();
    if (producer_) (void)SaveApplied();
  }

  // Set up by OpenStorePart.
  std::unique_ptr<idempotency::IdempotencyStore> store_;
  std::unique_ptr<idempotency::GroupCommitter> committer_;
  std::unique_ptr<idempotency::RetentionPurger> purger_;
  // The changelog; all null when it is off.
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Admin> admin_;
  changelog::RestoreOptions restore_options_;
  std::string suffix_;
  int replication_ = -1;
  Ms retention_{0};
  Clock* clock_ = nullptr;
  std::shared_ptr<metrics::Registry> registry_;
  ChangelogMetrics metrics_;
  std::shared_ptr<spdlog::logger> log_ = GetLogger("relay");
  changelog::AppliedOffsets applied_;  // guarded by mu_
  // Standby copies (changelog.standby_partitions); null when off.
  std::unique_ptr<changelog::Standby> standby_;
  // Named source topics (not patterns) followed even before any of their partitions is assigned.
  std::vector<std::string> standby_sources_;

  // Called on the standby's thread once entries of `topic` up to `next` are in the store.
  void StandbyApplied(const std::string& topic, const std::map<int32_t, int64_t>& next,
                      int64_t entries) {
    metrics_.standby_applied->Increment(static_cast<uint64_t>(entries));
    bool save = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [p, n] : next) applied_.Advance({topic, p}, n);
      save = clock_->Now() - last_save_ >= kSaveInterval;
    }
    if (save) (void)SaveApplied();
  }

 private:
  Result<std::string> ChangelogFor(const std::string& source) {
    return changelog::ChangelogTopic(source, suffix_);
  }

  // The changelog topic exists with the source's partition count: created when missing
  // (compacted, and deleted after the store's retention), an error when its count differs.
  Status EnsureChangelog(const std::string& source, const std::string& topic) {
    if (counts_.count(topic) > 0) return Status::Ok();
    if (source.size() > suffix_.size() && source.ends_with(suffix_)) {
      return FailedPreconditionError(fmt::format(
          "topic {} is a changelog topic (it ends with {}), assigned as a source: narrow "
          "kafka.topics so that it matches no changelog topic",
          source, suffix_));
    }
    ASSIGN_OR_RETURN(const int want, admin_->PartitionCount(source, kAdminTimeout));
    auto have = admin_->PartitionCount(topic, kAdminTimeout);
    if (!have.ok() && have.status().code() == StatusCode::kNotFound) {
      kafka::TopicSpec spec(topic, want);
      spec.replication = replication_;
      spec.configs["cleanup.policy"] = "compact,delete";
      spec.configs["retention.ms"] = std::to_string(retention_.count());
      Status created = admin_->CreateTopic(spec, kAdminTimeout);
      if (!created.ok() && created.code() != StatusCode::kAlreadyExists) {
        return created.WithContext("creating the changelog topic " + topic);
      }
      if (created.ok()) log_->info("created changelog topic {} ({} partitions)", topic, want);
      have = admin_->PartitionCount(topic, kAdminTimeout);
    }
    if (!have.ok()) return have.status().WithContext("changelog topic " + topic);
    if (*have != want) {
      return FailedPreconditionError(fmt::format(
          "changelog topic {} has {} partitions but its source {} has {}: a changelog partition "
          "must match its source partition. Add partitions to the changelog topic (kafka-topics "
          "--alter --partitions {}) or set changelog.suffix to use another topic",
          topic, *have, source, want, want));
    }
    counts_[topic] = want;
    return Status::Ok();
  }

  // Standby copies follow every partition of every known changelog topic that is not ours, from
  // what the store has applied.
  void FollowTheRest() {
    changelog::PartitionOffsets rest;
    int64_t n = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [topic, count] : counts_) {
        for (int32_t p = 0; p < count; ++p) {
          if (owned_.count({topic, p}) > 0) continue;
          rest[topic][p] = applied_.Next({topic, p});
          ++n;
        }
      }
    }
    standby_->Follow(std::move(rest));
    metrics_.standby_partitions->Set(static_cast<double>(n));
  }

  void Acked(const std::shared_ptr<PendingRecord>& pending, const Status& status,
             const kafka::TopicPartition& tp, int64_t offset) {
    std::vector<std::shared_ptr<PendingRecord>> ready;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok() && pending->error.ok()) pending->error = status;
      if (status.ok() && offset >= 0) {
        int64_t& next = pending->next[tp];
        next = std::max(next, offset + 1);
      }
      if (--pending->waiting > 0) return;
      // Completed in Record order: a record's local write never overtakes an earlier one's.
      while (!queue_.empty() && queue_.front()->waiting == 0) {
        ready.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& p : ready) {
      const size_t n = p->entries.size();
      if (!p->error.ok()) {
        metrics_.write_errors->Increment(n);
        p->done(p->error.WithContext("changelog write"));
        continue;
      }
      metrics_.written->Increment(n);
      committer_->Enqueue(std::move(p->entries), [this, p](const Status& s) {
        if (s.ok()) {
          bool save = false;
          {
            std::lock_guard<std::mutex> lock(mu_);
            for (const auto& [cl, next] : p->next) applied_.Advance(cl, next);
            save = clock_->Now() - last_save_ >= kSaveInterval;
          }
          if (save) (void)SaveApplied();
        }
        p->done(s);
      });
    }
  }

  Status SaveApplied() {
    std::lock_guard<std::mutex> lock(mu_);
    last_save_ = clock_->Now();
    Status s = applied_.Save();
    if (!s.ok()) log_->warn("saving the applied changelog offsets: {}", s.ToString());
    return s;
  }

  std::mutex mu_;
  std::deque<std::shared_ptr<PendingRecord>> queue_;  // guarded by mu_
  Clock::TimePoint last_save_;                        // guarded by mu_
  std::map<std::string, int> counts_;      // changelog topic -> partitions; engine thread
  std::set<kafka::TopicPartition> owned_;  // changelog partitions of assigned ones; engine thread
};

Result<std::unique_ptr<idempotency::IdempotencyStore>> OpenSqlite(const RelayOptions& options) {
  return idempotency::OpenSqliteStore(options.idempotency.store);
}

// Moves a damaged store (and its -wal and -shm companions) aside, keeping it for a post-mortem.
Status MoveAside(const std::string& path, int64_t now_ms) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path from = path + suffix;
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, fmt::format("{}.corrupt-{}{}", path, now_ms, suffix), ec);
    if (ec) return InternalError(fmt::format("moving {} aside: {}", from.string(), ec.message()));
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<ResolutionStore>> OpenStorePart(
    const RelayOptions& options, Clock& clock, std::shared_ptr<metrics::Registry> registry) {
  auto part = std::make_unique<StorePart>();
  part->clock_ = &clock;
  part->registry_ = registry;
  const bool with_changelog = options.changelog.enabled;
  const std::string applied_path = options.idempotency.store.path + ".changelog.json";
  const bool existed = fs::exists(options.idempotency.store.path);
  auto store = OpenSqlite(options);
  const int64_t now_ms = clock.WallMillis();
  if (with_changelog) {
    RETURN_IF_ERROR(part->metrics_.Register(*registry));
    if (!store.ok() && store.status().code() == StatusCode::kDataLoss) {
      part->log_->error(
          "idempotency store {} is damaged ({}); moving it aside and rebuilding it "
          "from the changelog",
          options.idempotency.store.path, store.status().message());
      RETURN_IF_ERROR(MoveAside(options.idempotency.store.path, now_ms));
      part->metrics_.rebuilds->Increment();
      store = OpenSqlite(options);
      RETURN_IF_ERROR(changelog::AppliedOffsets::Remove(applied_path));
    } else if (store.ok() && !existed) {
      // A new store holds nothing: whatever the offsets file says was applied is not here. With
      // an offsets file left, the store was lost (deleted beside it): say so and count it.
      if (fs::exists(applied_path)) {
        part->log_->warn("idempotency store {} was missing; rebuilding it from the changelog",
                         options.idempotency.store.path);
        part->metrics_.rebuilds->Increment();
      }
      RETURN_IF_ERROR(changelog::AppliedOffsets::Remove(applied_path));
    }
  }
  if (!store.ok()) return store.status();
  part->store_ = std::move(store).value();
  ASSIGN_OR_RETURN(part->committer_, idempotency::GroupCommitter::Start(part->store_.get()));
  ASSIGN_OR_RETURN(part->purger_, idempotency::RetentionPurger::Start(
                                      part->store_.get(), options.idempotency.retention));
  if (!with_changelog) return std::unique_ptr<ResolutionStore>(std::move(part));

  std::string damaged;
  part->applied_ = changelog::AppliedOffsets::Load(applied_path, &damaged);
  if (!damaged.empty()) {
    part->log_->warn("applied changelog offsets unreadable ({}): restoring from the start",
                     damaged);
  }
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap = options.kafka.bootstrap;
  producer_options.properties = options.kafka.properties;
  // Batched: a resolution waits a few ms for others of its partition.
  producer_options.properties.emplace("linger.ms", "5");
  ASSIGN_OR_RETURN(part->producer_, kafka::Producer::Create(producer_options));
  ASSIGN_OR_RETURN(part->admin_, kafka::Admin::Create(
                                     kafka::AdminOptions{.bootstrap = options.kafka.bootstrap,
                                                         .properties = options.kafka.properties}));
  part->restore_options_ = options.changelog.restore;
  part->restore_options_.reader.bootstrap = options.kafka.bootstrap;
  part->restore_options_.reader.properties = options.kafka.properties;
  part->restore_options_.reader.group_id = options.kafka.group_id + ".changelog-restore";
  part->restore_options_.clock = &clock;
  part->suffix_ = options.changelog.suffix;
  part->replication_ = options.changelog.replication_factor;
  part->retention_ = options.idempotency.retention.retention;
  if (options.changelog.standby_partitions) {
    changelog::StandbyOptions standby;
    standby.reader = part->restore_options_.reader;
    standby.reader.group_id = options.kafka.group_id + ".changelog-standby";
    StorePart* p = part.get();
    ASSIGN_OR_RETURN(part->standby_,
                     changelog::Standby::Start(
                         standby, *part->store_,
                         [p](const std::string& topic, const std::map<int32_t, int64_t>& next,
                             int64_t entries) { p->StandbyApplied(topic, next, entries); }));
    for (const auto& topic : options.kafka.topics) {
      if (!topic.starts_with('^')) part->standby_sources_.push_back(topic);
    }
  }
  return std::unique_ptr<ResolutionStore>(std::move(part));
}

}  // namespace sluice::relay

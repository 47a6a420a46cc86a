#include "store_part.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <filesystem>
#include <mutex>
#include <set>

#include "changelog_topic.h"
#include "sluice/changelog/applied_offsets.h"
#include "sluice/changelog/record.h"
#include "sluice/changelog/restore.h"
#include "sluice/changelog/standby.h"
#include "sluice/core/logging.h"
#include "sluice/idempotency/group_commit.h"
#include "sluice/idempotency/retention.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/producer.h"
#include "store_metrics.h"
#include "store_slot.h"

namespace sluice::relay {
namespace {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;
// The applied offsets of our own writes are saved at most this often (and at every restore and
// at close); a crash loses at most this much of the record, which costs a longer restore only.
constexpr Clock::Duration kSaveInterval = std::chrono::seconds(10);

// One Record call: its entries by source partition, waiting for the broker's acks of its
// changelog writes, then for the commits of every slot it touches.
struct PendingRecord {
  struct Part {
    StoreSlot* slot = nullptr;  // its inflight count keeps it open
    std::vector<idempotency::Entry> entries;
  };
  std::map<kafka::TopicPartition, Part> parts;  // source partition -> its entries
  ResolutionStore::Callback done;
  size_t waiting = 0;  // changelog acks still due
  size_t commits = 0;  // slot commits still due
  bool finished = false;
  Status error = Status::Ok();
  std::map<kafka::TopicPartition, int64_t> next;  // changelog partition -> last offset + 1
};

// Thread-safety: CheckBatch, Restore and Released from the engine thread; Record from any thread;
// broker acks and commits arrive on the producer's and the committers' threads. The slots and the
// queues are guarded by mu_.
class StorePart final : public ResolutionStore {
 public:
  ~StorePart() override { Close(); }

  Result<std::vector<std::optional<idempotency::Resolution>>> CheckBatch(
      const std::vector<std::string>& ids,
      const std::vector<kafka::TopicPartition>& sources) override {
    if (ids.size() != sources.size()) {
      return InvalidArgumentError(
          fmt::format("{} event ids but {} source partitions", ids.size(), sources.size()));
    }
    std::vector<std::optional<idempotency::Resolution>> out(ids.size());
    std::map<kafka::TopicPartition, std::vector<size_t>> by_source;
    for (size_t i = 0; i < ids.size(); ++i) by_source[sources[i]].push_back(i);
    std::vector<std::string> some;
    for (const auto& [source, index] : by_source) {
      StoreSlot* slot = nullptr;
      {
        std::lock_guard<std::mutex> lock(mu_);
        ASSIGN_OR_RETURN(slot, SlotLocked(source, 1));
      }
      some.clear();
      for (size_t i : index) some.push_back(ids[i]);
      ASSIGN_OR_RETURN(auto found, slot->store().CheckBatch(some));
      for (size_t k = 0; k < index.size(); ++k) out[index[k]] = std::move(found[k]);
    }
    if (legacy_) {
      // The single file of an older relay (changelog off): consulted for what the slots miss.
      std::vector<size_t> missed;
      some.clear();
      for (size_t i = 0; i < ids.size(); ++i) {
        if (!out[i]) {
          missed.push_back(i);
          some.push_back(ids[i]);
        }
      }
      if (!some.empty()) {
        ASSIGN_OR_RETURN(auto found, legacy_->CheckBatch(some));
        for (size_t k = 0; k < missed.size(); ++k) out[missed[k]] = std::move(found[k]);
      }
    }
    return out;
  }

  void Record(std::vector<StoreEntry> entries, Callback done) override {
    auto pending = std::make_shared<PendingRecord>();
    pending->done = std::move(done);
    // Wall time, as the store and its retention count it (Now() is monotonic).
    const int64_t now_ms = clock_->WallMillis();
    std::vector<kafka::ProducerRecord> records;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto& [e, source] : entries) {
        if (e.recorded_ms <= 0) e.recorded_ms = now_ms;  // the same time here and in the changelog
        auto& part = pending->parts[source];
        if (part.slot == nullptr && pending->error.ok()) {
          // A partition with no open slot (a late Record after a revoke) opens it again: the
          // resolution is kept here too; its changelog offsets are not advanced (not ours now).
          auto slot = SlotLocked(source, 1);
          if (slot.ok()) {
            part.slot = *slot;
            ++part.slot->inflight;
          } else {
            pending->error = slot.status();
          }
        }
        if (producer_ && pending->error.ok()) {
          auto topic = ChangelogFor(source.topic);
          if (topic.ok()) {
            records.push_back(changelog::Encode(e, *topic, source.partition));
          } else {
            pending->error = topic.status();
          }
        }
        part.entries.push_back(std::move(e));
      }
      pending->waiting = records.size() + 1;  // +1: released below, after every Produce
      order_.push_back(pending);
      if (producer_) queue_.push_back(pending);
    }
    if (!producer_) {
      Commit(pending);
      return;
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
    std::vector<kafka::TopicPartition> changelogs;
    if (producer_) {
      for (const auto& tp : partitions) {
        ASSIGN_OR_RETURN(const std::string cl, ChangelogFor(tp.topic));
        RETURN_IF_ERROR(EnsureChangelog(tp.topic, cl));
        changelogs.push_back({cl, tp.partition});
      }
    }
    // The slots of what is now ours, opened (or taken from the standby copies) before anything of
    // them is restored or written here; each shares memory with all that are open.
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t sharing = slots_.size();
      for (const auto& tp : partitions) sharing += slots_.count(tp) == 0 ? 1 : 0;
      for (const auto& tp : partitions) {
        ASSIGN_OR_RETURN(StoreSlot * slot, SlotLocked(tp, sharing));
        slot->owned = true;
      }
    }
    Reap();
    if (standby_) {
      // Standby copies stop following what is now ours before it is restored and written here.
      for (const auto& source : standby_sources_) {
        auto cl = ChangelogFor(source);
        if (cl.ok()) (void)EnsureChangelog(source, *cl);  // a source not there yet: later
      }
      RETURN_IF_ERROR(FollowTheRest());
    }
    if (!producer_ || partitions.empty()) return Status::Ok();
    // changelog topic -> partition -> from where, and the slot it goes to.
    std::map<std::string, std::map<int32_t, int64_t>> from;
    std::map<kafka::TopicPartition, StoreSlot*> slot_of;  // changelog partition -> slot
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (size_t i = 0; i < partitions.size(); ++i) {
        StoreSlot* slot = slots_.at(partitions[i]).get();
        from[changelogs[i].topic][changelogs[i].partition] = slot->Next(changelogs[i]);
        slot_of[changelogs[i]] = slot;
      }
    }
    for (const auto& [topic, starts] : from) {
      ASSIGN_OR_RETURN(
          auto stats,
          changelog::Restore(restore_options_, topic, starts, [&, t = topic](int32_t p) {
            auto it = slot_of.find({t, p});
            return it == slot_of.end() ? nullptr : &it->second->store();
          }));
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
      for (const auto& [p, next] : stats.next) {
        StoreSlot* slot = slot_of.at({topic, p});
        slot->Advance({topic, p}, next);
        RETURN_IF_ERROR(slot->SaveOffsets());
      }
    }
    return Status::Ok();
  }

  void Released(const std::vector<kafka::TopicPartition>& partitions) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& tp : partitions) {
        auto it = slots_.find(tp);
        if (it != slots_.end()) it->second->owned = false;
      }
    }
    // Standby copies take what they keep before anything is closed; the rest closes.
    if (standby_) (void)FollowTheRest();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& tp : partitions) {
        auto it = slots_.find(tp);
        if (it == slots_.end() || it->second->owned || it->second->standby) continue;
        retired_.push_back(std::move(it->second));
        slots_.erase(it);
      }
    }
    Reap();
  }

  void Close() override {
    if (producer_) (void)producer_->Flush(Ms(5'000));
    if (standby_) standby_->Stop();
    std::vector<std::unique_ptr<StoreSlot>> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      for (auto& [tp, slot] : slots_) all.push_back(std::move(slot));
      slots_.clear();
      for (auto& slot : retired_) all.push_back(std::move(slot));
      retired_.clear();
    }
    // Each committer commits what is queued (its callbacks still find every slot alive).
    for (auto& slot : all) slot->committer().Stop();
    all.clear();
    if (legacy_purger_) legacy_purger_->Stop();
  }

  // Set up by OpenStorePart.
  SlotConfig slot_config_;
  // The single file of an older relay, read-only, when the changelog is off (see OpenStorePart).
  std::unique_ptr<idempotency::IdempotencyStore> legacy_;
  std::unique_ptr<idempotency::RetentionPurger> legacy_purger_;
  // The changelog; all null when it is off.
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Admin> admin_;
  changelog::RestoreOptions restore_options_;
  ChangelogTopicSpec topic_spec_;
  Clock* clock_ = nullptr;
  std::shared_ptr<metrics::Registry> registry_;
  ChangelogMetrics metrics_;
  bool counting_ = false;  // metrics_ registered (changelog on)
  std::shared_ptr<spdlog::logger> log_ = GetLogger("relay");
  // Standby copies (changelog.standby_partitions); null when off.
  std::unique_ptr<changelog::Standby> standby_;
  // Named source topics (not patterns) followed even before any of their partitions is assigned.
  std::vector<std::string> standby_sources_;

  // The standby's store of one changelog partition: its source partition's slot.
  idempotency::IdempotencyStore* StandbyStore(const std::string& topic, int32_t partition) {
    std::lock_guard<std::mutex> lock(mu_);
    auto source = sources_.find(topic);
    if (source == sources_.end()) return nullptr;
    auto it = slots_.find({source->second, partition});
    return it == slots_.end() ? nullptr : &it->second->store();
  }

  // Called on the standby's thread once entries of `topic` up to `next` are in the store.
  void StandbyApplied(const std::string& topic, const std::map<int32_t, int64_t>& next,
                      int64_t entries) {
    metrics_.standby_applied->Increment(static_cast<uint64_t>(entries));
    std::vector<StoreSlot*> touched;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto source = sources_.find(topic);
      if (source == sources_.end()) return;
      for (const auto& [p, n] : next) {
        auto it = slots_.find({source->second, p});
        if (it == slots_.end()) continue;
        it->second->Advance({topic, p}, n);
        touched.push_back(it->second.get());
      }
    }
    // The slots stay open: a standby copy is not closed while it is followed.
    for (StoreSlot* slot : touched) (void)slot->SaveOffsets(kSaveInterval);
  }

 private:
  Result<std::string> ChangelogFor(const std::string& source) {
    return changelog::ChangelogTopic(source, topic_spec_.suffix);
  }

  // The open slot of `source`: the one open, a retired one still draining, or a new one (sharing
  // memory with `sharing` slots at least). Rebuilds are counted.
  Result<StoreSlot*> SlotLocked(const kafka::TopicPartition& source, size_t sharing) {
    auto it = slots_.find(source);
    if (it != slots_.end()) return it->second.get();
    if (closed_) return FailedPreconditionError("the store is closed");
    for (auto r = retired_.begin(); r != retired_.end(); ++r) {
      if ((*r)->source() == source) {
        StoreSlot* slot = r->get();
        slots_[source] = std::move(*r);
        retired_.erase(r);
        return slot;
      }
    }
    SlotConfig config = slot_config_;
    config.sharing = std::max(sharing, slots_.size() + 1);
    bool rebuilt = false;
    ASSIGN_OR_RETURN(auto slot, StoreSlot::Open(config, source, *clock_, &rebuilt));
    if (rebuilt && counting_) metrics_.rebuilds->Increment();
    StoreSlot* raw = slot.get();
    slots_[source] = std::move(slot);
    return raw;
  }

  // Retires the open slots neither owned nor followed (a late Record reopened one after its
  // revoke) and destroys retired slots that no Record uses any more (engine thread).
  void Reap() {
    std::vector<std::unique_ptr<StoreSlot>> done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = slots_.begin(); it != slots_.end();) {
        if (!it->second->owned && !it->second->standby && it->second->inflight.load() == 0) {
          retired_.push_back(std::move(it->second));
          it = slots_.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = retired_.begin(); it != retired_.end();) {
        if ((*it)->inflight.load() == 0) {
          done.push_back(std::move(*it));
          it = retired_.erase(it);
        } else {
          ++it;
        }
      }
    }
    done.clear();  // commits what is queued, stops its threads
  }

  // The changelog topic exists with the source's partition count (changelog_topic.h).
  Status EnsureChangelog(const std::string& source, const std::string& topic) {
    if (counts_.count(topic) > 0) return Status::Ok();
    ASSIGN_OR_RETURN(const int want,
                     EnsureChangelogTopic(*admin_, *clock_, topic_spec_, source, topic));
    std::lock_guard<std::mutex> lock(mu_);
    counts_[topic] = want;
    sources_[topic] = source;
    return Status::Ok();
  }

  // Standby copies follow every partition of every known changelog topic that is not ours, from
  // what its slot has applied; the slots of those partitions are opened first.
  Status FollowTheRest() {
    changelog::PartitionOffsets rest;
    int64_t n = 0;
    Status status = Status::Ok();
    {
      std::lock_guard<std::mutex> lock(mu_);
      size_t total = 0;
      for (const auto& [topic, count] : counts_) total += static_cast<size_t>(count);
      for (auto& [tp, slot] : slots_) slot->standby = false;
      for (const auto& [topic, count] : counts_) {
        const std::string& source = sources_.at(topic);
        for (int32_t p = 0; p < count; ++p) {
          auto slot = SlotLocked({source, p}, total);
          if (!slot.ok()) {
            if (status.ok()) status = slot.status();
            continue;
          }
          if ((*slot)->owned) continue;
          (*slot)->standby = true;
          rest[topic][p] = (*slot)->Next({topic, p});
          ++n;
        }
      }
    }
    standby_->Follow(std::move(rest));
    metrics_.standby_partitions->Set(static_cast<double>(n));
    return status;
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
      // Committed in Record order: a record's local write never overtakes an earlier one's.
      while (!queue_.empty() && queue_.front()->waiting == 0) {
        ready.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    for (auto& p : ready) {
      size_t n = 0;
      for (const auto& [source, part] : p->parts) n += part.entries.size();
      if (p->error.ok()) {
        metrics_.written->Increment(n);
      } else {
        metrics_.write_errors->Increment(n);
        p->error = p->error.WithContext("changelog write");
      }
      Commit(p);
    }
  }

  // Hands each slot its entries (or, after an error, nothing) and finishes the record once every
  // slot has committed.
  void Commit(const std::shared_ptr<PendingRecord>& pending) {
    if (!pending->error.ok()) {
      Committed(pending, pending->error, false);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending->commits = pending->parts.size() + 1;  // +1: released below
    }
    for (auto& [source, part] : pending->parts) {
      part.slot->committer().Enqueue(std::move(part.entries), [this, pending](const Status& s) {
        Committed(pending, s, true);
      });
    }
    Committed(pending, Status::Ok(), true);
  }

  // Callbacks in Record order (the ordering stage after the slots' commits, which complete in
  // their own order): a record is reported only after every earlier one.
  void Committed(const std::shared_ptr<PendingRecord>& pending, const Status& status,
                 bool counted) {
    std::vector<std::shared_ptr<PendingRecord>> ready;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!status.ok() && pending->error.ok()) pending->error = status;
      if (counted && --pending->commits > 0) return;
      pending->finished = true;
      while (!order_.empty() && order_.front()->finished) {
        ready.push_back(std::move(order_.front()));
        order_.pop_front();
      }
    }
    for (auto& p : ready) {
      if (p->error.ok()) {
        for (auto& [source, part] : p->parts) {
          bool owned = false;
          {
            std::lock_guard<std::mutex> lock(mu_);
            owned = part.slot->owned;
          }
          if (!owned || !producer_) continue;
          auto mine = ChangelogFor(source.topic);
          for (const auto& [cl, next] : p->next) {
            if (mine.ok() && cl.topic == *mine && cl.partition == source.partition) {
              part.slot->Advance(cl, next);
            }
          }
          (void)part.slot->SaveOffsets(kSaveInterval);
        }
      }
      if (p->done) p->done(p->error);
      for (auto& [source, part] : p->parts) {
        if (part.slot != nullptr) --part.slot->inflight;
      }
    }
  }

  std::mutex mu_;
  std::deque<std::shared_ptr<PendingRecord>> queue_;  // guarded by mu_: waiting for acks
  std::deque<std::shared_ptr<PendingRecord>> order_;  // guarded by mu_: not yet reported
  // The open slots, by source partition, and closed ones still used by a Record in progress.
  std::map<kafka::TopicPartition, std::unique_ptr<StoreSlot>> slots_;  // guarded by mu_
  std::vector<std::unique_ptr<StoreSlot>> retired_;                    // guarded by mu_
  bool closed_ = false;                                                // guarded by mu_
  std::map<std::string, int> counts_;           // guarded by mu_: changelog topic -> partitions
  std::map<std::string, std::string> sources_;  // guarded by mu_: changelog topic -> source
};

}  // namespace

Result<std::unique_ptr<ResolutionStore>> OpenStorePart(
    const RelayOptions& options, Clock& clock, std::shared_ptr<metrics::Registry> registry) {
  auto part = std::make_unique<StorePart>();
  part->clock_ = &clock;
  part->registry_ = registry;
  const bool with_changelog = options.changelog.enabled;
  const std::string& base = options.idempotency.store.path;
  part->slot_config_.store = options.idempotency.store;
  part->slot_config_.retention = options.idempotency.retention;
  part->slot_config_.with_changelog = with_changelog;
  if (with_changelog) {
    RETURN_IF_ERROR(part->metrics_.Register(*registry));
    part->counting_ = true;
  }
  std::error_code ec;
  if (fs::is_regular_file(base, ec)) {
    // The single store file of a relay before the per-partition layout.
    if (with_changelog) {
      // The slots are restored from the changelog: the old file is not needed, and kept aside.
      const int64_t now_ms = clock.WallMillis();
      part->log_->warn(
          "idempotency store {} is the single file of an older relay; moving it aside to "
          "{}.pre-partitions-{}: the per-partition stores under {}.d are restored from the "
          "changelog",
          base, base, now_ms, base);
      RETURN_IF_ERROR(MoveStoreAside(base, ".pre-partitions", now_ms));
      RETURN_IF_ERROR(changelog::AppliedOffsets::Remove(base + ".changelog.json"));
    } else {
      // Nothing to restore the slots from: the old file stays, read-only, consulted for what the
      // slots miss (and purged by retention), so an upgrade writes nothing twice.
      part->log_->info(
          "idempotency store {} is the single file of an older relay: kept as a read-only "
          "fallback beside the per-partition stores under {}.d",
          base, base);
      ASSIGN_OR_RETURN(part->legacy_, idempotency::OpenSqliteStore(options.idempotency.store));
      ASSIGN_OR_RETURN(
          part->legacy_purger_,
          idempotency::RetentionPurger::Start(part->legacy_.get(), options.idempotency.retention));
    }
  }
  fs::create_directories(base + ".d", ec);
  if (ec) return InternalError(fmt::format("creating {}.d: {}", base, ec.message()));
  if (!with_changelog) return std::unique_ptr<ResolutionStore>(std::move(part));

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
  part->topic_spec_.suffix = options.changelog.suffix;
  part->topic_spec_.replication = options.changelog.replication_factor;
  part->topic_spec_.retention = options.idempotency.retention.retention;
  if (options.changelog.standby_partitions) {
    changelog::StandbyOptions standby;
    standby.reader = part->restore_options_.reader;
    standby.reader.group_id = options.kafka.group_id + ".changelog-standby";
    StorePart* p = part.get();
    ASSIGN_OR_RETURN(part->standby_,
                     changelog::Standby::Start(
                         standby,
                         [p](const std::string& topic, int32_t partition) {
                           return p->StandbyStore(topic, partition);
                         },
                         [p](const std::string& topic, const std::map<int32_t, int64_t>& next,
                             int64_t entries) { p->StandbyApplied(topic, next, entries); }));
    for (const auto& topic : options.kafka.topics) {
      if (!topic.starts_with('^')) part->standby_sources_.push_back(topic);
    }
  }
  return std::unique_ptr<ResolutionStore>(std::move(part));
}

}  // namespace sluice::relay

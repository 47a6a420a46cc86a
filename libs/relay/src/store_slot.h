// StoreSlot: the local store of ONE source partition (issue 12, "Store layout"): a SQLite file
// <idempotency.path>.d/<topic>-<partition>.db with its own group committer and retention purger,
// and, with the changelog on, how far that partition's changelog is applied to it, in a sidecar
// <file>.changelog.json. One partition's state can so be dropped (its file deleted while the relay
// is stopped, or moved aside when damaged) and rebuilt from the changelog, or kept, on its own.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "sluice/changelog/applied_offsets.h"
#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/idempotency/group_commit.h"
#include "sluice/idempotency/retention.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/message.h"

namespace sluice::relay {

// How a slot is opened. Thread-safety: a value type.
struct SlotConfig {
  // The store options as configured (store.path is <idempotency.path>, the slots' base).
  idempotency::SqliteStoreOptions store;
  idempotency::RetentionOptions retention;
  // The changelog is on: a damaged file is moved aside and rebuilt, offsets are kept.
  bool with_changelog = false;
  // Slots expected open once this one is: memory (max_staged_rows, cache_size_kib,
  // bloom_max_bytes) is the configured amount divided by this, with floors (SlotShare).
  size_t sharing = 1;
};

// The store options of one slot of `sharing`: each of max_staged_rows, cache_size_kib and
// bloom_max_bytes is configured / max(1, sharing), but at least min(configured, floor) with floors
// 10,000 rows, 256 KiB (the smallest idempotency.cache_kib) and 1 MiB.
idempotency::SqliteStoreOptions SlotShare(const idempotency::SqliteStoreOptions& configured,
                                          size_t sharing);

// <base>.d/<topic>-<partition>.db; InvalidArgument for a topic with characters Kafka does not
// allow in a name ([A-Za-z0-9._-]) or a negative partition.
Result<std::string> SlotPath(const std::string& base, const kafka::TopicPartition& source);

// Moves `path` and its -wal and -shm companions to <path><infix>-<ms>, keeping them for a
// post-mortem.
Status MoveStoreAside(const std::string& path, const std::string& infix, int64_t now_ms);

// Thread-safety: store(), committer() and the offsets methods from any thread; Open and the
// destructor from the owner's thread.
class StoreSlot {
 public:
  // Opens (creating when missing) the slot of `source`. With the changelog on, a damaged file is
  // moved aside (<file>.corrupt-<ms>) and created afresh, and *rebuilt is set; so is it when the
  // file was missing but its offsets sidecar was not (the file was deleted). A fresh file forgets
  // its sidecar: it is restored from changelog offset 0.
  static Result<std::unique_ptr<StoreSlot>> Open(const SlotConfig& config,
                                                 const kafka::TopicPartition& source, Clock& clock,
                                                 bool* rebuilt);
  ~StoreSlot();  // Close()
  StoreSlot(const StoreSlot&) = delete;
  StoreSlot& operator=(const StoreSlot&) = delete;

  const kafka::TopicPartition& source() const { return source_; }
  const std::string& path() const { return path_; }
  idempotency::IdempotencyStore& store() { return *store_; }
  idempotency::GroupCommitter& committer() { return *committer_; }

  // The next changelog offset to apply to this slot (0: restore from the start).
  int64_t Next(const kafka::TopicPartition& changelog) const;
  void Advance(const kafka::TopicPartition& changelog, int64_t next);
  // Saves the offsets now, or (`every` > 0) when the last save is older than that.
  Status SaveOffsets(Clock::Duration every = Clock::Duration::zero());

  // Commits what is queued, stops the threads, saves the offsets (changelog on). Idempotent.
  void Close();

  // Owner's bookkeeping (under the owner's lock): the partition is assigned here; followed as a
  // standby copy; Records in progress that use this slot (it is not destroyed while any are).
  bool owned = false;
  bool standby = false;
  std::atomic<int> inflight{0};

 private:
  StoreSlot(kafka::TopicPartition source, std::string path, Clock& clock, bool with_changelog);

  const kafka::TopicPartition source_;
  const std::string path_;
  Clock& clock_;
  const bool with_changelog_;
  std::unique_ptr<idempotency::IdempotencyStore> store_;
  std::unique_ptr<idempotency::GroupCommitter> committer_;
  std::unique_ptr<idempotency::RetentionPurger> purger_;
  mutable std::mutex mu_;
  changelog::AppliedOffsets applied_;  // guarded by mu_
  Clock::TimePoint last_save_;         // guarded by mu_
  bool closed_ = false;                // guarded by mu_
};

}  // namespace sluice::relay

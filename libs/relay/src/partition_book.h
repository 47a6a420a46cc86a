// PartitionBook: the relay's one record of every assigned partition and every event in progress.
// Each event has one id (its sequence number) from intake to resolution, and one stage; "how much
// is in progress" — per partition for a revoke, in total for a shutdown, stored-but-unrecorded for
// the crash window — is counted from the stages, not kept in separate counters.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/envelope/event.h"
#include "sluice/flow/key_scheduler.h"
#include "sluice/kafka/consumer.h"
#include "sluice/relay/parts.h"

namespace sluice::relay {

enum class Stage {
  kQueued,         // parsed and valid, in the key scheduler, waiting for its key or a retry hold
  kBatched,        // taken from the scheduler, in the batcher or a batch waiting for the gates
  kSending,        // in a Salesforce call
  kStoring,        // delivered; its store record is being written
  kDeadLettering,  // its DLQ record is being produced (or retried)
  kResolving,      // resolved at once (a skip), about to leave the book
  kFollowing,      // a second copy of an event id already in progress: waits for that one's outcome
};
inline constexpr size_t kStageCount = 7;

// The target of an event's write: one batch per (sObject, operation, external id field).
struct Route {
  Operation operation = Operation::kUpsert;
  std::string sobject;
  std::string external_id_field;  // upserts; for kPublish the event id (one event per call)

  friend auto operator<=>(const Route&, const Route&) = default;
};

// One consumed record from intake to resolution.
struct EventRecord {
  uint64_t seq = 0;
  flow::PartitionId pid = 0;
  kafka::Message msg;
  envelope::Event event;
  bool valid = false;
  Stage stage = Stage::kQueued;
  Route route;
  std::string send_fields;    // fields_json as sent (with the event id field when configured)
  std::string send_external;  // external id as sent
  // In the key scheduler (from Add until Complete).
  bool in_scheduler = false;
  flow::EventId sched_id = 0;
  flow::Dispatch dispatch;   // the last dispatch, for backoff decisions
  int charged_attempts = 0;  // sends whose failure was the record's own (the DLQ's attempts)
  // Later copies of the same event id (an upstream producer's retry) that arrived while this one
  // was in progress: resolved as skipped duplicates with it.
  std::vector<uint64_t> followers;
  int64_t first_attempt_ms = -1;
  int64_t last_attempt_ms = -1;
  // Set when its partition was revoked: results are still reported to the scheduler, but nothing
  // is resolved, retried, recorded or dead-lettered.
  bool abandoned = false;
  bool admitted = false;  // counted in the book's per-partition key counts
};

struct PartitionState {
  kafka::TopicPartition tp;
  flow::PartitionId id = 0;
  int64_t committed = -1;  // last committed next-offset
  bool revoking = false;
  // Whether the engine wants this partition paused, and when a record of it was last taken (or it
  // was assigned / resumed): a partition that is neither paused by intent nor consumed for long
  // shows as stalled.
  bool paused = false;
  int64_t last_progress_ms = 0;
};

// Thread-safety: engine thread only.
class PartitionBook {
 public:
  // --- partitions ---
  PartitionState& Assign(const kafka::TopicPartition& tp, int64_t now_ms);
  // nullptr when not assigned.
  PartitionState* Find(const kafka::TopicPartition& tp);
  PartitionState* Find(flow::PartitionId pid);
  void Unassign(flow::PartitionId pid);
  std::map<kafka::TopicPartition, PartitionState>& partitions() { return partitions_; }
  const std::map<kafka::TopicPartition, PartitionState>& partitions() const { return partitions_; }

  // --- events ---
  EventRecord& Add(std::unique_ptr<EventRecord> record);
  // nullptr when it already left the book.
  EventRecord* Get(uint64_t seq);
  void SetStage(EventRecord& e, Stage stage);
  void Erase(uint64_t seq);
  uint64_t NextSeq() { return next_seq_++; }
  // The event in progress under `event_id` (the first copy taken), or nullptr.
  EventRecord* Leader(const std::string& event_id);
  void SetLeader(EventRecord& e);
  // Forgets `e` as its id's leader (if it is) and returns its followers.
  std::vector<uint64_t> TakeFollowers(EventRecord& e);
  // Events of a key admitted to the scheduler and not yet gone, per partition (Admit, Erase).
  void Admitted(EventRecord& e);
  bool KeyPending(flow::PartitionId pid, const kafka::Message& msg) const;
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (auto& [seq, e] : events_) fn(*e);
  }

  size_t events() const { return events_.size(); }
  size_t Count(Stage stage) const { return totals_[static_cast<size_t>(stage)]; }
  // Events of the partition in a Salesforce call, a store write or a DLQ produce.
  int64_t InProgress(flow::PartitionId pid) const;
  // The same over every partition.
  int64_t InProgress() const;
  // Events of the partition in a Salesforce call.
  int64_t Sending(flow::PartitionId pid) const;

 private:
  static bool Counts(Stage s) {
    return s == Stage::kSending || s == Stage::kStoring || s == Stage::kDeadLettering;
  }
  void Count(const EventRecord& e, int delta);

  uint64_t next_seq_ = 1;
  flow::PartitionId next_pid_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<EventRecord>> events_;
  std::map<kafka::TopicPartition, PartitionState> partitions_;
  std::unordered_map<flow::PartitionId, kafka::TopicPartition> by_id_;
  std::unordered_map<flow::PartitionId, int64_t> in_progress_;
  std::unordered_map<flow::PartitionId, int64_t> sending_;
  std::array<size_t, kStageCount> totals_{};
  // Looked up by string_view without building a string (per event, on the hot path).
  struct ViewHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Event id -> seq of the copy in progress. The key views the leader's own event_id, which lives
  // as long as the leader is in the book (Erase drops the entry with it).
  std::unordered_map<std::string_view, uint64_t> leaders_;
  // Per partition, key -> admitted events of it.
  std::unordered_map<flow::PartitionId,
                     std::unordered_map<std::string, int64_t, ViewHash, std::equal_to<>>>
      keys_;
};

}  // namespace sluice::relay

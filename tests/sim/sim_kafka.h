// SimKafka: the simulated broker — topics with partitions and offsets, one consumer group with
// eager rebalances, committed offsets, and windows when the broker is unavailable.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "facts.h"
#include "sluice/core/status.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "world.h"

namespace sluice::sim {

// Thread-safety: a value type.
struct SimKafkaOptions {
  // How long a crashed member stays in the group (holding its partitions) before the broker
  // expires it: session.timeout.ms. Default 3 s.
  Clock::Duration session_timeout = std::chrono::seconds(3);
  // From the last member's revoke to the new assignment being handed out (join + sync round
  // trips). Default 50 ms.
  Clock::Duration rebalance_delay = std::chrono::milliseconds(50);
};

// One group member as the broker and librdkafka see it. A member's pause flags outlive revokes
// and re-assignments, as librdkafka 2.0.2 keeps them on its partition objects (librdkafka issue
// #1849): a partition paused before a revoke is still paused when it comes back to this member.
// Thread-safety: a value type.
struct SimMember {
  std::string id;
  Owner incarnation = kWorld;
  std::vector<std::string> subscription;
  kafka::RebalanceListener* listener = nullptr;
  bool zombie = false;  // its process crashed; it holds its partitions until the session expires
  std::vector<kafka::TopicPartition> assigned;
  std::set<kafka::TopicPartition> paused;  // kept across revoke and assign
  std::map<kafka::TopicPartition, int64_t> position;
  std::map<kafka::TopicPartition, int64_t> stored;  // StoreOffset()
  bool needs_revoke = false;
  bool in_revoke = false;
  std::optional<std::vector<kafka::TopicPartition>> pending_assign;
  TimePoint assign_ready_at{};
  size_t fetch_cursor = 0;
};

// Thread-safety: not thread-safe; the simulation runs on one thread.
class SimKafka {
 public:
  SimKafka(World& world, Facts& facts, const SimKafkaOptions& options = {});

  // --- topics ---
  // Ok, or AlreadyExists.
  Status CreateTopic(const std::string& topic, int partitions);
  Result<int> PartitionCount(std::string_view topic) const;
  std::vector<kafka::TopicInfo> ListTopics() const;
  // Appends a record to a source topic partition; returns its offset. Consumers see it from
  // `visible_at` on.
  int64_t Append(const std::string& topic, int32_t partition, kafka::Message record,
                 TimePoint visible_at);
  int64_t EndOffset(const kafka::TopicPartition& tp) const;
  // A DLQ record reaching the broker (kept for inspection only).
  void AppendDlq(const kafka::ProducerRecord& record);

  // --- availability ---
  void AddUnavailableWindow(TimePoint start, TimePoint end);
  bool Available() const;

  // --- the group ---
  // A member joins (Subscribe); the group rebalances. Returns the member id.
  std::string Join(Owner incarnation, std::vector<std::string> topics,
                   kafka::RebalanceListener* listener);
  // A member leaves cleanly (Close, after its revoke ran); the group rebalances.
  void Leave(const std::string& member_id);
  // Every member of `incarnation` becomes a zombie, expired after the session timeout.
  void Crash(Owner incarnation);
  SimMember* FindMember(const std::string& member_id);
  // Called by a member's consumer after its revoke ran.
  void RevokeDone(const std::string& member_id);
  // Whether the member's next Poll would do something (a rebalance step or a record).
  bool HasWork(const std::string& member_id) const;
  // Records the member can fetch now from its assigned, unpaused partitions.
  bool Fetchable(const SimMember& m) const;
  // Takes up to `max` records for the member (round-robin over its partitions).
  std::vector<kafka::Message> Fetch(SimMember& m, size_t max);

  // --- offsets ---
  // kafka::kOffsetInvalid when nothing is committed.
  int64_t Committed(const kafka::TopicPartition& tp) const;
  // Applies a commit from a member; FailedPrecondition when the member does not own `tp`,
  // Unavailable while the broker is down.
  Status Commit(const SimMember& m, const kafka::TopicPartition& tp, int64_t offset);
  // Every source partition committed up to its end, every record visible.
  bool AllCommitted() const;

  // For stall reports and the end of a run.
  std::vector<std::string> DescribeGroup() const;
  void FillFinalOffsets(Facts& facts) const;
  const std::set<std::string>& source_topics() const { return source_topics_; }
  int generation() const { return generation_; }

 private:
  struct Stored {
    kafka::Message message;
    TimePoint visible_at{};
  };
  void StartRebalance(const std::string& why);
  void TryCompleteRebalance();
  std::vector<std::string> ResolveTopics(const std::vector<std::string>& subscription) const;

  World& world_;
  Facts& facts_;
  SimKafkaOptions options_;
  std::map<std::string, int> partitions_;  // topic -> count
  std::set<std::string> source_topics_;    // topics records were appended to
  std::map<kafka::TopicPartition, std::vector<Stored>> logs_;
  std::map<kafka::TopicPartition, int64_t> committed_;
  std::map<std::string, std::vector<kafka::ProducerRecord>> dlq_topics_;
  std::vector<std::pair<TimePoint, TimePoint>> unavailable_;
  std::map<std::string, SimMember> members_;  // ids sort in join order
  int next_member_ = 1;
  int generation_ = 0;
  bool rebalancing_ = false;
};

}  // namespace sluice::sim

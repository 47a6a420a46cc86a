// Consumer: RAII over a librdkafka group consumer with manual offset storing, batched polls,
// pause/resume and rebalance hooks.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/kafka/message.h"

namespace sluice::kafka {

class Consumer;

// The owner's hooks into group rebalances. They run on the thread that calls Consumer::Poll() (or
// Close()), inside that call, before librdkafka completes the assignment change: during
// OnRevoked the partitions are still assigned, so the owner can finish or hand back in-flight
// work, StoreOffset() and Commit(true) before they move to another member.
// Thread-safety: called from one thread at a time (the polling thread).
class RebalanceListener {
 public:
  virtual ~RebalanceListener() = default;
  // Partitions added to this member's assignment (after they are assigned: Pause() works).
  virtual void OnAssigned(Consumer& consumer, const std::vector<TopicPartition>& partitions) = 0;
  // Partitions about to leave this member's assignment. With the eager protocol this is the whole
  // assignment on every rebalance; with cooperative-sticky only the partitions that move.
  virtual void OnRevoked(Consumer& consumer, const std::vector<TopicPartition>& partitions) = 0;
  // Partitions lost without a clean revoke (session timeout, fenced): they may already belong to
  // another member, so commits for them will fail. Default: calls OnRevoked.
  virtual void OnLost(Consumer& consumer, const std::vector<TopicPartition>& partitions) {
    OnRevoked(consumer, partitions);
  }
};

enum class AssignmentStrategy {
  kEager,              // "range,roundrobin" (librdkafka's default): stop-the-world rebalances
  kCooperativeSticky,  // "cooperative-sticky": incremental, only moved partitions are revoked
};

// Thread-safety: a value type (the listener and clock it points to are not copied).
struct ConsumerOptions {
  // Bootstrap brokers. Required, unless `properties` holds bootstrap.servers (not both).
  std::string bootstrap;
  // group.id. Required.
  std::string group_id;
  // librdkafka properties passed straight through, applied after the fields below (a property
  // here wins). enable.auto.offset.store cannot be turned on: offsets are stored only by
  // StoreOffset(). Unknown property or bad value: InvalidArgument naming it.
  std::map<std::string, std::string> properties;
  // enable.auto.commit. Default false: only Commit()/CommitOffsets() commit. When true, librdkafka
  // commits the offsets stored with StoreOffset() every auto.commit.interval.ms (and on Close).
  bool enable_auto_commit = false;
  // auto.offset.reset, where a group with no committed offset starts. Default "earliest".
  std::string auto_offset_reset = "earliest";
  // partition.assignment.strategy. Default kEager.
  AssignmentStrategy assignment_strategy = AssignmentStrategy::kEager;
  // Rebalance hooks. Default none. Not owned; must outlive the Consumer.
  RebalanceListener* listener = nullptr;
  // Time source for deadlines. Default (nullptr): RealClock(). Not owned.
  Clock* clock = nullptr;
};

// A consumer group's identity for Producer::SendOffsetsToTransaction (opaque).
// Thread-safety: immutable after creation; safe to share.
class GroupMetadata {
 public:
  struct Impl;
  explicit GroupMetadata(std::unique_ptr<Impl> impl);
  ~GroupMetadata();
  GroupMetadata(GroupMetadata&&) noexcept;
  GroupMetadata& operator=(GroupMetadata&&) noexcept;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A Kafka group consumer. Offsets are never stored automatically (enable.auto.offset.store is
// false): the owner calls StoreOffset() for what it has finished, and Commit() (or auto-commit)
// commits what was stored.
//
// Thread-safety: Poll(), Subscribe(), Unsubscribe() and Close() are for the owning thread (one at
// a time). StoreOffset(s), Commit, CommitOffsets, Committed, Pause, Resume, Assignment and
// CurrentGroupMetadata are safe from any thread, including from the listener during Poll().
// Rebalance listener calls and librdkafka's error/commit callbacks run inside Poll()/Close().
class Consumer {
 public:
  static Result<std::unique_ptr<Consumer>> Create(const ConsumerOptions& options);
  // Closes (leaving the group, as Close()) if not closed yet.
  virtual ~Consumer() = default;

  // Replaces the subscription. Names starting with '^' are regular expressions (librdkafka's
  // syntax), e.g. "^sf\\..*\\.events$". An empty list or an empty name is InvalidArgument.
  virtual Status Subscribe(const std::vector<std::string>& topics) = 0;
  virtual Status Unsubscribe() = 0;

  // Waits up to `timeout` for the first message, then takes whatever else is ready without
  // waiting, up to `max_messages` in all. Returns records and error events (Message::error);
  // partition EOF events are dropped. Rebalance hooks run inside. An empty vector means nothing
  // arrived in time. FailedPrecondition after Close(); InvalidArgument for max_messages == 0.
  virtual Result<std::vector<Message>> Poll(size_t max_messages,
                                            std::chrono::milliseconds timeout) = 0;

  // Marks `next_offset` (last processed offset + 1) as the offset to commit for a partition.
  // Only for partitions currently assigned (else FailedPrecondition).
  virtual Status StoreOffset(std::string_view topic, int32_t partition, int64_t next_offset) = 0;
  virtual Status StoreOffsets(const std::vector<PartitionOffset>& offsets) = 0;

  // Commits the stored offsets. sync = true waits for the broker's answer; false returns at once
  // (failures are logged). Nothing stored since the last commit is Ok.
  virtual Status Commit(bool sync = true) = 0;
  // Commits exactly these offsets (next offsets to consume).
  virtual Status CommitOffsets(const std::vector<PartitionOffset>& offsets, bool sync = true) = 0;
  // The group's committed offsets for `partitions` (kOffsetInvalid where none).
  virtual Result<std::vector<PartitionOffset>> Committed(
      const std::vector<TopicPartition>& partitions, std::chrono::milliseconds timeout) = 0;

  // Stops / restarts fetching from assigned partitions; the position is kept. Pausing is undone
  // when a partition is revoked and assigned again. A partition that is not assigned:
  // FailedPrecondition.
  virtual Status Pause(const std::vector<TopicPartition>& partitions) = 0;
  virtual Status Resume(const std::vector<TopicPartition>& partitions) = 0;

  // The current assignment.
  virtual Result<std::vector<TopicPartition>> Assignment() = 0;

  // This member's group metadata, for transactions.
  virtual Result<GroupMetadata> CurrentGroupMetadata() = 0;

  // This member's id in the group ("" before joining).
  virtual std::string MemberId() = 0;

  // Leaves the group cleanly: revokes the assignment (OnRevoked runs here), commits stored offsets
  // only when auto-commit is on, and closes. Idempotent.
  virtual Status Close() = 0;
};

}  // namespace sluice::kafka

// SimConsumer: a kafka::Consumer on SimKafka, as librdkafka 2.0.2 behaves with the eager
// protocol: rebalance callbacks run inside Poll (revoke with the whole assignment, then, once every
// member has revoked, assign), positions start at the committed offset, and pause flags stay with
// the member across revoke and re-assign (librdkafka issue #1849).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sim_kafka.h"
#include "sluice/kafka/consumer.h"
#include "world.h"

namespace sluice::sim {

// Thread-safety: the engine's thread only (the whole simulation is one thread).
class SimConsumer final : public kafka::Consumer {
 public:
  SimConsumer(World& world, SimKafka& kafka, Owner incarnation, kafka::RebalanceListener* listener);
  // A live incarnation's consumer leaves the group as Close() would, without calling the
  // listener; a crashed one's member stays behind as a zombie (see SimKafka::Crash).
  ~SimConsumer() override;

  Status Subscribe(const std::vector<std::string>& topics) override;
  Status Unsubscribe() override;
  // Never blocks: simulated time belongs to the driver.
  Result<std::vector<kafka::Message>> Poll(size_t max_messages,
                                           std::chrono::milliseconds timeout) override;
  Status StoreOffset(std::string_view topic, int32_t partition, int64_t next_offset) override;
  Status StoreOffsets(const std::vector<kafka::PartitionOffset>& offsets) override;
  Status Commit(bool sync) override;
  Status CommitOffsets(const std::vector<kafka::PartitionOffset>& offsets, bool sync) override;
  Result<std::vector<kafka::PartitionOffset>> Committed(
      const std::vector<kafka::TopicPartition>& partitions,
      std::chrono::milliseconds timeout) override;
  Status Pause(const std::vector<kafka::TopicPartition>& partitions) override;
  Status Resume(const std::vector<kafka::TopicPartition>& partitions) override;
  Result<std::vector<kafka::TopicPartition>> Assignment() override;
  Result<kafka::GroupMetadata> CurrentGroupMetadata() override;
  std::string MemberId() override;
  Status Close() override;

  const std::string& member_id() const { return member_id_; }

 private:
  SimMember* member();
  // Runs a pending revoke or assignment; true when the caller should return without records.
  bool RunRebalanceStep();

  World& world_;
  SimKafka& kafka_;
  Owner incarnation_;
  kafka::RebalanceListener* listener_;
  std::string member_id_;
  bool closed_ = false;
};

}  // namespace sluice::sim

// The simulated broker as the engine's DLQ writer and topic admin see it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "facts.h"
#include "sim_kafka.h"
#include "sluice/relay/parts.h"
#include "world.h"

namespace sluice::sim {

// Thread-safety: a value type.
struct SimDlqOptions {
  // Broker ack latency, uniform in [min, max]. Defaults 2..20 ms.
  Clock::Duration ack_min = std::chrono::milliseconds(2);
  Clock::Duration ack_max = std::chrono::milliseconds(20);
};

// A DlqSink on SimKafka. Each Produce is recorded in Facts::dlq; at its ack time the record lands
// in the DLQ topic (even when the producing incarnation crashed meanwhile: it had left the
// process) unless the broker is unavailable then, and the ack reaches the engine only if its
// incarnation is still alive. While the broker is unavailable the ack is an Unavailable error and
// nothing lands.
// Thread-safety: the engine's thread only (the whole simulation is one thread).
class SimDlqSink final : public relay::DlqSink {
 public:
  SimDlqSink(World& world, SimKafka& kafka, Facts& facts, Owner incarnation,
             const SimDlqOptions& options = {});

  Status Produce(const kafka::ProducerRecord& record, kafka::DeliveryCallback done) override;
  // Runs the world until every ack of this sink arrived, or `timeout` passed.
  void Flush(std::chrono::milliseconds timeout) override;

 private:
  World& world_;
  SimKafka& kafka_;
  Facts& facts_;
  Owner incarnation_;
  SimDlqOptions options_;
  std::shared_ptr<int> outstanding_ = std::make_shared<int>(0);
};

// A TopicAdmin on SimKafka. Thread-safety: the engine's thread only.
class SimTopicAdmin final : public relay::TopicAdmin {
 public:
  explicit SimTopicAdmin(SimKafka& kafka) : kafka_(kafka) {}
  Result<int> PartitionCount(std::string_view topic) override;
  Status CreateTopic(const std::string& topic, int partitions) override;
  Result<std::vector<kafka::TopicInfo>> ListTopics() override;

 private:
  SimKafka& kafka_;
};

}  // namespace sluice::sim

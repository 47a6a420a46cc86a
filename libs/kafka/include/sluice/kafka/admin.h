// Admin: topics, watermarks, committed offsets and consumer lag.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/kafka/message.h"

namespace sluice::kafka {

// Thread-safety: a value type.
struct AdminOptions {
  // Bootstrap brokers. Required, unless `properties` holds bootstrap.servers (not both).
  std::string bootstrap;
  // librdkafka properties passed straight through; unknown or bad: InvalidArgument naming it.
  std::map<std::string, std::string> properties;
  // Time source for deadlines. Default (nullptr): RealClock(). Not owned.
  Clock* clock = nullptr;
};

// Thread-safety: a value type.
struct TopicSpec {
  TopicSpec() = default;
  TopicSpec(std::string name, int partitions = 1, int replication = 1,  // NOLINT(runtime/explicit)
            std::map<std::string, std::string> configs = {})
      : name(std::move(name)),
        partitions(partitions),
        replication(replication),
        configs(std::move(configs)) {}

  std::string name;
  int partitions = 1;
  int replication = 1;  // -1: the broker's default.replication.factor
  // Topic configs, e.g. {"retention.ms", "604800000"}.
  std::map<std::string, std::string> configs;
};

// Thread-safety: a value type.
struct TopicInfo {
  std::string name;
  int partitions = 0;
};

// Thread-safety: a value type.
struct PartitionWatermarks {
  int32_t partition = 0;
  int64_t low = 0;   // first offset still in the log
  int64_t high = 0;  // offset the next record will get
};

// Thread-safety: a value type.
struct PartitionLag {
  int32_t partition = 0;
  int64_t committed = kOffsetInvalid;  // kOffsetInvalid when the group has committed nothing
  int64_t high_watermark = 0;
  // high_watermark - committed; with nothing committed, high_watermark - low watermark (every
  // retained record is still to be consumed). Never negative.
  int64_t lag = 0;
};

// A Kafka admin client. Every call takes a timeout and returns DeadlineExceeded when it passes.
// The read-only calls (ListTopics, PartitionCount, Watermarks, CommittedOffsets, Lag) retry
// Unavailable answers (coordinator loading, leader moving, broker unreachable) until then, and
// return the last error when the time is up.
// Thread-safety: all methods are safe from any number of threads at once.
class Admin {
 public:
  static Result<std::unique_ptr<Admin>> Create(const AdminOptions& options);
  virtual ~Admin() = default;

  // Creates topics and waits until the cluster metadata shows each with leaders for all its
  // partitions. A topic that exists already gives AlreadyExists (naming it); with several topics
  // the first failure is returned, after all were attempted.
  virtual Status CreateTopics(const std::vector<TopicSpec>& topics,
                              std::chrono::milliseconds timeout) = 0;
  Status CreateTopic(const TopicSpec& topic, std::chrono::milliseconds timeout) {
    return CreateTopics({topic}, timeout);
  }
  // Deletes topics and waits until the metadata no longer lists them. NotFound for a missing one.
  virtual Status DeleteTopics(const std::vector<std::string>& topics,
                              std::chrono::milliseconds timeout) = 0;

  // Every topic (internal ones such as __consumer_offsets excluded), sorted by name.
  virtual Result<std::vector<TopicInfo>> ListTopics(std::chrono::milliseconds timeout) = 0;
  // Partition count of a topic; NotFound when it does not exist. Never creates it.
  virtual Result<int> PartitionCount(std::string_view topic, std::chrono::milliseconds timeout) = 0;

  // Low and high watermarks of every partition, sorted by partition.
  virtual Result<std::vector<PartitionWatermarks>> Watermarks(
      std::string_view topic, std::chrono::milliseconds timeout) = 0;
  // The group's committed offsets for every partition of `topic` (kOffsetInvalid where none),
  // sorted by partition.
  virtual Result<std::vector<PartitionOffset>> CommittedOffsets(
      std::string_view group, std::string_view topic, std::chrono::milliseconds timeout) = 0;
  // Committed offsets against high watermarks, per partition, sorted by partition.
  virtual Result<std::vector<PartitionLag>> Lag(std::string_view group, std::string_view topic,
                                                std::chrono::milliseconds timeout) = 0;
};

}  // namespace sluice::kafka

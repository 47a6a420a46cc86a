// Value types shared by the Kafka producer, consumer and admin client.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::kafka {

// Record headers in record order; names may repeat. A header whose value is null in Kafka comes
// back with the value "" (Kafka's null and empty header values are not told apart here).
using Headers = std::vector<std::pair<std::string, std::string>>;

// "Let the partitioner choose" (librdkafka's RD_KAFKA_PARTITION_UA).
inline constexpr int32_t kAnyPartition = -1;

// Offsets with a special meaning in PartitionOffset::offset.
inline constexpr int64_t kOffsetInvalid = -1001;  // none stored / none committed
inline constexpr int64_t kOffsetBeginning = -2;
inline constexpr int64_t kOffsetEnd = -1;

// Thread-safety: a value type.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// A partition and an offset: for stores and commits the offset is the NEXT offset to consume
// (last processed + 1), as in Kafka's committed offsets.
// Thread-safety: a value type.
struct PartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = kOffsetInvalid;

  friend auto operator<=>(const PartitionOffset&, const PartitionOffset&) = default;
};

// One consumed record, or (when `error` is not Ok) a consumer error event.
// Thread-safety: a value type.
struct Message {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;    // "" when key_is_null
  std::string value;  // "" when value_is_null (a tombstone)
  bool key_is_null = false;
  bool value_is_null = false;
  Headers headers;
  // Milliseconds since the Unix epoch (create or log-append time, whichever the topic uses);
  // -1 when the record carries none.
  int64_t timestamp_ms = -1;
  // Ok for a record. For an error event: the error (mapped as described in errors.h); topic and
  // partition are set when the error concerns one partition, and the other fields are empty.
  Status error;

  bool is_error() const { return !error.ok(); }
};

}  // namespace sluice::kafka

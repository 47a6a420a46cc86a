// PartitionReader: reads chosen partitions of one topic from given offsets with librdkafka's
// assign() — no group membership, no offset commits.
//
// Hand-written on librdkafka because libs/kafka's Consumer is a group consumer only (Subscribe,
// committed offsets): list, stats, show and dry runs must read from exact offsets without joining
// or leaving a trace in any consumer group. If libs/kafka grows an assigned reader, this goes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/dlq/kafka_io.h"
#include "sluice/kafka/message.h"

namespace sluice::dlq::internal {

// Thread-safety: not thread-safe; one thread owns it.
class PartitionReader {
 public:
  // Reads `topic` from `starts` (partition -> first offset), read_committed.
  static Result<std::unique_ptr<PartitionReader>> Open(const KafkaOptions& options,
                                                       const std::string& topic,
                                                       const std::map<int32_t, int64_t>& starts);
  virtual ~PartitionReader() = default;
  // Up to `max` records and error events, waiting up to `timeout` for the first. Partitions that
  // reached their end (partition EOF; with read_committed, the last stable offset) are added to
  // `*at_end`.
  virtual Result<std::vector<kafka::Message>> Poll(size_t max, std::chrono::milliseconds timeout,
                                                   std::set<int32_t>* at_end) = 0;
};

}  // namespace sluice::dlq::internal

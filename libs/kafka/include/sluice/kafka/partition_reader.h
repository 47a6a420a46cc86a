// PartitionReader: reads chosen partitions of one topic from given offsets with librdkafka's
// assign() — no group membership, no offset commits. sluice-dlq's list, stats, show and dry runs
// read with it, and the relay restores its delivered-set changelog with it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/kafka/message.h"

namespace sluice::kafka {

struct PartitionReaderOptions {
  // Bootstrap brokers. Required unless `properties` holds bootstrap.servers.
  std::string bootstrap;
  // librdkafka properties; those that apply only to producers are left out.
  std::map<std::string, std::string> properties;
  // librdkafka's consumer API needs a group id; assign() never joins the group and nothing is
  // committed to it. Default "sluice-reader".
  std::string group_id = "sluice-reader";
  // true (default): read_committed (records of aborted transactions are skipped, and the end of
  // a partition is its last stable offset).
  bool read_committed = true;
};

// Thread-safety: not thread-safe; one thread owns it.
class PartitionReader {
 public:
  // Reads `topic` from `starts` (partition -> first offset, or kOffsetBeginning/kOffsetEnd).
  static Result<std::unique_ptr<PartitionReader>> Open(const PartitionReaderOptions& options,
                                                       const std::string& topic,
                                                       const std::map<int32_t, int64_t>& starts);
  virtual ~PartitionReader() = default;
  // Up to `max` records and error events, waiting up to `timeout` for the first. Partitions that
  // reached their end (partition EOF; with read_committed, the last stable offset) are added to
  // `*at_end`.
  virtual Result<std::vector<Message>> Poll(size_t max, std::chrono::milliseconds timeout,
                                            std::set<int32_t>* at_end) = 0;
};

}  // namespace sluice::kafka

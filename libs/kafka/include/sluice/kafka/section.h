// A consuming program's "kafka:" config section: where to consume from, as whom, and how the
// consumer loop polls and commits. The defaults are stated here once; a program that wants others
// passes them as `defaults`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::config {
class Config;
}  // namespace sluice::config

namespace sluice::kafka {

// Thread-safety: a value type.
struct ConsumerSection {
  // `bootstrap`: brokers, "host:port[,host:port]". Required.
  std::string bootstrap;
  // `group_id`: the consumer group. Required; no library default (each program names its own).
  std::string group_id;
  // `topics`: names, or "^regex" patterns. At least one.
  std::vector<std::string> topics;
  // `properties`: librdkafka properties for every client the program makes (`<name>_file` reads
  // a secret from a file, see Config::GetPropertyMap).
  std::map<std::string, std::string> properties;
  // `poll_batch`: most records taken per poll (1..100,000). Default 1,000.
  size_t poll_batch = 1000;
  // `commit_interval`: how often resolved offsets are committed. Default 1 s.
  std::chrono::milliseconds commit_interval{1000};
  // `consumer_queue_kbytes`: librdkafka's prefetch bound (queued.max.messages.kbytes,
  // 1,024..2,097,151), so memory follows what the program buffers, not the backlog.
  // Default 16,384 KiB.
  int64_t consumer_queue_kbytes = 16'384;

  // Ok, or InvalidArgument naming the key (without the section's name): bootstrap, group_id or
  // topics missing, a property librdkafka refuses (CheckProperties), a number out of range.
  Status Validate() const;
};

// Reads the section at `pointer` (e.g. "/kafka") over `defaults` and validates it. Errors name the
// file and the key.
Result<ConsumerSection> ReadConsumerSection(const config::Config& config, std::string_view pointer,
                                            ConsumerSection defaults = {});

}  // namespace sluice::kafka

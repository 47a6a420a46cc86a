// sluice-dlq's Kafka access: reading a DLQ topic without joining any consumer group (list, stats,
// show, dry runs), and the transactional ReplayIo of a real replay.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/dlq/replay.h"
#include "sluice/kafka/message.h"

namespace sluice::dlq {

// Thread-safety: a value type.
struct KafkaOptions {
  // Bootstrap brokers. Required unless `properties` holds bootstrap.servers.
  std::string bootstrap;
  // librdkafka properties (-X and the config file's kafka: map), passed to every client.
  std::map<std::string, std::string> properties;
  // Deadline for reaching the broker and for each metadata, transaction and commit call.
  // Default 10 s.
  std::chrono::milliseconds timeout{10000};
  // Default (nullptr): RealClock(). Not owned.
  Clock* clock = nullptr;
};

// What a scan saw. Thread-safety: a value type.
struct ScanSummary {
  int64_t records = 0;         // records visited
  int64_t end_records = 0;     // records between the low and high watermarks when the scan started
  bool stopped_early = false;  // the visitor returned false
  // Partitions the scan gave up on (no records came within the timeout although the high
  // watermark said there were more), as "partition P at offset O of H".
  std::vector<std::string> incomplete;
};

// Reads every partition of `topic` from its low watermark to the high watermark taken at the
// start (read_committed), calling `visit` for each record until it returns false. Joins no
// consumer group and commits nothing. NotFound when the topic does not exist; Unavailable or
// DeadlineExceeded when the broker cannot be reached within options.timeout.
Status ScanTopic(const KafkaOptions& options, std::string_view topic,
                 const std::function<bool(const kafka::Message&)>& visit, ScanSummary* summary);

// The record at `partition`/`offset` of `topic`. NotFound (with the partition's low and high
// watermarks in the message) when the partition or the offset does not exist.
Result<kafka::Message> ReadRecord(const KafkaOptions& options, std::string_view topic,
                                  int32_t partition, int64_t offset);

// The real replay: a consumer in `group_id` (read_committed, manual offsets) on the DLQ topic and
// a transactional producer with transactional.id "sluice-dlq." + group_id. Start() first
// initializes transactions — which fences an earlier run of the same group and aborts its open
// transaction — then reads the group's committed offsets. Two replays with the same group cannot
// run at once: the newer fences the older (whose next commit fails).
Result<std::unique_ptr<ReplayIo>> MakeKafkaReplayIo(const KafkaOptions& options,
                                                    const std::string& dlq_topic,
                                                    const std::string& group_id);

// A dry run: reads from `group_id`'s committed offsets without joining the group; no producer,
// no transactions, no commits (Begin/Send/Commit/Abort/Rewind return FailedPrecondition).
Result<std::unique_ptr<ReplayIo>> MakeDryRunReplayIo(const KafkaOptions& options,
                                                     const std::string& dlq_topic,
                                                     const std::string& group_id);

}  // namespace sluice::dlq

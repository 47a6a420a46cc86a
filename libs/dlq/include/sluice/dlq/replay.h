// Replay: re-publishes chosen DLQ records to their source topic, exactly once.
//
// The engine reads the DLQ with its own consumer group (read_committed) and, per batch, in one
// Kafka transaction: produces the chosen records, adds the offsets of every record it consumed
// (chosen, skipped by the filter or refused) to the transaction, and commits. A replay killed at
// any point and started again with the same group resumes after the last committed batch: each
// chosen record is re-published exactly once. Records that do not match the filter are consumed
// by this group only; they stay on the DLQ for other groups (other filters) to find.
//
// The engine's loop is written against ReplayIo so it is unit-tested with a fake; MakeKafkaReplayIo
// and MakeDryRunReplayIo (replay_io.h) are the real ones.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/shutdown.h"
#include "sluice/core/status.h"
#include "sluice/dlq/filter.h"
#include "sluice/dlq/record.h"
#include "sluice/kafka/producer.h"

namespace sluice::dlq {

// Thread-safety: a value type.
struct ReplayOptions {
  // The DLQ topic to read. Required.
  std::string dlq_topic;
  // Which records to replay. Default: all.
  Filter filter;
  // Target topic for every record. Default "": each record's sluice.source.topic.
  std::string to_topic;
  // Records whose sluice.replay.count is at least this are refused (the loop guard). Default 3.
  int64_t max_replays = 3;
  // Stop after replaying this many records (the rest stay for the next run). Default 0: no limit.
  int64_t limit = 0;
  // Records per second at most. Default 0: as fast as possible.
  double rate = 0;
  // Records consumed per transaction at most (a rate caps it at one second's worth). Default 2000.
  size_t batch_size = 2000;
  // Show what would be sent; write nothing, commit nothing. Default false.
  bool dry_run = false;
  // How long to wait for records while some partition has not reached its end offset before
  // stopping (the run is then partial). Default 30 s.
  std::chrono::milliseconds idle_timeout{30000};
  // Failed transactions retried (each after an abort and a rewind to the committed offsets)
  // before the run fails. Default 3.
  int max_transaction_retries = 3;
  // Refusals kept in ReplayReport::refusals (all are counted). Default 1000.
  size_t max_refusals_kept = 1000;
  // Time source for the rate limit and the idle timeout. Default (nullptr): RealClock(). Not owned.
  Clock* clock = nullptr;
};

// What to do with one DLQ record.
// Thread-safety: a value type.
struct Decision {
  enum class Verdict { kReplay, kSkip, kRefuse };
  Verdict verdict = Verdict::kSkip;
  // kRefuse: why, for people (e.g. "replayed 3 times already (--max-replays 3)").
  std::string reason;
  // kReplay: the record to produce.
  kafka::ProducerRecord record;
};

// The headers of a replayed record: the DLQ record's headers in order, without the ones the
// relay adds when dead-lettering (envelope::IsDlqHeader: sluice.error.*, sluice.source.*,
// sluice.attempts, sluice.*.attempt.ms, sluice.relay.instance), sluice.value.omitted and earlier
// sluice.replay.count / sluice.replayed.from; then sluice.replay.count = `count` and
// sluice.replayed.from = record.Location().
kafka::Headers ReplayHeaders(const DlqRecord& record, int64_t count);

// Decides for one record. `partitions_of(topic)` answers the target topic's partition count
// (NotFound when it does not exist); the caller caches it.
//   kSkip:   the filter does not match.
//   kRefuse: replay count >= max_replays or unreadable; value omitted by the relay; no target topic
//            (no sluice.source.topic and no --to), an invalid topic name, or a target topic that
//            does not exist. (Any other partitions_of error is also a refusal here; RunReplay
//            instead treats it as a failed batch, retried, so a broker hiccup refuses nothing.)
//   kReplay: same key and value, ReplayHeaders(record, replay_count + 1); the partition is
//            sluice.source.partition when the target is the source topic and it has that
//            partition, else the partitioner's choice (by key).
Decision Decide(const DlqRecord& record, const ReplayOptions& options,
                const std::function<Result<int>(const std::string&)>& partitions_of);

// A partition's work: offsets [start, end) are to be read.
// Thread-safety: a value type.
struct PartitionRange {
  int32_t partition = 0;
  int64_t start = 0;  // the group's committed offset, or the low watermark when none (or older)
  int64_t end = 0;    // the high watermark when the run started
};

// The Kafka side of a replay. Begin/Send/Commit/Abort/Rewind are never called in a dry run.
// Thread-safety: used by one thread (the engine's).
class ReplayIo {
 public:
  virtual ~ReplayIo() = default;
  // Connects; the DLQ's partitions with the group's starting offsets and the end offsets taken
  // now. Called once, first. Unavailable/DeadlineExceeded when the broker cannot be reached in
  // time, NotFound when the topic does not exist.
  virtual Result<std::vector<PartitionRange>> Start() = 0;
  // The next records (and error events) from the DLQ, up to `max`, waiting up to `timeout`.
  virtual Result<std::vector<kafka::Message>> Poll(size_t max,
                                                   std::chrono::milliseconds timeout) = 0;
  // Stops fetching a partition that reached its end offset (best effort).
  virtual void Pause(int32_t partition) = 0;
  // The target topic's partition count; NotFound when it does not exist.
  virtual Result<int> PartitionCount(const std::string& topic) = 0;
  virtual Status Begin() = 0;
  // Enqueues a record in the open transaction.
  virtual Status Send(const kafka::ProducerRecord& record) = 0;
  // Adds `offsets` (next offsets to consume, for the DLQ topic) to the transaction and commits.
  virtual Status Commit(const std::vector<kafka::PartitionOffset>& offsets) = 0;
  virtual Status Abort() = 0;
  // After an abort: read again from the group's committed offsets.
  virtual Status Rewind() = 0;
};

// One refused record. Thread-safety: a value type.
struct Refusal {
  int32_t partition = -1;
  int64_t offset = -1;
  std::string key;  // made printable; "(null)" for a null key
  int64_t replay_count = 0;
  std::string reason;
};

// Progress for display. Thread-safety: a value type.
struct ReplayProgress {
  int64_t to_read = 0;  // records in the ranges at the start
  int64_t read = 0;     // consumed and committed (or looked at, in a dry run)
  int64_t replayed = 0;
  int64_t skipped = 0;
  int64_t refused = 0;
  double elapsed_s = 0;
};

// Thread-safety: a value type.
struct ReplayReport {
  std::string group_id;
  bool dry_run = false;
  int64_t to_read = 0;
  int64_t read = 0;
  int64_t replayed = 0;  // committed (dry run: would be sent)
  int64_t skipped = 0;   // not matching the filter
  int64_t refused = 0;
  std::vector<Refusal> refusals;            // the first max_refusals_kept
  std::map<std::string, int64_t> by_topic;  // replayed per target topic
  int64_t transactions = 0;
  int64_t aborted_transactions = 0;
  bool limit_reached = false;
  bool interrupted = false;  // the shutdown token was requested
  // True when every partition reached its end offset (or the limit was reached).
  bool complete = false;
  // Why the run stopped early, for people ("" when complete).
  std::string stopped_because;
  double elapsed_s = 0;
};

// Called as the run goes. Thread-safety: called on the engine's thread only.
class ReplayObserver {
 public:
  virtual ~ReplayObserver() = default;
  // Every decision, once its batch is committed (dry run: at once).
  virtual void OnDecision(const DlqRecord& record, const Decision& decision) {
    (void)record;
    (void)decision;
  }
  // After every batch (and at least every second while waiting).
  virtual void OnProgress(const ReplayProgress& progress) { (void)progress; }
};

// Runs a replay to the end offsets taken at the start (records that arrive later are left for the
// next run), to the limit, or until `shutdown` is requested (after the current batch). Errors:
// Start's, and Internal/FailedPrecondition when a transaction fails more than
// max_transaction_retries times in a row (nothing of the failed batch was written).
// `options.dry_run` must match the ReplayIo's kind. `observer` and `shutdown` may be null.
Result<ReplayReport> RunReplay(const ReplayOptions& options, const std::string& group_id,
                               ReplayIo& io, ReplayObserver* observer,
                               const ShutdownToken* shutdown);

}  // namespace sluice::dlq

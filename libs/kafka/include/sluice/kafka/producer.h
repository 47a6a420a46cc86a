// Producer: RAII over a librdkafka producer with delivery callbacks, back-pressure and (optional)
// transactions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/kafka/message.h"

namespace sluice::kafka {

class GroupMetadata;
struct TaggedReport;

// Thread-safety: a value type.
struct ProducerOptions {
  // Bootstrap brokers, "host:port[,host:port...]". Required, unless `properties` holds
  // bootstrap.servers (giving both is an error).
  std::string bootstrap;
  // librdkafka properties passed straight through (a config file's `kafka.*` keys with the prefix
  // stripped). Applied after the fields below, so a property here wins over a field. An unknown
  // property or a bad value gives InvalidArgument naming the property.
  std::map<std::string, std::string> properties;
  // enable.idempotence. Default true: no duplicates or reordering from producer retries.
  bool idempotence = true;
  // acks. Default "all": a delivery report is Ok only once every in-sync replica has the record.
  std::string acks = "all";
  // transactional.id. Default empty: no transactions. When set, call InitTransactions() once
  // before producing.
  std::string transactional_id;
  // How long Produce() waits for room when librdkafka's local queue is full
  // (queue.buffering.max.messages / .kbytes), before failing with ResourceExhausted.
  // Default 30 s; 0 fails at once.
  std::chrono::milliseconds enqueue_timeout{30000};
  // How long the destructor waits for outstanding deliveries before purging them (their callbacks
  // then get Unavailable "purged"). Default 30 s.
  std::chrono::milliseconds close_timeout{30000};
  // Topic handles are kept for this many topics (looked up by name once); records to further
  // topics are produced by name, which librdkafka looks up per record. Bounds the memory that
  // many distinct topic names can take. Default 1,024.
  size_t max_cached_topics = 1024;
  // false (default): a background thread serves delivery reports (see Producer).
  // true: no such thread; Produce, Flush, the transaction commit and the destructor serve them on
  // the calling thread, as kcat does. For a producer used from one thread at a time, as fast as
  // it can: records are allocated and freed on the same thread and no thread is woken per
  // delivery. Reports wait for the next of those calls, so this suits a tight producing loop,
  // not a producer that sits idle between records.
  bool deliver_on_caller_thread = false;
  // Receives the delivery report of every record produced with ProduceTagged (see there), on the
  // same thread and under the same rules as a DeliveryCallback. Default empty: ProduceTagged
  // fails with FailedPrecondition.
  std::function<void(const TaggedReport&)> on_tagged_delivery;
  // Time source for deadlines. Default (nullptr): RealClock(). Not owned.
  Clock* clock = nullptr;
};

// The broker's answer for one record.
// Thread-safety: a value type.
struct DeliveryReport {
  // Ok once the broker acknowledged the record (with the configured acks); else mapped as in
  // errors.h (e.g. DeadlineExceeded for message.timeout.ms, Unavailable for a purge).
  Status status;
  std::string topic;
  int32_t partition = kAnyPartition;  // the partition it went to, when known
  int64_t offset = -1;                // the record's offset, when acknowledged
  // librdkafka's view of a failed record: it may still have been written (e.g. a timeout after
  // the request was sent). Always true for Ok reports.
  bool possibly_persisted = false;
};

using DeliveryCallback = std::function<void(const DeliveryReport&)>;

// The broker's answer for one record produced with ProduceTagged: a DeliveryReport that carries
// the caller's tag instead of a callback of its own. Valid only during the handler's call.
// Thread-safety: a value type.
struct TaggedReport {
  uint64_t tag = 0;
  Status status;           // as DeliveryReport::status
  std::string_view topic;  // the record's topic; valid during the call
  int32_t partition = kAnyPartition;
  int64_t offset = -1;
  bool possibly_persisted = false;  // as DeliveryReport::possibly_persisted
};

// One record to produce. Null key: the partitioner spreads such records; use an empty string for
// an empty (non-null) key.
// Thread-safety: a value type.
struct ProducerRecord {
  ProducerRecord() = default;
  ProducerRecord(std::string topic, std::optional<std::string> key,
                 std::optional<std::string> value, Headers headers = {},
                 int32_t partition = kAnyPartition, int64_t timestamp_ms = 0)
      : topic(std::move(topic)),
        key(std::move(key)),
        value(std::move(value)),
        headers(std::move(headers)),
        partition(partition),
        timestamp_ms(timestamp_ms) {}

  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: a tombstone
  Headers headers;
  int32_t partition = kAnyPartition;
  int64_t timestamp_ms = 0;  // 0: now
};

// A Kafka producer.
//
// Threads: a background thread ("kafka-prod-poll") polls librdkafka; every DeliveryCallback runs
// on it, one at a time, in delivery order per partition (with deliver_on_caller_thread, on the
// thread calling Produce/Flush instead). Callbacks must be quick and must not call Produce(),
// Flush() or destroy the Producer. librdkafka's own threads do the network I/O.
//
// Thread-safety: all methods are safe to call from any number of threads at once, except that the
// transaction methods must not overlap each other (librdkafka's rule). The destructor flushes
// (up to close_timeout), then purges; every callback has run when it returns.
class Producer {
 public:
  static Result<std::unique_ptr<Producer>> Create(const ProducerOptions& options);
  virtual ~Producer() = default;

  // Enqueues a record; `callback` (may be empty) gets its delivery report later. Returns Ok when
  // enqueued; when the local queue stays full for enqueue_timeout, ResourceExhausted; when
  // the record is invalid (too large, bad partition, bad topic name), InvalidArgument; after a
  // fatal error, FailedPrecondition. The callback is not called when Produce fails.
  virtual Status Produce(const ProducerRecord& record, DeliveryCallback callback = nullptr) = 0;

  // Same, for a keyed record without a ProducerRecord (no copies before librdkafka's own).
  virtual Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                         const Headers& headers = {}, DeliveryCallback callback = nullptr,
                         int32_t partition = kAnyPartition) = 0;

  // Same, but the report goes to ProducerOptions::on_tagged_delivery with `tag` (at most
  // kMaxTag). For a caller producing many records as fast as it can: nothing is allocated per
  // record besides librdkafka's own copy. FailedPrecondition when on_tagged_delivery is empty,
  // InvalidArgument when the tag is too large; otherwise as Produce.
  static constexpr uint64_t kMaxTag = (uint64_t{1} << 63) - 1;
  virtual Status ProduceTagged(std::string_view topic, std::string_view key, std::string_view value,
                               const Headers& headers, uint64_t tag,
                               int32_t partition = kAnyPartition) = 0;

  // Produces and waits for the delivery report, up to `timeout`. Ok: the acknowledged report.
  // Not ok: the enqueue error, the delivery error, or DeadlineExceeded (the record may still be
  // delivered later).
  Result<DeliveryReport> ProduceSync(const ProducerRecord& record,
                                     std::chrono::milliseconds timeout);

  // Produces; the future becomes ready with the delivery report (or with the enqueue error).
  std::future<DeliveryReport> ProduceAsync(const ProducerRecord& record);

  // Waits until every record produced so far has its delivery report and its callback has
  // returned. DeadlineExceeded when `timeout` passes first. Must not be called from a callback.
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;

  // Records enqueued whose callbacks have not yet run.
  virtual int64_t InFlight() const = 0;

  // Transactions (need ProducerOptions::transactional_id); each maps librdkafka's
  // rd_kafka_*_transaction and its errors (a transaction that must be aborted gives
  // FailedPrecondition "... abort the transaction").
  virtual Status InitTransactions(std::chrono::milliseconds timeout) = 0;
  virtual Status BeginTransaction() = 0;
  // Adds a consumer's offsets (next offsets to consume) to the open transaction.
  virtual Status SendOffsetsToTransaction(const std::vector<PartitionOffset>& offsets,
                                          const GroupMetadata& group,
                                          std::chrono::milliseconds timeout) = 0;
  // Flushes, then commits. On DeadlineExceeded/Unavailable the commit may be retried.
  virtual Status CommitTransaction(std::chrono::milliseconds timeout) = 0;
  virtual Status AbortTransaction(std::chrono::milliseconds timeout) = 0;
};

}  // namespace sluice::kafka

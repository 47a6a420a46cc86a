// The parts the relay engine works through. The engine never builds a client, reads the wall clock
// or starts a thread itself: `Relay::Create(options, parts)` takes these, so a unit test or the
// deterministic simulation (tests/sim) hands it fakes on one thread and a simulated clock, and
// the service (services/relay, real_parts.h) hands it librdkafka, libcurl and SQLite.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"
#include "sluice/metrics/registry.h"
#include "sluice/salesforce/client.h"

namespace sluice::relay {

// What one Salesforce call does with its records: kUpsert (collections upsert on an external id
// field), kCreate (collections create) or kPublish (one platform event); never kOther.
using Operation = salesforce::Operation;

// One Salesforce call's target. Thread-safety: a value type.
struct WriteCall {
  Operation operation = Operation::kUpsert;
  std::string sobject;
  std::string external_id_field;  // kUpsert only
};

// Salesforce as the engine sees it.
// Thread-safety: every method from any thread; each callback runs exactly once, on any thread
// (possibly inline before the call returns).
class SalesforcePort {
 public:
  using WriteCallback = std::function<void(salesforce::WriteResult)>;
  using LimitsCallback = std::function<void(salesforce::LimitsResult)>;
  using AuthCallback = std::function<void(Status)>;

  virtual ~SalesforcePort() = default;
  // kPublish takes exactly one record.
  virtual void Write(const WriteCall& call, std::span<const salesforce::RecordInput> records,
                     WriteCallback done) = 0;
  // GET /limits: the budget probe.
  virtual void GetLimits(LimitsCallback done) = 0;
  // Gets an access token (fetching or refreshing one when none is held): Ok, or why not (an
  // Unauthenticated status for refused credentials).
  virtual void Authenticate(AuthCallback done) = 0;
};

// One resolution to record, with the partition its event was read from: the real store writes it
// to that partition's changelog (store_part.h). Thread-safety: a value type.
struct StoreEntry {
  idempotency::Entry entry;
  kafka::TopicPartition source;
};

// The idempotency store as the engine sees it.
// Thread-safety: CheckBatch, Restore and Released from the engine thread; Record from any thread;
// callbacks on any thread, exactly once (in Record order when they succeed).
class ResolutionStore {
 public:
  using Callback = std::function<void(const Status&)>;
  virtual ~ResolutionStore() = default;
  // One answer per id, in order: the resolution recorded for that id from the same source
  // partition (sources[i] is the partition event_ids[i] was read from; the store is keyed per
  // partition), or nullopt. InvalidArgument when the two sizes differ.
  virtual Result<std::vector<std::optional<idempotency::Resolution>>> CheckBatch(
      const std::vector<std::string>& event_ids,
      const std::vector<kafka::TopicPartition>& sources) = 0;
  // Records `entries` durably, then calls done(Ok); done(error) when they were not recorded.
  virtual void Record(std::vector<StoreEntry> entries, Callback done) = 0;
  // Brings the store up to date for `partitions` before the engine consumes them: the real store
  // restores what any instance recorded for them from the delivered-set changelog (see
  // store_part.h). Ok at once for a store without one. An error stops the relay before anything
  // of those partitions is consumed (e.g. FailedPrecondition: a changelog topic whose partition
  // count differs from its source's).
  // Called for every assignment, an empty one included.
  virtual Status Restore(const std::vector<kafka::TopicPartition>& partitions) {
    (void)partitions;
    return Status::Ok();
  }
  // `partitions` were revoked from this instance (after their work ended or was abandoned): the
  // real store follows them as standby copies when that is configured.
  virtual void Released(const std::vector<kafka::TopicPartition>& partitions) { (void)partitions; }
  // Finishes what was queued (waiting on it) and stops; later Records fail.
  virtual void Close() = 0;
};

// Where dead letters are written.
// Thread-safety: every method from any thread; callbacks on any thread, exactly once each.
class DlqSink {
 public:
  virtual ~DlqSink() = default;
  // Queues the record; `done` reports the broker's ack (or why not). A non-Ok return means the
  // record was not queued and `done` will not be called.
  virtual Status Produce(const kafka::ProducerRecord& record, kafka::DeliveryCallback done) = 0;
  // Waits up to `timeout` for queued records.
  virtual void Flush(std::chrono::milliseconds timeout) = 0;
};

// The topic look-ups the engine makes. Calls block (the real one up to its own timeout).
// Thread-safety: every method from any thread.
class TopicAdmin {
 public:
  virtual ~TopicAdmin() = default;
  virtual Result<int> PartitionCount(std::string_view topic) = 0;
  // Ok or AlreadyExists when the topic exists afterwards.
  virtual Status CreateTopic(const std::string& topic, int partitions) = 0;
  virtual Result<std::vector<kafka::TopicInfo>> ListTopics() = 0;
};

// How the engine thread waits for completions posted by other threads.
// Thread-safety: WaitUntil from the engine thread; Notify from any thread.
class Waiter {
 public:
  virtual ~Waiter() = default;
  // Returns when Notify() was called since the last return, or at `deadline`, whichever is first.
  // A simulated one advances its simulated world instead of blocking.
  virtual void WaitUntil(Clock::TimePoint deadline) = 0;
  virtual void Notify() = 0;
};

// Runs share s of `shares` (s = 1 .. shares-1) on other threads while the caller runs share 0,
// and returns when all are done. Thread-safety: from one thread at a time.
class ParseExecutor {
 public:
  virtual ~ParseExecutor() = default;
  // Threads beside the caller.
  virtual size_t workers() const = 0;
  virtual void RunShares(size_t shares, const std::function<void(size_t share)>& fn) = 0;
};

using ConsumerFactory =
    std::function<Result<std::unique_ptr<kafka::Consumer>>(kafka::RebalanceListener* listener)>;

// Everything Relay::Create needs besides its options. Thread-safety: a value type, moved in.
struct RelayParts {
  // Monotonic and wall time; timers and rates run on it. Required; must outlive the relay.
  Clock* clock = nullptr;
  // Builds the consumer with the engine as its rebalance listener. Required.
  ConsumerFactory make_consumer;
  std::unique_ptr<DlqSink> dlq;                // required
  std::unique_ptr<TopicAdmin> admin;           // required
  std::unique_ptr<SalesforcePort> salesforce;  // required
  // Null when the idempotency store is off.
  std::unique_ptr<ResolutionStore> store;
  // Null: a condition-variable waiter on the real clock.
  std::unique_ptr<Waiter> waiter;
  // Null: the engine parses every envelope itself.
  std::unique_ptr<ParseExecutor> parser;
  // Where the relay's metrics are registered. Null: a registry of its own.
  std::shared_ptr<metrics::Registry> registry;
  // Metrics registered beside the relay's own (the process's CPU, memory and descriptors) that
  // must stay registered as long as the relay lives. Declared after `registry`, so they go first.
  std::vector<metrics::CallbackHandle> registered_with_relay;
  // Seeds the jitter of retries and the circuit breaker.
  uint64_t seed = 0;
};

}  // namespace sluice::relay

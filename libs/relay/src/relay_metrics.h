// RelayMetrics: every metric the relay exposes on /metrics (docs/OPERATIONS.md lists them).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/flow/aimd.h"
#include "sluice/flow/circuit_breaker.h"
#include "sluice/flow/concurrency_gate.h"
#include "sluice/flow/token_bucket.h"
#include "sluice/kafka/admin.h"
#include "sluice/metrics/registry.h"
#include "sluice/salesforce/errors.h"
#include "sluice/salesforce/stats.h"

namespace sluice::relay {

// Counters are bumped on the engine thread; callback gauges read thread-safe parts at scrape time.
// Thread-safety: Register/BindFlow once before the relay runs; Consumed, Delivered and
// CountDeadLetter on the engine thread only (their per-topic cache is unguarded); the rest from
// any thread.
struct RelayMetrics {
  // Shared with the HTTP surface, which renders it; set before Register.
  std::shared_ptr<metrics::Registry> registry;
  // By source topic; bump through Consumed(topic) and Delivered(topic).
  metrics::Family<metrics::Counter>* consumed = nullptr;
  metrics::Family<metrics::Counter>* delivered = nullptr;
  metrics::Counter* skipped = nullptr;
  metrics::Counter* retries = nullptr;
  metrics::Counter* requests_sent = nullptr;
  metrics::Counter* commits = nullptr;
  metrics::Counter* kafka_errors = nullptr;
  metrics::Counter* store_errors = nullptr;
  metrics::Counter* circuit_transitions = nullptr;
  metrics::Counter* auth_failures = nullptr;
  metrics::Counter* budget_probes = nullptr;
  metrics::Counter* parent_lock_waits = nullptr;
  metrics::Family<metrics::Counter>* dead_lettered = nullptr;
  metrics::Family<metrics::Counter>* requests = nullptr;
  metrics::Gauge* buffered = nullptr;
  metrics::Gauge* in_flight_calls = nullptr;
  metrics::Gauge* paused = nullptr;
  metrics::Gauge* stalled_partitions = nullptr;
  metrics::Gauge* ready = nullptr;
  metrics::Gauge* parents_in_flight = nullptr;
  metrics::Histogram* delivery_latency = nullptr;
  metrics::Histogram* call_latency = nullptr;
  std::vector<metrics::CallbackHandle> callbacks;

  Status Register();
  void BindFlow(flow::TokenBucket* requests_bucket, flow::TokenBucket* records_bucket,
                flow::ConcurrencyGate* gate, flow::CircuitBreaker* breaker, flow::Aimd* aimd);
  void CountRequest(salesforce::ErrorClass c);
  // The consumed and delivered counters of one source topic.
  metrics::Counter& Consumed(const std::string& topic) { return ForTopic(topic).consumed; }
  metrics::Counter& Delivered(const std::string& topic) { return ForTopic(topic).delivered; }
  void CountDeadLetter(const std::string& topic, const std::string& error_class,
                       const std::string& code);
  // Keeps the lag of owned partitions only (SetOwnedPartitions); the others are dropped.
  void SetLag(const std::string& topic, const std::vector<kafka::PartitionLag>& lag);
  // The partitions this instance owns now; the lag of any other is forgotten.
  void SetOwnedPartitions(std::set<std::pair<std::string, int32_t>> owned);
  // The last lag reported for one partition; nullopt when none was.
  std::optional<int64_t> Lag(const std::string& topic, int32_t partition);

 private:
  struct TopicCounters {
    metrics::Counter& consumed;
    metrics::Counter& delivered;
  };
  TopicCounters& ForTopic(const std::string& topic);

  // Engine thread only: saves the family lookup (a shared lock and a label-vector compare) per
  // record. Few entries: one per source topic.
  std::map<std::string, TopicCounters, std::less<>> by_topic_;
  std::mutex lag_mu_;
  std::map<std::pair<std::string, int32_t>, int64_t> lag_;  // guarded by lag_mu_
  std::set<std::pair<std::string, int32_t>> owned_;         // guarded by lag_mu_
};

}  // namespace sluice::relay

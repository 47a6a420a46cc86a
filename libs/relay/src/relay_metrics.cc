#include "relay_metrics.h"

namespace sluice::relay {

Status RelayMetrics::Register() {
  if (!registry) registry = std::make_shared<metrics::Registry>();
  auto& r = *registry;
  ASSIGN_OR_RETURN(
      consumed, r.AddCounterFamily("sluice_relay_consumed_total",
                                   "Records taken from the source topics, by topic.", {"topic"}));
  ASSIGN_OR_RETURN(delivered,
                   r.AddCounterFamily("sluice_relay_delivered_total",
                                      "Events Salesforce accepted, by source topic.", {"topic"}));
  ASSIGN_OR_RETURN(skipped, r.AddCounter("sluice_relay_skipped_duplicates_total",
                                         "Redelivered events skipped by the idempotency store."));
  ASSIGN_OR_RETURN(retries, r.AddCounter("sluice_relay_retries_total",
                                         "Per-record retries scheduled (backoff with jitter)."));
  ASSIGN_OR_RETURN(requests_sent, r.AddCounter("sluice_relay_requests_sent_total",
                                               "Salesforce write calls sent."));
  ASSIGN_OR_RETURN(commits,
                   r.AddCounter("sluice_relay_offset_commits_total", "Offset commits made."));
  ASSIGN_OR_RETURN(kafka_errors,
                   r.AddCounter("sluice_relay_kafka_errors_total", "Consumer error events."));
  ASSIGN_OR_RETURN(store_errors, r.AddCounter("sluice_relay_store_errors_total",
                                              "Failed idempotency store commits (retried)."));
  ASSIGN_OR_RETURN(circuit_transitions, r.AddCounter("sluice_relay_circuit_transitions_total",
                                                     "Circuit breaker state changes."));
  ASSIGN_OR_RETURN(auth_failures,
                   r.AddCounter("sluice_relay_auth_failures_total",
                                "Failed authentications (token requests refused, or writes "
                                "refused as unauthenticated); retried with backoff."));
  ASSIGN_OR_RETURN(
      budget_probes,
      r.AddCounter("sluice_relay_budget_probes_total",
                   "GET /limits probes made while paused at the daily budget reserve."));
  ASSIGN_OR_RETURN(
      dead_lettered,
      r.AddCounterFamily("sluice_relay_dead_lettered_total",
                         "Events written to the DLQ, by source topic, error class and code.",
                         {"topic", "class", "code"}));
  ASSIGN_OR_RETURN(requests,
                   r.AddCounterFamily("sluice_relay_requests_total",
                                      "Salesforce call outcomes by error class.", {"class"}));
  ASSIGN_OR_RETURN(buffered, r.AddGauge("sluice_relay_buffered_events",
                                        "Events parsed and waiting or in flight."));
  ASSIGN_OR_RETURN(in_flight_calls,
                   r.AddGauge("sluice_relay_in_flight_requests", "Salesforce calls in flight."));
  ASSIGN_OR_RETURN(paused, r.AddGauge("sluice_relay_paused", "1 while consumption is paused."));
  ASSIGN_OR_RETURN(stalled_partitions,
                   r.AddGauge("sluice_relay_stalled_partitions",
                              "Assigned partitions not paused by intent, with lag, from which "
                              "nothing was consumed for longer than delivery.stall_after."));
  ASSIGN_OR_RETURN(ready, r.AddGauge("sluice_relay_ready", "1 while /readyz answers ready."));
  ASSIGN_OR_RETURN(parent_lock_waits,
                   r.AddCounter("sluice_relay_parent_lock_waits_total",
                                "Records held back because a request in flight held their parent "
                                "record (delivery.lock_fields), counted once per wait."));
  ASSIGN_OR_RETURN(parents_in_flight,
                   r.AddGauge("sluice_relay_parents_in_flight",
                              "Parent values held by requests in flight (delivery.lock_fields)."));
  metrics::HistogramOptions ms;
  ms.divisor = 1000;  // recorded in milliseconds, exposed in seconds
  ASSIGN_OR_RETURN(delivery_latency,
                   r.AddHistogram("sluice_relay_delivery_latency_seconds",
                                  "Kafka record timestamp to Salesforce's confirmation.", ms));
  ASSIGN_OR_RETURN(call_latency, r.AddHistogram("sluice_relay_call_latency_seconds",
                                                "Duration of Salesforce write calls.", ms));
  ASSIGN_OR_RETURN(
      auto lag_handle,
      r.AddCallbackFamily(
          "sluice_relay_partition_lag", "Records behind the committed offset, per partition.",
          metrics::MetricType::kGauge, {"topic", "partition"}, [this] {
            std::vector<metrics::Sample> out;
            std::lock_guard lock(lag_mu_);
            for (const auto& [tp, lag] : lag_) {
              out.push_back({{tp.first, std::to_string(tp.second)}, static_cast<double>(lag)});
            }
            return out;
          }));
  callbacks.push_back(std::move(lag_handle));
  return Status::Ok();
}

void RelayMetrics::BindFlow(flow::TokenBucket* requests_bucket, flow::TokenBucket* records_bucket,
                            flow::ConcurrencyGate* gate, flow::CircuitBreaker* breaker,
                            flow::Aimd* aimd) {
  auto add = [&](const char* name, const char* help, std::function<double()> fn) {
    if (auto handle = registry->AddCallbackGauge(name, help, std::move(fn)); handle.ok()) {
      callbacks.push_back(std::move(handle).value());
    }
  };
  add("sluice_relay_request_tokens", "Request token bucket level.",
      [requests_bucket] { return requests_bucket->level(); });
  add("sluice_relay_record_tokens", "Record token bucket level.",
      [records_bucket] { return records_bucket->level(); });
  add("sluice_relay_request_rate_limit", "Requests/s allowed now (AIMD within the share).",
      [aimd] { return aimd->value(); });
  add("sluice_relay_in_flight_limit", "In-flight ceiling of this instance.",
      [gate] { return static_cast<double>(gate->limit()); });
  add("sluice_relay_in_flight_peak", "Highest in-flight count seen.",
      [gate] { return static_cast<double>(gate->peak()); });
  add("sluice_relay_circuit_state", "Circuit breaker: 0 closed, 1 half-open, 2 open.", [breaker] {
    switch (breaker->state()) {
      case flow::BreakerState::kClosed:
        return 0.0;
      case flow::BreakerState::kHalfOpen:
        return 1.0;
      case flow::BreakerState::kOpen:
        return 2.0;
    }
    return 0.0;
  });
}

void RelayMetrics::CountRequest(salesforce::ErrorClass c) {
  requests->WithLabels({salesforce::ErrorClassName(c)}).Increment();
}

void RelayMetrics::CountDeadLetter(const std::string& topic, const std::string& error_class,
                                   const std::string& code) {
  dead_lettered->WithLabels({topic, error_class, code}).Increment();
}

RelayMetrics::TopicCounters& RelayMetrics::ForTopic(const std::string& topic) {
  auto it = by_topic_.find(topic);
  if (it == by_topic_.end()) {
    it = by_topic_
             .emplace(topic,
                      TopicCounters{consumed->WithLabels({topic}), delivered->WithLabels({topic})})
             .first;
  }
  return it->second;
}

void RelayMetrics::SetLag(const std::string& topic, const std::vector<kafka::PartitionLag>& lag) {
  std::lock_guard lock(lag_mu_);
  for (const auto& l : lag) {
    std::pair<std::string, int32_t> tp{topic, l.partition};
    if (owned_.count(tp) > 0) lag_[std::move(tp)] = l.lag;
  }
}

void RelayMetrics::SetOwnedPartitions(std::set<std::pair<std::string, int32_t>> owned) {
  std::lock_guard lock(lag_mu_);
  owned_ = std::move(owned);
  std::erase_if(lag_, [this](const auto& entry) { return owned_.count(entry.first) == 0; });
}

std::optional<int64_t> RelayMetrics::Lag(const std::string& topic, int32_t partition) {
  std::lock_guard lock(lag_mu_);
  auto it = lag_.find({topic, partition});
  if (it == lag_.end()) return std::nullopt;
  return it->second;
}

}  // namespace sluice::relay

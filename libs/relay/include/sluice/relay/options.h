// RelayOptions: everything sluice-relay can be told, with defaults, and how a config file maps to
// it (schemas/relay.config.schema.json is the file format; docs/OPERATIONS.md the reference).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sluice/changelog/section.h"
#include "sluice/core/logging.h"
#include "sluice/core/status.h"
#include "sluice/envelope/event.h"
#include "sluice/flow/backoff.h"
#include "sluice/flow/circuit_breaker.h"
#include "sluice/http/listen.h"
#include "sluice/idempotency/section.h"
#include "sluice/kafka/section.h"
#include "sluice/salesforce/section.h"

namespace sluice::config {
class Config;
struct LoadOptions;
}  // namespace sluice::config

namespace sluice::relay {

// Thread-safety: a value type.
struct RelayOptions {
  // Name in logs and in the DLQ's sluice.relay.instance header. Default "<hostname>-<pid>".
  std::string instance_id;

  // --- Kafka (kafka.*): the kafka library's section; defaults in sluice/kafka/section.h, except
  // the group, see DefaultKafka. ---
  kafka::ConsumerSection kafka = DefaultKafka();

  // --- DLQ (dlq.*) ---
  // DLQ topic = source topic + suffix, unless dlq_topics names one. Default ".dlq".
  std::string dlq_suffix = ".dlq";
  std::map<std::string, std::string> dlq_topics;
  // Create a missing DLQ topic with the source topic's partition count. Default true.
  bool dlq_create_missing = true;
  // The DLQ producer's message.max.bytes: whatever the source topic took must fit into the DLQ (the
  // broker's own cap still applies). Default 16 MiB.
  int64_t dlq_max_message_bytes = 16 << 20;

  // --- Salesforce (salesforce.*): the salesforce library's section; defaults in
  // sluice/salesforce/section.h (the event id field, accept_duplicates_on_crash) and in AuthOptions
  // and SalesforceClientOptions (api_version, request_timeout). ---
  salesforce::SalesforceSection salesforce;

  // --- Delivery ---
  // Records per collections call (1..200). Default 200.
  size_t max_records = 200;
  // Longest wait to fill a batch. Default 20 ms.
  std::chrono::milliseconds linger{20};
  // Ceiling on requests in flight, over all instances of the group (1..1000). Default 20.
  int64_t max_in_flight = 20;
  // Ceilings on requests/s and records/s, over all instances of the group. Defaults 100 and 20,000.
  double requests_per_second = 100;
  double records_per_second = 20'000;
  // Share of the daily API allocation never used, in [0, 1). Default 0.1.
  double budget_reserve = 0.1;
  // While paused at the reserve, how often GET /limits asks whether the allocation is back.
  // Default 60 s.
  std::chrono::milliseconds budget_probe_interval{60'000};
  // Events buffered (parsed, waiting or in flight) before partitions are paused. Default 20,000
  // (five times what 20 calls of 200 records hold in flight).
  size_t max_buffered_events = 20'000;
  // How long SIGTERM waits for in-flight work before closing. Default 30 s.
  std::chrono::milliseconds shutdown_deadline{30'000};
  // How long a revoke waits for the revoked partitions' in-flight work. Default 10 s.
  std::chrono::milliseconds revoke_deadline{10'000};
  // An assigned partition with lag, not paused by intent, from which nothing was consumed for this
  // long counts as stalled: sluice_relay_stalled_partitions and /readyz show it. Default 60 s.
  std::chrono::milliseconds stall_after{60'000};
  // Parent locks: sObject -> the lookup field whose parent a write of it locks, e.g.
  // {"Contact": "AccountId"}. For a listed sObject no two requests in flight hold records with the
  // same parent value, records within a request are sorted by parent, and a parent with many
  // children goes out in successive requests, not in parallel ones (docs/OPERATIONS.md, "Parent
  // locks"). Records without a (string) value in that field are not constrained. Default empty:
  // off.
  std::map<std::string, std::string> lock_fields;
  // Per-record retries (UNABLE_TO_LOCK_ROW, record-level 5xx). Defaults in flow/backoff.h.
  flow::BackoffOptions retry;
  // Org-wide failures back off (AIMD) and count toward opening the breaker only while they are at
  // least this share of the last 20 answered calls, so scattered 503s are retried without cutting
  // the rate. Default 0.25.
  double org_failure_ratio = 0.25;
  // Org-wide failures. Defaults in flow/circuit_breaker.h, except those DefaultCircuit overrides.
  flow::CircuitBreakerOptions circuit = DefaultCircuit();

  // --- Envelope (envelope.*) ---
  // max_bytes: the envelope library's section; default in EnvelopeOptions.
  envelope::EnvelopeOptions envelope;
  // Threads that parse envelopes beside the engine thread, which parses a share of every polled
  // batch itself. Parsing is the largest cost per event, so on a machine with a spare core one
  // extra thread lets the engine keep up with a faster drain. 0: the engine parses alone.
  // Default 1.
  int parse_threads = 1;

  // --- Idempotency store (idempotency.*): the idempotency library's section; defaults in
  // SqliteStoreOptions and RetentionOptions, except those DefaultStore overrides. ---
  idempotency::StoreSection idempotency = DefaultStore();

  // --- Delivered-set changelog (changelog.*, with the idempotency store): the changelog
  // library's section; defaults in sluice/changelog/section.h. With `enabled` (default true),
  // every resolution is also written, before its offset is committed, to a compacted changelog
  // topic per source topic with the same partition count, and a partition assigned to this
  // instance is restored from its changelog before it is consumed, so the delivered-set follows
  // the partition between instances (docs/OPERATIONS.md). Without the idempotency store there is
  // nothing to restore into: then it is off. ---
  changelog::ChangelogSection changelog;

  // --- HTTP (/metrics, /healthz, /readyz; http.listen) ---
  // Default 127.0.0.1:9464; port 0 picks a free one.
  http::ListenAddress http{.host = "127.0.0.1", .port = 9464};

  // --- Logging (logging.*): defaults in sluice/core/logging.h. ---
  LoggingOptions logging;

  // Ok, or InvalidArgument naming the option.
  Status Validate() const;

  // Where the relay departs from a library's default, each stated once in options.cc with the
  // reason.
  static kafka::ConsumerSection DefaultKafka();
  static idempotency::StoreSection DefaultStore();
  static flow::CircuitBreakerOptions DefaultCircuit();
};

// Maps a loaded config document (already validated against relay.config.schema.json) onto
// RelayOptions; defaults fill what the file leaves out. The relay reads its own sections (the top
// level, delivery, dlq, envelope.parse_threads, http.listen) and has each library read its own
// (kafka, salesforce, envelope, idempotency, changelog, logging). Secrets come through
// Config::GetSecret, so `client_secret_file` works.
Result<RelayOptions> RelayOptionsFromConfig(const config::Config& config);

// Sets the relay's environment overrides on `options`: SLUICE_RELAY_<PATH>, where a new key under
// kafka.properties has each '_' read as '.' (..._KAFKA__PROPERTIES__SECURITY_PROTOCOL sets
// security.protocol). docs/OPERATIONS.md, "Environment overrides".
void SetEnvOverrides(config::LoadOptions* options);

}  // namespace sluice::relay

// RelayOptions: everything sluice-relay can be told, with defaults, and how a config file maps to
// it (schemas/relay.config.schema.json is the file format; docs/OPERATIONS.md the reference).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/flow/backoff.h"
#include "sluice/flow/circuit_breaker.h"
#include "sluice/salesforce/auth.h"

namespace sluice::config {
class Config;
struct LoadOptions;
}  // namespace sluice::config

namespace sluice::relay {

struct RelayOptions {
  // Name in logs and in the DLQ's sluice.relay.instance header. Default "<hostname>-<pid>".
  std::string instance_id;

  // --- Kafka ---
  // Bootstrap brokers, "host:port[,host:port]". Required.
  std::string bootstrap;
  // Consumer group. Instances with the same group share the partitions and the org budget.
  // Default "sluice-relay".
  std::string group_id = "sluice-relay";
  // Topic names, or "^regex" patterns. Required.
  std::vector<std::string> topics;
  // librdkafka properties for the consumer, the DLQ producer and the admin client.
  std::map<std::string, std::string> kafka_properties;
  // Most records taken per poll. Default 1,000.
  size_t poll_batch = 1000;
  // How often resolved offsets are committed. Default 1 s.
  std::chrono::milliseconds commit_interval{1000};
  // librdkafka's prefetch bound (queued.max.messages.kbytes), so memory follows
  // max_buffered_events, not the backlog. Default 16,384 KiB.
  int64_t consumer_queue_kbytes = 16'384;

  // --- DLQ ---
  // DLQ topic = source topic + suffix, unless dlq_topics names one. Default ".dlq".
  std::string dlq_suffix = ".dlq";
  std::map<std::string, std::string> dlq_topics;
  // Create a missing DLQ topic with the source topic's partition count. Default true.
  bool dlq_create_missing = true;
  // The DLQ producer's message.max.bytes: whatever the source topic took must fit into the DLQ (the
  // broker's own cap still applies). Default 16 MiB.
  int64_t dlq_max_message_bytes = 16 << 20;

  // --- Salesforce ---
  salesforce::AuthOptions auth;
  // Default "62.0".
  std::string api_version = "62.0";
  // Deadline of one API call. Default 120 s.
  std::chrono::milliseconds request_timeout{120'000};
  // CA bundle for TLS; empty: the system's.
  std::string ca_file;
  // Each record also carries its event id in this field, and creates become upserts on it, so
  // that Salesforce itself refuses to apply one event twice: a crash between Salesforce's answer
  // and the store write then updates the record it created instead of creating a second one. It
  // must be an External ID field on every object the relay creates. Default "Sluice_Event_Id__c".
  std::string event_id_field = "Sluice_Event_Id__c";
  // With event_id_field empty the relay refuses to start unless this is true: creates then go out
  // as plain creates, and a crash in that window creates those records twice. Default false.
  bool accept_duplicates_on_crash = false;

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
  // Org-wide failures. Defaults in flow/circuit_breaker.h, except the longest open period: 5 s,
  // so that sending resumes within about 5 s of the org's recovery.
  flow::CircuitBreakerOptions circuit = DefaultCircuit();

  // --- Envelope ---
  // Largest record value accepted. Default 1 MiB.
  size_t envelope_max_bytes = 1 << 20;
  // Threads that parse envelopes beside the engine thread, which parses a share of every polled
  // batch itself. Parsing is the largest cost per event, so on a machine with a spare core one
  // extra thread lets the engine keep up with a faster drain. 0: the engine parses alone.
  // Default 1.
  int parse_threads = 1;

  // --- Idempotency store ---
  // Default true.
  bool idempotency_enabled = true;
  // Default "sluice-relay.db" in the working directory.
  std::string idempotency_path = "sluice-relay.db";
  // Default 7 days.
  std::chrono::milliseconds idempotency_retention{std::chrono::hours(24 * 7)};
  // Resolutions held in the store's staging level (and in memory, ~100 bytes each) before they
  // are merged into its main table. The relay records far fewer ids per second than the store
  // can take, so it trades merge efficiency for memory. Default 200,000 (~20 MB).
  int64_t idempotency_max_staged_rows = 200'000;
  // Rows per merge transaction of the store: how long a store write can wait behind a merge. The
  // relay stops sending while too many delivered events wait for their store write (that bounds
  // the re-sends after a crash), so a long merge showed as seconds at half the configured rate.
  // Default 4,000 (the store's own default is 20,000).
  int64_t idempotency_merge_chunk_rows = 4'000;
  // SQLite page cache of the store. Default 8,192 KiB.
  int64_t idempotency_cache_kib = 8 * 1024;

  // --- Delivered-set changelog (with the idempotency store) ---
  // Default true: every resolution is also written, before its offset is committed, to a
  // compacted changelog topic per source topic with the same partition count, and a partition
  // assigned to this instance is restored from its changelog before it is consumed, so the
  // delivered-set follows the partition between instances (docs/OPERATIONS.md). Without the
  // idempotency store there is nothing to restore into: then it is off.
  bool changelog_enabled = true;
  // The changelog of topic T is T + suffix. Default ".delivered".
  std::string changelog_suffix = ".delivered";
  // Replication factor of the changelog topics the relay creates. Default -1: the broker's
  // default.replication.factor.
  int changelog_replication = -1;
  // How long a restore may take (the broker unreachable, a leader missing) before the relay gives
  // up and stops. Default 2 minutes.
  std::chrono::milliseconds changelog_restore_timeout{std::chrono::minutes(2)};
  // Keep warm copies of the changelog partitions of this instance's topics that it does not own
  // (standby copies, as Kafka Streams' standby replicas): they are tailed into the local store, so
  // a partition that moves here is restored from seconds of entries, not from its whole retention.
  // Costs one reader and the other instances' write rate into the local store. Default false.
  bool changelog_standby = false;

  // --- HTTP (/metrics, /healthz, /readyz) ---
  // Default 127.0.0.1:9464; port 0 picks a free one.
  std::string http_host = "127.0.0.1";
  uint16_t http_port = 9464;

  // --- Logging ---
  std::string log_level = "info";
  bool log_json = true;

  // Ok, or InvalidArgument naming the option.
  Status Validate() const;

  static flow::CircuitBreakerOptions DefaultCircuit() {
    flow::CircuitBreakerOptions c;
    c.open_cap = std::chrono::seconds(5);
    return c;
  }
};

// Maps a loaded config document (already validated against relay.config.schema.json) onto
// RelayOptions; defaults fill what the file leaves out. Secrets come through Config::GetSecret, so
// `client_secret_file` works.
Result<RelayOptions> RelayOptionsFromConfig(const config::Config& config);

// Sets the relay's environment overrides on `options`: SLUICE_RELAY_<PATH>, where a new key under
// kafka.properties has each '_' read as '.' (..._KAFKA__PROPERTIES__SECURITY_PROTOCOL sets
// security.protocol). docs/OPERATIONS.md, "Environment overrides".
void SetEnvOverrides(config::LoadOptions* options);

}  // namespace sluice::relay

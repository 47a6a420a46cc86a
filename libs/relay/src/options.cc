#include "sluice/relay/options.h"

#include <unistd.h>

#include "sluice/config/config.h"
#include "sluice/config/section.h"
#include "sluice/envelope/section.h"

namespace sluice::relay {
namespace {

using config::ReadDuration;

std::string DefaultInstanceId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string name = host[0] != '\0' ? host : "relay";
  return name + "-" + std::to_string(getpid());
}

}  // namespace

// The relay's departures from its libraries' defaults, each stated once, here.

kafka::ConsumerSection RelayOptions::DefaultKafka() {
  kafka::ConsumerSection s;
  // Instances with the same group share the partitions and the org budget.
  s.group_id = "sluice-relay";
  return s;
}

idempotency::StoreSection RelayOptions::DefaultStore() {
  idempotency::StoreSection s;
  // In the working directory.
  s.store.path = "sluice-relay.db";
  // Resolutions held in the store's staging level (and in memory, ~100 bytes each) before they
  // are merged into its main table. The relay records far fewer ids per second than the store
  // can take, so it trades merge efficiency for memory: 200,000 (~20 MB), not the store's 500,000.
  s.store.max_staged_rows = 200'000;
  // Rows per merge transaction: how long a store write can wait behind a merge. The relay stops
  // sending while too many delivered events wait for their store write (that bounds the re-sends
  // after a crash), so a long merge showed as seconds at half the configured rate: 4,000, not the
  // store's 20,000.
  s.store.merge_chunk_rows = 4'000;
  // The relay's store is small next to its staging level in memory: 8 MiB of SQLite page cache,
  // not the store's 16 MiB.
  s.store.cache_size_kib = 8 * 1024;
  return s;
}

flow::CircuitBreakerOptions RelayOptions::DefaultCircuit() {
  flow::CircuitBreakerOptions c;
  // The longest open period: 5 s, so that sending resumes within about 5 s of the org's recovery.
  c.open_cap = std::chrono::seconds(5);
  return c;
}

Status RelayOptions::Validate() const {
  RETURN_IF_ERROR(kafka.Validate().WithContext("kafka"));
  RETURN_IF_ERROR(salesforce.Validate().WithContext("salesforce"));
  RETURN_IF_ERROR(envelope::ValidateEnvelopeSection(envelope).WithContext("envelope"));
  RETURN_IF_ERROR(idempotency.Validate().WithContext("idempotency"));
  RETURN_IF_ERROR(changelog.Validate().WithContext("changelog"));
  if (max_records < 1 || max_records > 200) {
    return InvalidArgumentError("delivery.max_records must be within 1..200");
  }
  if (max_in_flight < 1 || max_in_flight > 1000) {
    return InvalidArgumentError("delivery.max_in_flight must be within 1..1000");
  }
  if (!(requests_per_second > 0)) {
    return InvalidArgumentError("delivery.requests_per_second must be above 0");
  }
  if (!(records_per_second > 0)) {
    return InvalidArgumentError("delivery.records_per_second must be above 0");
  }
  if (!(budget_reserve >= 0 && budget_reserve < 1)) {
    return InvalidArgumentError("delivery.budget_reserve must be within [0, 1)");
  }
  if (parse_threads < 0 || parse_threads > 64) {
    return InvalidArgumentError("envelope.parse_threads must be within 0..64");
  }
  if (max_buffered_events < 1) {
    return InvalidArgumentError("delivery.max_buffered_events must be at least 1");
  }
  if (dlq_max_message_bytes < 1000) {
    return InvalidArgumentError("dlq.max_message_bytes must be at least 1000");
  }
  if (budget_probe_interval.count() <= 0) {
    return InvalidArgumentError("delivery.budget_probe_interval must be positive");
  }
  if (revoke_deadline.count() < 0 || stall_after.count() <= 0) {
    return InvalidArgumentError(
        "delivery.revoke_deadline and delivery.stall_after must be positive");
  }
  if (!(org_failure_ratio > 0 && org_failure_ratio <= 1)) {
    return InvalidArgumentError("delivery.org_failure_ratio must be within (0, 1]");
  }
  for (const auto& [sobject, field] : lock_fields) {
    if (sobject.empty() || field.empty()) {
      return InvalidArgumentError(
          "delivery.lock_fields: sObject and field names must not be empty");
    }
  }
  RETURN_IF_ERROR(retry.Validate().WithContext("delivery.retry"));
  RETURN_IF_ERROR(circuit.Validate().WithContext("delivery.circuit"));
  return Status::Ok();
}

Result<RelayOptions> RelayOptionsFromConfig(const config::Config& c) {
  RelayOptions o;
  o.instance_id = c.GetString("/instance_id", DefaultInstanceId());

  ASSIGN_OR_RETURN(o.kafka, kafka::ReadConsumerSection(c, "/kafka", o.kafka));
  ASSIGN_OR_RETURN(o.salesforce, salesforce::ReadSalesforceSection(c, "/salesforce", o.salesforce));
  ASSIGN_OR_RETURN(o.envelope, envelope::ReadEnvelopeSection(c, "/envelope", o.envelope));
  ASSIGN_OR_RETURN(o.idempotency, idempotency::ReadStoreSection(c, "/idempotency", o.idempotency));
  ASSIGN_OR_RETURN(o.changelog, changelog::ReadChangelogSection(c, "/changelog", o.changelog));
  ASSIGN_OR_RETURN(o.logging, config::ReadLogging(c, "/logging", o.logging));
  ASSIGN_OR_RETURN(o.http, http::ReadListenAddress(c, "/http/listen", o.http));

  o.dlq_max_message_bytes = c.GetInt("/dlq/max_message_bytes", o.dlq_max_message_bytes);
  o.dlq_suffix = c.GetString("/dlq/suffix", o.dlq_suffix);
  o.dlq_topics = c.GetStringMap("/dlq/topics");
  o.dlq_create_missing = c.GetBool("/dlq/create_missing", o.dlq_create_missing);

  o.max_records =
      static_cast<size_t>(c.GetInt("/delivery/max_records", static_cast<int64_t>(o.max_records)));
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/linger", &o.linger));
  o.max_in_flight = c.GetInt("/delivery/max_in_flight", o.max_in_flight);
  o.requests_per_second = c.GetDouble("/delivery/requests_per_second", o.requests_per_second);
  o.records_per_second = c.GetDouble("/delivery/records_per_second", o.records_per_second);
  o.budget_reserve = c.GetDouble("/delivery/budget_reserve", o.budget_reserve);
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/budget_probe_interval", &o.budget_probe_interval));
  o.max_buffered_events = static_cast<size_t>(
      c.GetInt("/delivery/max_buffered_events", static_cast<int64_t>(o.max_buffered_events)));
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/shutdown_deadline", &o.shutdown_deadline));
  o.org_failure_ratio = c.GetDouble("/delivery/org_failure_ratio", o.org_failure_ratio);
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/revoke_deadline", &o.revoke_deadline));
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/stall_after", &o.stall_after));
  o.lock_fields = c.GetStringMap("/delivery/lock_fields");
  o.circuit.failure_threshold = static_cast<int>(
      c.GetInt("/delivery/circuit/failure_threshold", o.circuit.failure_threshold));
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/circuit/open_initial", &o.circuit.open_initial));
  o.circuit.open_multiplier =
      c.GetDouble("/delivery/circuit/open_multiplier", o.circuit.open_multiplier);
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/circuit/open_cap", &o.circuit.open_cap));
  o.circuit.open_jitter = c.GetDouble("/delivery/circuit/open_jitter", o.circuit.open_jitter);
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/retry/initial", &o.retry.initial));
  o.retry.multiplier = c.GetDouble("/delivery/retry/multiplier", o.retry.multiplier);
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/retry/cap", &o.retry.cap));
  o.retry.max_attempts =
      static_cast<int>(c.GetInt("/delivery/retry/max_attempts", o.retry.max_attempts));
  RETURN_IF_ERROR(ReadDuration(c, "/delivery/retry/max_elapsed", &o.retry.max_elapsed));

  o.parse_threads = static_cast<int>(c.GetInt("/envelope/parse_threads", o.parse_threads));
  RETURN_IF_ERROR(o.Validate().WithContext(c.name()));
  return o;
}

void SetEnvOverrides(config::LoadOptions* options) {
  options->env_prefix = "SLUICE_RELAY_";
  options->env_dotted_maps = {"/kafka/properties"};
}

}  // namespace sluice::relay

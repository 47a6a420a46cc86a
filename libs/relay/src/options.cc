#include "sluice/relay/options.h"

#include <unistd.h>

#include "sluice/changelog/record.h"
#include "sluice/config/config.h"
#include "sluice/kafka/properties.h"

namespace sluice::relay {
namespace {

std::string DefaultInstanceId() {
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string name = host[0] != '\0' ? host : "relay";
  return name + "-" + std::to_string(getpid());
}

// Reads the duration at `ptr` into `*out` when the file sets it; keeps `*out` when it does not.
// A value the grammar refuses (e.g. past 100 years; the schema checks only its shape) is an error
// naming the file, line and key, never a silent fallback to the default.
template <typename D>
Status ReadDuration(const config::Config& c, std::string_view ptr, D* out) {
  auto d = c.GetDuration(ptr);
  if (d.status().code() == StatusCode::kNotFound) return Status::Ok();
  if (!d.ok()) return d.status();
  *out = std::chrono::duration_cast<D>(*d);
  return Status::Ok();
}

}  // namespace

Status RelayOptions::Validate() const {
  if (bootstrap.empty()) return InvalidArgumentError("kafka.bootstrap is required");
  if (topics.empty()) return InvalidArgumentError("kafka.topics needs at least one topic");
  if (group_id.empty()) return InvalidArgumentError("kafka.group_id must not be empty");
  // librdkafka's own check of every name and value, so --check-config finds a misspelling.
  RETURN_IF_ERROR(kafka::CheckProperties(kafka_properties).WithContext("kafka.properties"));
  if (poll_batch == 0) return InvalidArgumentError("kafka.poll_batch must be at least 1");
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
  if (idempotency_max_staged_rows < 1000) {
    return InvalidArgumentError("idempotency.max_staged_rows must be at least 1000");
  }
  if (idempotency_enabled && idempotency_path.empty()) {
    return InvalidArgumentError("idempotency.path must not be empty");
  }
  if (consumer_queue_kbytes < 1024) {
    return InvalidArgumentError("kafka.consumer_queue_kbytes must be at least 1024");
  }
  if (dlq_max_message_bytes < 1000) {
    return InvalidArgumentError("dlq.max_message_bytes must be at least 1000");
  }
  if (idempotency_merge_chunk_rows < 100 || idempotency_merge_chunk_rows > 1'000'000) {
    return InvalidArgumentError("idempotency.merge_chunk_rows must be within 100..1000000");
  }
  if (changelog_enabled) {
    RETURN_IF_ERROR(
        changelog::ChangelogTopic("t", changelog_suffix).status().WithContext("changelog.suffix"));
  }
  if (changelog_replication == 0 || changelog_replication < -1 || changelog_replication > 32) {
    return InvalidArgumentError("changelog.replication_factor must be -1 or within 1..32");
  }
  if (changelog_restore_timeout < std::chrono::seconds(1)) {
    return InvalidArgumentError("changelog.restore_timeout must be at least 1s");
  }
  if (idempotency_cache_kib < 256) {
    return InvalidArgumentError("idempotency.cache_kib must be at least 256");
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
  if (event_id_field.empty() && !accept_duplicates_on_crash) {
    return InvalidArgumentError(
        "salesforce.event_id_field is empty: creates would go out as plain creates, and a crash "
        "between Salesforce's answer and the idempotency store's write would create those "
        "records twice. Set salesforce.event_id_field to an External ID field on every object "
        "the relay creates (default Sluice_Event_Id__c), or set "
        "salesforce.accept_duplicates_on_crash: true to accept that");
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

  ASSIGN_OR_RETURN(o.bootstrap, c.GetString("/kafka/bootstrap"));
  o.group_id = c.GetString("/kafka/group_id", o.group_id);
  for (size_t i = 0; i < c.Size("/kafka/topics"); ++i) {
    ASSIGN_OR_RETURN(std::string topic, c.GetString("/kafka/topics/" + std::to_string(i)));
    o.topics.push_back(std::move(topic));
  }
  ASSIGN_OR_RETURN(o.kafka_properties, c.GetPropertyMap("/kafka/properties"));
  o.poll_batch =
      static_cast<size_t>(c.GetInt("/kafka/poll_batch", static_cast<int64_t>(o.poll_batch)));
  RETURN_IF_ERROR(ReadDuration(c, "/kafka/commit_interval", &o.commit_interval));
  o.consumer_queue_kbytes = c.GetInt("/kafka/consumer_queue_kbytes", o.consumer_queue_kbytes);
  o.dlq_max_message_bytes = c.GetInt("/dlq/max_message_bytes", o.dlq_max_message_bytes);

  o.dlq_suffix = c.GetString("/dlq/suffix", o.dlq_suffix);
  o.dlq_topics = c.GetStringMap("/dlq/topics");
  o.dlq_create_missing = c.GetBool("/dlq/create_missing", o.dlq_create_missing);

  ASSIGN_OR_RETURN(o.auth.login_url, c.GetString("/salesforce/login_url"));
  o.api_version = c.GetString("/salesforce/api_version", o.api_version);
  RETURN_IF_ERROR(ReadDuration(c, "/salesforce/request_timeout", &o.request_timeout));
  o.ca_file = c.GetString("/salesforce/ca_file", "");
  o.event_id_field = c.GetString("/salesforce/event_id_field", o.event_id_field);
  o.accept_duplicates_on_crash =
      c.GetBool("/salesforce/accept_duplicates_on_crash", o.accept_duplicates_on_crash);
  const std::string flow = c.GetString("/salesforce/auth/flow", "client_credentials");
  ASSIGN_OR_RETURN(o.auth.client_id, c.GetString("/salesforce/auth/client_id"));
  if (flow == "jwt_bearer") {
    o.auth.flow = salesforce::AuthFlow::kJwtBearer;
    ASSIGN_OR_RETURN(o.auth.username, c.GetString("/salesforce/auth/username"));
    ASSIGN_OR_RETURN(o.auth.private_key_file, c.GetString("/salesforce/auth/private_key_file"));
    o.auth.audience = c.GetString("/salesforce/auth/audience", "");
  } else {
    o.auth.flow = salesforce::AuthFlow::kClientCredentials;
    ASSIGN_OR_RETURN(o.auth.client_secret, c.GetSecret("/salesforce/auth/client_secret"));
  }

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

  o.envelope_max_bytes = static_cast<size_t>(
      c.GetInt("/envelope/max_bytes", static_cast<int64_t>(o.envelope_max_bytes)));
  o.parse_threads = static_cast<int>(c.GetInt("/envelope/parse_threads", o.parse_threads));

  o.idempotency_enabled = c.GetBool("/idempotency/enabled", o.idempotency_enabled);
  o.idempotency_path = c.GetString("/idempotency/path", o.idempotency_path);
  RETURN_IF_ERROR(ReadDuration(c, "/idempotency/retention", &o.idempotency_retention));
  o.idempotency_max_staged_rows =
      c.GetInt("/idempotency/max_staged_rows", o.idempotency_max_staged_rows);
  o.idempotency_cache_kib = c.GetInt("/idempotency/cache_kib", o.idempotency_cache_kib);
  o.idempotency_merge_chunk_rows =
      c.GetInt("/idempotency/merge_chunk_rows", o.idempotency_merge_chunk_rows);
  o.changelog_enabled = c.GetBool("/changelog/enabled", o.changelog_enabled);
  o.changelog_suffix = c.GetString("/changelog/suffix", o.changelog_suffix);
  o.changelog_replication =
      static_cast<int>(c.GetInt("/changelog/replication_factor", o.changelog_replication));
  RETURN_IF_ERROR(ReadDuration(c, "/changelog/restore_timeout", &o.changelog_restore_timeout));
  o.changelog_standby = c.GetBool("/changelog/standby_partitions", o.changelog_standby);

  const std::string listen =
      c.GetString("/http/listen", o.http_host + ":" + std::to_string(o.http_port));
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return InvalidArgumentError(c.name() + ": /http/listen: expected host:port, got \"" + listen +
                                "\"");
  }
  o.http_host = listen.substr(0, colon);
  try {
    int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    o.http_port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    return InvalidArgumentError(c.name() + ": /http/listen: bad port in \"" + listen + "\"");
  }

  o.log_level = c.GetString("/logging/level", o.log_level);
  o.log_json = c.GetBool("/logging/json", o.log_json);
  RETURN_IF_ERROR(o.Validate().WithContext(c.name()));
  return o;
}

void SetEnvOverrides(config::LoadOptions* options) {
  options->env_prefix = "SLUICE_RELAY_";
  options->env_dotted_maps = {"/kafka/properties"};
}

}  // namespace sluice::relay

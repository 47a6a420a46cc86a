#include "sluice/gateway/options.h"

#include "sluice/config/config.h"
#include "sluice/config/section.h"
#include "sluice/kafka/properties.h"

namespace sluice::gateway {

Status GatewayOptions::Validate() const {
  if (bootstrap.empty()) return InvalidArgumentError("kafka.bootstrap is required");
  RETURN_IF_ERROR(kafka::CheckProperties(kafka_properties).WithContext("kafka.properties"));
  if (tokens_file.empty() && !allow_anonymous) {
    return InvalidArgumentError(
        "auth.tokens_file is required (or auth.allow_anonymous: true for a test rig)");
  }
  if (tls_cert_file.empty() != tls_key_file.empty()) {
    return InvalidArgumentError("http.tls_cert_file and http.tls_key_file go together");
  }
  if (tls_client_certs != "off" && tls_client_certs != "optional" &&
      tls_client_certs != "required") {
    return InvalidArgumentError("http.tls_client_certs must be off, optional or required, got '" +
                                tls_client_certs + "'");
  }
  if (tls_client_certs != "off") {
    if (tls_cert_file.empty()) {
      return InvalidArgumentError("http.tls_client_certs: " + tls_client_certs +
                                  " needs TLS (http.tls_cert_file and http.tls_key_file)");
    }
    if (tls_client_ca_file.empty()) {
      return InvalidArgumentError("http.tls_client_certs: " + tls_client_certs +
                                  " needs http.tls_client_ca_file (the CAs client certificates "
                                  "must chain to)");
    }
  } else if (!tls_client_ca_file.empty()) {
    return InvalidArgumentError(
        "http.tls_client_ca_file is set but http.tls_client_certs is off: set it to optional or "
        "required, or remove the CA file");
  }
  if (default_topic.empty()) return InvalidArgumentError("routing.default_topic must not be empty");
  if (io_threads < 1 || io_threads > 64) {
    return InvalidArgumentError("http.io_threads must be within 1..64");
  }
  if (max_events < 1) return InvalidArgumentError("limits.max_events must be at least 1");
  if (max_body_bytes < 1024) {
    return InvalidArgumentError("limits.max_body_bytes must be at least 1024");
  }
  if (max_event_bytes < 256) {
    return InvalidArgumentError("limits.max_event_bytes must be at least 256");
  }
  if (max_depth < 2 || max_depth > 64) {
    return InvalidArgumentError("limits.max_depth must be within 2..64");
  }
  if (max_unacked_events < static_cast<int64_t>(max_events)) {
    return InvalidArgumentError("limits.max_unacked_events must be at least limits.max_events");
  }
  if (ack_timeout.count() < 100) {
    return InvalidArgumentError("limits.ack_timeout must be at least 100ms");
  }
  if (read_timeout.count() <= 0 || idle_timeout.count() <= 0) {
    return InvalidArgumentError("limits.read_timeout and limits.idle_timeout must be positive");
  }
  return Status::Ok();
}

Result<GatewayOptions> GatewayOptionsFromConfig(const config::Config& c) {
  GatewayOptions o;
  ASSIGN_OR_RETURN(o.http, http::ReadListenAddress(c, "/http/listen", o.http));
  o.io_threads = static_cast<int>(c.GetInt("/http/io_threads", o.io_threads));
  o.tls_cert_file = c.GetString("/http/tls_cert_file", "");
  o.tls_key_file = c.GetString("/http/tls_key_file", "");
  o.tls_client_certs = c.GetString("/http/tls_client_certs", o.tls_client_certs);
  o.tls_client_ca_file = c.GetString("/http/tls_client_ca_file", "");

  ASSIGN_OR_RETURN(o.bootstrap, c.GetString("/kafka/bootstrap"));
  ASSIGN_OR_RETURN(o.kafka_properties, c.GetPropertyMap("/kafka/properties"));

  o.topics = c.GetStringMap("/routing/topics");
  o.default_topic = c.GetString("/routing/default_topic", o.default_topic);

  o.tokens_file = c.GetString("/auth/tokens_file", "");
  o.allow_anonymous = c.GetBool("/auth/allow_anonymous", o.allow_anonymous);

  o.max_body_bytes = static_cast<size_t>(
      c.GetInt("/limits/max_body_bytes", static_cast<int64_t>(o.max_body_bytes)));
  o.max_events =
      static_cast<size_t>(c.GetInt("/limits/max_events", static_cast<int64_t>(o.max_events)));
  o.max_event_bytes = static_cast<size_t>(
      c.GetInt("/limits/max_event_bytes", static_cast<int64_t>(o.max_event_bytes)));
  o.max_depth = static_cast<int>(c.GetInt("/limits/max_depth", o.max_depth));
  o.max_header_bytes = static_cast<size_t>(
      c.GetInt("/limits/max_header_bytes", static_cast<int64_t>(o.max_header_bytes)));
  o.max_connections = static_cast<size_t>(
      c.GetInt("/limits/max_connections", static_cast<int64_t>(o.max_connections)));
  RETURN_IF_ERROR(config::ReadDuration(c, "/limits/read_timeout", &o.read_timeout));
  RETURN_IF_ERROR(config::ReadDuration(c, "/limits/idle_timeout", &o.idle_timeout));
  o.max_unacked_events = c.GetInt("/limits/max_unacked_events", o.max_unacked_events);
  RETURN_IF_ERROR(config::ReadDuration(c, "/limits/ack_timeout", &o.ack_timeout));
  RETURN_IF_ERROR(config::ReadDuration(c, "/limits/retry_after", &o.retry_after));
  RETURN_IF_ERROR(config::ReadDuration(c, "/shutdown_deadline", &o.shutdown_deadline));
  ASSIGN_OR_RETURN(o.logging, config::ReadLogging(c, "/logging", o.logging));
  RETURN_IF_ERROR(o.Validate().WithContext(c.name()));
  return o;
}

void SetEnvOverrides(config::LoadOptions* options) {
  options->env_prefix = "SLUICE_GATEWAY_";
  options->env_dotted_maps = {"/kafka/properties"};
}

}  // namespace sluice::gateway

// GatewayOptions: everything sluice-gateway can be told, with defaults, and how a config file maps
// to it (schemas/gateway.config.schema.json is the format; docs/GATEWAY.md the reference).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "sluice/core/logging.h"
#include "sluice/core/status.h"
#include "sluice/envelope/event.h"
#include "sluice/http/listen.h"
#include "sluice/http/server.h"

namespace sluice::config {
class Config;
struct LoadOptions;
}  // namespace sluice::config

namespace sluice::gateway {

// Thread-safety: a value type.
struct GatewayOptions {
  // --- listener (http.*) ---
  // host:port of the API, /metrics, /healthz and /readyz. Default 127.0.0.1:8088; port 0 picks a
  // free one (printed on stdout at start).
  http::ListenAddress http{.host = "127.0.0.1", .port = 8088};
  // I/O threads of the HTTP server. Default 2 (the server's own default is 1: the gateway is the
  // one program whose HTTP is its work, not a side surface).
  int io_threads = 2;
  // TLS certificate chain and key (PEM). Both empty (default): plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Client certificates (mutual TLS; docs/GATEWAY.md, "Client certificates"): "off" (default),
  // "optional" (asked for; a client may send none and use a bearer token) or "required" (the
  // handshake fails without one). A certificate must chain to a CA in tls_client_ca_file (PEM),
  // which is required unless "off" and refused with "off".
  std::string tls_client_certs = "off";
  std::string tls_client_ca_file;

  // --- Kafka (kafka.*) ---
  // Required.
  std::string bootstrap;
  // librdkafka properties for the producer (acks=all and idempotence are always on).
  std::map<std::string, std::string> kafka_properties;

  // --- routing.* ---
  // sObject -> topic. Others go to default_topic with {object} = the lower-cased sObject.
  std::map<std::string, std::string> topics;
  // Default "sf.{object}.events".
  std::string default_topic = "sf.{object}.events";

  // --- auth.* ---
  // The token file (schemas/gateway.tokens.schema.json). Required unless allow_anonymous.
  std::string tokens_file;
  // Accept requests without a token, writing any topic. Default false; for loopback test rigs only.
  bool allow_anonymous = false;

  // --- limits.* ---
  // Request body bytes; more answers 413. Default 10 MB: max_events events of about 10 KB (the
  // server's own default, 50 MB, is a ceiling for any program).
  size_t max_body_bytes = 10 * 1000 * 1000;
  // Events per request; more answers 413. Default 1,000.
  size_t max_events = 1000;
  // One event's bytes; more answers 413. Default EnvelopeOptions' max_bytes (1 MiB), which the
  // relay applies to the same events.
  size_t max_event_bytes = envelope::EnvelopeOptions{}.max_bytes;
  // JSON nesting inside one event. Default EnvelopeOptions' max_depth (8).
  int max_depth = envelope::EnvelopeOptions{}.max_depth;
  // Request line plus headers; more answers 431. Default the server's (16 KiB).
  size_t max_header_bytes = http::ServerOptions{}.max_header_bytes;
  // Open connections; more are closed at once. Default the server's (20,000).
  size_t max_connections = http::ServerOptions{}.max_connections;
  // A request must arrive completely within this once its first byte came (slowloris).
  // Default 10 s, not the server's 30 s: the gateway faces clients it does not control.
  std::chrono::milliseconds read_timeout{10'000};
  // A keep-alive connection may idle this long between requests. Default the server's (120 s).
  std::chrono::milliseconds idle_timeout = http::ServerOptions{}.idle_timeout;
  // Events produced but not yet acknowledged, over all requests; a request that would pass it
  // answers 429. Default 200,000.
  int64_t max_unacked_events = 200'000;
  // The broker must acknowledge every event of a request within this (librdkafka's
  // message.timeout.ms), or the request answers 503. Default 10 s.
  std::chrono::milliseconds ack_timeout{10'000};
  // Retry-After of 503 answers. Default 2 s. (429s say when tokens or room return, at least 1 s.)
  std::chrono::milliseconds retry_after{2'000};

  // --- shutdown, logging ---
  // On SIGTERM: how long requests in flight may take to be answered. Default 30 s.
  std::chrono::milliseconds shutdown_deadline{30'000};
  // logging.*: defaults in sluice/core/logging.h.
  LoggingOptions logging;

  Status Validate() const;
};

// Reads a loaded config (schemas/gateway.config.schema.json) into options; defaults fill what the
// file leaves out. InvalidArgument naming the key for values the schema cannot check.
Result<GatewayOptions> GatewayOptionsFromConfig(const config::Config& config);

// Sets the SLUICE_GATEWAY_ environment override rules on `options`.
void SetEnvOverrides(config::LoadOptions* options);

}  // namespace sluice::gateway

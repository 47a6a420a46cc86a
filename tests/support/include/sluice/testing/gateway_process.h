// GatewayProcess: a real sluice-gateway for integration tests, benchmarks and end-to-end runs.
//
//   auto gw = GatewayProcess::Start({.bootstrap = broker->bootstrap()});
//   auto conn = RawConnection::Connect((*gw)->port());
//   conn->Request("POST", "/v1/events", {{"Authorization", "Bearer " + kGatewayToken}, ...}, body);
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/testing/process.h"

namespace sluice::testing {

// The token that may write anything, and one that may write only Contact events.
inline constexpr char kGatewayToken[] = "test-token-any";
inline constexpr char kGatewayContactToken[] = "test-token-contact";

// An envelope (upsert of a Contact, key K-<n % keys>) with a unique event id derived from
// (`run`, `n`), as the gateway tests send them.
std::string GatewayTestEventId(uint32_t run, uint64_t n);
std::string GatewayTestEvent(uint32_t run, uint64_t n, int keys = 1000,
                             const std::string& sobject = "Contact");

// Thread-safety: a value type.
struct GatewayProcessOptions {
  std::string bootstrap;
  // routing.topics: sObject -> topic.
  std::map<std::string, std::string> topics;
  // YAML appended to the generated config (top-level keys, e.g. "limits: {ack_timeout: 3s}\n").
  std::string extra_yaml;
  // PEM files for http.tls_cert_file / http.tls_key_file; empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // http.tls_client_certs (empty: not set) and http.tls_client_ca_file (empty: not set).
  std::string tls_client_certs;
  std::string tls_client_ca_file;
  // Entries appended to the token file's list, e.g.
  // "  - name: billing\n    client_cert_cn: billing\n    topics: ['*']\n".
  std::string extra_tokens_yaml;
  // Extra environment, "KEY=VALUE".
  std::vector<std::string> env;
  // Where the gateway's stderr goes; empty: the test's stderr.
  std::string stderr_path;
};

// Thread-safety: not thread-safe; one test thread owns it.
class GatewayProcess {
 public:
  static Result<std::unique_ptr<GatewayProcess>> Start(const GatewayProcessOptions& options);
  ~GatewayProcess();

  uint16_t port() const { return port_; }
  pid_t pid() const { return child_->pid(); }
  ChildProcess& child() { return *child_; }
  // Resident set size from /proc/<pid>/status, in KiB; nullopt when unreadable.
  std::optional<int64_t> RssKib() const;
  // The directory with the config and token files (removed with the object).
  const std::string& dir() const { return dir_; }

 private:
  GatewayProcess(std::unique_ptr<ChildProcess> child, uint16_t port, std::string dir)
      : child_(std::move(child)), port_(port), dir_(std::move(dir)) {}
  std::unique_ptr<ChildProcess> child_;
  uint16_t port_;
  std::string dir_;
};

}  // namespace sluice::testing

// GatewayService: sluice-gateway's running parts wired together (producer, metrics, Gateway,
// HTTP server, readiness probe), for services/gateway/main.cc.
//
// Threads: the HTTP server's I/O threads (options.io_threads) run Gateway::Handle; the producer's
// delivery thread completes requests; librdkafka's own threads do the network I/O; one probe
// thread asks the broker for metadata every second and sets readiness. Shutdown order (Run, after
// the token fires): drain (the listener closes; new POSTs on open connections get 503 and
// Connection: close), wait until every request in
// flight is answered (up to shutdown_deadline), flush the producer, stop the probe, stop the
// server, destroy the producer.
#pragma once

#include <memory>

#include "sluice/core/shutdown.h"
#include "sluice/core/status.h"
#include "sluice/gateway/options.h"

namespace sluice::gateway {

// Loads the TLS files of `options` (certificate, key, client CA file) as Start would, without
// starting anything, for --check-config: InvalidArgument naming the file and what is wrong.
Status CheckTlsFiles(const GatewayOptions& options);

// Thread-safety: Start and Run from one thread (main); port() from any.
class GatewayService {
 public:
  static Result<std::unique_ptr<GatewayService>> Start(const GatewayOptions& options);
  ~GatewayService();

  uint16_t port() const;
  // "http://host:port" or "https://...".
  std::string BaseUrl() const;
  // Serves until `shutdown` is requested, then drains as above. Ok when every request in flight
  // was answered and the producer flushed in time.
  Status Run(const ShutdownToken& shutdown);

  class Impl;

 private:
  explicit GatewayService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::gateway

// Relay: drains Kafka topics into Salesforce under the delivery contract of DESIGN.md — nothing
// lost (offsets commit only past resolved events), nothing delivered twice (idempotency store +
// upserts), order per key, the org's ceilings respected, outages paused through rather than
// dead-lettered, and every DLQ record saying why.
#pragma once

#include <cstdint>
#include <memory>

#include "sluice/core/shutdown.h"
#include "sluice/core/status.h"
#include "sluice/relay/options.h"

namespace sluice::relay {

// Threads (see docs/OPERATIONS.md "Threads"):
//  - the engine: the thread that calls Run(). It owns the consumer, the key scheduler, the offset
//    tracker and the batcher; every result from another thread reaches it as a posted completion.
//  - the HTTP client's I/O thread (Salesforce calls), the DLQ producer's poll thread, librdkafka's
//    own threads, the idempotency group-commit writer and retention purger, the lag sampler, and
//    the HTTP server's I/O thread (/metrics, /healthz, /readyz).
// Shutdown order: stop fetching and dispatching; wait (up to shutdown_deadline) for Salesforce
// calls, DLQ acks and store commits in flight; commit resolved offsets; close the consumer; stop
// the committer, flush the producer, shut down the HTTP client and server.
//
// Thread-safety: Create, Run and the destructor from one thread; http_port() from any.
class Relay {
 public:
  // Builds every part (connects nothing yet except the HTTP listener and the SQLite store).
  static Result<std::unique_ptr<Relay>> Create(const RelayOptions& options);
  ~Relay();

  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Runs until `shutdown` is requested, then drains and closes as described above. Non-Ok only on
  // a fatal error (the consumer or the store failing for good).
  Status Run(const ShutdownToken& shutdown);

  // The port /metrics is served on.
  uint16_t http_port() const;

 private:
  class Impl;
  explicit Relay(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::relay

// The real parts of sluice-relay: librdkafka, libcurl and SQLite behind the ports of parts.h, and
// the service's surfaces around the engine (/metrics, /healthz, /readyz; the lag sampler). Each of
// these starts threads of its own; services/relay/main.cc builds them and hands them to the relay.
#pragma once

#include <memory>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/relay/options.h"
#include "sluice/relay/parts.h"
#include "sluice/relay/relay.h"

namespace sluice::relay {

// Builds every real part from `options` on `clock` (connects nothing yet except opening the
// SQLite store). The registry also carries the Salesforce client's counters.
Result<RelayParts> MakeRealParts(const RelayOptions& options, Clock& clock = RealClock());

// /metrics, /healthz and /readyz on options.http.host:http_port for `relay`.
// Thread-safety: Start and the destructor from one thread; `relay` must outlive it.
class HttpSurface {
 public:
  static Result<std::unique_ptr<HttpSurface>> Start(const RelayOptions& options, const Relay& relay,
                                                    Clock& clock = RealClock());
  ~HttpSurface();
  uint16_t port() const;

 private:
  class Impl;
  explicit HttpSurface(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Asks the broker every 5 s for the group's lag on the relay's assigned topics and reports it to
// the relay. Thread-safety: Start and the destructor from one thread; `relay` must outlive it.
class LagSampler {
 public:
  static Result<std::unique_ptr<LagSampler>> Start(const RelayOptions& options, Relay& relay);
  ~LagSampler();  // stops and joins its thread

 private:
  class Impl;
  explicit LagSampler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::relay

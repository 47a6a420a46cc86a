// Gateway: the request logic of sluice-gateway, from a parsed HTTP request to its answer.
//
// POST /v1/events: auth (Bearer token) -> content type -> body (body.h) -> scopes -> the token's
// rate -> room under max_unacked_events -> produce every event (acks=all, idempotent) -> 202 once
// the broker acknowledged every one, listing each event's topic, partition and offset. Anything
// else answers a problem+json (problem.h). Also GET /v1/openapi.yaml, /metrics, /healthz, /readyz.
//
// Threads: Handle runs on the HTTP server's I/O threads; the reply of a POST that produced comes
// from the producer's delivery thread. Nothing blocks: Produce never waits for queue room
// (enqueue_timeout 0).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/gateway/auth.h"
#include "sluice/gateway/options.h"
#include "sluice/http/server.h"

namespace sluice::kafka {
class Producer;
struct TaggedReport;
}  // namespace sluice::kafka
namespace sluice::metrics {
class Registry;
}

namespace sluice::gateway {

// What a Gateway works with; none owned, all must outlive it. Thread-safety: a value type.
struct GatewayDeps {
  kafka::Producer* producer = nullptr;  // acks=all, idempotent, enqueue_timeout 0
  const TokenStore* tokens = nullptr;   // null: anonymous requests only (allow_anonymous)
  Clock* clock = nullptr;               // null: RealClock()
  metrics::Registry* registry = nullptr;
  std::string openapi_yaml;  // served at /v1/openapi.yaml
};

// Thread-safety: every method is safe from any thread.
class Gateway {
 public:
  using Reply = std::function<void(http::ServerResponse)>;

  static Result<std::unique_ptr<Gateway>> Create(const GatewayOptions& options, GatewayDeps deps);
  ~Gateway();

  // Answers `request` through `reply`, exactly once, now or later (from the delivery thread).
  void Handle(const http::ServerRequest& request, Reply reply);

  // The readiness probe's verdict: while false, /readyz answers 503 and POSTs answer 503 at once
  // without producing. Starts false.
  void SetBrokerReachable(bool reachable);
  bool broker_reachable() const;

  // SIGTERM: from now on POSTs answer 503 (Connection: close); requests in flight still get their
  // answers.
  void BeginDrain();
  // POST requests accepted for producing and not yet answered.
  int64_t requests_in_flight() const;
  // Events produced and not yet acknowledged (or failed).
  int64_t unacked_events() const;

  class Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The delivery handler for the gateway's producer: set ProducerOptions::on_tagged_delivery to it.
// Every record the gateway produces is tagged with its request's state.
void OnTaggedDelivery(const kafka::TaggedReport& report);

// The server's own error answers (400 malformed, 413, 414, 431) as problem+json.
http::ServerResponse ServerErrorAsProblem(int status, std::string_view message);

}  // namespace sluice::gateway

namespace sluice::gateway {
// schemas/gateway.openapi.yaml as compiled into the binary.
std::string_view OpenApiYaml();
}  // namespace sluice::gateway

// sluice-flood --via http://HOST:PORT: the flood's events go through sluice-gateway instead of
// straight to Kafka. A kafka::Producer look-alike that the run uses in place of the real one:
// records are gathered into requests of `batch` events (NDJSON), POSTed over up to `connections`
// keep-alive connections, and each event's "delivery report" is its request's 202 (with the
// partition and offset the gateway names). 429 and 503 answers are retried after Retry-After with
// the same events (the same event ids), as docs/GATEWAY.md tells clients to.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::kafka {
class Producer;
struct ProducerOptions;
}  // namespace sluice::kafka

namespace sluice::flood {

// Thread-safety: a value type.
struct ViaGatewayOptions {
  // Gateway base URL, e.g. http://127.0.0.1:8088. Required.
  std::string url;
  // Keep-alive connections (requests in flight at most). Default 16.
  int connections = 16;
  // Events per request. Default 100.
  int batch = 100;
  // Bearer token; empty: no Authorization header.
  std::string token;
};

// One request the gateway answered 202. Thread-safety: a value type.
struct ViaGatewayAnswer {
  // The tag (the flood's event index) of the request's last event: the run looks up its intended
  // send time, from which a time to 202 free of coordinated omission is counted.
  uint64_t last_tag = 0;
  // When that last event was handed over (the request was complete; a request that then waited
  // for a free connection, or was retried after a 429 or 503, counts the wait).
  std::chrono::steady_clock::time_point handed_over;
  std::chrono::steady_clock::time_point answered;  // when the 202 arrived
};

// What the gateway answered, gathered over a run. Thread-safety: guarded by `mu`.
struct ViaGatewayStats {
  mutable std::mutex mu;
  std::map<int, uint64_t> statuses;  // HTTP status -> answers (0: transport errors)
  uint64_t requests = 0;
  uint64_t retries = 0;
  uint64_t events_accepted = 0;  // events in requests answered 202
  std::vector<ViaGatewayAnswer> answers_202;

  // "requests 1000 (202: 990, 503: 10), retries 10, time to 202 from hand-over p50 3.1 ms p99
  // 12.0 ms max 40 ms"
  std::string Summary() const;
};

// A factory for RunOptions::make_producer: producers that send to the gateway, recording into
// `stats`.
std::function<Result<std::unique_ptr<kafka::Producer>>(const kafka::ProducerOptions&)>
MakeViaGatewayProducerFactory(const ViaGatewayOptions& options,
                              std::shared_ptr<ViaGatewayStats> stats);

}  // namespace sluice::flood

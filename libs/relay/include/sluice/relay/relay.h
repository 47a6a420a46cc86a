// Relay: drains Kafka topics into Salesforce under the delivery contract of DESIGN.md — nothing
// lost (offsets commit only past resolved events), nothing delivered twice (idempotency store +
// upserts), order per key, the org's ceilings respected, outages paused through rather than
// dead-lettered, and every DLQ record saying why.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/shutdown.h"
#include "sluice/core/status.h"
#include "sluice/relay/options.h"
#include "sluice/relay/parts.h"

namespace sluice::relay {

class Engine;

// What /healthz and /readyz report. Thread-safety: a value type.
struct RelayHealth {
  // Monotonic milliseconds (on the injected clock) of the engine loop's last pass.
  int64_t last_loop_ms = 0;
  bool ready = false;
  // Why not ready, e.g. "daily API budget reserve reached", "authentication failing",
  // "partition t[3] assigned but not consumed"; empty when ready.
  std::string reason;
};

// Threads (see docs/OPERATIONS.md "Threads"): the engine runs on the thread that calls Run (or
// Start/Step/Finish). Every result from the parts' threads reaches it as a posted completion.
// The relay itself starts no thread.
// Shutdown order: stop fetching and dispatching; wait (up to shutdown_deadline) for Salesforce
// calls, DLQ acks and store commits in flight; commit resolved offsets; close the consumer.
//
// Thread-safety: Create, Run, Start, Step, Finish, NextWake and the destructor from one thread;
// health(), RenderMetrics(), assigned_topics() and ReportLag() from any.
class Relay {
 public:
  // Builds the engine on `parts` (see parts.h). Connects nothing yet.
  static Result<std::unique_ptr<Relay>> Create(const RelayOptions& options, RelayParts parts);
  // Destroying a relay that was not Finished drops its memory as a crash would (the simulation
  // relies on that); the parts' destructors stop their own threads.
  ~Relay();

  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // Start, Step until `shutdown` is requested, Finish. Non-Ok only on a fatal error.
  Status Run(const ShutdownToken& shutdown);

  // The same, a step at a time (one thread, e.g. a simulation driving several relays):
  // Start subscribes and asks for a token; Step makes one pass of the loop and polls the consumer
  // for at most `max_wait` (less when a timer is due sooner); Finish drains and closes.
  Status Start();
  Status Step(Clock::Duration max_wait);
  Status Finish();
  // When the engine next has work of its own (a timer, a linger, a hold, a token), at most 100 ms
  // from now.
  Clock::TimePoint NextWake() const;

  RelayHealth health() const;
  std::string RenderMetrics() const;
  // Topics with assigned partitions (for the lag sampler).
  std::vector<std::string> assigned_topics() const;
  // The lag sampler's figures: shown as sluice_relay_partition_lag, and how a partition that is
  // assigned, not paused and not consumed for delivery.stall_after is told from an idle one.
  void ReportLag(const std::string& topic, const std::vector<kafka::PartitionLag>& lag);

 private:
  explicit Relay(std::unique_ptr<Engine> engine);
  std::unique_ptr<Engine> engine_;
};

}  // namespace sluice::relay

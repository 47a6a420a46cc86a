// Scenario: everything one simulated run does, drawn from its seed — the relays and their options,
// the events produced, the faults of the org and the broker, the crashes, joins and leaves.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "facts.h"
#include "sim_dlq.h"
#include "sim_kafka.h"
#include "sim_salesforce.h"
#include "sim_store.h"
#include "sluice/relay/options.h"

namespace sluice::sim {

// A driver action at a simulated time. Thread-safety: a value type.
struct Action {
  enum class Kind {
    kStart,  // a slot's relay starts (a new incarnation)
    kCrash,  // its process dies: memory dropped, store file kept or lost
    kStop,   // a clean stop (Finish), leaving the group
  };
  Kind kind = Kind::kStart;
  TimePoint at{};
  int slot = 0;
  bool store_kept = true;  // kCrash
};

// Thread-safety: a value type.
struct Scenario {
  uint64_t seed = 0;
  // One line naming what the seed drew, for failure reports.
  std::string summary;
  int slots = 1;
  // Sorted by time; a slot's first action is kStart.
  std::vector<Action> actions;
  std::vector<std::pair<std::string, int>> topics;  // source topics and partition counts
  bool dlq_topics_exist = true;                     // else the engine must create them
  // In production order; partition and offset are filled by the driver.
  std::vector<ProducedRecord> events;
  relay::RelayOptions options;  // instance_id is set per incarnation
  SimOrgOptions org;
  SimKafkaOptions kafka;
  SimStoreOptions store;
  SimDlqOptions dlq;
  std::vector<std::pair<TimePoint, TimePoint>> broker_unavailable;
  // After this every fault has ended and every event is visible.
  TimePoint faults_end{};
  // The run fails for liveness if not everything is committed by then.
  TimePoint time_limit{};
};

// Options for drawing scenarios. Thread-safety: a value type.
struct ScenarioOptions {
  // Events per run, uniform in [min, max] (further capped so a fault-free drain takes ~10 s).
  int min_events = 40;
  int max_events = 300;
  // Whether faults are drawn at all (off: a fault-free run with the same shapes).
  bool faults = true;
};

Scenario MakeScenario(uint64_t seed, const ScenarioOptions& options = {});

// The partition the scenario's producer picks for a key (FNV-1a, modulo).
int32_t PartitionFor(const std::string& key, int partitions);

}  // namespace sluice::sim

// Driver: runs a Scenario — N real relay engines (sluice::relay::Relay) on one thread, on the
// world's simulated clock, against SimKafka and SimOrg — and returns the Facts of the run.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "facts.h"
#include "scenario.h"
#include "sluice/relay/parts.h"
#include "world.h"

namespace sluice::sim {

// Thread-safety: a value type.
struct DriverOptions {
  // Called with each incarnation's parts just before Relay::Create: the checker's own tests wrap
  // parts here to break an engine from the outside. Default none.
  std::function<void(int slot, Owner incarnation, relay::RelayParts& parts)> decorate;
  // Steps of one relay in a row while its consumer has records ready. Default 8.
  int max_restep = 8;
  // Trace lines kept for a failure report. Default 40.
  size_t trace_capacity = 40;
};

// What a run left behind. Thread-safety: a value type.
struct RunResult {
  Facts facts;
  std::vector<std::string> trace_tail;  // the last trace lines
  uint64_t trace_hash = 0;              // equal for equal runs
  uint64_t steps = 0;                   // Relay::Step calls
  uint64_t forced_advances = 0;         // rounds where no engine asked for a later wake-up
  double simulated_seconds = 0;
};

// Runs `scenario` to its end: until every partition is committed up to its end after the last
// action, or until its time limit (Facts::timed_out). Each relay that is alive at the end is
// stopped cleanly (Finish).
// Loop: the clock moves to the earliest of the world's next event, each live relay's NextWake()
// and the next driver action; due events and actions run; each live relay Steps (again while its
// consumer has records ready, up to max_restep).
RunResult RunScenario(const Scenario& scenario, const DriverOptions& options = {});

}  // namespace sluice::sim

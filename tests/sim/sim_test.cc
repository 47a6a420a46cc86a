// The seed sweep: each seed draws a scenario, runs the real relay engines through it and checks
// the delivery contract. SLUICE_SIM_SEEDS (default 1000) seeds from SLUICE_SIM_SEED_BASE
// (default 1). A failing seed prints a one-line reproduction and the trace of its last events.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "checker.h"
#include "driver.h"
#include "scenario.h"

namespace sluice::sim {
namespace {

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

// The sweep runs as kShards tests (ctest runs them in parallel); shard k takes every kShards-th
// seed from base + k, so a single seed always runs in shard 0.
constexpr int kShards = 2;

std::string Repro(uint64_t seed) {
  return fmt::format(
      "SLUICE_SIM_SEEDS=1 SLUICE_SIM_SEED_BASE={} build/bin/sim_test "
      "--gtest_filter=Sweep/SimSeedsTest.Seeds/0",
      seed);
}

// SLUICE_SIM_IGNORE: invariants (comma-separated names) the sweep leaves out, to look past a
// known failure at the others. Default none.
std::vector<Violation> Filtered(std::vector<Violation> v) {
  const char* ignore = std::getenv("SLUICE_SIM_IGNORE");
  if (ignore == nullptr || *ignore == '\0') return v;
  const std::string list = std::string(",") + ignore + ",";
  std::erase_if(v, [&](const Violation& x) {
    return list.find("," + x.invariant + ",") != std::string::npos;
  });
  return v;
}

// Seeds of the default sweep that still fail, each for an engine bug not fixed yet (the note of
// the relay-engine issue has the readings). They are not skipped: each is run and reported as a
// known failure, and the sweep fails if one of them passes (take it off the list then) or if any
// other seed fails.
// None today: 325 and 952 (latest_wins across two handovers: B re-wrote an older event that its
// own store did not know, A's store skipped the newer one when the partition came back) pass since
// the stores restore the delivered-set changelog on assignment (SimChangelog).
const std::set<uint64_t> kKnownFailing = {};

class SimSeedsTest : public ::testing::TestWithParam<int> {};

TEST_P(SimSeedsTest, Seeds) {
  const auto shard = static_cast<uint64_t>(GetParam());
  const uint64_t base = EnvNumber("SLUICE_SIM_SEED_BASE", 1);
  const uint64_t total = EnvNumber("SLUICE_SIM_SEEDS", 1000);
  const auto start = std::chrono::steady_clock::now();
  uint64_t runs = 0, failed = 0, events = 0, steps = 0, parent_locks = 0;
  double simulated = 0;
  std::string failed_seeds, known_seeds;
  for (uint64_t seed = base + shard; seed < base + total; seed += kShards) {
    const Scenario scenario = MakeScenario(seed);
    DriverOptions driver;
    driver.trace_capacity = EnvNumber("SLUICE_SIM_TRACE_LINES", 40);
    const RunResult run = RunScenario(scenario, driver);
    ++runs;
    parent_locks += scenario.options.lock_fields.empty() ? 0 : 1;
    events += run.facts.produced.size();
    steps += run.steps;
    simulated += run.simulated_seconds;
    const auto violations = Filtered(Check(run.facts));
    if (kKnownFailing.count(seed) > 0) {
      EXPECT_FALSE(violations.empty())
          << "seed " << seed << " is listed as known-failing but passes: take it off the list";
      if (!violations.empty()) {
        known_seeds += fmt::format(" {}", seed);
        std::string trace;
        if (total == 1) {  // run alone: its trace too
          for (const auto& line : run.trace_tail) trace += "  " + line + "\n";
        }
        std::printf("known failure (not fixed yet), seed %llu:\n%s%s",
                    static_cast<unsigned long long>(seed), Describe(violations).c_str(),
                    trace.c_str());
      }
      continue;
    }
    if (violations.empty()) continue;
    ++failed;
    failed_seeds += fmt::format(" {}", seed);
    // The first failures in full with their trace, the next ones without, then one line each.
    std::string report =
        fmt::format("{}\n{}\n{}", Repro(seed), scenario.summary, Describe(violations));
    if (failed <= 5) {
      report += "last events:\n";
      for (const auto& line : run.trace_tail) report += "  " + line + "\n";
    }
    ADD_FAILURE() << (failed <= 20 ? report : Repro(seed));
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s\n", fmt::format("sim shard {}/{}: {} seeds ({} with parent locks), {} failed{}, "
                                  "known failures:{}; {} events, {:.0f} simulated s, {} steps, "
                                  "{:.1f} s",
                                  shard, kShards, runs, parent_locks, failed, failed_seeds,
                                  known_seeds.empty() ? " none" : known_seeds, events, simulated,
                                  steps, wall)
                          .c_str());
}

INSTANTIATE_TEST_SUITE_P(Sweep, SimSeedsTest, ::testing::Range(0, kShards));

TEST(SimTest, SameSeedSameRun) {
  for (uint64_t seed : {3, 11, 42}) {
    const Scenario scenario = MakeScenario(seed);
    const RunResult a = RunScenario(scenario);
    const RunResult b = RunScenario(scenario);
    EXPECT_EQ(a.trace_hash, b.trace_hash) << "seed " << seed;
    EXPECT_EQ(a.facts.ledger.size(), b.facts.ledger.size()) << "seed " << seed;
    EXPECT_EQ(a.facts.commits.size(), b.facts.commits.size()) << "seed " << seed;
    EXPECT_EQ(a.steps, b.steps) << "seed " << seed;
  }
}

TEST(SimTest, FaultFreeRunsDeliverEveryHealthyEventOnce) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    ScenarioOptions options;
    options.faults = false;
    const Scenario scenario = MakeScenario(seed, options);
    const RunResult run = RunScenario(scenario);
    const auto violations = Check(run.facts);
    EXPECT_TRUE(violations.empty())
        << "seed " << seed << " without faults: " << scenario.summary << "\n"
        << Describe(violations);
    size_t healthy = 0;
    std::set<std::string> ids;
    for (const auto& r : run.facts.produced) {
      if (r.kind != EventKind::kInvalid && !r.poison && ids.insert(r.event_id).second) ++healthy;
    }
    bool measured = false;
    for (const auto& b : run.facts.buffered) measured = measured || b.measured;
    EXPECT_TRUE(measured) << "seed " << seed << ": no sluice_relay_buffered_events gauge";
    if (scenario.options.idempotency.enabled) {
      EXPECT_EQ(run.facts.ledger.size(), healthy) << "seed " << seed << ": " << scenario.summary;
    }
  }
}

}  // namespace
}  // namespace sluice::sim

// World: the one-threaded simulated world the relay engines run in. It owns the simulated clock,
// the event queue the fakes schedule their completions on, the run's random source and a ring
// buffer of trace lines.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/testing/simulated_clock.h"

namespace sluice::sim {

// Who an event belongs to: kWorld for the world's own effects (a write landing in the org, a DLQ
// record reaching the broker), or an incarnation of a relay (a callback into its engine).
using Owner = uint64_t;
inline constexpr Owner kWorld = 0;

// Thread-safety: a value type.
struct WorldOptions {
  // Seeds the run's std::mt19937_64. The same seed gives the same run. Default 1.
  uint64_t seed = 1;
  // Trace lines kept for a failure report. Default 40.
  size_t trace_capacity = 40;
};

// Events run in (time, sequence) order; the sequence breaks ties in scheduling order, so a run is
// a pure function of its seed. An event owned by an incarnation that has since crashed is dropped
// when its time comes (its callback would reach an engine whose memory is gone), while the
// world's own events always run.
//
// Nested runs are fine: an event may schedule events, and code running inside an event (an engine
// waiting in a rebalance callback) may run the world further; each event runs once.
//
// Thread-safety: not thread-safe; the whole simulation runs on one thread.
class World {
 public:
  explicit World(const WorldOptions& options = {});

  World(const World&) = delete;
  World& operator=(const World&) = delete;

  Clock& clock() { return clock_; }
  Clock::TimePoint Now() const { return clock_.Now(); }
  // Seconds since the start of the run, for traces and reports.
  double Seconds() const { return Seconds(Now()); }
  static double Seconds(Clock::TimePoint t);
  // Wall-clock milliseconds at `t` (what the engine's clock reports as WallMillis then).
  int64_t WallMillisAt(Clock::TimePoint t) const;

  // --- randomness (one stream per run) ---
  std::mt19937_64& rng() { return rng_; }
  // Uniform in [0, 1).
  double Uniform();
  // Uniform integer in [lo, hi].
  int64_t UniformInt(int64_t lo, int64_t hi);
  bool Chance(double p) { return p > 0 && Uniform() < p; }
  // Uniform duration in [lo, hi].
  Clock::Duration UniformDuration(Clock::Duration lo, Clock::Duration hi);

  // --- events ---
  // Schedules `fn` at `at` (clamped to now) for `owner`.
  void Schedule(Clock::TimePoint at, Owner owner, std::function<void()> fn);
  std::optional<Clock::TimePoint> NextEventTime() const;
  bool HasEvents() const { return !events_.empty(); }
  // Moves the clock to `t`, running every event due on the way, each at its own time.
  void AdvanceTo(Clock::TimePoint t);
  // Runs events (moving the clock to each) until `done()` is true or the next event is later than
  // `deadline`; then moves the clock to `deadline` unless `done()`. Returns done().
  bool RunUntil(Clock::TimePoint deadline, const std::function<bool()>& done);

  // --- incarnations ---
  Owner NewIncarnation();
  void Kill(Owner owner);
  bool IsLive(Owner owner) const { return owner == kWorld || live_.count(owner) > 0; }

  // --- trace ---
  // Appends "[<seconds>] <line>" to the ring buffer and to the run's hash.
  void Trace(const std::string& line);
  std::vector<std::string> TraceTail() const { return {trace_.begin(), trace_.end()}; }
  // FNV-1a over every trace line of the run: equal runs have equal hashes.
  uint64_t trace_hash() const { return trace_hash_; }
  uint64_t events_run() const { return events_run_; }

 private:
  struct Event {
    Owner owner = kWorld;
    std::function<void()> fn;
  };
  // Runs the first event if it is due by `limit`; false when none is.
  bool RunOne(Clock::TimePoint limit);

  WorldOptions options_;
  testing::SimulatedClock clock_;
  std::mt19937_64 rng_;
  std::map<std::pair<Clock::TimePoint, uint64_t>, Event> events_;
  uint64_t next_seq_ = 0;
  Owner next_owner_ = 1;
  std::set<Owner> live_;
  std::deque<std::string> trace_;
  uint64_t trace_hash_ = 1469598103934665603ull;
  uint64_t events_run_ = 0;
};

// "12.345s" for a simulated time point.
std::string FormatTime(Clock::TimePoint t);

}  // namespace sluice::sim

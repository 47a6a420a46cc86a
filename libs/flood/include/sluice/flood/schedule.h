// Load schedules for sluice-flood: when each event is meant to be sent.
//
// A Schedule maps event index i (0-based) to its intended send time, as an offset from the start
// of the run. Latency is measured from that intended time, not from when the producer got round
// to it, so a generator that falls behind cannot hide the delay (no coordinated omission). The
// Pacer walks a schedule on an injected Clock and records how far behind schedule it fell.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::flood {

// One stretch of a schedule: `count` events spread evenly over `duration` (the k-th of them at
// start + k * duration / count). A zero duration means "all at once": every event of the stage is
// due at the stage's start and the producer sends them as fast as it can.
struct Stage {
  int64_t count = 0;
  Clock::Duration duration{0};
};

// An ordered list of stages laid end to end.
// Thread-safety: immutable after construction; safe to share between threads.
class Schedule {
 public:
  // `burst`: `count` events as fast as possible (window 0) or spread evenly over `window`.
  static Result<Schedule> Burst(int64_t count, Clock::Duration window = Clock::Duration{0});
  // `rate`: a constant `per_second` arrival rate for `duration` (floor(rate * seconds) events).
  static Result<Schedule> Rate(double per_second, Clock::Duration duration);
  // `ramp`: stages of (rate, duration) laid end to end; a stage with rate 0 is a pause.
  struct RampStage {
    double per_second = 0;
    Clock::Duration duration{0};
  };
  static Result<Schedule> Ramp(const std::vector<RampStage>& stages);
  // Builds from raw stages (counts and durations as given).
  static Result<Schedule> FromStages(std::vector<Stage> stages);

  // Total events over all stages.
  int64_t count() const { return total_; }
  // Offset of the last stage's end from the start.
  Clock::Duration duration() const;
  const std::vector<Stage>& stages() const { return stages_; }

  // Intended send time of event `index` (0 <= index < count()) as an offset from the run's start.
  Clock::Duration IntendedOffset(int64_t index) const;

  // The planned arrival rate (events/s) at `offset`; a zero-length stage counts as its count
  // arriving in the second it starts. Used to draw the plan next to what happened.
  double PlannedRateAt(Clock::Duration offset) const;

 private:
  explicit Schedule(std::vector<Stage> stages);

  std::vector<Stage> stages_;
  std::vector<int64_t> first_index_;          // first event index of each stage
  std::vector<Clock::Duration> stage_start_;  // start offset of each stage
  int64_t total_ = 0;
};

// Parses ramp stages "RATE:DURATION[,RATE:DURATION...]", e.g. "1000:30s,5000:1m,0:10s"; each
// DURATION in the grammar of sluice/core/duration.h.
Result<std::vector<Schedule::RampStage>> ParseRampStages(std::string_view text);

struct PacerOptions {
  // The pacer sleeps only when it is at least this far ahead of the schedule; a smaller lead is
  // spent sending. Default 0: sleep whenever ahead.
  Clock::Duration min_sleep{0};
};

// Walks a Schedule on a Clock: WaitTurn(i) returns once event i is due, sleeping when the caller is
// early and returning at once when it is late. It tracks how far behind schedule the caller fell
// (now - intended at the moment each event was released) so that a run whose generator was the
// bottleneck says so.
// Thread-safety: not thread-safe; one producing thread owns a Pacer.
class Pacer {
 public:
  Pacer(const Schedule& schedule, Clock& clock, PacerOptions options = {});

  // Fixes the run's start at Now(); call once before the first WaitTurn.
  void Start();
  // Fixes the run's start at `start`.
  void StartAt(Clock::TimePoint start);
  Clock::TimePoint start() const { return start_; }

  // Blocks until event `index` is due; returns its intended send time.
  Clock::TimePoint WaitTurn(int64_t index);

  // Largest lag seen (0 when always on time).
  Clock::Duration max_behind() const { return max_behind_; }
  // Lag at the most recent WaitTurn (in an unpaced burst, at most 63 events old).
  Clock::Duration last_behind() const { return last_behind_; }
  // Events released more than `late_threshold` after their intended time.
  int64_t late_events() const { return late_events_; }
  // The lag beyond which an event counts as late (default 1 ms).
  void set_late_threshold(Clock::Duration d) { late_threshold_ = d; }

 private:
  const Schedule& schedule_;
  Clock& clock_;
  PacerOptions options_;
  const bool unpaced_;  // every event is due at the start
  Clock::TimePoint start_{};
  Clock::Duration max_behind_{0};
  Clock::Duration last_behind_{0};
  Clock::Duration late_threshold_ = std::chrono::milliseconds(1);
  int64_t late_events_ = 0;
};

}  // namespace sluice::flood

#include "sluice/flood/schedule.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "sluice/core/duration.h"

namespace sluice::flood {
namespace {

// Far more events than any run could produce; keeps count arithmetic well inside int64.
constexpr int64_t kMaxEvents = int64_t{1} << 40;
// 100 years: durations beyond this are typos, and keep nanosecond sums well inside int64.
constexpr double kMaxSeconds = 100.0 * 365 * 24 * 3600;

std::string Quote(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

Schedule::Schedule(std::vector<Stage> stages) : stages_(std::move(stages)) {
  Clock::Duration at{0};
  for (const Stage& s : stages_) {
    first_index_.push_back(total_);
    stage_start_.push_back(at);
    total_ += s.count;
    at += s.duration;
  }
}

Result<Schedule> Schedule::FromStages(std::vector<Stage> stages) {
  if (stages.empty()) return InvalidArgumentError("a schedule needs at least one stage");
  int64_t total = 0;
  Clock::Duration total_duration{0};
  for (const Stage& s : stages) {
    if (s.count < 0) return InvalidArgumentError("a stage cannot have a negative event count");
    if (s.duration.count() < 0)
      return InvalidArgumentError("a stage cannot have a negative length");
    total += s.count;
    total_duration += s.duration;
    if (total > kMaxEvents) return InvalidArgumentError("too many events in the schedule");
    if (std::chrono::duration<double>(total_duration).count() > kMaxSeconds) {
      return InvalidArgumentError("the schedule is longer than 100 years");
    }
  }
  return Schedule(std::move(stages));
}

Result<Schedule> Schedule::Burst(int64_t count, Clock::Duration window) {
  if (count <= 0) return InvalidArgumentError("a burst needs a positive event count");
  if (window.count() < 0) return InvalidArgumentError("a burst window cannot be negative");
  return FromStages({Stage{count, window}});
}

Result<Schedule> Schedule::Rate(double per_second, Clock::Duration duration) {
  return Ramp({RampStage{per_second, duration}});
}

Result<Schedule> Schedule::Ramp(const std::vector<RampStage>& stages) {
  if (stages.empty()) return InvalidArgumentError("a ramp needs at least one stage");
  std::vector<Stage> out;
  for (const RampStage& r : stages) {
    if (!std::isfinite(r.per_second) || r.per_second < 0) {
      return InvalidArgumentError("a rate must be a finite number >= 0");
    }
    if (r.duration.count() <= 0) return InvalidArgumentError("a stage needs a positive duration");
    const double seconds = std::chrono::duration<double>(r.duration).count();
    const double events = std::floor(r.per_second * seconds);
    if (events > static_cast<double>(kMaxEvents)) {
      return InvalidArgumentError("too many events in the schedule");
    }
    out.push_back(Stage{static_cast<int64_t>(events), r.duration});
  }
  ASSIGN_OR_RETURN(Schedule s, FromStages(std::move(out)));
  if (s.count() == 0) return InvalidArgumentError("the schedule sends no events");
  return s;
}

Clock::Duration Schedule::duration() const {
  if (stages_.empty()) return Clock::Duration{0};
  return stage_start_.back() + stages_.back().duration;
}

Clock::Duration Schedule::IntendedOffset(int64_t index) const {
  if (index <= 0 || stages_.empty()) return Clock::Duration{0};
  if (index >= total_) index = total_ - 1;
  // The stage whose first index is the last one <= index; empty stages are skipped over because
  // the next stage has the same first index.
  auto it = std::upper_bound(first_index_.begin(), first_index_.end(), index);
  size_t k = static_cast<size_t>(it - first_index_.begin()) - 1;
  const Stage& s = stages_[k];
  const int64_t within = index - first_index_[k];
  // 128-bit product: within * duration can exceed int64 for long, dense stages.
  const __int128 ns = static_cast<__int128>(within) * s.duration.count() / s.count;
  return stage_start_[k] + Clock::Duration(static_cast<int64_t>(ns));
}

double Schedule::PlannedRateAt(Clock::Duration offset) const {
  for (size_t k = 0; k < stages_.size(); ++k) {
    const Stage& s = stages_[k];
    const Clock::Duration begin = stage_start_[k];
    if (s.duration.count() == 0) {
      if (offset >= begin && offset < begin + std::chrono::seconds(1)) {
        return static_cast<double>(s.count);
      }
      continue;
    }
    if (offset >= begin && offset < begin + s.duration) {
      return static_cast<double>(s.count) / std::chrono::duration<double>(s.duration).count();
    }
  }
  return 0;
}

Result<std::vector<Schedule::RampStage>> ParseRampStages(std::string_view text) {
  std::vector<Schedule::RampStage> out;
  if (text.empty()) return InvalidArgumentError("empty ramp (expected RATE:DURATION,...)");
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = text.substr(pos, comma - pos);
    size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      return InvalidArgumentError("malformed ramp stage " + Quote(item) +
                                  " (expected RATE:DURATION, e.g. 1000:30s)");
    }
    std::string_view rate_text = item.substr(0, colon);
    double rate = 0;
    auto [ptr, ec] = std::from_chars(rate_text.data(), rate_text.data() + rate_text.size(), rate);
    if (ec != std::errc() || ptr != rate_text.data() + rate_text.size() || rate_text.empty() ||
        !std::isfinite(rate) || rate < 0) {
      return InvalidArgumentError("malformed rate in ramp stage " + Quote(item));
    }
    auto duration = sluice::ParseDuration(item.substr(colon + 1));
    if (!duration.ok()) return duration.status().WithContext("ramp stage " + Quote(item));
    out.push_back({rate, *duration});
    if (out.size() > 10000) return InvalidArgumentError("too many ramp stages (max 10000)");
    pos = comma + 1;
  }
  return out;
}

Pacer::Pacer(const Schedule& schedule, Clock& clock, PacerOptions options)
    : schedule_(schedule),
      clock_(clock),
      options_(options),
      unpaced_(schedule.duration() == Clock::Duration{0}) {}

void Pacer::Start() { start_ = clock_.Now(); }

void Pacer::StartAt(Clock::TimePoint start) { start_ = start; }

Clock::TimePoint Pacer::WaitTurn(int64_t index) {
  const Clock::TimePoint due = start_ + schedule_.IntendedOffset(index);
  // An unpaced burst: every event is due at the start and time only moves on, so once one event
  // is late every later one is too, and the lag only grows. The clock is then read for every
  // 64th event and the last (the exact max_behind), not for each: at a million events a second,
  // the reads were a visible share of the producing thread's time.
  if (unpaced_ && last_behind_ > late_threshold_ && (index & 63) != 0 &&
      index != schedule_.count() - 1) {
    ++late_events_;
    return due;
  }
  Clock::TimePoint now = clock_.Now();
  if (due - now > options_.min_sleep) {
    clock_.SleepUntil(due);
    now = clock_.Now();
  }
  last_behind_ = now > due ? now - due : Clock::Duration{0};
  if (last_behind_ > max_behind_) max_behind_ = last_behind_;
  if (last_behind_ > late_threshold_) ++late_events_;
  return due;
}

}  // namespace sluice::flood

#include "world.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

namespace sluice::sim {

World::World(const WorldOptions& options) : options_(options), rng_(options.seed) {}

double World::Seconds(Clock::TimePoint t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

int64_t World::WallMillisAt(Clock::TimePoint t) const {
  const int64_t now_ms = clock_.WallMillis();
  const auto delta = std::chrono::duration_cast<std::chrono::milliseconds>(t - Now()).count();
  return now_ms + delta;
}

double World::Uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }

int64_t World::UniformInt(int64_t lo, int64_t hi) {
  if (hi <= lo) return lo;
  return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
}

Clock::Duration World::UniformDuration(Clock::Duration lo, Clock::Duration hi) {
  return Clock::Duration(UniformInt(lo.count(), hi.count()));
}

void World::Schedule(Clock::TimePoint at, Owner owner, std::function<void()> fn) {
  at = std::max(at, Now());
  events_.emplace(std::make_pair(at, next_seq_++), Event{owner, std::move(fn)});
}

std::optional<Clock::TimePoint> World::NextEventTime() const {
  if (events_.empty()) return std::nullopt;
  return events_.begin()->first.first;
}

bool World::RunOne(Clock::TimePoint limit) {
  if (events_.empty() || events_.begin()->first.first > limit) return false;
  auto node = events_.extract(events_.begin());
  clock_.AdvanceTo(node.key().first);
  Event& e = node.mapped();
  ++events_run_;
  if (IsLive(e.owner)) e.fn();
  return true;
}

void World::AdvanceTo(Clock::TimePoint t) {
  while (RunOne(t)) {
  }
  clock_.AdvanceTo(t);
}

bool World::RunUntil(Clock::TimePoint deadline, const std::function<bool()>& done) {
  while (!done()) {
    if (!RunOne(deadline)) {
      clock_.AdvanceTo(deadline);
      return done();
    }
  }
  return true;
}

Owner World::NewIncarnation() {
  const Owner o = next_owner_++;
  live_.insert(o);
  return o;
}

void World::Kill(Owner owner) { live_.erase(owner); }

void World::Trace(const std::string& line) {
  std::string full = fmt::format("[{}] {}", FormatTime(Now()), line);
  for (unsigned char c : full) {
    trace_hash_ ^= c;
    trace_hash_ *= 1099511628211ull;
  }
  trace_hash_ ^= '\n';
  trace_hash_ *= 1099511628211ull;
  trace_.push_back(std::move(full));
  while (trace_.size() > options_.trace_capacity) trace_.pop_front();
}

std::string FormatTime(Clock::TimePoint t) { return fmt::format("{:.3f}s", World::Seconds(t)); }

}  // namespace sluice::sim

// ParentBatcher: batches for sObjects whose writes lock a parent record (delivery.lock_fields).
// Salesforce locks a child's parent (a Contact's Account) for the length of the write; two calls
// whose records share a parent contend, and the loser fails with UNABLE_TO_LOCK_ROW after the lock
// timeout. So records are grouped by parent value: a request takes whole groups of parents that
// no request in flight holds (oldest group first), its records sorted by parent, and holds those
// parents until Release. A parent with more children than fit in one request goes out in
// successive requests, one at a time, never in parallel. Records with no parent value ("") are not
// constrained.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"

namespace sluice::relay {

// The parent value of a record: the string value of `field` in its fields object (compact JSON),
// or "" when the field is absent, null, not a string, or the fields are not a JSON object (then
// the record is not constrained). Thread-safety: a pure function.
std::string ParentValue(std::string_view fields_json, const std::string& field);

// Thread-safety: not thread-safe; the engine thread owns it.
template <typename Item, typename Key>
class ParentBatcher {
 public:
  // One request's worth: items sorted by parent, and the (non-empty) parents the request now
  // holds, to be given back with Release when the call ends.
  struct Taken {
    Key key;
    std::vector<Item> items;
    std::vector<std::string> parents;
  };
  // One item as TakeAll hands it back.
  struct Pending {
    Key key;
    std::string parent;
    Item item;
  };

  // max_records >= 1; linger as flow::BatcherOptions (a batch is due when full or when its oldest
  // sendable record has waited that long).
  ParentBatcher(size_t max_records, Clock::Duration linger)
      : max_records_(std::max<size_t>(max_records, 1)), linger_(linger) {}

  ParentBatcher(const ParentBatcher&) = delete;
  ParentBatcher& operator=(const ParentBatcher&) = delete;

  // Adds an item whose parent value is `parent` ("": none) at `now`. A record whose parent an
  // in-flight request holds waits for Release (counted in parent_waits()).
  void Add(const Key& key, std::string parent, Item item, Clock::TimePoint now) {
    RouteState& r = routes_[key];
    auto [it, fresh] = r.groups.try_emplace(parent);
    it->second.items.emplace_back(std::move(item), now);
    ++pending_;
    if (!parent.empty() && held_.count(parent) > 0) {
      ++parent_waits_;
      return;
    }
    if (fresh) r.free.emplace(now, parent);
    ++r.free_count;
    ++ready_;
  }

  // The oldest due request (full routes and lingered ones alike, by their oldest sendable record),
  // taken only if `admit(n)` says a call of n records may go now. nullopt when nothing is due or
  // `admit` refused.
  template <typename Admit>
  std::optional<Taken> TakeOldestDueIf(Clock::TimePoint now, Admit&& admit) {
    typename std::map<Key, RouteState>::iterator best = routes_.end();
    for (auto it = routes_.begin(); it != routes_.end(); ++it) {
      const RouteState& r = it->second;
      if (r.free.empty()) continue;
      const Clock::TimePoint oldest = r.free.begin()->first;
      if (r.free_count < max_records_ && now - oldest < linger_) continue;
      if (best == routes_.end() || oldest < best->second.free.begin()->first) best = it;
    }
    if (best == routes_.end()) return std::nullopt;
    RouteState& r = best->second;
    const size_t n = std::min(max_records_, r.free_count);
    if (!admit(n)) return std::nullopt;

    std::vector<std::pair<std::string, Item>> picked;
    picked.reserve(n);
    Taken out;
    out.key = best->first;
    while (picked.size() < n && !r.free.empty()) {
      const std::string parent = r.free.begin()->second;
      r.free.erase(r.free.begin());
      auto git = r.groups.find(parent);
      Group& g = git->second;
      const size_t take = std::min(n - picked.size(), g.items.size());
      for (size_t i = 0; i < take; ++i) {
        picked.emplace_back(parent, std::move(g.items.front().first));
        g.items.pop_front();
      }
      r.free_count -= take;
      ready_ -= take;
      pending_ -= take;
      if (parent.empty()) {
        if (g.items.empty()) {
          r.groups.erase(git);
        } else {
          r.free.emplace(g.items.front().second, parent);
        }
        continue;
      }
      // The request holds this parent now: what is left of it, on any route, waits.
      if (g.items.empty()) r.groups.erase(git);
      Hold(parent);
      out.parents.push_back(parent);
    }
    std::stable_sort(picked.begin(), picked.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    out.items.reserve(picked.size());
    for (auto& [parent, item] : picked) out.items.push_back(std::move(item));
    return out;
  }

  // A request ended: its parents are free, and their waiting records may go.
  void Release(const std::vector<std::string>& parents) {
    for (const std::string& p : parents) {
      if (held_.erase(p) == 0) continue;
      for (auto& [key, r] : routes_) {
        auto git = r.groups.find(p);
        if (git == r.groups.end() || git->second.items.empty()) continue;
        r.free.emplace(git->second.items.front().second, p);
        r.free_count += git->second.items.size();
        ready_ += git->second.items.size();
      }
    }
  }

  // Every item not taken, held or not (shutdown, revoke); held parents stay held until Release.
  std::vector<Pending> TakeAll() {
    std::vector<Pending> out;
    out.reserve(pending_);
    for (auto& [key, r] : routes_) {
      for (auto& [parent, g] : r.groups) {
        for (auto& [item, at] : g.items) out.push_back(Pending{key, parent, std::move(item)});
      }
    }
    routes_.clear();
    pending_ = 0;
    ready_ = 0;
    return out;
  }

  // When a request will next be due: now-or-earlier for a full route, else the oldest sendable
  // record's time + linger; nullopt when nothing can go before a Release.
  std::optional<Clock::TimePoint> NextDeadline() const {
    std::optional<Clock::TimePoint> best;
    for (const auto& [key, r] : routes_) {
      if (r.free.empty()) continue;
      const Clock::TimePoint oldest = r.free.begin()->first;
      const Clock::TimePoint due = r.free_count >= max_records_ ? oldest : oldest + linger_;
      if (!best || due < *best) best = due;
    }
    return best;
  }

  // Items not taken, and those of them whose parent is free.
  size_t pending() const { return pending_; }
  size_t ready() const { return ready_; }
  // Parents held by requests in flight.
  size_t held_parents() const { return held_.size(); }
  bool holds(const std::string& parent) const { return held_.count(parent) > 0; }
  // Records that had to wait for a parent held by a request in flight, counted once per wait
  // (on Add to a held parent, and when a request takes a parent and leaves some of its records).
  uint64_t parent_waits() const { return parent_waits_; }

 private:
  struct Group {
    std::deque<std::pair<Item, Clock::TimePoint>> items;  // with the time each was added
  };
  struct RouteState {
    std::map<std::string, Group> groups;  // by parent value; "" for records without one
    // Groups whose parent is free (or ""), by their oldest item's time.
    std::set<std::pair<Clock::TimePoint, std::string>> free;
    size_t free_count = 0;  // items in those groups
  };

  void Hold(const std::string& parent) {
    held_.insert(parent);
    for (auto& [key, r] : routes_) {
      auto git = r.groups.find(parent);
      if (git == r.groups.end() || git->second.items.empty()) continue;
      r.free.erase({git->second.items.front().second, parent});
      r.free_count -= git->second.items.size();
      ready_ -= git->second.items.size();
      parent_waits_ += git->second.items.size();
    }
  }

  const size_t max_records_;
  const Clock::Duration linger_;
  std::map<Key, RouteState> routes_;
  std::set<std::string> held_;
  size_t pending_ = 0;
  size_t ready_ = 0;
  uint64_t parent_waits_ = 0;
};

}  // namespace sluice::relay

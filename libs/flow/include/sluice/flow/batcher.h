// Batcher: groups ready events into Salesforce requests.
#pragma once

#include <algorithm>
#include <chrono>
#include <compare>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::flow {

struct BatcherOptions {
  // Records per request. Within [1, 200] (the sObject Collections limit). Default 200.
  size_t max_records = 200;
  // How long a batch may wait for more records after its first one. Within [0, 1 h]; 0 sends
  // every batch at the next TakeDue. Default 20 ms.
  Clock::Duration linger = std::chrono::milliseconds(20);

  Status Validate() const;
};

// Records can share a request when they have the same sObject, operation and external id field
// (empty for operations without one).
struct BatchKey {
  std::string sobject;
  std::string operation;
  std::string external_id_field;

  friend auto operator<=>(const BatchKey&, const BatchKey&) = default;
  friend bool operator==(const BatchKey&, const BatchKey&) = default;
};

template <typename Item, typename Key = BatchKey>
struct Batch {
  Key key;
  std::vector<Item> items;  // In the order they were added.
  // When the first item was added; the batch is due at opened + linger (or when full).
  Clock::TimePoint opened;
};

// Collects items per BatchKey. A batch is due when it holds max_records items or when linger has
// passed since its first item; TakeDue hands out due batches oldest first. Item is whatever the
// relay sends (say, a KeyScheduler Dispatch plus the parsed record).
//
// Thread-safety: not thread-safe; the relay's dispatch loop owns it.
template <typename Item, typename Key = BatchKey>
class Batcher {
 public:
  using BatchType = Batch<Item, Key>;

  static Result<std::unique_ptr<Batcher>> Create(const BatcherOptions& options) {
    RETURN_IF_ERROR(options.Validate());
    return std::unique_ptr<Batcher>(new Batcher(options));
  }

  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Adds an item at `now`. A batch that reaches max_records is due at once.
  void Add(const Key& key, Item item, Clock::TimePoint now) {
    auto it = open_.find(key);
    if (it == open_.end()) {
      it = open_.emplace(key, BatchType{key, {}, now}).first;
      it->second.items.reserve(std::min<size_t>(options_.max_records, 16));
    }
    it->second.items.push_back(std::move(item));
    ++pending_;
    if (it->second.items.size() >= options_.max_records) {
      full_.push_back(std::move(it->second));
      open_.erase(it);
    }
  }

  // Every due batch: full ones, and open ones whose linger has passed by `now`; oldest first.
  std::vector<BatchType> TakeDue(Clock::TimePoint now) {
    std::vector<BatchType> out;
    for (auto& b : full_) out.push_back(std::move(b));
    full_.clear();
    for (auto it = open_.begin(); it != open_.end();) {
      if (now - it->second.opened >= options_.linger) {
        out.push_back(std::move(it->second));
        it = open_.erase(it);
      } else {
        ++it;
      }
    }
    Finish(out);
    return out;
  }

  // The oldest due batch, taken only if `admit(batch)` returns true; otherwise it stays and keeps
  // filling (up to max_records), so that a relay whose calls are scarce never spends one on a
  // batch it could have sent fuller. nullopt when nothing is due or `admit` refused.
  template <typename Admit>
  std::optional<BatchType> TakeOldestDueIf(Clock::TimePoint now, Admit&& admit) {
    if (!full_.empty()) {
      auto oldest = std::min_element(full_.begin(), full_.end(), [](const auto& a, const auto& b) {
        return a.opened < b.opened;
      });
      if (!admit(static_cast<const BatchType&>(*oldest))) return std::nullopt;
      BatchType out = std::move(*oldest);
      full_.erase(oldest);
      pending_ -= out.items.size();
      return out;
    }
    auto oldest = open_.end();
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      if (now - it->second.opened < options_.linger) continue;
      if (oldest == open_.end() || it->second.opened < oldest->second.opened) oldest = it;
    }
    if (oldest == open_.end() || !admit(static_cast<const BatchType&>(oldest->second))) {
      return std::nullopt;
    }
    BatchType out = std::move(oldest->second);
    open_.erase(oldest);
    pending_ -= out.items.size();
    return out;
  }

  // Every batch, due or not (shutdown, revoke); oldest first.
  std::vector<BatchType> TakeAll() {
    std::vector<BatchType> out;
    for (auto& b : full_) out.push_back(std::move(b));
    full_.clear();
    for (auto& [key, b] : open_) out.push_back(std::move(b));
    open_.clear();
    Finish(out);
    return out;
  }

  // When TakeDue will next have something: a full batch's open time (already past) or the earliest
  // open batch's opened + linger. nullopt when nothing is pending.
  std::optional<Clock::TimePoint> NextDeadline() const {
    std::optional<Clock::TimePoint> best;
    for (const auto& b : full_) {
      if (!best || b.opened < *best) best = b.opened;
    }
    for (const auto& [key, b] : open_) {
      const Clock::TimePoint due = b.opened + options_.linger;
      if (!best || due < *best) best = due;
    }
    return best;
  }

  // Items not yet taken.
  size_t pending() const { return pending_; }

 private:
  explicit Batcher(const BatcherOptions& options) : options_(options) {}

  void Finish(std::vector<BatchType>& out) {
    std::stable_sort(out.begin(), out.end(),
                     [](const BatchType& a, const BatchType& b) { return a.opened < b.opened; });
    for (const auto& b : out) pending_ -= b.items.size();
  }

  const BatcherOptions options_;
  std::map<Key, BatchType> open_;
  std::deque<BatchType> full_;
  size_t pending_ = 0;
};

}  // namespace sluice::flow

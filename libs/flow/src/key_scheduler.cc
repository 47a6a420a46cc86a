#include "sluice/flow/key_scheduler.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <queue>
#include <unordered_map>
#include <utility>

#include "internal.h"

namespace sluice::flow {

namespace {

constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();

// Transparent hashing so Add can look a key up by string_view without building a std::string.
struct KeyHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Slot {
  int64_t offset = 0;
  uint64_t payload = 0;
  uint64_t seq = 0;  // Arrival order; unique for the scheduler's lifetime.
  Clock::TimePoint first_attempt;
  Clock::TimePoint parked_at;  // When Requeue parked it (valid while parked).
  PartitionId partition = 0;
  uint32_t key = kNone;
  uint32_t next = kNone;    // Next slot in the key's FIFO.
  uint32_t generation = 1;  // Bumped when the slot is freed, so old EventIds go stale.
  int32_t attempt = 1;
  bool in_use = false;
  bool dispatched = false;  // Dispatched at least once (first_attempt valid).
  bool parked = false;
  bool revoked = false;  // Its partition was dropped while it was in flight.
};

struct KeyState {
  uint32_t head = kNone;
  uint32_t tail = kNone;
  Clock::TimePoint hold_until;
  // Points at the key string inside the key map's node (stable across rehashes); null for keyless
  // events and for free entries.
  const std::string* name = nullptr;
  bool alive = false;
  bool in_flight = false;  // The head is in flight.
  bool held = false;       // The head waits for hold_until.
};

struct ReadyEntry {
  uint64_t seq;
  uint32_t key;
  bool operator>(const ReadyEntry& o) const { return seq > o.seq; }
};

struct HeldEntry {
  Clock::TimePoint until;
  uint64_t seq;
  uint32_t key;
  bool operator>(const HeldEntry& o) const {
    return until != o.until ? until > o.until : seq > o.seq;
  }
};

template <typename T>
using MinHeap = std::priority_queue<T, std::vector<T>, std::greater<T>>;

EventId MakeId(uint32_t index, uint32_t generation) {
  return (static_cast<uint64_t>(generation) << 32) | index;
}

}  // namespace

class KeyScheduler::Impl {
 public:
  explicit Impl(const KeySchedulerOptions& options)
      : options_(options),
        low_water_(static_cast<size_t>(
            std::floor(options.low_water_fraction * static_cast<double>(options.max_buffered)))) {}

  Result<EventId> Add(PartitionId partition, int64_t offset, std::optional<std::string_view> key,
                      uint64_t payload) {
    if (offset < 0) return InvalidArgumentError("key_scheduler: offset must not be negative");
    if (key && key->size() > options_.max_key_bytes) {
      return InvalidArgumentError("key_scheduler: key of " + std::to_string(key->size()) +
                                  " bytes exceeds max_key_bytes (" +
                                  std::to_string(options_.max_key_bytes) + ")");
    }
    uint32_t k;
    if (key) {
      auto it = key_index_.find(*key);
      if (it == key_index_.end()) {
        k = AllocKey();
        it = key_index_.emplace(std::string(*key), k).first;
        keys_[k].name = &it->first;
      } else {
        k = it->second;
      }
    } else {
      k = AllocKey();  // Keyless: a key of its own, not in the index.
    }
    const uint32_t s = AllocSlot();
    Slot& slot = slots_[s];
    slot.offset = offset;
    slot.payload = payload;
    slot.seq = next_seq_++;
    slot.partition = partition;
    slot.key = k;
    slot.next = kNone;
    slot.attempt = 1;
    slot.dispatched = slot.parked = slot.revoked = false;

    KeyState& ks = keys_[k];
    if (ks.head == kNone) {
      ks.head = ks.tail = s;
      if (!ks.in_flight && !ks.held) ready_.push({slot.seq, k});
    } else {
      slots_[ks.tail].next = s;
      ks.tail = s;
    }
    ++buffered_;
    ++per_partition_[partition];
    UpdateLatch();
    return MakeId(s, slot.generation);
  }

  std::vector<Dispatch> NextReady(Clock::TimePoint now, size_t max) {
    std::vector<Dispatch> out;
    if (max == 0) return out;
    // Expired holds first, so their (older) heads compete with the ready ones by age.
    while (!held_.empty() && held_.top().until <= now) {
      const HeldEntry e = held_.top();
      held_.pop();
      if (!HeldValid(e)) continue;
      keys_[e.key].held = false;
      ready_.push({e.seq, e.key});
    }
    out.reserve(std::min(max, ready_.size()));
    while (out.size() < max && !ready_.empty()) {
      const ReadyEntry e = ready_.top();
      ready_.pop();
      if (!ReadyValid(e)) continue;
      KeyState& ks = keys_[e.key];
      Slot& slot = slots_[ks.head];
      ks.in_flight = true;
      ++in_flight_;
      if (!slot.dispatched) {
        slot.dispatched = true;
        slot.first_attempt = now;
      } else if (slot.parked && now > slot.parked_at) {
        slot.first_attempt += now - slot.parked_at;
      }
      slot.parked = false;
      out.push_back(Dispatch{MakeId(ks.head, slot.generation), slot.partition, slot.offset,
                             slot.payload, slot.attempt, slot.first_attempt});
    }
    return out;
  }

  Status Complete(EventId id) {
    ASSIGN_OR_RETURN(uint32_t s, FindInFlight(id));
    RemoveInFlightHead(s);
    return Status::Ok();
  }

  Status Retry(EventId id, Clock::TimePoint not_before) {
    ASSIGN_OR_RETURN(uint32_t s, FindInFlight(id));
    if (slots_[s].revoked) {
      RemoveInFlightHead(s);
      return Status::Ok();
    }
    Slot& slot = slots_[s];
    KeyState& ks = keys_[slot.key];
    ks.in_flight = false;
    --in_flight_;
    if (slot.attempt < std::numeric_limits<int32_t>::max()) ++slot.attempt;
    ks.held = true;
    ks.hold_until = not_before;
    held_.push({not_before, slot.seq, slot.key});
    return Status::Ok();
  }

  Status Requeue(EventId id, Clock::TimePoint now) {
    ASSIGN_OR_RETURN(uint32_t s, FindInFlight(id));
    if (slots_[s].revoked) {
      RemoveInFlightHead(s);
      return Status::Ok();
    }
    Slot& slot = slots_[s];
    KeyState& ks = keys_[slot.key];
    ks.in_flight = false;
    --in_flight_;
    slot.parked = true;
    slot.parked_at = now;
    ready_.push({slot.seq, slot.key});
    return Status::Ok();
  }

  std::vector<DroppedEvent> Drop(PartitionId partition) {
    std::vector<DroppedEvent> out;
    auto pit = per_partition_.find(partition);
    if (pit == per_partition_.end()) return out;
    for (uint32_t k = 0; k < keys_.size(); ++k) {
      KeyState& ks = keys_[k];
      if (!ks.alive) continue;
      const uint32_t old_head = ks.head;
      uint32_t new_head = kNone, new_tail = kNone;
      for (uint32_t s = ks.head; s != kNone;) {
        Slot& slot = slots_[s];
        const uint32_t next = slot.next;
        const bool keep_in_flight = s == old_head && ks.in_flight;
        if (slot.partition == partition && !keep_in_flight) {
          out.push_back(
              {MakeId(s, slot.generation), slot.partition, slot.offset, slot.payload, false});
          FreeSlot(s);
        } else {
          if (slot.partition == partition && !slot.revoked) {
            slot.revoked = true;
            out.push_back(
                {MakeId(s, slot.generation), slot.partition, slot.offset, slot.payload, true});
          }
          if (new_head == kNone) {
            new_head = s;
          } else {
            slots_[new_tail].next = s;
          }
          new_tail = s;
          slot.next = kNone;
        }
        s = next;
      }
      ks.head = new_head;
      ks.tail = new_tail;
      if (new_head == old_head) continue;
      // The head changed, so it was not in flight. A hold belonged to the removed head.
      ks.held = false;
      if (new_head == kNone) {
        FreeKey(k);
      } else {
        ready_.push({slots_[new_head].seq, k});
      }
    }
    if (per_partition_[partition] == 0) per_partition_.erase(partition);
    std::sort(out.begin(), out.end(),
              [](const DroppedEvent& a, const DroppedEvent& b) { return a.offset < b.offset; });
    UpdateLatch();
    return out;
  }

  std::optional<Clock::TimePoint> NextHoldExpiry() {
    while (!held_.empty() && !HeldValid(held_.top())) held_.pop();
    if (held_.empty()) return std::nullopt;
    return held_.top().until;
  }

  size_t buffered() const { return buffered_; }
  size_t buffered(PartitionId p) const {
    auto it = per_partition_.find(p);
    return it == per_partition_.end() ? 0 : it->second;
  }
  size_t in_flight() const { return in_flight_; }
  size_t keys() const { return keys_.size() - free_keys_.size(); }
  bool HasKey(std::string_view key) const { return key_index_.find(key) != key_index_.end(); }
  bool IsFull() const { return buffered_ >= options_.max_buffered; }
  bool IsAtOrBelowLowWater() const { return buffered_ <= low_water_; }
  bool ShouldPause() const { return pause_; }
  size_t low_water_mark() const { return low_water_; }

 private:
  uint32_t AllocKey() {
    uint32_t k;
    if (!free_keys_.empty()) {
      k = free_keys_.back();
      free_keys_.pop_back();
    } else {
      k = static_cast<uint32_t>(keys_.size());
      keys_.emplace_back();
    }
    keys_[k] = KeyState{};
    keys_[k].alive = true;
    return k;
  }

  void FreeKey(uint32_t k) {
    KeyState& ks = keys_[k];
    if (ks.name != nullptr) key_index_.erase(*ks.name);
    ks = KeyState{};
    free_keys_.push_back(k);
  }

  uint32_t AllocSlot() {
    if (!free_slots_.empty()) {
      const uint32_t s = free_slots_.back();
      free_slots_.pop_back();
      slots_[s].in_use = true;
      return s;
    }
    slots_.emplace_back();
    slots_.back().in_use = true;
    return static_cast<uint32_t>(slots_.size() - 1);
  }

  // Frees a slot already unlinked (or being unlinked) from its key's FIFO.
  void FreeSlot(uint32_t s) {
    Slot& slot = slots_[s];
    auto it = per_partition_.find(slot.partition);
    if (it != per_partition_.end() && it->second > 0) --it->second;
    slot.in_use = false;
    ++slot.generation;
    if (slot.generation == 0) slot.generation = 1;  // 0 would allow EventId 0.
    free_slots_.push_back(s);
    --buffered_;
  }

  Result<uint32_t> FindInFlight(EventId id) const {
    const auto s = static_cast<uint32_t>(id & 0xffffffffu);
    const auto generation = static_cast<uint32_t>(id >> 32);
    if (s >= slots_.size() || !slots_[s].in_use || slots_[s].generation != generation) {
      return NotFoundError("key_scheduler: no buffered event with id " + std::to_string(id));
    }
    const Slot& slot = slots_[s];
    const KeyState& ks = keys_[slot.key];
    if (ks.head != s || !ks.in_flight) {
      return FailedPreconditionError("key_scheduler: event " + std::to_string(id) +
                                     " is not in flight");
    }
    return s;
  }

  void RemoveInFlightHead(uint32_t s) {
    const uint32_t k = slots_[s].key;
    KeyState& ks = keys_[k];
    ks.in_flight = false;
    --in_flight_;
    ks.head = slots_[s].next;
    if (ks.head == kNone) ks.tail = kNone;
    FreeSlot(s);
    if (ks.head == kNone) {
      FreeKey(k);
    } else {
      ready_.push({slots_[ks.head].seq, k});
    }
    UpdateLatch();
  }

  bool ReadyValid(const ReadyEntry& e) const {
    if (e.key >= keys_.size()) return false;
    const KeyState& ks = keys_[e.key];
    return ks.alive && !ks.in_flight && !ks.held && ks.head != kNone &&
           slots_[ks.head].seq == e.seq;
  }

  bool HeldValid(const HeldEntry& e) const {
    if (e.key >= keys_.size()) return false;
    const KeyState& ks = keys_[e.key];
    return ks.alive && ks.held && !ks.in_flight && ks.head != kNone &&
           slots_[ks.head].seq == e.seq && ks.hold_until == e.until;
  }

  void UpdateLatch() {
    if (buffered_ >= options_.max_buffered) {
      pause_ = true;
    } else if (buffered_ <= low_water_) {
      pause_ = false;
    }
  }

  const KeySchedulerOptions options_;
  const size_t low_water_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
  std::vector<KeyState> keys_;
  std::vector<uint32_t> free_keys_;
  std::unordered_map<std::string, uint32_t, KeyHash, std::equal_to<>> key_index_;
  std::unordered_map<PartitionId, size_t> per_partition_;
  MinHeap<ReadyEntry> ready_;
  MinHeap<HeldEntry> held_;
  uint64_t next_seq_ = 0;
  size_t buffered_ = 0;
  size_t in_flight_ = 0;
  bool pause_ = false;
};

Status KeySchedulerOptions::Validate() const {
  if (max_buffered < 1 || max_buffered > 100'000'000) {
    return internal::Invalid("key_scheduler", "max_buffered", "must be within [1, 100000000]");
  }
  if (!internal::InRange(low_water_fraction, 0.0, 1.0) || low_water_fraction == 1.0) {
    return internal::Invalid("key_scheduler", "low_water_fraction", "must be within [0, 1)");
  }
  if (max_key_bytes < 1 || max_key_bytes > (size_t{1} << 20)) {
    return internal::Invalid("key_scheduler", "max_key_bytes", "must be within [1, 1048576]");
  }
  return Status::Ok();
}

Result<std::unique_ptr<KeyScheduler>> KeyScheduler::Create(const KeySchedulerOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<KeyScheduler>(new KeyScheduler(std::make_unique<Impl>(options)));
}

KeyScheduler::KeyScheduler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KeyScheduler::~KeyScheduler() = default;

Result<EventId> KeyScheduler::Add(PartitionId partition, int64_t offset,
                                  std::optional<std::string_view> key, uint64_t payload) {
  return impl_->Add(partition, offset, key, payload);
}
std::vector<Dispatch> KeyScheduler::NextReady(Clock::TimePoint now, size_t max) {
  return impl_->NextReady(now, max);
}
Status KeyScheduler::Complete(EventId id) { return impl_->Complete(id); }
Status KeyScheduler::Retry(EventId id, Clock::TimePoint not_before) {
  return impl_->Retry(id, not_before);
}
Status KeyScheduler::Requeue(EventId id, Clock::TimePoint now) { return impl_->Requeue(id, now); }
std::vector<DroppedEvent> KeyScheduler::Drop(PartitionId partition) {
  return impl_->Drop(partition);
}
std::optional<Clock::TimePoint> KeyScheduler::NextHoldExpiry() { return impl_->NextHoldExpiry(); }
size_t KeyScheduler::buffered() const { return impl_->buffered(); }
size_t KeyScheduler::buffered(PartitionId partition) const { return impl_->buffered(partition); }
size_t KeyScheduler::in_flight() const { return impl_->in_flight(); }
size_t KeyScheduler::keys() const { return impl_->keys(); }
bool KeyScheduler::HasKey(std::string_view key) const { return impl_->HasKey(key); }
bool KeyScheduler::IsFull() const { return impl_->IsFull(); }
bool KeyScheduler::IsAtOrBelowLowWater() const { return impl_->IsAtOrBelowLowWater(); }
bool KeyScheduler::ShouldPause() const { return impl_->ShouldPause(); }
size_t KeyScheduler::low_water_mark() const { return impl_->low_water_mark(); }

}  // namespace sluice::flow

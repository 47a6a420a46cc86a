// KeyScheduler: per-key order with concurrency across keys, and a bound on buffered events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/flow/types.h"

namespace sluice::flow {

struct KeySchedulerOptions {
  // Buffered events (queued, held and in flight) at which ShouldPause() turns true.
  // Within [1, 100,000,000]. Default 50,000.
  size_t max_buffered = 50'000;
  // ShouldPause() turns false again once buffered() ≤ ⌊low_water_fraction × max_buffered⌋.
  // Within [0, 1). Default 0.8.
  double low_water_fraction = 0.8;
  // Longest key Add() accepts; longer keys are refused with InvalidArgument (the relay dead-letters
  // such records as invalid). Within [1, 1 MiB]. Default 4096 bytes.
  size_t max_key_bytes = 4096;

  Status Validate() const;
};

// Opaque identity of one buffered event, valid until the event leaves the scheduler; ids are never
// reused, so a stale id is reported as NotFound rather than touching another event.
using EventId = uint64_t;

// One event handed out by NextReady: send it, then report with Complete, Retry or Requeue.
struct Dispatch {
  EventId id = 0;
  PartitionId partition = 0;
  int64_t offset = 0;
  uint64_t payload = 0;
  // The number of this attempt: 1 the first time, one more after each Retry (Requeue does not
  // count). Feed it to Backoff::Next when the attempt fails per record.
  int attempt = 1;
  // When the first attempt was dispatched, moved later by the time the event spent parked by
  // Requeue, so outages do not eat the event's max_elapsed budget.
  Clock::TimePoint first_attempt;
};

// One event removed by Drop.
struct DroppedEvent {
  EventId id = 0;
  PartitionId partition = 0;
  int64_t offset = 0;
  uint64_t payload = 0;
  // True for an event that was in flight when its partition was dropped. It stays in the
  // scheduler (holding its key, counted in buffered()) until the relay reports it with Complete,
  // Retry or Requeue, any of which then removes it; its id stays valid until then.
  bool in_flight = false;
};

// Events enter in consumption order with (partition, offset, key) and an opaque payload handle.
// Each key has a FIFO; only its head may be in flight. NextReady hands out the heads of keys that
// are free (not in flight, not held in backoff), oldest first by arrival; Complete releases the
// key, Retry keeps the event at the head with a hold-until time (that key waits, others flow),
// Requeue puts it back without charging an attempt (org-wide failures, abandoned requests).
//
// A key is a byte string: the same key arriving on two partitions is one key, ordered by arrival.
// Events without a key (nullopt) have no order to keep and are each their own key.
//
// Costs: Add, Complete, Retry, Requeue O(log n); NextReady O((k + h + s) log n) for k events
// returned, h holds expired and s stale heap entries skipped (each heap entry is pushed once per
// state change and popped once, so amortised O(log n) per event); Drop O(buffered) — rebalances
// are rare. Memory: about 90 bytes per buffered event (slot and heap entries) plus, per distinct
// key, the key's bytes and about 120 bytes of table overhead; slot storage is reused, not
// returned, after a peak.
//
// The buffer cap is soft: Add never refuses for fullness, so a record already polled is never
// lost; the relay pauses its partitions while ShouldPause() is true and resumes when it is false.
//
// Thread-safety: not thread-safe. It belongs to the relay's dispatch loop, which serialises all
// calls; results from sender threads reach it through that loop.
class KeyScheduler {
 public:
  static Result<std::unique_ptr<KeyScheduler>> Create(const KeySchedulerOptions& options);
  ~KeyScheduler();

  KeyScheduler(const KeyScheduler&) = delete;
  KeyScheduler& operator=(const KeyScheduler&) = delete;

  // Buffers one event. InvalidArgument for a negative offset or a key over max_key_bytes.
  Result<EventId> Add(PartitionId partition, int64_t offset, std::optional<std::string_view> key,
                      uint64_t payload);

  // Up to `max` events whose keys are free and not held past `now`, oldest first; each is in flight
  // from now on.
  std::vector<Dispatch> NextReady(Clock::TimePoint now, size_t max);

  // The event is done (delivered, skipped as a duplicate, dead-lettered): it leaves, its key is
  // free for its next event. NotFound for an unknown or stale id; FailedPrecondition when the
  // event is not in flight.
  Status Complete(EventId id);
  // The event failed per record and will be retried: it stays at the head of its key, held until
  // `not_before`, and its attempt count goes up by one. Errors as for Complete.
  Status Retry(EventId id, Clock::TimePoint not_before);
  // The event was not really tried (org-wide failure, request abandoned): back to the head of its
  // key, ready at once, attempt count unchanged; the time until its next dispatch is not counted
  // against it (see Dispatch::first_attempt). Errors as for Complete.
  Status Requeue(EventId id, Clock::TimePoint now);

  // Removes every event of `partition` (revoked) and returns them in offset order. Events in
  // flight are returned with in_flight = true and stay until reported (see DroppedEvent).
  std::vector<DroppedEvent> Drop(PartitionId partition);

  // The earliest time a held key becomes ready, or nullopt when nothing is held. For the relay's
  // wake-up when nothing else is ready.
  std::optional<Clock::TimePoint> NextHoldExpiry();

  size_t buffered() const;
  size_t buffered(PartitionId partition) const;
  size_t in_flight() const;
  // Keys with at least one event buffered.
  size_t keys() const;
  // Whether `key` has an event buffered (queued, held or in flight).
  bool HasKey(std::string_view key) const;

  // buffered() ≥ max_buffered.
  bool IsFull() const;
  // buffered() ≤ the low-water mark.
  bool IsAtOrBelowLowWater() const;
  // The latch with hysteresis: true from the moment buffered() reaches max_buffered until it falls
  // to the low-water mark.
  bool ShouldPause() const;
  size_t low_water_mark() const;

 private:
  class Impl;
  explicit KeyScheduler(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::flow

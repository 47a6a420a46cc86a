// A POST /v1/events between its first produce and its answer. Private to libs/gateway.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/gateway/gateway.h"

namespace sluice::gateway {

struct Pending;

// One event of a pending request; its address is the producer tag, so a delivery report finds its
// event with no lookup and no allocation per event.
// Thread-safety: written by the handler before produce, then by its one delivery callback; read by
// Complete after every callback (the `remaining` counter orders them).
struct Slot {
  Pending* pending = nullptr;
  std::string topic;
  std::string event_id;
  bool acked = false;
  int32_t partition = -1;
  int64_t offset = -1;
};

// Thread-safety: see Slot; `mu` guards the two statuses.
struct Pending {
  Gateway::Impl* impl = nullptr;
  Gateway::Reply reply;
  std::vector<Slot> slots;
  size_t produced = 0;  // slots [0, produced) were enqueued; set before the last decrement
  std::atomic<int64_t> remaining{0};
  Clock::TimePoint t0, produce_t0;
  std::mutex mu;
  Status enqueue_error;
  Status delivery_error;
};

}  // namespace sluice::gateway

// OffsetTracker: the commit watermark of each partition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/flow/types.h"

namespace sluice::flow {

// Offsets are tracked in consumption order and resolved in any order (resolved: delivered and
// recorded, skipped as a duplicate, or dead-lettered and acked). A partition may commit up to its
// lowest unresolved tracked offset, or one past its last tracked offset when everything is
// resolved. The position is taken from tracked offsets only, never from offset arithmetic, so gaps
// (compacted topics, transaction markers) are fine.
//
// Costs: Track amortised O(1); Resolve O(log n) to find the offset plus amortised O(1) to advance
// the watermark; Committable O(1). Memory: 16 bytes per offset between the watermark and the last
// tracked one (1M outstanding offsets: about 16 MB).
//
// Has no options: there is nothing to tune.
//
// Thread-safety: not thread-safe; the relay's dispatch loop owns it and serialises all calls.
class OffsetTracker {
 public:
  OffsetTracker() = default;
  OffsetTracker(const OffsetTracker&) = delete;
  OffsetTracker& operator=(const OffsetTracker&) = delete;

  // Tracks an offset just consumed. InvalidArgument for a negative offset or one not above the
  // partition's last tracked offset (consumption order is increasing; a rewind needs Reset first).
  Status Track(PartitionId partition, int64_t offset);
  // Marks a tracked offset resolved. NotFound when it is not outstanding (never tracked, already
  // passed by the watermark, or the partition was reset); AlreadyExists when it was resolved
  // before but is still behind an unresolved one.
  Status Resolve(PartitionId partition, int64_t offset);

  // The offset to commit (the next one to consume): the lowest unresolved tracked offset, or the
  // last tracked offset + 1 when all are resolved. nullopt when nothing was tracked since creation
  // or the last Reset.
  std::optional<int64_t> Committable(PartitionId partition) const;
  // Forgets the partition (on revoke).
  void Reset(PartitionId partition);

  // Tracked but unresolved offsets of the partition, and over all partitions.
  size_t outstanding(PartitionId partition) const;
  size_t outstanding() const { return outstanding_; }
  // Partitions with anything tracked since their last Reset.
  std::vector<PartitionId> partitions() const;

 private:
  struct Entry {
    int64_t offset;
    bool resolved;
  };
  struct PartitionState {
    // Offsets from the watermark on, in increasing order; the front is always unresolved.
    std::deque<Entry> window;
    int64_t last_tracked = -1;
    size_t unresolved = 0;
  };

  std::unordered_map<PartitionId, PartitionState> partitions_;
  size_t outstanding_ = 0;
};

}  // namespace sluice::flow

#include "sluice/flow/offset_tracker.h"

#include <algorithm>
#include <string>

namespace sluice::flow {

Status OffsetTracker::Track(PartitionId partition, int64_t offset) {
  if (offset < 0) return InvalidArgumentError("offset_tracker: offset must not be negative");
  PartitionState& p = partitions_[partition];
  if (offset <= p.last_tracked) {
    return InvalidArgumentError("offset_tracker: offset " + std::to_string(offset) +
                                " is not above the last tracked offset " +
                                std::to_string(p.last_tracked) + " of partition " +
                                std::to_string(partition));
  }
  p.window.push_back({offset, false});
  p.last_tracked = offset;
  ++p.unresolved;
  ++outstanding_;
  return Status::Ok();
}

Status OffsetTracker::Resolve(PartitionId partition, int64_t offset) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) {
    return NotFoundError("offset_tracker: partition " + std::to_string(partition) +
                         " has nothing tracked");
  }
  PartitionState& p = it->second;
  auto e = std::lower_bound(p.window.begin(), p.window.end(), offset,
                            [](const Entry& a, int64_t o) { return a.offset < o; });
  if (e == p.window.end() || e->offset != offset) {
    return NotFoundError("offset_tracker: offset " + std::to_string(offset) + " of partition " +
                         std::to_string(partition) + " is not outstanding");
  }
  if (e->resolved) {
    return AlreadyExistsError("offset_tracker: offset " + std::to_string(offset) +
                              " of partition " + std::to_string(partition) +
                              " is already resolved");
  }
  e->resolved = true;
  --p.unresolved;
  --outstanding_;
  while (!p.window.empty() && p.window.front().resolved) p.window.pop_front();
  return Status::Ok();
}

std::optional<int64_t> OffsetTracker::Committable(PartitionId partition) const {
  auto it = partitions_.find(partition);
  if (it == partitions_.end() || it->second.last_tracked < 0) return std::nullopt;
  const PartitionState& p = it->second;
  if (p.window.empty()) return p.last_tracked + 1;
  return p.window.front().offset;
}

void OffsetTracker::Reset(PartitionId partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  outstanding_ -= it->second.unresolved;
  partitions_.erase(it);
}

size_t OffsetTracker::outstanding(PartitionId partition) const {
  auto it = partitions_.find(partition);
  return it == partitions_.end() ? 0 : it->second.unresolved;
}

std::vector<PartitionId> OffsetTracker::partitions() const {
  std::vector<PartitionId> out;
  out.reserve(partitions_.size());
  for (const auto& [id, state] : partitions_) {
    if (state.last_tracked >= 0) out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace sluice::flow

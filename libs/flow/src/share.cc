#include "sluice/flow/share.h"

#include <algorithm>
#include <cmath>

namespace sluice::flow {

namespace {

Status ValidatePartitions(int64_t assigned, int64_t total) {
  if (total <= 0) return InvalidArgumentError("share: total_partitions must be positive");
  if (assigned < 0) return InvalidArgumentError("share: assigned_partitions must not be negative");
  if (assigned > total) {
    return InvalidArgumentError("share: assigned_partitions must not exceed total_partitions");
  }
  return Status::Ok();
}

}  // namespace

Result<double> ScaleForShare(double ceiling, int64_t assigned_partitions, int64_t total_partitions,
                             double minimum) {
  RETURN_IF_ERROR(ValidatePartitions(assigned_partitions, total_partitions));
  if (!std::isfinite(ceiling) || ceiling < 0.0) {
    return InvalidArgumentError("share: the ceiling must be a finite, non-negative number");
  }
  if (!std::isfinite(minimum) || minimum < 0.0) {
    return InvalidArgumentError("share: the minimum must be a finite, non-negative number");
  }
  if (assigned_partitions == 0) return 0.0;
  // Divide first: ceiling × assigned could overflow to infinity for huge ceilings.
  const double share =
      ceiling / static_cast<double>(total_partitions) * static_cast<double>(assigned_partitions);
  return std::min(ceiling, std::max(share, std::min(minimum, ceiling)));
}

Result<int64_t> ScaleCountForShare(int64_t ceiling, int64_t assigned_partitions,
                                   int64_t total_partitions, int64_t minimum) {
  RETURN_IF_ERROR(ValidatePartitions(assigned_partitions, total_partitions));
  if (ceiling < 0) return InvalidArgumentError("share: the ceiling must not be negative");
  if (minimum < 0) return InvalidArgumentError("share: the minimum must not be negative");
  if (assigned_partitions == 0) return int64_t{0};
  // 128-bit product: exact for every int64 ceiling and partition count.
  const auto share =
      static_cast<int64_t>(static_cast<__int128>(ceiling) * assigned_partitions / total_partitions);
  return std::max(share, std::min(minimum, ceiling));
}

}  // namespace sluice::flow

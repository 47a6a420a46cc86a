// Share: an instance's part of an org-wide ceiling, by its share of the assigned partitions.
#pragma once

#include <cstdint>

#include "sluice/core/status.h"

namespace sluice::flow {

// With N relay instances in one consumer group, each takes of every ceiling (requests/s,
// records/s, in-flight requests) the part that matches its share of the partitions assigned to the
// group, so the instances together stay within the ceiling. Recompute on every rebalance.
//
// Rounding:
// - Rates (ScaleForShare): exact, ceiling × assigned / total, no rounding.
// - Counts (ScaleCountForShare): rounded down, ⌊ceiling × assigned / total⌋, so the instances'
//   counts never sum above the ceiling.
// Both are then raised to `minimum` when the assignment is not empty, so an instance that owns a
// partition can always make progress; the minimum never exceeds the ceiling itself. When the
// minimum applies, the sum over instances may exceed the ceiling (ceiling 2 in flight, three
// instances with one partition each: each gets 1); choose ceilings of at least the minimum ×
// instances to avoid that. An empty assignment gets 0.
//
// InvalidArgument when total ≤ 0, assigned < 0, assigned > total, or the ceiling or minimum is
// negative, NaN or infinite.
//
// Thread-safety: pure functions.
Result<double> ScaleForShare(double ceiling, int64_t assigned_partitions, int64_t total_partitions,
                             double minimum = 1.0);
Result<int64_t> ScaleCountForShare(int64_t ceiling, int64_t assigned_partitions,
                                   int64_t total_partitions, int64_t minimum = 1);

}  // namespace sluice::flow

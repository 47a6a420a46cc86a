// Small value types shared by the libs/flow components.
#pragma once

#include <cstdint>

namespace sluice::flow {

// Identifies one source partition to the scheduler and the offset tracker. Any stable integer the
// relay chooses per (topic, partition) it consumes works: the Kafka partition number when there is
// one topic, an index into the relay's assignment table when there are several.
using PartitionId = int32_t;

}  // namespace sluice::flow

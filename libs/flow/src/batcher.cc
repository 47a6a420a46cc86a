#include "sluice/flow/batcher.h"

#include "internal.h"

namespace sluice::flow {

Status BatcherOptions::Validate() const {
  if (max_records < 1 || max_records > 200) {
    return internal::Invalid("batcher", "max_records", "must be within [1, 200]");
  }
  if (!internal::DurationInRange(linger, Clock::Duration::zero(), std::chrono::hours(1))) {
    return internal::Invalid("batcher", "linger", "must be within [0, 1 h]");
  }
  return Status::Ok();
}

}  // namespace sluice::flow

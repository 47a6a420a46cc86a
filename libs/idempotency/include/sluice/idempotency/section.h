// The idempotency store's section of a config file ("idempotency:" in relay.yaml): whether the
// store is used, and the SqliteStoreOptions and RetentionOptions a file may set. The defaults are
// those structs' own; a program that wants others passes them as `defaults`.
#pragma once

#include <string_view>

#include "sluice/core/status.h"
#include "sluice/idempotency/retention.h"
#include "sluice/idempotency/store.h"

namespace sluice::config {
class Config;
}  // namespace sluice::config

namespace sluice::idempotency {

// Thread-safety: a value type.
struct StoreSection {
  // `enabled`. Default true.
  bool enabled = true;
  // `path` -> store.path, `cache_kib` -> store.cache_size_kib, `max_staged_rows` and
  // `merge_chunk_rows` -> the fields of those names. The rest of the store's options are not in
  // the file.
  SqliteStoreOptions store;
  // `retention` -> retention.retention.
  RetentionOptions retention;

  // Ok, or InvalidArgument naming the key (without the section's name; callers add it): path
  // empty while enabled, max_staged_rows outside 1,000..8,000,000, merge_chunk_rows outside
  // 100..1,000,000, cache_kib outside 256..16,777,216.
  Status Validate() const;
};

// Reads the section at `pointer` (e.g. "/idempotency") over `defaults` and validates it. Errors
// name the file and the key.
Result<StoreSection> ReadStoreSection(const config::Config& config, std::string_view pointer,
                                      StoreSection defaults = {});

}  // namespace sluice::idempotency

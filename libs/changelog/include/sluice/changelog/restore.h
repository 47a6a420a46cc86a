// Restore: reads changelog partitions from given offsets to their end and applies every entry to
// the local store, before the relay consumes the matching source partitions.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/partition_reader.h"

namespace sluice::changelog {

struct RestoreOptions {
  kafka::PartitionReaderOptions reader;
  // Entries per store transaction. Default 5,000.
  size_t batch_entries = 5000;
  // How long a restore may take before it gives up with DeadlineExceeded (the broker unreachable,
  // a leader missing). Default 2 minutes.
  std::chrono::milliseconds timeout{std::chrono::minutes(2)};
  // Default (nullptr): RealClock().
  Clock* clock = nullptr;
};

// What one restore did. Thread-safety: a value type.
struct RestoreStats {
  int64_t records = 0;  // changelog records read
  int64_t applied = 0;  // entries written to the store
  int64_t foreign = 0;  // records that were not ours (see Decode): skipped
  // partition -> the next offset to apply, for every partition restored.
  std::map<int32_t, int64_t> next;
  std::chrono::milliseconds took{0};
  std::string first_foreign;  // why the first foreign record was skipped, for the log
};

// Reads `topic`'s partitions from `from` (partition -> next offset to apply; an offset before the
// log start reads from the log start) until each is at its end, and records every entry in
// `store`. Errors: DeadlineExceeded after options.timeout, the store's errors as they are, and
// NotFound/InvalidArgument for a topic or partition that does not exist.
Result<RestoreStats> Restore(const RestoreOptions& options, const std::string& topic,
                             const std::map<int32_t, int64_t>& from,
                             idempotency::IdempotencyStore& store);

// Where the entries of one changelog partition go: the relay keeps a store per partition. Never
// null for a partition of `from`.
using StoreForPartition = std::function<idempotency::IdempotencyStore*(int32_t partition)>;

// The same, each partition's entries recorded in store_for(partition) (one reader for them all).
Result<RestoreStats> Restore(const RestoreOptions& options, const std::string& topic,
                             const std::map<int32_t, int64_t>& from,
                             const StoreForPartition& store_for);

}  // namespace sluice::changelog

#include "sluice/changelog/restore.h"

#include <fmt/format.h>

#include <set>
#include <vector>

#include "sluice/changelog/record.h"

namespace sluice::changelog {

Result<RestoreStats> Restore(const RestoreOptions& options, const std::string& topic,
                             const std::map<int32_t, int64_t>& from,
                             idempotency::IdempotencyStore& store) {
  return Restore(options, topic, from, [&store](int32_t) { return &store; });
}

Result<RestoreStats> Restore(const RestoreOptions& options, const std::string& topic,
                             const std::map<int32_t, int64_t>& from,
                             const StoreForPartition& store_for) {
  Clock& clock = options.clock != nullptr ? *options.clock : RealClock();
  const auto start = clock.Now();
  const auto deadline = start + options.timeout;
  RestoreStats stats;
  if (from.empty()) return stats;
  for (const auto& [p, offset] : from) stats.next[p] = offset;
  ASSIGN_OR_RETURN(auto reader, kafka::PartitionReader::Open(options.reader, topic, from));
  std::set<int32_t> at_end;
  std::map<int32_t, std::vector<idempotency::Entry>> batches;  // partition -> entries
  auto flush = [&](int32_t p) -> Status {
    auto& batch = batches[p];
    if (batch.empty()) return Status::Ok();
    idempotency::IdempotencyStore* store = store_for(p);
    if (store == nullptr) {
      return InternalError(fmt::format("restoring {}: no store for partition {}", topic, p));
    }
    RETURN_IF_ERROR(store->RecordBatch(batch));
    stats.applied += static_cast<int64_t>(batch.size());
    batch.clear();
    return Status::Ok();
  };
  Status last_error = Status::Ok();
  while (at_end.size() < from.size()) {
    if (clock.Now() >= deadline) {
      return DeadlineExceededError(
          fmt::format("restoring {}: {} of {} partitions at their end after {} ms{}", topic,
                      at_end.size(), from.size(), options.timeout.count(),
                      last_error.ok() ? "" : " (last error: " + last_error.ToString() + ")"));
    }
    ASSIGN_OR_RETURN(auto messages,
                     reader->Poll(options.batch_entries, std::chrono::milliseconds(200), &at_end));
    for (auto& m : messages) {
      if (!m.error.ok()) {
        const StatusCode code = m.error.code();
        if (code == StatusCode::kNotFound || code == StatusCode::kInvalidArgument ||
            code == StatusCode::kPermissionDenied) {
          return Status(code, fmt::format("restoring {}: {}", topic, m.error.message()));
        }
        last_error = m.error;  // transient (a leader moving, the broker away): keep reading
        continue;
      }
      ++stats.records;
      stats.next[m.partition] = std::max(stats.next[m.partition], m.offset + 1);
      auto entry = Decode(m);
      if (!entry.ok()) {
        if (stats.foreign++ == 0) {
          stats.first_foreign =
              fmt::format("{}[{}]@{}: {}", topic, m.partition, m.offset, entry.status().message());
        }
        continue;
      }
      auto& batch = batches[m.partition];
      batch.push_back(std::move(entry).value());
      if (batch.size() >= options.batch_entries) RETURN_IF_ERROR(flush(m.partition));
    }
  }
  for (const auto& [p, batch] : batches) RETURN_IF_ERROR(flush(p));
  stats.took = std::chrono::duration_cast<std::chrono::milliseconds>(clock.Now() - start);
  return stats;
}

}  // namespace sluice::changelog

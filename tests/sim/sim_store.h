// The simulated idempotency store: a store "file" per relay slot that outlives incarnations (or is
// lost with a crash, as the scenario says), and the ResolutionStore an incarnation works through.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "facts.h"
#include "sluice/relay/parts.h"
#include "world.h"

namespace sluice::sim {

// The delivered-set changelog in the simulated Kafka: per source partition, every resolution in
// the order it was written. It outlives every incarnation and store file. Thread-safety: a value
// type.
struct SimChangelog {
  std::map<kafka::TopicPartition, std::vector<idempotency::Entry>> log;
};

// What is durably on disk for one relay slot. Thread-safety: a value type.
struct StoreFile {
  // Keyed per source partition, as the real store's slots are (one SQLite file each): an id is
  // found only in the partition it was recorded for.
  std::map<kafka::TopicPartition, std::map<std::string, idempotency::Resolution>> rows;
  size_t size() const {
    size_t n = 0;
    for (const auto& [tp, r] : rows) n += r.size();
    return n;
  }
  // How many entries of each changelog partition are applied to `rows`.
  std::map<kafka::TopicPartition, size_t> applied;
};

// Thread-safety: a value type.
struct SimStoreOptions {
  // Group-commit latency of a Record, uniform in [min, max]. Defaults 1..10 ms.
  Clock::Duration latency_min = std::chrono::milliseconds(1);
  Clock::Duration latency_max = std::chrono::milliseconds(10);
  // Chance that a Record fails (database busy): nothing is recorded. Default 0.
  double failure_probability = 0;
  // A broken store for the checker's own tests: Record answers Ok without keeping anything.
  bool forget_records = false;
  // The delivered-set changelog, as the real relay has it by default: a Record is also appended
  // to the changelog (durable with the group commit), and Restore applies what any instance wrote
  // for the assigned partitions. Default true.
  bool changelog = true;
};

// A ResolutionStore over a StoreFile. Record completes later as a world event owned by the
// incarnation, in Record order; only then are its entries durable, so a crash before that loses
// them, as a process killed before its group commit would.
// Thread-safety: the engine's thread only (the whole simulation is one thread).
class SimStore final : public relay::ResolutionStore {
 public:
  SimStore(World& world, Facts& facts, std::shared_ptr<StoreFile> file, Owner incarnation, int slot,
           const SimStoreOptions& options = {}, std::shared_ptr<SimChangelog> changelog = nullptr);

  Result<std::vector<std::optional<idempotency::Resolution>>> CheckBatch(
      const std::vector<std::string>& event_ids,
      const std::vector<kafka::TopicPartition>& sources) override;
  void Record(std::vector<relay::StoreEntry> entries, Callback done) override;
  Status Restore(const std::vector<kafka::TopicPartition>& partitions) override;
  void Close() override;

 private:
  World& world_;
  Facts& facts_;
  std::shared_ptr<StoreFile> file_;
  std::shared_ptr<SimChangelog> changelog_;  // null: no changelog
  Owner incarnation_;
  int slot_;
  SimStoreOptions options_;
  TimePoint last_completion_{};
  std::shared_ptr<int> pending_ = std::make_shared<int>(0);
  bool closed_ = false;
};

}  // namespace sluice::sim

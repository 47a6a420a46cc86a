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

// What is durably on disk for one relay slot. Thread-safety: a value type.
struct StoreFile {
  std::map<std::string, idempotency::Resolution> rows;
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
};

// A ResolutionStore over a StoreFile. Record completes later as a world event owned by the
// incarnation, in Record order; only then are its entries durable, so a crash before that loses
// them, as a process killed before its group commit would.
// Thread-safety: the engine's thread only (the whole simulation is one thread).
class SimStore final : public relay::ResolutionStore {
 public:
  SimStore(World& world, Facts& facts, std::shared_ptr<StoreFile> file, Owner incarnation, int slot,
           const SimStoreOptions& options = {});

  Result<std::vector<std::optional<idempotency::Resolution>>> CheckBatch(
      const std::vector<std::string>& event_ids) override;
  void Record(std::vector<idempotency::Entry> entries, Callback done) override;
  void Close() override;

 private:
  World& world_;
  Facts& facts_;
  std::shared_ptr<StoreFile> file_;
  Owner incarnation_;
  int slot_;
  SimStoreOptions options_;
  TimePoint last_completion_{};
  std::shared_ptr<int> pending_ = std::make_shared<int>(0);
  bool closed_ = false;
};

}  // namespace sluice::sim

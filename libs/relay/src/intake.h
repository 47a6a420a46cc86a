// Intake: polled records into the partition book. Each record is tracked for its offset, its
// envelope is parsed (on the engine thread and the parse executor at once), its event id is
// checked against the idempotency store, and it gets its route and a place in the key scheduler.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "partition_book.h"
#include "relay_metrics.h"
#include "sluice/flow/key_scheduler.h"
#include "sluice/flow/offset_tracker.h"
#include "sluice/relay/options.h"
#include "sluice/relay/parts.h"

namespace spdlog {
class logger;
}

namespace sluice::relay {

// What intake could not hand to the scheduler.
struct Rejected {
  uint64_t seq = 0;
  std::string error_class;
  std::string code;
  std::string message;
};
struct IntakeOutcome {
  std::vector<Rejected> dead_letters;  // invalid envelopes, over-long keys
  std::vector<uint64_t> skipped;       // already resolved per the store: resolve at once
};

// Thread-safety: engine thread only.
class Intake {
 public:
  Intake(const RelayOptions& options, PartitionBook& book, flow::OffsetTracker& tracker,
         flow::KeyScheduler& scheduler, ResolutionStore* store, ParseExecutor* parser,
         RelayMetrics& metrics, std::shared_ptr<spdlog::logger> log);

  void Take(std::vector<kafka::Message>& messages, int64_t now_ms, IntakeOutcome* out);
  // Routes a parsed, valid event that is not a known duplicate and hands it to the key scheduler
  // as its id's leader; false (with `rejected` set) when the scheduler refuses it.
  bool Admit(EventRecord& e, Rejected* rejected);

 private:
  void ParseAll(const std::vector<EventRecord*>& taken,
                std::vector<std::optional<envelope::EnvelopeError>>* refusals);
  // Sets the record's route, send_fields and send_external.
  void RouteEvent(EventRecord& e) const;

  const RelayOptions& options_;
  PartitionBook& book_;
  flow::OffsetTracker& tracker_;
  flow::KeyScheduler& scheduler_;
  ResolutionStore* store_;
  ParseExecutor* parser_;
  RelayMetrics& metrics_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace sluice::relay

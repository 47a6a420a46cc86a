// The checker's look-up tables over one run's Facts, and the invariant groups (private to the
// checker: checker.cc holds the delivery invariants, checker_org.cc the org- and DLQ-facing ones).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "checker.h"
#include "facts.h"
#include "sluice/envelope/dlq.h"

namespace sluice::sim::internal {

using Coord = std::tuple<std::string, int32_t, int64_t>;

// A DLQ record with its parsed headers and the produced record it came from.
struct DlqView {
  const DlqFact* fact = nullptr;
  std::optional<envelope::DlqInfo> info;   // unset when the headers are not a sluice DLQ set
  const ProducedRecord* source = nullptr;  // unset when no produced record matches
};

// Thread-safety: immutable after construction.
class Index {
 public:
  explicit Index(const Facts& facts);

  const Facts& facts;
  std::map<Coord, const ProducedRecord*> by_coord;
  std::map<std::string, std::vector<const ProducedRecord*>> by_event;
  // Landed writes per event id, in landing order.
  std::map<std::string, std::vector<const LedgerEntry*>> landings;
  std::vector<DlqView> dlq;
  std::map<std::string, TimePoint> dlq_acked_by_event;  // earliest ack
  std::map<Coord, TimePoint> dlq_acked_by_coord;
  std::map<std::string, TimePoint> first_stored;  // earliest durable store write, any slot
  std::map<Owner, const CrashFact*> crash_of;

  // When the record's outcome became durable: dead-lettered and acked, or (store on) recorded in
  // a store, or (store off) landed in the org. Unset when never.
  std::optional<TimePoint> ResolvedAt(const ProducedRecord& r) const;
  bool Delivered(const std::string& event_id) const { return landings.count(event_id) > 0; }
  bool DeadLettered(const ProducedRecord& r) const;
  static Coord CoordOf(const ProducedRecord& r) { return {r.topic, r.partition, r.offset}; }
  std::string Where(const ProducedRecord& r) const;
};

// Collects violations, keeping the first few of each invariant.
class Sink {
 public:
  explicit Sink(std::vector<Violation>* out) : out_(out) {}
  void Add(const std::string& invariant, std::string message);
  // Appends "... and N more" notes.
  void Finish();

 private:
  static constexpr int kKeep = 3;
  std::vector<Violation>* out_;
  std::map<std::string, int> counts_;
};

void CheckCeilings(const Index& index, Sink& sink);
void CheckDlq(const Index& index, Sink& sink);
void CheckMemory(const Index& index, Sink& sink);
void CheckParentLocks(const Index& index, Sink& sink);

}  // namespace sluice::sim::internal

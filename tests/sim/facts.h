// Facts: what happened in one simulated run, as the simulated world saw it — what was produced,
// what landed in the org, what reached the DLQ, what was committed and when. The fakes and the
// driver write them; the checker reads them (and only them), so checker tests can hand-make them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/message.h"
#include "sluice/kafka/producer.h"
#include "sluice/salesforce/errors.h"
#include "world.h"

namespace sluice::sim {

using TimePoint = Clock::TimePoint;

// What the scenario asked for, per produced record. Thread-safety: a value type.
enum class EventKind { kUpsert, kCreate, kPublish, kInvalid };

// One record the scenario produced to a source topic. Thread-safety: a value type.
struct ProducedRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;       // the ordering key as produced (never null in scenarios)
  std::string event_id;  // for kInvalid, the scenario's own name for it (not in the value)
  std::string value;
  kafka::Headers headers;
  int64_t timestamp_ms = 0;
  TimePoint visible_at{};  // when consumers can fetch it
  EventKind kind = EventKind::kUpsert;
  bool poison = false;  // the org refuses it (FIELD_CUSTOM_VALIDATION_EXCEPTION)
  // A second publication of an earlier record's event (same event id, same content).
  bool upstream_duplicate = false;
};

// One record that landed in the org. Thread-safety: a value type.
struct LedgerEntry {
  uint64_t seq = 0;  // order of landing, over the whole run
  TimePoint at{};
  Owner incarnation = kWorld;
  int slot = -1;
  uint64_t call_id = 0;
  std::string event_id;  // from the Sim_Event_Id__c field
  std::string key;       // from the Sim_Key__c field
  salesforce::Operation operation = salesforce::Operation::kUpsert;
  std::string sobject;
  std::string external_id_field;  // upserts
  std::string external_id;        // upserts
  std::string record_id;
  bool created = false;  // a new record (or a new platform event message)
};

// One record's outcome within a call. Thread-safety: a value type.
struct CallRecordOutcome {
  std::string event_id;
  salesforce::ErrorClass error_class = salesforce::ErrorClass::kNone;
  std::string code;
};

// One Write call, from the engine's Write() to its callback. Thread-safety: a value type.
struct CallFact {
  uint64_t id = 0;
  Owner incarnation = kWorld;
  int slot = -1;
  TimePoint start{};
  // When the callback ran on a live engine, or when the incarnation crashed first; unset while in
  // flight at the end of the run.
  std::optional<TimePoint> end;
  bool answered = false;     // the callback ran (the engine saw the outcome)
  bool answer_lost = false;  // the write landed but the answer was a timeout
  salesforce::Operation operation = salesforce::Operation::kUpsert;
  std::string sobject;
  // The parent values its records lock at the org (SimOrgOptions::parent_lock_fields), sorted,
  // without repeats; empty for sObjects without a locking lookup.
  std::vector<std::string> parents;
  std::vector<CallRecordOutcome> records;
  std::optional<salesforce::ErrorClass> request_error;
};

// One DLQ record the engine produced. Thread-safety: a value type.
struct DlqFact {
  TimePoint produced_at{};
  std::optional<TimePoint> acked_at;  // the broker acked it (it is in the DLQ topic)
  bool landed = false;
  Owner incarnation = kWorld;
  int slot = -1;
  std::string instance_id;  // the incarnation's RelayOptions::instance_id
  kafka::ProducerRecord record;
};

// One committed offset (the next offset to consume). Thread-safety: a value type.
struct CommitFact {
  TimePoint at{};
  Owner incarnation = kWorld;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  bool during_revoke = false;
};

// A record the consumer handed to an engine. Thread-safety: a value type.
struct HandOutFact {
  TimePoint at{};
  Owner incarnation = kWorld;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

// A resolution the store acknowledged to an engine (Record answered Ok). Thread-safety: a value
// type.
struct StoreFact {
  TimePoint at{};
  int slot = -1;
  Owner incarnation = kWorld;
  std::string event_id;
  idempotency::Outcome outcome = idempotency::Outcome::kDelivered;
  bool kept = true;  // false: a broken store acknowledged it without keeping it
};

// A crash of an incarnation. Thread-safety: a value type.
struct CrashFact {
  TimePoint at{};
  int slot = -1;
  Owner incarnation = kWorld;
  bool store_kept = true;
};

// The largest buffered-events gauge an incarnation showed. Thread-safety: a value type.
struct BufferedFact {
  Owner incarnation = kWorld;
  int64_t peak = 0;
  TimePoint peak_at{};
  bool measured = false;  // the gauge was found in RenderMetrics
};

// A window when the org or the broker misbehaved. Thread-safety: a value type.
struct WindowFact {
  enum class Kind { kOrg503, kAuth, kBudget, kBroker };
  Kind kind = Kind::kOrg503;
  TimePoint start{};
  TimePoint end{};
};

// The ceilings and settings the checker holds the run to. Thread-safety: a value type.
struct Limits {
  double requests_per_second = 100;
  double records_per_second = 20000;
  int64_t max_in_flight = 20;
  size_t max_records = 200;
  size_t max_buffered_events = 20000;
  size_t poll_batch = 1000;
  int slots = 1;  // relay instances that may run at once
  bool store_enabled = true;
  std::string event_id_field;  // creates become upserts on it when set
  // The relay's delivery.lock_fields: for these sObjects no two calls of one relay in flight may
  // hold one parent value.
  std::map<std::string, std::string> lock_fields;
};

// Thread-safety: a value type.
struct Facts {
  Limits limits;
  std::map<Owner, std::string> instance_ids;  // incarnation -> RelayOptions::instance_id
  std::map<Owner, int> slots;                 // incarnation -> slot
  std::vector<ProducedRecord> produced;
  std::vector<LedgerEntry> ledger;
  std::vector<CallFact> calls;
  std::vector<DlqFact> dlq;
  std::vector<CommitFact> commits;
  std::vector<HandOutFact> hand_outs;
  std::vector<StoreFact> stored;
  std::vector<CrashFact> crashes;
  std::vector<BufferedFact> buffered;
  std::vector<WindowFact> windows;
  // Final committed offset per "topic/partition" (absent: nothing committed) and log end.
  std::map<std::pair<std::string, int32_t>, int64_t> final_committed;
  std::map<std::pair<std::string, int32_t>, int64_t> log_end;
  // Records the org refused with UNABLE_TO_LOCK_ROW because another call held their parent.
  uint64_t parent_lock_errors = 0;
  bool timed_out = false;  // the run hit its time limit before everything was committed
  TimePoint end{};
  // Wall-clock milliseconds at simulated time zero (DLQ headers carry wall times).
  int64_t wall_start_ms = 0;
  // Rounds in which some relay's NextWake() stayed at "now" although its Steps changed nothing,
  // so the driver moved the clock on by itself; with the first such instant. A real Run() loop
  // spins a core there.
  uint64_t busy_waits = 0;
  TimePoint first_busy_wait{};
  // Non-Ok answers of Relay::Create, Start, Step or Finish ("r1.2 Step: ...").
  std::vector<std::string> engine_errors;
  // For a stall report: the consumer group's state at the end, one line per member, and each
  // live relay's health and main gauges when the time limit hit.
  std::vector<std::string> group_state;
  std::vector<std::string> relay_state;
};

}  // namespace sluice::sim

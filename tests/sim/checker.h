// Checker: the delivery contract (../shared/DESIGN.md "Delivery contract"; issue 11) as invariants
// over the Facts of one simulated run.
#pragma once

#include <string>
#include <vector>

#include "facts.h"

namespace sluice::sim {

// Invariant names, as they appear in violations.
// Every produced event is delivered, or dead-lettered, or its offset is not committed.
inline constexpr char kNoLoss[] = "no_loss";
// No event id lands twice outside the documented windows (answer lost; crash between the answer
// and the store write; store lost in a crash).
inline constexpr char kNoDuplicateWrites[] = "no_duplicate_writes";
// Never a second record for an event written as an upsert on an external id.
inline constexpr char kNoSecondRecord[] = "no_second_record";
// An event id published twice upstream is written once (store on, not lost).
inline constexpr char kUpstreamDuplicates[] = "upstream_duplicates";
// Per key, first writes follow the offsets of the key's partition.
inline constexpr char kKeyOrder[] = "key_order";
// Per key, the record ends with the newest delivered event's write (no stale overwrite).
inline constexpr char kLatestWins[] = "latest_wins";
// Requests/s, records/s (any one-second window) and in-flight calls, summed over instances.
inline constexpr char kRequestRate[] = "request_rate";
inline constexpr char kRecordRate[] = "record_rate";
inline constexpr char kInFlight[] = "in_flight";
// No healthy event reaches the DLQ for an org-wide failure (503, auth, budget, timeouts).
inline constexpr char kOutageNotPoison[] = "outage_not_poison";
// Poison events go to the DLQ as permanent, invalid envelopes as invalid_envelope.
inline constexpr char kDlqDeserved[] = "dlq_deserved";
// DLQ headers complete and true; sluice.attempts counts charged attempts only.
inline constexpr char kDlqHeaders[] = "dlq_headers";
// A commit never passes an offset whose outcome was not durable at the time.
inline constexpr char kCommitResolved[] = "commit_resolved";
// Buffered events stay within max_buffered_events plus one poll batch.
inline constexpr char kMemory[] = "memory";
// With the faults over, everything is resolved and committed before the time limit.
inline constexpr char kLiveness[] = "liveness";
// An engine with nothing it can do asks to be woken later, not "now" (else Run() spins a core).
inline constexpr char kNoBusyWait[] = "no_busy_wait";
// With delivery.lock_fields on for an sObject, no two calls of one relay in flight at once hold
// records with the same parent value.
inline constexpr char kParentLocks[] = "parent_locks";
// Relay::Create, Start, Step and Finish answer Ok.
inline constexpr char kEngineOk[] = "engine_ok";

// Thread-safety: a value type.
struct Violation {
  std::string invariant;
  std::string message;
};

// Every violation of the run (at most a few per invariant, the first ones).
// Thread-safety: a pure function.
std::vector<Violation> Check(const Facts& facts);

// Whether `violations` holds one of `invariant`.
bool Fired(const std::vector<Violation>& violations, const std::string& invariant);

// One line per violation.
std::string Describe(const std::vector<Violation>& violations);

}  // namespace sluice::sim

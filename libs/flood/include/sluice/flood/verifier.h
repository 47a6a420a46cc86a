// What sluice-flood produced, and the check that the ledger holds each of it exactly once.
//
// Event ids are UUIDs that encode the run and the event's index, so a ledger entry leads straight
// back to the produced event without a lookup table of strings: 1,000,000 events cost 24 MB here.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/metrics/histogram.h"

namespace sluice::flood {

// Encodes (run id, event index) as a version-4-shaped UUID:
//   RRRRRRRR-RRRR-4f10-8III-IIIIIIIIIIII   (48-bit run id R, 60-bit index I, lower-case hex)
// Thread-safety: immutable; safe to share.
class EventIdCodec {
 public:
  explicit EventIdCodec(uint64_t run_id) : run_id_(run_id & kRunMask) {}
  uint64_t run_id() const { return run_id_; }

  std::string Encode(int64_t index) const;
  // Writes the 36 characters into `out` (no terminator).
  void EncodeTo(int64_t index, char* out) const;
  // The index, when `id` is an id of this run; nullopt for anything else (another run, another
  // tool, malformed text).
  std::optional<int64_t> Decode(std::string_view id) const;

  static constexpr uint64_t kRunMask = (uint64_t{1} << 48) - 1;
  static constexpr int64_t kMaxIndex = (int64_t{1} << 60) - 1;
  static constexpr size_t kLength = 36;

 private:
  uint64_t run_id_;
};

// One produced event, as the verifier needs it.
struct ProducedEvent {
  // Intended send time, nanoseconds after the run's wall-clock start.
  int64_t intended_ns = 0;
  // Key rank in the key space, and this event's 0-based sequence among events of that key.
  int64_t key = 0;
  uint32_t key_seq = 0;
  enum State : uint8_t {
    kPending = 0,    // produced, no delivery report yet
    kAcked = 1,      // the broker acknowledged it (acks=all)
    kFailed = 2,     // the producer gave up and the record was certainly not written
    kUncertain = 3,  // the producer gave up but the record may have been written
  };
  State state = kPending;
  bool valid = true;  // false: deliberately invalid, expected in the DLQ, never in the ledger
};

// Append-only log of produced events, indexed by event index.
// Thread-safety: Append from one thread; SetState may be called from one other thread (the
// delivery-report thread) for indices already appended, because storage is reserved up front
// (Reserve) and never moves while producing. Readers after producing has finished.
class ProducedLog {
 public:
  explicit ProducedLog(uint64_t run_id) : codec_(run_id) {}
  // Reserves room for `n` events; Append beyond it is refused (so storage never moves).
  void Reserve(int64_t n) { events_.reserve(static_cast<size_t>(n)); }
  // Appends the next event; returns its index, or -1 when the reservation is full.
  int64_t Append(const ProducedEvent& e);
  void SetState(int64_t index, ProducedEvent::State s) {
    events_[static_cast<size_t>(index)].state = s;
  }

  const EventIdCodec& codec() const { return codec_; }
  int64_t size() const { return static_cast<int64_t>(events_.size()); }
  const ProducedEvent& at(int64_t index) const { return events_[static_cast<size_t>(index)]; }
  const std::vector<ProducedEvent>& events() const { return events_; }

 private:
  EventIdCodec codec_;
  std::vector<ProducedEvent> events_;
};

// One ledger entry of sfsim: a write of the event `event_id` received at `received_unix_ns`.
struct LedgerEntry {
  std::string event_id;
  int64_t received_unix_ns = 0;
};

struct VerifierOptions {
  // Wall-clock start of the run (Unix ns); intended times are offsets from it.
  int64_t run_start_unix_ns = 0;
  // At most this many ids per list (missing, duplicated, out of order, ...); counts are always
  // complete. Default 100.
  int64_t max_listed = 100;
  // Histogram layout for end-to-end latency in microseconds. Default: 0.39% relative error,
  // values up to ~12.7 days.
  metrics::LogLinearHistogramOptions latency_histogram{7, 40};
  // Width of the delivered-per-interval series (the run uses its sample interval). Default 1 s.
  int64_t bin_ns = 1'000'000'000;
  // Cap on series length (longer runs fold into the last bin). Default 1,000,000.
  int64_t max_bins = 1'000'000;
  // Width of the latency-over-time bins: each bin keeps a small histogram (4.6 KiB) of the
  // latencies of the events first delivered in it. Default 1 s.
  int64_t latency_bin_ns = 1'000'000'000;
  // Cap on latency bins (later deliveries fold into the last one). Default 2,000.
  int64_t max_latency_bins = 2'000;
};

// Layout of the per-bin latency histograms: 2^-5 = 3% relative error, values up to ~12.7 days in
// microseconds, 4.6 KiB each.
inline constexpr metrics::LogLinearHistogramOptions kLatencyBinHistogram{4, 40};

struct OutOfOrder {
  std::string event_id;
  int64_t key = 0;
  uint32_t key_seq = 0;
  uint32_t after_key_seq = 0;  // the key's highest sequence delivered before it
};

struct Verification {
  int64_t produced = 0;        // events appended
  int64_t acked = 0;           // acknowledged by the broker
  int64_t produce_failed = 0;  // certainly not written
  int64_t produce_uncertain = 0;
  int64_t expected = 0;    // valid events that must reach the ledger (acked or uncertain)
  int64_t delivered = 0;   // distinct expected events found in the ledger
  int64_t missing = 0;     // acked valid events neither in the ledger nor in the DLQ
  int64_t duplicates = 0;  // ledger entries beyond the first for an event
  int64_t duplicated_events = 0;
  int64_t out_of_order = 0;  // first deliveries whose key had already seen a later sequence
  int64_t invalid_produced = 0;
  int64_t invalid_in_dlq = 0;          // distinct invalid events found in the DLQ
  int64_t invalid_not_in_dlq = 0;      // acked invalid events not found in the DLQ
  int64_t invalid_delivered = 0;       // invalid events that reached the ledger (must be 0)
  int64_t valid_in_dlq = 0;            // distinct valid events found in the DLQ
  int64_t foreign_ledger_entries = 0;  // entries whose id is not of this run
  int64_t negative_latencies = 0;      // received before intended (clock skew); counted as 0
  std::vector<std::string> missing_ids;
  std::vector<std::string> duplicate_ids;
  std::vector<OutOfOrder> out_of_order_list;
  std::vector<std::string> invalid_not_in_dlq_ids;
  std::vector<std::string> valid_in_dlq_ids;
  // First and last first-delivery, nanoseconds after the run start (nullopt: none).
  std::optional<int64_t> first_delivery_ns;
  std::optional<int64_t> last_delivery_ns;
  // Distinct expected events first delivered in each bin (VerifierOptions::bin_ns) after the run
  // start, and in each whole second after it.
  std::vector<int64_t> delivered_per_bin;
  std::vector<int64_t> delivered_per_second;
  // Latency (microseconds) of the first deliveries in each latency bin
  // (VerifierOptions::latency_bin_ns); null where nothing was delivered.
  std::vector<std::shared_ptr<metrics::LogLinearHistogram>> latency_us_per_bin;
  // End-to-end latency in microseconds, intended send -> ledger receive, first deliveries only.
  metrics::LogLinearHistogram latency_us;
};

// Streams ledger entries and DLQ ids against a ProducedLog.
// Thread-safety: not thread-safe; one thread feeds it. The ProducedLog must not change meanwhile.
class Verifier {
 public:
  Verifier(const ProducedLog& log, VerifierOptions options);

  // Entries in ledger order (the order sfsim wrote them).
  void AddLedgerEntry(const LedgerEntry& entry);
  // The event id carried by a DLQ record (empty or foreign ids are ignored).
  void AddDlqEventId(std::string_view event_id);

  // Distinct expected events delivered so far (cheap; for progress).
  int64_t delivered() const { return result_.delivered; }

  // Counts what is missing and returns the result. A valid event the relay dead-lettered is
  // counted in valid_in_dlq, not in missing: it is in the DLQ, not lost. Call once, after the last
  // entry.
  Verification Finish();

 private:
  const ProducedLog& log_;
  VerifierOptions options_;
  Verification result_;
  std::vector<uint8_t> ledger_count_;  // per event, saturating at 255
  std::vector<uint8_t> in_dlq_;
  std::unordered_map<int64_t, uint32_t> key_high_;  // highest key_seq delivered per key, +1
};

}  // namespace sluice::flood

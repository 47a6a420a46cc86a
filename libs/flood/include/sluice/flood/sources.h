// Parsers for what sluice-flood reads while the relay drains: sfsim's /sim/stats (JSON) and
// /sim/ledger (JSON lines), and the relay's /metrics (Prometheus text). Each treats its input as
// hostile: size-capped, malformed lines counted and skipped, never trusted for memory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/flood/verifier.h"

namespace sluice::flood {

// The /sim/stats figures flood uses.
struct SimStats {
  int64_t requests_total = 0;
  int64_t records_written = 0;
  int64_t records_failed = 0;
  int64_t ledger_entries = 0;
  int64_t duplicate_event_ids = 0;
  int64_t api_used = 0;
  int64_t api_max = 0;
  int64_t lock_rows = 0;  // per-record UNABLE_TO_LOCK_ROW faults
  // Responses by HTTP status ("200", "503", "reset"), summed over routes.
  std::map<std::string, int64_t> responses_by_status;
};

// InvalidArgument when `json` is not an object with the expected members; missing optional
// members stay 0.
Result<SimStats> ParseSimStats(std::string_view json);

struct LedgerPage {
  std::vector<LedgerEntry> entries;
  uint64_t last_seq = 0;  // seq of the last well-formed entry (0 when none)
  int64_t bad_lines = 0;  // lines that were not a ledger entry
};

// Parses JSON lines {"seq":N,"received_ms":T,"event_id":"...",...}. Lines longer than 64 KiB or
// malformed are counted in bad_lines and skipped.
LedgerPage ParseLedgerLines(std::string_view ndjson);

// One sample of Prometheus text exposition.
struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Parses the text format (comments and blank lines skipped; `name{a="b",c="d"} value [ts]`).
// Malformed lines are skipped and counted in `bad_lines` when given. At most 100,000 samples.
std::vector<PromSample> ParsePrometheusText(std::string_view text, int64_t* bad_lines = nullptr);

// What flood takes from the relay's /metrics (names as libs/relay registers them).
struct RelayFigures {
  std::optional<double> requests_sent;                  // sluice_relay_requests_sent_total
  std::optional<double> delivered;                      // sluice_relay_delivered_total
  std::optional<double> call_latency_sum_s;             // sluice_relay_call_latency_seconds_sum
  std::optional<double> call_latency_count;             // sluice_relay_call_latency_seconds_count
  std::map<std::string, double> dead_lettered_by_code;  // sluice_relay_dead_lettered_total{code}
  std::map<std::string, double> requests_by_class;      // sluice_relay_requests_total{class}
};

RelayFigures RelayFiguresFrom(const std::vector<PromSample>& samples);

}  // namespace sluice::flood

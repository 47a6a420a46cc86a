// DlqStats: what a dead-letter topic holds, by error class and code, source topic and sObject,
// with the oldest and newest failure; as a table for people or JSON for scripts.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

#include "sluice/dlq/record.h"

namespace sluice::dlq {

// Where one failure is (for oldest/newest).
// Thread-safety: a value type.
struct FailurePoint {
  int64_t failed_at_ms = -1;  // -1: none seen
  int32_t partition = -1;
  int64_t offset = -1;
};

// Thread-safety: a value type; Add is not synchronized.
struct DlqStats {
  int64_t total = 0;          // records looked at
  int64_t not_dlq = 0;        // records without sluice.error.class
  int64_t with_warnings = 0;  // records with at least one warning (not_dlq ones included)
  int64_t value_omitted = 0;  // records whose value the relay left out
  int64_t replayed = 0;       // records that carry sluice.replay.count >= 1 (failed again)
  // Keys are the raw header values made printable; "" shows as "(none)".
  std::map<std::string, int64_t> by_class;
  std::map<std::pair<std::string, std::string>, int64_t> by_class_code;
  std::map<std::string, int64_t> by_source_topic;
  std::map<std::string, int64_t> by_sobject;
  FailurePoint oldest;
  FailurePoint newest;

  void Add(const DlqRecord& record);
};

// A plain-text report: totals, then one table per grouping sorted by count (largest first, then
// by name), then oldest and newest with their locations. `topic` names the DLQ topic.
std::string FormatStatsTable(const DlqStats& stats, std::string_view topic);

// The same as one JSON object:
//   {"topic":..,"total":..,"not_dlq":..,"with_warnings":..,"value_omitted":..,"replayed":..,
//    "by_class":{..},"by_class_code":[{"class":..,"code":..,"count":..}],"by_source_topic":{..},
//    "by_sobject":{..},"oldest":{"failed_at":"<RFC 3339>","failed_at_ms":..,"partition":..,
//    "offset":..}|null,"newest":...}
std::string StatsToJson(const DlqStats& stats, std::string_view topic);

}  // namespace sluice::dlq

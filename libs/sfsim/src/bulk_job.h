// A Bulk API 2.0 ingest job as the simulator keeps it. Private to libs/sfsim/src.
// Thread-safety: plain data, owned by Simulator::Impl and touched only under its mutex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/csv/csv.h"

namespace sluice::sfsim::detail {

using csv::CsvLineEnding;
using csv::CsvOptions;
using csv::CsvRow;
using csv::CsvTable;
using csv::ParseCsv;

struct ObjectState;

enum class JobState { kOpen, kUploadComplete, kInProgress, kJobComplete, kFailed, kAborted };

inline const char* JobStateName(JobState s) {
  switch (s) {
    case JobState::kOpen:
      return "Open";
    case JobState::kUploadComplete:
      return "UploadComplete";
    case JobState::kInProgress:
      return "InProgress";
    case JobState::kJobComplete:
      return "JobComplete";
    case JobState::kFailed:
      return "Failed";
    case JobState::kAborted:
      return "Aborted";
  }
  return "Open";
}

inline bool JobTerminal(JobState s) {
  return s == JobState::kJobComplete || s == JobState::kFailed || s == JobState::kAborted;
}

// One uploaded row's outcome, once its internal batch has run.
struct BulkRowResult {
  bool ok = false;
  bool created = false;
  std::string id;     // sf__Id; empty when a failed row has none
  std::string error;  // sf__Error: "STATUS_CODE:message:fields"
};

// An internal batch: rows [first, first + count) of the upload.
struct BulkBatch {
  size_t first = 0;
  size_t count = 0;
  bool run = false;  // planned, checked and committed at `start`
  Clock::TimePoint start{};
  Clock::TimePoint end{};  // its results count as processed from here on
};

struct BulkJob {
  std::string id;  // 750…
  ObjectState* obj = nullptr;
  std::string object_name;
  std::string operation;  // insert, update, upsert
  std::string external_id_field;
  int key_field = -1;  // upsert key: field index, -1 for Id
  std::string line_ending_name = "LF";
  std::string delimiter_name = "COMMA";
  CsvOptions csv;
  double api_version = 0;
  JobState state = JobState::kOpen;
  int64_t created_wall_ms = 0;
  int64_t modstamp_wall_ms = 0;
  uint64_t close_request_id = 0;

  std::string data;  // the upload, until it is parsed at UploadComplete
  int uploads = 0;
  std::optional<CsvTable> table;
  std::string error_message;           // why the job failed (Failed state)
  std::vector<BulkRowResult> results;  // per row of table
  std::vector<BulkBatch> batches;
  size_t next_batch = 0;
  Clock::TimePoint ready_at{};      // UploadComplete → InProgress
  Clock::TimePoint next_wave_at{};  // when the next wave of batches starts
  Clock::TimePoint finished_at{};   // terminal since
  int64_t retries = 0;
};

}  // namespace sluice::sfsim::detail

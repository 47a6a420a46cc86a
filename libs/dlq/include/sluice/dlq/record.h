// DlqRecord: one record of a dead-letter topic as sluice-dlq sees it — the Kafka record, the
// parsed sluice.* headers (schemas/dlq-headers.md) and what could be read of its envelope.
// Inspect never fails: whatever is wrong with a record becomes a warning on it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sluice/envelope/dlq.h"
#include "sluice/kafka/message.h"

namespace sluice::dlq {

// The replay and omitted-value headers are defined with the other DLQ headers.
using envelope::kHeaderReplayCount;
using envelope::kHeaderReplayedFrom;
using envelope::kHeaderValueOmitted;

// Thread-safety: a value type.
struct DlqRecord {
  // Where the record is on the DLQ topic.
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;
  int64_t timestamp_ms = -1;  // the DLQ record's own timestamp (when it was dead-lettered)

  std::optional<std::string> key;    // nullopt: a null key
  std::optional<std::string> value;  // nullopt: a null value
  kafka::Headers headers;

  // True when the record has a sluice.error.class header (sluice dead-lettered it). When false,
  // `info` holds defaults and a warning says so.
  bool is_dlq = false;
  envelope::DlqInfo info;  // info.warnings is moved into `warnings`

  // sluice.replay.count: 0 when absent. When the header cannot be read (not a non-negative
  // integer), replay_count_valid is false and a warning says so.
  int64_t replay_count = 0;
  bool replay_count_valid = true;
  std::string replayed_from;  // sluice.replayed.from, "" when absent

  // sluice.value.omitted was set: the value is not here (the note says where it is).
  bool value_omitted = false;
  std::string value_omitted_note;

  // From the envelope, read tolerantly (the record may be here because its envelope is invalid):
  // the top-level "sobject" and "event_id" strings, "" when absent or unreadable.
  std::string sobject;
  std::string event_id;

  // When the record failed: sluice.last.attempt.ms when known, else the DLQ record's timestamp
  // (invalid envelopes are never attempted). -1 when neither is known.
  int64_t failed_at_ms = -1;

  // One line per problem (header missing, repeated or unreadable; not a sluice DLQ record; value
  // omitted; ...), control characters escaped.
  std::vector<std::string> warnings;

  // "<topic>/<partition>/<offset>".
  std::string Location() const;
};

// Reads one consumed DLQ record. Never fails; hostile content (garbage headers, non-UTF-8 bytes,
// deeply nested or huge values) only produces warnings and empty fields.
// Thread-safety: a pure function.
DlqRecord Inspect(const kafka::Message& message);

}  // namespace sluice::dlq

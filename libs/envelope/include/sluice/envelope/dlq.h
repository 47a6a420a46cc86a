// Headers of a dead-letter record: why it failed and where it came from. schemas/dlq-headers.md
// documents every header, its type and its meaning, and the error classes and codes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/envelope/event.h"

namespace sluice::envelope {

inline constexpr char kHeaderErrorClass[] = "sluice.error.class";
inline constexpr char kHeaderErrorCode[] = "sluice.error.code";
inline constexpr char kHeaderErrorMessage[] = "sluice.error.message";
inline constexpr char kHeaderAttempts[] = "sluice.attempts";
inline constexpr char kHeaderFirstAttemptMs[] = "sluice.first.attempt.ms";
inline constexpr char kHeaderLastAttemptMs[] = "sluice.last.attempt.ms";
inline constexpr char kHeaderSourceTopic[] = "sluice.source.topic";
inline constexpr char kHeaderSourcePartition[] = "sluice.source.partition";
inline constexpr char kHeaderSourceOffset[] = "sluice.source.offset";
inline constexpr char kHeaderSourceTimestampMs[] = "sluice.source.timestamp.ms";
inline constexpr char kHeaderRelayInstance[] = "sluice.relay.instance";

// Header sluice-dlq replay sets: how many times the record was replayed (1 for the first replay).
// The relay re-processes an event its idempotency store remembers as dead-lettered only when the
// record carries it.
inline constexpr char kHeaderReplayCount[] = "sluice.replay.count";
// Header sluice-dlq replay sets: the DLQ record the replay came from,
// "<topic>/<partition>/<offset>".
inline constexpr char kHeaderReplayedFrom[] = "sluice.replayed.from";
// Header the relay sets on a DLQ record whose value was too large to copy (the value is null).
inline constexpr char kHeaderValueOmitted[] = "sluice.value.omitted";

// Error classes (kInvalidEnvelope is in event.h).
inline constexpr char kClassPermanent[] = "permanent";
inline constexpr char kClassRetryExhausted[] = "retry_exhausted";

// Longest sluice.error.message kept, in bytes (cut at a UTF-8 boundary, "..." appended).
inline constexpr size_t kMaxDlqMessageBytes = 1000;
// Longest value kept for every other string header.
inline constexpr size_t kMaxDlqFieldBytes = 256;

// Why and where from. Numbers are -1 when unknown.
// Thread-safety: a value type.
struct DlqInfo {
  std::string error_class;        // invalid_envelope | permanent | retry_exhausted
  std::string error_code;         // e.g. "schema", "REQUIRED_FIELD_MISSING", "UNABLE_TO_LOCK_ROW"
  std::string error_message;      // for people
  int64_t attempts = 0;           // delivery attempts made (0 for invalid envelopes)
  int64_t first_attempt_ms = -1;  // Unix epoch milliseconds; -1: never attempted
  int64_t last_attempt_ms = -1;
  std::string source_topic;
  int32_t source_partition = -1;
  int64_t source_offset = -1;
  int64_t source_timestamp_ms = -1;  // the source record's timestamp
  std::string relay_instance;        // which relay dead-lettered it

  // ParseDlqHeaders only: one line per header that was missing, repeated or unreadable.
  std::vector<std::string> warnings;
};

// `original` (the source record's headers) with every header named above removed, then the
// headers for `info` appended in the order above, so a record that is replayed and fails again
// carries one set. Strings are made valid UTF-8 (bad bytes become U+FFFD) and cut to
// kMaxDlqMessageBytes / kMaxDlqFieldBytes. Other headers, sluice.* ones included, are kept.
Headers MakeDlqHeaders(const Headers& original, const DlqInfo& info);

// Reads the headers MakeDlqHeaders wrote. NotFound when there is no sluice.error.class header
// (not a sluice DLQ record). Otherwise Ok, with a warning for each other header that is missing,
// repeated (the last one wins) or not a number where one is expected; such fields keep their
// defaults. Values are sanitized as in MakeDlqHeaders. Never fails on content.
Result<DlqInfo> ParseDlqHeaders(const Headers& headers);

// True for the header names MakeDlqHeaders owns (and replaces).
bool IsDlqHeader(std::string_view name);

// `text` as valid UTF-8 (each invalid byte replaced by U+FFFD), cut to at most `max_bytes` bytes
// at a character boundary; a cut text ends in "...".
std::string SanitizeUtf8(std::string_view text, size_t max_bytes);

}  // namespace sluice::envelope

// How sluice-dlq prints records: one line (list), one JSON object (list --json), the whole record
// (show). Everything taken from a record is made printable first: invalid UTF-8 bytes become
// U+FFFD and control characters are escaped, so hostile bytes cannot disturb a terminal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/dlq/record.h"

namespace sluice::dlq {

// Epoch milliseconds as RFC 3339 UTC with milliseconds ("2026-11-21T05:52:18.123Z"); "-" for
// negative values.
std::string FormatTime(int64_t ms);

// `text` as valid UTF-8 with control characters (and DEL) escaped as \n, \t, \xNN, cut to at most
// about `max_bytes` bytes ("..." appended when cut).
std::string Printable(std::string_view text, size_t max_bytes = 256);

// One line: "P/O  failed-at  class/code  source-topic  sobject  key=...  [replays=N]  [! warning]".
std::string FormatListLine(const DlqRecord& record);

// One JSON object (no newline): partition, offset, timestamp, failed_at (RFC 3339), failed_at_ms,
// error_class, error_code, error_message, attempts, source_topic, source_partition,
// source_offset, relay_instance, sobject, event_id, key (null for a null key), replay_count,
// replayed_from, value_omitted, warnings[]. Strings are valid UTF-8 (bad bytes become U+FFFD).
std::string ListJson(const DlqRecord& record);

// The whole record for people: location and timestamps, every header in order, the key, and the
// value — pretty-printed JSON when it parses (with the envelope check's verdict), else the raw
// text made printable.
std::string FormatShow(const DlqRecord& record);

// ListJson plus "headers":[[name,value],...] and "value" (the value as text, made valid UTF-8;
// null when the record has none) and "envelope_error" (the envelope check's message, or null).
std::string ShowJson(const DlqRecord& record);

}  // namespace sluice::dlq

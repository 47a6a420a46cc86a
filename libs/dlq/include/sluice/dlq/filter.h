// Filter: which DLQ records a list, stats or replay command looks at.
//
// Fields are ANDed; the values within one field are ORed (--error-code A --error-code B matches
// either). An empty field matches everything. Time bounds apply to DlqRecord::failed_at_ms.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/dlq/record.h"

namespace sluice::dlq {

// Thread-safety: a value type.
struct Filter {
  std::vector<std::string> error_classes;  // sluice.error.class, exact
  std::vector<std::string> error_codes;    // sluice.error.code, exact
  std::vector<std::string> keys;           // record key, exact (a null key never matches)
  std::vector<std::string> sobjects;       // the envelope's sobject, case-insensitive
  std::vector<std::string> source_topics;  // sluice.source.topic, exact
  std::optional<int64_t> since_ms;         // failed_at_ms >= since_ms (epoch ms)
  std::optional<int64_t> until_ms;         // failed_at_ms < until_ms (epoch ms)

  bool Empty() const;
  bool Matches(const DlqRecord& record) const;
  // A canonical text for the filter: fields in a fixed order, values sorted and de-duplicated,
  // sobjects lower-cased, e.g. "code=REQUIRED_FIELD_MISSING;since=1763683200000". Two filters that
  // match the same records by construction have the same text. "" for the empty filter.
  std::string Normalized() const;
};

// Parses a --since/--until value into epoch milliseconds:
//   RFC 3339 ("2026-11-21T05:00:00Z", "2026-11-21T05:00:00.250+01:00", "2026-11-21" = midnight
//   UTC), a duration before `now_ms` ("90m", "2h", "7d"), or epoch milliseconds ("1763683200000").
// InvalidArgument otherwise (including dates out of range).
Result<int64_t> ParseTimeBound(std::string_view text, int64_t now_ms);

// The consumer group a replay keeps its progress in when --group is not given:
//   "sluice-dlq-replay." + first 16 hex digits of SHA-256 over (dlq topic, --to topic,
//   filter.Normalized()) + "." + <dlq topic>
// so the same filter on the same topic resumes where it stopped, and a different filter starts
// from the beginning with its own progress. Cut to Kafka's 249-character limit.
std::string ReplayGroupId(std::string_view dlq_topic, std::string_view to_topic,
                          const Filter& filter);

}  // namespace sluice::dlq

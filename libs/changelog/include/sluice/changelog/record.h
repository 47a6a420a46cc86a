// The changelog record: key = the event id, value = a small JSON object, and a header that marks
// the record as the relay's, so that anything else written to the topic is told apart, skipped
// and counted instead of being applied:
//
//   header  sluice-changelog: 1
//   value   {"outcome":"delivered","sf_id":"001...","recorded_ms":1765000000000}
//
// `outcome` is "delivered" or "dead_lettered"; `sf_id` is absent when there is none.
#pragma once

#include <string>
#include <string_view>

#include "sluice/core/status.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/message.h"
#include "sluice/kafka/producer.h"

namespace sluice::changelog {

inline constexpr std::string_view kHeader = "sluice-changelog";
inline constexpr std::string_view kFormatVersion = "1";
// The default suffix: the changelog of "sf.contact.events" is "sf.contact.events.delivered".
inline constexpr std::string_view kDefaultSuffix = ".delivered";

// `source_topic` + `suffix`. InvalidArgument when the result is not a valid topic name (empty,
// longer than 249 bytes, characters other than [A-Za-z0-9._-]).
Result<std::string> ChangelogTopic(std::string_view source_topic, std::string_view suffix);

// The record for `entry` on `topic`, partition `partition` (the source record's partition).
// entry.recorded_ms must be set (> 0).
kafka::ProducerRecord Encode(const idempotency::Entry& entry, const std::string& topic,
                             int32_t partition);

// The entry a consumed changelog record holds. InvalidArgument (the reason) for a record that is
// not ours or not understood: no or another version of the header, a null or oversized key, a
// value that is not the JSON above, an unknown outcome. Tombstones are not ours either (the
// relay never writes them; retention is time-based, see docs/OPERATIONS.md).
Result<idempotency::Entry> Decode(const kafka::Message& message);

}  // namespace sluice::changelog

// Builders of DLQ records for the dlq unit tests: records as the relay writes them (headers from
// envelope::MakeDlqHeaders), and hostile ones.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "sluice/envelope/dlq.h"
#include "sluice/envelope/event.h"
#include "sluice/kafka/message.h"

namespace sluice::dlq::testing {

struct DlqSpec {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key = "K-1";
  std::string error_class = "permanent";
  std::string error_code = "REQUIRED_FIELD_MISSING";
  std::string source_topic = "sf.contact.events";
  int32_t source_partition = 2;
  int64_t last_attempt_ms = 1763700000000;  // 2025-11-21T04:40:00Z
  std::string sobject = "Contact";
  kafka::Headers original_headers = {{"trace-id", "abc"}};
  std::optional<int64_t> replay_count;
};

inline std::string ContactValue(const std::string& key, const std::string& sobject) {
  envelope::Event e;
  e.event_id = "0b7e2c6a-1f1e-4c5a-9d7e-3f2a1b0c9d8e";
  e.operation = envelope::Operation::kUpsert;
  e.sobject = sobject;
  e.external_id_field = "Sluice_Key__c";
  e.external_id = key;
  e.fields_json = envelope::MakeFieldsJson({{"FirstName", "Ada"}});
  e.occurred_at = "2026-11-21T00:00:00.000Z";
  return envelope::SerializeEvent(e);
}

inline kafka::Message MakeDlqMessage(const DlqSpec& s) {
  kafka::Message m;
  m.topic = "sf.contact.events.dlq";
  m.partition = s.partition;
  m.offset = s.offset;
  m.key = s.key;
  m.value = ContactValue(s.key, s.sobject);
  m.timestamp_ms = s.last_attempt_ms + 5;
  kafka::Headers original = s.original_headers;
  if (s.replay_count) original.emplace_back("sluice.replay.count", std::to_string(*s.replay_count));
  envelope::DlqInfo info;
  info.error_class = s.error_class;
  info.error_code = s.error_code;
  info.error_message = "Required fields are missing: [LastName]";
  info.attempts = 1;
  info.first_attempt_ms = s.last_attempt_ms;
  info.last_attempt_ms = s.last_attempt_ms;
  info.source_topic = s.source_topic;
  info.source_partition = s.source_partition;
  info.source_offset = 100 + s.offset;
  info.source_timestamp_ms = s.last_attempt_ms - 1000;
  info.relay_instance = "relay-0@host-a";
  m.headers = envelope::MakeDlqHeaders(original, info);
  return m;
}

}  // namespace sluice::dlq::testing

#include "sluice/changelog/record.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

namespace sluice::changelog {
namespace {

constexpr size_t kMaxTopicBytes = 249;
// A value is about 80 bytes; anything much larger is not ours.
constexpr size_t kMaxValueBytes = 4096;

bool TopicChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

}  // namespace

Result<std::string> ChangelogTopic(std::string_view source_topic, std::string_view suffix) {
  std::string name = std::string(source_topic) + std::string(suffix);
  if (suffix.empty()) {
    return InvalidArgumentError("changelog suffix is empty: the changelog would be the source");
  }
  if (name.size() > kMaxTopicBytes || !std::all_of(name.begin(), name.end(), TopicChar)) {
    return InvalidArgumentError(
        fmt::format("changelog topic '{}' is not a valid topic name (at most {} of [A-Za-z0-9._-])",
                    name, kMaxTopicBytes));
  }
  return name;
}

kafka::ProducerRecord Encode(const idempotency::Entry& entry, const std::string& topic,
                             int32_t partition) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("outcome");
  const std::string_view outcome = idempotency::OutcomeName(entry.outcome);
  w.String(outcome.data(), static_cast<rapidjson::SizeType>(outcome.size()));
  if (!entry.salesforce_id.empty()) {
    w.Key("sf_id");
    w.String(entry.salesforce_id.data(),
             static_cast<rapidjson::SizeType>(entry.salesforce_id.size()));
  }
  w.Key("recorded_ms");
  w.Int64(entry.recorded_ms);
  w.EndObject();
  return kafka::ProducerRecord(topic, entry.event_id, std::string(buf.GetString(), buf.GetSize()),
                               {{std::string(kHeader), std::string(kFormatVersion)}}, partition);
}

Result<idempotency::Entry> Decode(const kafka::Message& m) {
  const auto header = std::find_if(m.headers.begin(), m.headers.end(),
                                   [](const auto& h) { return h.first == kHeader; });
  if (header == m.headers.end()) return InvalidArgumentError("no sluice-changelog header");
  if (header->second != kFormatVersion) {
    return InvalidArgumentError(fmt::format("sluice-changelog header '{}' is not version {}",
                                            header->second.substr(0, 16), kFormatVersion));
  }
  if (m.key_is_null || m.key.empty() || m.key.size() > idempotency::kMaxEventIdBytes) {
    return InvalidArgumentError("key is not an event id (null, empty or too long)");
  }
  if (m.value_is_null) return InvalidArgumentError("a tombstone");
  if (m.value.size() > kMaxValueBytes) return InvalidArgumentError("value too large");
  rapidjson::Document doc;
  doc.Parse(m.value.data(), m.value.size());
  if (doc.HasParseError()) {
    return InvalidArgumentError(
        fmt::format("value is not JSON: {}", rapidjson::GetParseError_En(doc.GetParseError())));
  }
  if (!doc.IsObject()) return InvalidArgumentError("value is not a JSON object");
  idempotency::Entry e;
  e.event_id = m.key;
  const auto outcome = doc.FindMember("outcome");
  if (outcome == doc.MemberEnd() || !outcome->value.IsString()) {
    return InvalidArgumentError("no outcome");
  }
  const std::string_view o(outcome->value.GetString(), outcome->value.GetStringLength());
  if (o == idempotency::OutcomeName(idempotency::Outcome::kDelivered)) {
    e.outcome = idempotency::Outcome::kDelivered;
  } else if (o == idempotency::OutcomeName(idempotency::Outcome::kDeadLettered)) {
    e.outcome = idempotency::Outcome::kDeadLettered;
  } else {
    return InvalidArgumentError("unknown outcome");
  }
  const auto sf = doc.FindMember("sf_id");
  if (sf != doc.MemberEnd()) {
    if (!sf->value.IsString() || sf->value.GetStringLength() > idempotency::kMaxSalesforceIdBytes) {
      return InvalidArgumentError("sf_id is not a Salesforce id");
    }
    e.salesforce_id.assign(sf->value.GetString(), sf->value.GetStringLength());
  }
  const auto ts = doc.FindMember("recorded_ms");
  if (ts == doc.MemberEnd() || !ts->value.IsInt64() || ts->value.GetInt64() <= 0) {
    return InvalidArgumentError("no recorded_ms");
  }
  e.recorded_ms = ts->value.GetInt64();
  return e;
}

}  // namespace sluice::changelog

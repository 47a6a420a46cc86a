#include "sluice/dlq/record.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "sluice/dlq/format.h"

namespace sluice::dlq {
namespace {

// Values larger than this are not parsed for their sobject/event_id (the relay's envelope limit is
// 1 MiB; anything bigger was dead-lettered as too_large and has no readable envelope anyway).
constexpr size_t kMaxEnvelopeScanBytes = 4 * 1024 * 1024;

// A non-negative base-10 integer of at most 18 digits (no sign, no spaces), as the DLQ headers
// are written; nullopt otherwise.
std::optional<int64_t> ParseCount(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The top-level "sobject" and "event_id" strings of a JSON object, read tolerantly. RapidJSON's
// iterative parser keeps hostile nesting off the stack.
void ReadEnvelopeFields(std::string_view value, std::string* sobject, std::string* event_id) {
  if (value.empty() || value.size() > kMaxEnvelopeScanBytes) return;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseStopWhenDoneFlag>(value.data(),
                                                                                value.size());
  if (doc.HasParseError() || !doc.IsObject()) return;
  auto read = [&](const char* name, std::string* out) {
    auto it = doc.FindMember(name);
    if (it != doc.MemberEnd() && it->value.IsString()) {
      *out = envelope::SanitizeUtf8(
          std::string_view(it->value.GetString(), it->value.GetStringLength()),
          envelope::kMaxDlqFieldBytes);
    }
  };
  read("sobject", sobject);
  read("event_id", event_id);
}

}  // namespace

std::string DlqRecord::Location() const {
  return fmt::format("{}/{}/{}", topic, partition, offset);
}

DlqRecord Inspect(const kafka::Message& message) {
  DlqRecord r;
  r.topic = message.topic;
  r.partition = message.partition;
  r.offset = message.offset;
  r.timestamp_ms = message.timestamp_ms;
  if (!message.key_is_null) r.key = message.key;
  if (!message.value_is_null) r.value = message.value;
  r.headers = message.headers;

  auto parsed = envelope::ParseDlqHeaders(message.headers);
  if (parsed.ok()) {
    r.is_dlq = true;
    r.info = std::move(parsed).value();
    r.warnings = std::move(r.info.warnings);
    r.info.warnings.clear();
  } else {
    r.warnings.push_back("not a sluice DLQ record: no sluice.error.class header");
  }

  int replay_headers = 0;
  for (const auto& [name, value] : message.headers) {
    if (name == kHeaderReplayCount) {
      ++replay_headers;
      auto count = ParseCount(value);
      if (!count) {
        r.replay_count_valid = false;
        r.warnings.push_back(fmt::format("{} is not a non-negative integer: '{}'",
                                         kHeaderReplayCount, Printable(value, 64)));
      } else {
        r.replay_count = std::max(r.replay_count, *count);  // repeated: the largest counts
      }
    } else if (name == kHeaderReplayedFrom) {
      r.replayed_from = envelope::SanitizeUtf8(value, envelope::kMaxDlqFieldBytes);
    } else if (name == kHeaderValueOmitted) {
      r.value_omitted = true;
      r.value_omitted_note = envelope::SanitizeUtf8(value, envelope::kMaxDlqMessageBytes);
    }
  }
  if (replay_headers > 1) {
    r.warnings.push_back(fmt::format("{} appears {} times (the largest counts)", kHeaderReplayCount,
                                     replay_headers));
  }
  if (r.value_omitted) {
    r.warnings.push_back("the relay left the value out: " + Printable(r.value_omitted_note, 300));
  }
  if (r.value) ReadEnvelopeFields(*r.value, &r.sobject, &r.event_id);
  r.failed_at_ms = r.info.last_attempt_ms >= 0 ? r.info.last_attempt_ms : r.timestamp_ms;
  return r;
}

}  // namespace sluice::dlq

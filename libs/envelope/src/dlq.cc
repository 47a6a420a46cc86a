#include "sluice/envelope/dlq.h"

#include <charconv>
#include <limits>
#include <map>

#include "text.h"

namespace sluice::envelope {
namespace {

constexpr const char* kOwnedExact[] = {kHeaderAttempts, kHeaderFirstAttemptMs, kHeaderLastAttemptMs,
                                       kHeaderRelayInstance};

template <typename Int>
bool ParseInt(std::string_view text, Int* out) {
  Int v = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), v);
  if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return false;
  *out = v;
  return true;
}

}  // namespace

bool IsDlqHeader(std::string_view name) {
  if (name.rfind("sluice.error.", 0) == 0 || name.rfind("sluice.source.", 0) == 0) return true;
  for (const char* owned : kOwnedExact) {
    if (name == owned) return true;
  }
  return false;
}

Headers MakeDlqHeaders(const Headers& original, const DlqInfo& info) {
  Headers out;
  out.reserve(original.size() + 11);
  for (const auto& header : original) {
    if (!IsDlqHeader(header.first)) out.push_back(header);
  }
  auto text = [](std::string_view s) { return SanitizeUtf8(s, kMaxDlqFieldBytes); };
  out.emplace_back(kHeaderErrorClass, text(info.error_class));
  out.emplace_back(kHeaderErrorCode, text(info.error_code));
  out.emplace_back(kHeaderErrorMessage, SanitizeUtf8(info.error_message, kMaxDlqMessageBytes));
  out.emplace_back(kHeaderAttempts, std::to_string(info.attempts));
  out.emplace_back(kHeaderFirstAttemptMs, std::to_string(info.first_attempt_ms));
  out.emplace_back(kHeaderLastAttemptMs, std::to_string(info.last_attempt_ms));
  out.emplace_back(kHeaderSourceTopic, text(info.source_topic));
  out.emplace_back(kHeaderSourcePartition, std::to_string(info.source_partition));
  out.emplace_back(kHeaderSourceOffset, std::to_string(info.source_offset));
  out.emplace_back(kHeaderSourceTimestampMs, std::to_string(info.source_timestamp_ms));
  out.emplace_back(kHeaderRelayInstance, text(info.relay_instance));
  return out;
}

Result<DlqInfo> ParseDlqHeaders(const Headers& headers) {
  DlqInfo info;
  // Last value of each header, and how many times it appeared.
  std::map<std::string_view, std::pair<std::string_view, int>> seen;
  for (const auto& [name, value] : headers) {
    if (!IsDlqHeader(name)) continue;
    auto& slot = seen[name];
    slot.first = value;
    ++slot.second;
  }
  if (seen.find(kHeaderErrorClass) == seen.end()) {
    return NotFoundError(std::string("no ") + kHeaderErrorClass +
                         " header: not a record sluice dead-lettered");
  }
  auto show = [](std::string_view v) { return internal::EscapeControls(SanitizeUtf8(v, 64)); };
  auto lookup = [&](const char* name) -> std::optional<std::string_view> {
    auto it = seen.find(name);
    if (it == seen.end()) {
      info.warnings.push_back(std::string(name) + ": missing");
      return std::nullopt;
    }
    if (it->second.second > 1) {
      info.warnings.push_back(std::string(name) + ": appears " + std::to_string(it->second.second) +
                              " times; using the last");
    }
    return it->second.first;
  };
  auto string_field = [&](const char* name, size_t max_bytes, std::string* out) {
    if (auto v = lookup(name)) *out = SanitizeUtf8(*v, max_bytes);
  };
  auto int_field = [&](const char* name, auto* out) {
    auto v = lookup(name);
    if (!v) return;
    if (!ParseInt(*v, out)) {
      info.warnings.push_back(std::string(name) + ": \"" + show(*v) + "\" is not an integer");
    }
  };
  string_field(kHeaderErrorClass, kMaxDlqFieldBytes, &info.error_class);
  string_field(kHeaderErrorCode, kMaxDlqFieldBytes, &info.error_code);
  string_field(kHeaderErrorMessage, kMaxDlqMessageBytes, &info.error_message);
  int_field(kHeaderAttempts, &info.attempts);
  int_field(kHeaderFirstAttemptMs, &info.first_attempt_ms);
  int_field(kHeaderLastAttemptMs, &info.last_attempt_ms);
  string_field(kHeaderSourceTopic, kMaxDlqFieldBytes, &info.source_topic);
  int_field(kHeaderSourcePartition, &info.source_partition);
  int_field(kHeaderSourceOffset, &info.source_offset);
  int_field(kHeaderSourceTimestampMs, &info.source_timestamp_ms);
  string_field(kHeaderRelayInstance, kMaxDlqFieldBytes, &info.relay_instance);
  if (info.error_class != kInvalidEnvelope && info.error_class != kClassPermanent &&
      info.error_class != kClassRetryExhausted) {
    info.warnings.push_back(std::string(kHeaderErrorClass) + ": unknown class \"" +
                            show(info.error_class) + "\"");
  }
  for (const auto& [name, entry] : seen) {
    bool known = false;
    for (const char* n :
         {kHeaderErrorClass, kHeaderErrorCode, kHeaderErrorMessage, kHeaderAttempts,
          kHeaderFirstAttemptMs, kHeaderLastAttemptMs, kHeaderSourceTopic, kHeaderSourcePartition,
          kHeaderSourceOffset, kHeaderSourceTimestampMs, kHeaderRelayInstance}) {
      if (name == n) known = true;
    }
    if (!known) info.warnings.push_back(show(name) + ": unknown sluice header; ignored");
  }
  return info;
}

}  // namespace sluice::envelope

#include "sluice/dlq/filter.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>

#include "sluice/core/duration.h"

namespace sluice::dlq {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool In(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

// Escapes the characters Normalized() uses as separators, so distinct filters never collide.
std::string Escape(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '%' || c == ',' || c == ';' || c == '=') {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

std::string Join(std::set<std::string> values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ',';
    out += Escape(v);
  }
  return out;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Reads exactly `n` digits at `*pos`.
bool Digits(std::string_view s, size_t* pos, size_t n, int* out) {
  if (*pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

// RFC 3339 date-time (or a bare date, taken as midnight UTC) to epoch milliseconds. Hand-written:
// libstdc++ 12 has no std::chrono::parse and strptime knows neither fractions nor offsets.
std::optional<int64_t> ParseRfc3339(std::string_view s) {
  size_t pos = 0;
  int y, mo, d;
  if (!Digits(s, &pos, 4, &y) || pos >= s.size() || s[pos++] != '-' || !Digits(s, &pos, 2, &mo) ||
      pos >= s.size() || s[pos++] != '-' || !Digits(s, &pos, 2, &d)) {
    return std::nullopt;
  }
  using namespace std::chrono;
  const year_month_day ymd{year(y), month(static_cast<unsigned>(mo)),
                           day(static_cast<unsigned>(d))};
  if (!ymd.ok()) return std::nullopt;
  int64_t ms = duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
  if (pos == s.size()) return ms;
  if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return std::nullopt;
  ++pos;
  int h, mi, sec;
  if (!Digits(s, &pos, 2, &h) || pos >= s.size() || s[pos++] != ':' || !Digits(s, &pos, 2, &mi) ||
      pos >= s.size() || s[pos++] != ':' || !Digits(s, &pos, 2, &sec) || h > 23 || mi > 59 ||
      sec > 60) {
    return std::nullopt;
  }
  ms += (h * 3600LL + mi * 60LL + std::min(sec, 59)) * 1000;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t frac = 0;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) frac = frac * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0 || digits > 9) return std::nullopt;
    for (int i = digits; i < 3; ++i) frac *= 10;
    ms += frac;
  }
  if (pos >= s.size()) return std::nullopt;  // RFC 3339 requires an offset
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    const int sign = s[pos] == '+' ? 1 : -1;
    ++pos;
    int oh, om;
    if (!Digits(s, &pos, 2, &oh) || pos >= s.size() || s[pos++] != ':' ||
        !Digits(s, &pos, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    ms -= sign * (oh * 3600LL + om * 60LL) * 1000;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return ms;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr) != 1) return "";
  std::string hex;
  for (unsigned int i = 0; i < len; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

}  // namespace

bool Filter::Empty() const {
  return error_classes.empty() && error_codes.empty() && keys.empty() && sobjects.empty() &&
         source_topics.empty() && !since_ms && !until_ms;
}

bool Filter::Matches(const DlqRecord& r) const {
  if (!error_classes.empty() && (!r.is_dlq || !In(error_classes, r.info.error_class))) return false;
  if (!error_codes.empty() && (!r.is_dlq || !In(error_codes, r.info.error_code))) return false;
  if (!keys.empty() && (!r.key || !In(keys, *r.key))) return false;
  if (!source_topics.empty() && !In(source_topics, r.info.source_topic)) return false;
  if (!sobjects.empty()) {
    if (r.sobject.empty()) return false;
    const std::string s = Lower(r.sobject);
    if (std::none_of(sobjects.begin(), sobjects.end(),
                     [&](const std::string& o) { return Lower(o) == s; })) {
      return false;
    }
  }
  if ((since_ms || until_ms) && r.failed_at_ms < 0) return false;
  if (since_ms && r.failed_at_ms < *since_ms) return false;
  if (until_ms && r.failed_at_ms >= *until_ms) return false;
  return true;
}

std::string Filter::Normalized() const {
  std::vector<std::string> parts;
  auto add = [&](const char* name, const std::vector<std::string>& values, bool lower) {
    if (values.empty()) return;
    std::set<std::string> set;
    for (const auto& v : values) set.insert(lower ? Lower(v) : v);
    parts.push_back(std::string(name) + "=" + Join(std::move(set)));
  };
  add("class", error_classes, false);
  add("code", error_codes, false);
  add("key", keys, false);
  add("sobject", sobjects, true);
  add("source_topic", source_topics, false);
  if (since_ms) parts.push_back(fmt::format("since={}", *since_ms));
  if (until_ms) parts.push_back(fmt::format("until={}", *until_ms));
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ';';
    out += p;
  }
  return out;
}

Result<int64_t> ParseTimeBound(std::string_view text, int64_t now_ms) {
  if (text.empty()) return InvalidArgumentError("empty time");
  if (AllDigits(text)) {
    if (text.size() > 15) return InvalidArgumentError("epoch milliseconds out of range");
    return std::stoll(std::string(text));
  }
  if (text.size() >= 5 && AllDigits(text.substr(0, 4)) && text[4] == '-') {
    if (auto ms = ParseRfc3339(text)) return *ms;
    return InvalidArgumentError(fmt::format(
        "'{}' is not an RFC 3339 time (e.g. 2026-11-21T05:00:00Z or 2026-11-21)", text));
  }
  auto d = ParseDuration(text);
  if (!d.ok()) {
    return InvalidArgumentError(
        fmt::format("'{}' is neither an RFC 3339 time, a duration ago (e.g. 2h) nor epoch "
                    "milliseconds",
                    text.substr(0, 64)));
  }
  return now_ms - static_cast<int64_t>(d->count());
}

std::string ReplayGroupId(std::string_view dlq_topic, std::string_view to_topic,
                          const Filter& filter) {
  const std::string material =
      fmt::format("topic={}\nto={}\nfilter={}", dlq_topic, to_topic, filter.Normalized());
  std::string group =
      fmt::format("sluice-dlq-replay.{}.{}", Sha256Hex(material).substr(0, 16), dlq_topic);
  if (group.size() > 249) group = group.substr(0, 249);
  return group;
}

}  // namespace sluice::dlq

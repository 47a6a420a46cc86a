#include "sluice/flood/sources.h"

#include <rapidjson/document.h>

#include <charconv>
#include <cmath>

namespace sluice::flood {
namespace {

constexpr size_t kMaxLineBytes = 64 * 1024;
constexpr size_t kMaxPromSamples = 100000;

int64_t GetInt(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return 0;
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd()) return 0;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsUint64()) return INT64_MAX;  // beyond int64: saturate
  return 0;
}

// Splits `text` into lines (without the '\n'; a trailing '\r' is dropped).
template <typename Fn>
void ForEachLine(std::string_view text, Fn fn) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = text.substr(pos, nl - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    pos = nl + 1;
  }
}

bool IsNameChar(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
         (!first && c >= '0' && c <= '9');
}

bool ParsePromValue(std::string_view s, double* out) {
  if (s == "NaN") {
    *out = std::nan("");
    return true;
  }
  if (s == "+Inf" || s == "Inf") {
    *out = INFINITY;
    return true;
  }
  if (s == "-Inf") {
    *out = -INFINITY;
    return true;
  }
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size() && !s.empty();
}

// Parses one sample line; false when malformed.
bool ParsePromLine(std::string_view line, PromSample* out) {
  size_t i = 0;
  if (line.empty() || !IsNameChar(line[0], true)) return false;
  while (i < line.size() && IsNameChar(line[i], i == 0)) ++i;
  out->name = std::string(line.substr(0, i));
  out->labels.clear();
  if (i < line.size() && line[i] == '{') {
    ++i;
    for (;;) {
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      const size_t name_start = i;
      while (i < line.size() && IsNameChar(line[i], i == name_start)) ++i;
      if (i == name_start || i >= line.size() || line[i] != '=') return false;
      std::string label(line.substr(name_start, i - name_start));
      ++i;
      if (i >= line.size() || line[i] != '"') return false;
      ++i;
      std::string value;
      bool closed = false;
      while (i < line.size()) {
        char c = line[i++];
        if (c == '\\') {
          if (i >= line.size()) return false;
          char e = line[i++];
          value += e == 'n' ? '\n' : e;
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          value += c;
        }
      }
      if (!closed) return false;
      out->labels[label] = std::move(value);
      while (i < line.size() && line[i] == ' ') ++i;
      if (i < line.size() && line[i] == ',') ++i;
      if (out->labels.size() > 64) return false;
    }
  }
  if (i >= line.size() || line[i] != ' ') return false;
  while (i < line.size() && line[i] == ' ') ++i;
  size_t end = line.find(' ', i);
  if (end == std::string_view::npos) end = line.size();
  return ParsePromValue(line.substr(i, end - i), &out->value);
}

}  // namespace

Result<SimStats> ParseSimStats(std::string_view json) {
  if (json.size() > 16 * 1024 * 1024) return InvalidArgumentError("/sim/stats answer too large");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(json.data(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return InvalidArgumentError("/sim/stats did not answer a JSON object");
  }
  if (!doc.HasMember("records_written") || !doc["records_written"].IsNumber()) {
    return InvalidArgumentError("/sim/stats has no records_written: is this sluice-sfsim?");
  }
  SimStats s;
  s.requests_total = GetInt(doc, "requests_total");
  s.records_written = GetInt(doc, "records_written");
  s.records_failed = GetInt(doc, "records_failed");
  s.ledger_entries = GetInt(doc, "ledger_entries");
  s.duplicate_event_ids = GetInt(doc, "duplicate_event_ids");
  if (doc.HasMember("api_usage")) {
    s.api_used = GetInt(doc["api_usage"], "used");
    s.api_max = GetInt(doc["api_usage"], "max");
  }
  if (doc.HasMember("faults")) s.lock_rows = GetInt(doc["faults"], "lock_rows");
  if (doc.HasMember("requests") && doc["requests"].IsObject()) {
    for (const auto& route : doc["requests"].GetObject()) {
      if (!route.value.IsObject()) continue;
      for (const auto& status : route.value.GetObject()) {
        if (!status.value.IsInt64() || s.responses_by_status.size() > 1000) continue;
        s.responses_by_status[status.name.GetString()] += status.value.GetInt64();
      }
    }
  }
  return s;
}

LedgerPage ParseLedgerLines(std::string_view ndjson) {
  LedgerPage page;
  ForEachLine(ndjson, [&](std::string_view line) {
    if (line.empty()) return;
    if (line.size() > kMaxLineBytes) {
      ++page.bad_lines;
      return;
    }
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseIterativeFlag>(line.data(), line.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      ++page.bad_lines;
      return;
    }
    auto seq = doc.FindMember("seq");
    auto received = doc.FindMember("received_ms");
    auto id = doc.FindMember("event_id");
    if (seq == doc.MemberEnd() || !seq->value.IsUint64() || received == doc.MemberEnd() ||
        !received->value.IsInt64() || id == doc.MemberEnd() || !id->value.IsString()) {
      ++page.bad_lines;
      return;
    }
    const int64_t ms = received->value.GetInt64();
    // Milliseconds to nanoseconds, saturating far outside any real clock.
    const int64_t ns = ms > INT64_MAX / 1'000'000   ? INT64_MAX
                       : ms < INT64_MIN / 1'000'000 ? INT64_MIN
                                                    : ms * 1'000'000;
    page.entries.push_back({std::string(id->value.GetString(), id->value.GetStringLength()), ns});
    page.last_seq = seq->value.GetUint64();
  });
  return page;
}

std::vector<PromSample> ParsePrometheusText(std::string_view text, int64_t* bad_lines) {
  std::vector<PromSample> out;
  int64_t bad = 0;
  ForEachLine(text, [&](std::string_view line) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') return;
    if (out.size() >= kMaxPromSamples || line.size() > kMaxLineBytes) {
      ++bad;
      return;
    }
    PromSample s;
    if (ParsePromLine(line, &s)) {
      out.push_back(std::move(s));
    } else {
      ++bad;
    }
  });
  if (bad_lines) *bad_lines = bad;
  return out;
}

RelayFigures RelayFiguresFrom(const std::vector<PromSample>& samples) {
  RelayFigures f;
  const auto add = [](std::optional<double>& to, double v) { to = to.value_or(0) + v; };
  for (const PromSample& s : samples) {
    if (!std::isfinite(s.value)) continue;
    if (s.name == "sluice_relay_requests_sent_total") {
      add(f.requests_sent, s.value);
    } else if (s.name == "sluice_relay_delivered_total") {
      add(f.delivered, s.value);
    } else if (s.name == "sluice_relay_call_latency_seconds_sum") {
      add(f.call_latency_sum_s, s.value);
    } else if (s.name == "sluice_relay_call_latency_seconds_count") {
      add(f.call_latency_count, s.value);
    } else if (s.name == "sluice_relay_dead_lettered_total") {
      auto it = s.labels.find("code");
      if (f.dead_lettered_by_code.size() < 1000 || it == s.labels.end()) {
        f.dead_lettered_by_code[it == s.labels.end() ? "" : it->second] += s.value;
      }
    } else if (s.name == "sluice_relay_requests_total") {
      auto it = s.labels.find("class");
      if (f.requests_by_class.size() < 1000) {
        f.requests_by_class[it == s.labels.end() ? "" : it->second] += s.value;
      }
    }
  }
  return f;
}

}  // namespace sluice::flood

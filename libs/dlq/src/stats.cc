#include "sluice/dlq/stats.h"

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <vector>

#include "sluice/dlq/format.h"

namespace sluice::dlq {
namespace {

std::string Label(const std::string& s) { return s.empty() ? "(none)" : Printable(s, 128); }

template <typename K>
std::vector<std::pair<K, int64_t>> ByCount(const std::map<K, int64_t>& m) {
  std::vector<std::pair<K, int64_t>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return v;
}

void Table(std::string* out, const std::string& title, const std::string& column,
           const std::vector<std::pair<std::string, int64_t>>& rows, int64_t total) {
  size_t width = column.size();
  for (const auto& [name, n] : rows) width = std::max(width, name.size());
  *out += "\n" + title + "\n";
  *out += fmt::format("  {:<{}}  {:>10}  {:>6}\n", column, width, "records", "share");
  for (const auto& [name, n] : rows) {
    *out +=
        fmt::format("  {:<{}}  {:>10}  {:>5.1f}%\n", name, width, n,
                    total > 0 ? 100.0 * static_cast<double>(n) / static_cast<double>(total) : 0.0);
  }
}

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void Str(Writer& w, const std::string& s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

void Point(Writer& w, const FailurePoint& p) {
  if (p.failed_at_ms < 0) {
    w.Null();
    return;
  }
  w.StartObject();
  w.Key("failed_at");
  Str(w, FormatTime(p.failed_at_ms));
  w.Key("failed_at_ms");
  w.Int64(p.failed_at_ms);
  w.Key("partition");
  w.Int(p.partition);
  w.Key("offset");
  w.Int64(p.offset);
  w.EndObject();
}

void Map(Writer& w, const char* key, const std::map<std::string, int64_t>& m) {
  w.Key(key);
  w.StartObject();
  for (const auto& [name, n] : m) {
    w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()));
    w.Int64(n);
  }
  w.EndObject();
}

}  // namespace

void DlqStats::Add(const DlqRecord& r) {
  ++total;
  if (!r.is_dlq) ++not_dlq;
  if (!r.warnings.empty()) ++with_warnings;
  if (r.value_omitted) ++value_omitted;
  if (r.replay_count > 0) ++replayed;
  const std::string cls = envelope::SanitizeUtf8(r.info.error_class, envelope::kMaxDlqFieldBytes);
  const std::string code = envelope::SanitizeUtf8(r.info.error_code, envelope::kMaxDlqFieldBytes);
  ++by_class[cls];
  ++by_class_code[{cls, code}];
  ++by_source_topic[envelope::SanitizeUtf8(r.info.source_topic, envelope::kMaxDlqFieldBytes)];
  ++by_sobject[r.sobject];
  if (r.failed_at_ms >= 0) {
    const FailurePoint p{r.failed_at_ms, r.partition, r.offset};
    if (oldest.failed_at_ms < 0 || r.failed_at_ms < oldest.failed_at_ms) oldest = p;
    if (newest.failed_at_ms < 0 || r.failed_at_ms > newest.failed_at_ms) newest = p;
  }
}

std::string FormatStatsTable(const DlqStats& s, std::string_view topic) {
  std::string out = fmt::format("topic         {}\n", Printable(topic));
  out += fmt::format("records       {}\n", s.total);
  if (s.not_dlq > 0) out += fmt::format("not sluice    {} (no sluice.error.class)\n", s.not_dlq);
  if (s.with_warnings > 0) out += fmt::format("warnings      {} records\n", s.with_warnings);
  if (s.value_omitted > 0) out += fmt::format("value omitted {}\n", s.value_omitted);
  if (s.replayed > 0)
    out += fmt::format("replayed      {} (failed again after a replay)\n", s.replayed);
  const auto point = [](const FailurePoint& p) {
    return p.failed_at_ms < 0
               ? std::string("-")
               : fmt::format("{}  ({}/{})", FormatTime(p.failed_at_ms), p.partition, p.offset);
  };
  out += fmt::format("oldest        {}\n", point(s.oldest));
  out += fmt::format("newest        {}\n", point(s.newest));
  if (s.total == 0) return out;

  std::vector<std::pair<std::string, int64_t>> rows;
  for (const auto& [k, n] : ByCount(s.by_class)) rows.emplace_back(Label(k), n);
  Table(&out, "by error class", "class", rows, s.total);
  rows.clear();
  for (const auto& [k, n] : ByCount(s.by_class_code)) {
    rows.emplace_back(Label(k.first) + " / " + Label(k.second), n);
  }
  Table(&out, "by error class / code", "class / code", rows, s.total);
  rows.clear();
  for (const auto& [k, n] : ByCount(s.by_source_topic)) rows.emplace_back(Label(k), n);
  Table(&out, "by source topic", "source topic", rows, s.total);
  rows.clear();
  for (const auto& [k, n] : ByCount(s.by_sobject)) rows.emplace_back(Label(k), n);
  Table(&out, "by sObject", "sObject", rows, s.total);
  return out;
}

std::string StatsToJson(const DlqStats& s, std::string_view topic) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("topic");
  Str(w, envelope::SanitizeUtf8(topic, 1024));
  w.Key("total");
  w.Int64(s.total);
  w.Key("not_dlq");
  w.Int64(s.not_dlq);
  w.Key("with_warnings");
  w.Int64(s.with_warnings);
  w.Key("value_omitted");
  w.Int64(s.value_omitted);
  w.Key("replayed");
  w.Int64(s.replayed);
  Map(w, "by_class", s.by_class);
  w.Key("by_class_code");
  w.StartArray();
  for (const auto& [k, n] : ByCount(s.by_class_code)) {
    w.StartObject();
    w.Key("class");
    Str(w, k.first);
    w.Key("code");
    Str(w, k.second);
    w.Key("count");
    w.Int64(n);
    w.EndObject();
  }
  w.EndArray();
  Map(w, "by_source_topic", s.by_source_topic);
  Map(w, "by_sobject", s.by_sobject);
  w.Key("oldest");
  Point(w, s.oldest);
  w.Key("newest");
  Point(w, s.newest);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace sluice::dlq

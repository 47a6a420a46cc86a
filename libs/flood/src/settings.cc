#include "sluice/flood/settings.h"

#include <rapidjson/document.h>

#include <charconv>
#include <cmath>
#include <string>

namespace sluice::flood {
namespace {

std::optional<double> Number(const std::string& text) {
  double v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || !std::isfinite(v) ||
      v < 0) {
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> Integer(const std::string& text) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty() || v < 0) {
    return std::nullopt;
  }
  return v;
}

// A label value shown in the report: printable ASCII, at most 200 characters.
std::optional<std::string> Text(const std::string& text) {
  if (text.empty() || text.size() > 200) return std::nullopt;
  for (char c : text) {
    if (c < 0x20 || c > 0x7e) return std::nullopt;
  }
  return text;
}

}  // namespace

std::optional<RelaySettings> RelaySettingsFrom(const std::vector<PromSample>& samples) {
  RelaySettings s;
  for (const PromSample& p : samples) {
    if (p.name == "sluice_relay_settings_info") {
      const auto label = [&](const char* name) -> std::string {
        auto it = p.labels.find(name);
        return it == p.labels.end() ? std::string() : it->second;
      };
      s.mode = Text(label("mode"));
      s.max_records = Integer(label("max_records"));
      s.linger_ms = Number(label("linger_ms"));
      s.max_in_flight = Integer(label("max_in_flight"));
      s.requests_per_second = Number(label("requests_per_second"));
      s.records_per_second = Number(label("records_per_second"));
    } else if (p.name == "sluice_relay_in_flight_limit" && std::isfinite(p.value)) {
      s.in_flight_limit = s.in_flight_limit.value_or(0) + p.value;
    } else if (p.name == "sluice_relay_request_rate_limit" && std::isfinite(p.value)) {
      s.request_rate_limit = s.request_rate_limit.value_or(0) + p.value;
    }
  }
  if (s.empty()) return std::nullopt;
  return s;
}

std::optional<SfsimLatencyModel> SfsimLatencyFromStats(std::string_view stats_json) {
  if (stats_json.size() > (16u << 20)) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(stats_json.data(), stats_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto it = doc.FindMember("latency_model");
  if (it == doc.MemberEnd() || !it->value.IsObject()) return std::nullopt;
  const auto& m = it->value;
  SfsimLatencyModel out;
  const std::pair<const char*, double*> fields[] = {{"base_ms", &out.base_ms},
                                                    {"per_record_ms", &out.per_record_ms},
                                                    {"tail_median_ms", &out.tail_median_ms},
                                                    {"tail_sigma", &out.tail_sigma},
                                                    {"max_ms", &out.max_ms}};
  for (const auto& [name, to] : fields) {
    auto f = m.FindMember(name);
    if (f == m.MemberEnd() || !f->value.IsNumber()) return std::nullopt;
    const double v = f->value.GetDouble();
    if (!std::isfinite(v) || v < 0) return std::nullopt;
    *to = v;
  }
  return out;
}

}  // namespace sluice::flood

#include "sluice/salesforce/limit_info.h"

#include <charconv>

namespace sluice::salesforce {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool ParseCount(std::string_view s, int64_t& out) {
  if (s.empty() || s.size() > 18) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

// "<used>/<max>" followed by nothing (or, for per-app usage, by "(appName=...)").
bool ParseUsage(std::string_view s, int64_t& used, int64_t& max) {
  size_t slash = s.find('/');
  if (slash == std::string_view::npos) return false;
  return ParseCount(Trim(s.substr(0, slash)), used) && ParseCount(Trim(s.substr(slash + 1)), max);
}

}  // namespace

std::optional<LimitInfo> ParseLimitInfo(std::string_view header) {
  if (header.size() > 4096) return std::nullopt;
  LimitInfo info;
  bool have_api = false;
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = Trim(part.substr(0, eq));
    std::string_view value = Trim(part.substr(eq + 1));
    if (key == "api-usage") {
      if (have_api || !ParseUsage(value, info.api_used, info.api_max)) return std::nullopt;
      have_api = true;
    } else if (key == "per-app-api-usage") {
      LimitInfo::AppUsage app;
      size_t paren = value.find('(');
      std::string_view counts = value.substr(0, paren);
      if (!ParseUsage(counts, app.used, app.max)) return std::nullopt;
      if (paren != std::string_view::npos) {
        std::string_view rest = value.substr(paren + 1);
        if (rest.empty() || rest.back() != ')') return std::nullopt;
        rest.remove_suffix(1);
        if (rest.starts_with("appName=")) rest.remove_prefix(8);
        app.app_name = std::string(rest);
      }
      info.per_app = std::move(app);
    }
    // Unknown parts are ignored: Salesforce may add more.
  }
  if (!have_api) return std::nullopt;
  return info;
}

}  // namespace sluice::salesforce

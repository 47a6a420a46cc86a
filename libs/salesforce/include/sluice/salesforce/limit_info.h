// The Sforce-Limit-Info response header: how much of the org's daily API allocation is used.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::salesforce {

// Thread-safety: a value type.
struct LimitInfo {
  int64_t api_used = 0;  // "api-usage=<used>/<max>"
  int64_t api_max = 0;
  struct AppUsage {
    int64_t used = 0;
    int64_t max = 0;
    std::string app_name;  // from "(appName=...)"; empty when absent
  };
  std::optional<AppUsage> per_app;  // "; per-app-api-usage=<used>/<max>(appName=<name>)"

  // api_used / api_max (0 when api_max is 0).
  double UsedFraction() const {
    return api_max > 0 ? static_cast<double>(api_used) / static_cast<double>(api_max) : 0.0;
  }
};

// Parses e.g. "api-usage=10018/100000; per-app-api-usage=17/250(appName=x)". Tolerant of extra
// whitespace, unknown extra parts and their order; returns nullopt (never throws) when
// api-usage is missing or any part it reads is malformed (non-digits, overflow, missing '/').
std::optional<LimitInfo> ParseLimitInfo(std::string_view header);

}  // namespace sluice::salesforce

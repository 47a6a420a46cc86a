// Helpers shared by the report's writers (report.cc, report_html.cc, compare.cc); private to
// libs/flood.
#pragma once

#include <fmt/format.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/flood/report.h"

namespace sluice::flood::internal {

inline std::string OptText(const std::optional<double>& v, const char* unit, int digits = 2) {
  if (!v) return "not measured";
  return fmt::format("{:.{}f}{}", *v, digits, unit);
}
inline std::string OptText(const std::optional<int64_t>& v) {
  return v ? std::to_string(*v) : std::string("not measured");
}

inline bool AllPassed(const Report& r) {
  for (const auto& t : r.thresholds) {
    if (!t.passed) return false;
  }
  return true;
}

// JSON text safe to embed in an HTML <script> element: '<' only occurs inside JSON strings, where
// \u003c means the same, so no "</script>" or "<!--" can end or confuse the element.
inline std::string ForScript(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (char c : json) {
    if (c == '<') {
      out += "\\u003c";
    } else {
      out += c;
    }
  }
  return out;
}

// Replaces each @@NAME@@ in `tmpl` with values[NAME] in one pass: inserted text is never scanned
// again, so a report value that happens to contain "@@DATA@@" stays as it is.
inline std::string FillTemplate(std::string_view tmpl,
                                const std::map<std::string_view, std::string>& values) {
  std::string out;
  size_t pos = 0;
  while (pos < tmpl.size()) {
    const size_t open = tmpl.find("@@", pos);
    if (open == std::string_view::npos) break;
    const size_t close = tmpl.find("@@", open + 2);
    if (close == std::string_view::npos) break;
    auto it = values.find(tmpl.substr(open + 2, close - open - 2));
    if (it == values.end()) {
      out.append(tmpl.substr(pos, close - pos));
      pos = close;
      continue;
    }
    out.append(tmpl.substr(pos, open - pos));
    out.append(it->second);
    pos = close + 2;
  }
  out.append(tmpl.substr(pos));
  return out;
}

}  // namespace sluice::flood::internal

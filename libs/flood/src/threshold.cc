#include "sluice/flood/threshold.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sluice::flood {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsMetricChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 200)) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
  if (text.size() > 200) out += "...";
  return out;
}

std::string FormatNumber(double v) { return fmt::format("{:.6g}", v); }

}  // namespace

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kLess:
      return "<";
    case CompareOp::kLessEqual:
      return "<=";
    case CompareOp::kGreater:
      return ">";
    case CompareOp::kGreaterEqual:
      return ">=";
    case CompareOp::kEqual:
      return "==";
    case CompareOp::kNotEqual:
      return "!=";
  }
  return "?";
}

Result<Threshold> ParseThreshold(std::string_view text, const std::vector<std::string>& known) {
  const std::string shown = Printable(text);
  const auto malformed = [&](std::string_view why) {
    return InvalidArgumentError(fmt::format(
        "malformed threshold '{}': {} (expected METRIC OP NUMBER, e.g. 'drain_time_s<120'; "
        "OP is one of < <= > >= == !=)",
        shown, why));
  };
  if (text.size() > 1000) return malformed("too long");
  std::string_view rest = Trim(text);
  if (rest.empty()) return malformed("empty");

  size_t name_end = 0;
  while (name_end < rest.size() && IsMetricChar(rest[name_end])) ++name_end;
  if (name_end == 0) return malformed("no metric name");
  Threshold t;
  t.text = std::string(text);
  t.metric = std::string(rest.substr(0, name_end));
  rest = Trim(rest.substr(name_end));

  struct OpText {
    std::string_view text;
    CompareOp op;
  };
  // Two-character operators first so "<=" is not read as "<" followed by "=".
  static constexpr OpText kOps[] = {
      {"<=", CompareOp::kLessEqual}, {">=", CompareOp::kGreaterEqual}, {"==", CompareOp::kEqual},
      {"!=", CompareOp::kNotEqual},  {"<", CompareOp::kLess},          {">", CompareOp::kGreater},
  };
  bool found = false;
  for (const OpText& o : kOps) {
    if (rest.substr(0, o.text.size()) == o.text) {
      t.op = o.op;
      rest = Trim(rest.substr(o.text.size()));
      found = true;
      break;
    }
  }
  if (!found) {
    if (!rest.empty() && rest.front() == '=') return malformed("'=' is not an operator; use '=='");
    return malformed(rest.empty() ? "no operator" : "unknown operator");
  }
  if (rest.empty()) return malformed("no number after the operator");
  auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), t.value);
  if (ec != std::errc() || ptr != rest.data() + rest.size() || !std::isfinite(t.value)) {
    return malformed(fmt::format("'{}' is not a finite number", Printable(rest)));
  }
  if (std::find(known.begin(), known.end(), t.metric) == known.end()) {
    return InvalidArgumentError(fmt::format("unknown metric '{}' in threshold '{}'; known: {}",
                                            Printable(t.metric), shown, fmt::join(known, ", ")));
  }
  return t;
}

std::vector<ThresholdOutcome> EvaluateThresholds(
    const std::vector<Threshold>& thresholds,
    const std::map<std::string, std::optional<double>>& figures) {
  std::vector<ThresholdOutcome> out;
  for (const Threshold& t : thresholds) {
    ThresholdOutcome o;
    o.threshold = t;
    auto it = figures.find(t.metric);
    if (it != figures.end()) o.actual = it->second;
    if (!o.actual.has_value()) {
      o.passed = false;
      o.message = fmt::format("{}: not measured (fail)", t.text);
    } else {
      const double a = *o.actual;
      switch (t.op) {
        case CompareOp::kLess:
          o.passed = a < t.value;
          break;
        case CompareOp::kLessEqual:
          o.passed = a <= t.value;
          break;
        case CompareOp::kGreater:
          o.passed = a > t.value;
          break;
        case CompareOp::kGreaterEqual:
          o.passed = a >= t.value;
          break;
        case CompareOp::kEqual:
          o.passed = a == t.value;
          break;
        case CompareOp::kNotEqual:
          o.passed = a != t.value;
          break;
      }
      o.message = fmt::format("{}: {} ({})", t.text, FormatNumber(a), o.passed ? "pass" : "fail");
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace sluice::flood

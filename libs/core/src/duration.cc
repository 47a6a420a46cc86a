#include "sluice/core/duration.h"

#include <array>
#include <cstdint>

namespace sluice {
namespace {

constexpr size_t kMaxText = 64;
constexpr size_t kMaxFractionDigits = 9;
constexpr char kExamples[] = "e.g. 250ms, 30s, 5m, 1h30m, 7d";
constexpr char kUnits[] = "ms, s, m, h or d";

struct Unit {
  std::string_view name;
  int64_t ms;
};
// Largest first: the order compound durations must follow.
constexpr std::array<Unit, 5> kUnitTable{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string Quote(std::string_view text) {
  std::string_view cut = text.substr(0, kMaxText);
  // Do not split a UTF-8 sequence.
  while (cut.size() < text.size() && !cut.empty() &&
         (static_cast<unsigned char>(text[cut.size()]) & 0xC0) == 0x80) {
    cut.remove_suffix(1);
  }
  std::string out = "\"";
  for (char c : cut) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      out += '?';  // control characters never reach a terminal
    } else {
      out += c;
    }
  }
  if (cut.size() < text.size()) out += "...";
  return out + "\"";
}

// 'c' for printable ASCII, else "byte 0xNN".
std::string Char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u > 0x20 && u < 0x7F) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 15];
}

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgumentError(Quote(text) + " " + std::string(why));
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return InvalidArgumentError(std::string("empty duration (") + kExamples + ")");
  if (text.size() > kMaxText) {
    return Bad(text, "is too long for a duration (at most " + std::to_string(kMaxText) +
                         " characters, " + kExamples + ")");
  }
  for (char c : text) {
    if (IsSpace(c)) {
      return Bad(text, std::string("contains a space; write a duration without spaces (") +
                           kExamples + ")");
    }
  }
  if (text[0] == '-') return Bad(text, "is negative; a duration is 0 or more");
  if (text == "0") return std::chrono::milliseconds(0);

  int64_t total = 0;
  size_t next_unit = 0;  // index into kUnitTable of the largest unit still allowed
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = i;
    while (i < text.size() && IsDigit(text[i])) ++i;
    const std::string_view whole = text.substr(start, i - start);
    std::string_view fraction;
    bool has_point = false;
    if (i < text.size() && text[i] == '.') {
      has_point = true;
      const size_t f = ++i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      fraction = text.substr(f, i - f);
    }
    const size_t unit_start = i;
    while (i < text.size() && IsLetter(text[i])) ++i;
    const std::string_view unit = text.substr(unit_start, i - unit_start);
    const std::string_view number = text.substr(start, unit_start - start);

    if (whole.empty() && !has_point && unit.empty()) {
      return Bad(text, "is not a duration: unexpected " + Char(text[i]) + " (" + kExamples + ")");
    }
    if (whole.empty() || (has_point && fraction.empty())) {
      return Bad(text, std::string("is not a duration: each unit needs a number before it, and a "
                                   "decimal point digits on both sides (") +
                           kExamples + ")");
    }
    if (unit.empty()) {
      // A number with no unit: the end of the text, or something that is neither digit nor letter.
      if (i < text.size()) {
        return Bad(text, "is not a duration: unexpected " + Char(text[i]) + " (" + kExamples + ")");
      }
      std::string n(number);
      if (start == 0) {
        return InvalidArgumentError(n + " needs a unit, e.g. " + n + "ms or " + n + "s");
      }
      return Bad(text, "ends in " + n + " without a unit (" + kUnits + ")");
    }
    size_t u = 0;
    while (u < kUnitTable.size() && kUnitTable[u].name != unit) ++u;
    if (u == kUnitTable.size()) {
      return Bad(text, "has unknown unit \"" + std::string(unit.substr(0, 16)) + "\" (use " +
                           kUnits + ")");
    }
    if (u < next_unit) {
      return Bad(text,
                 "repeats a unit or puts a smaller one first; write units from largest to "
                 "smallest, each once (e.g. 1h30m)");
    }
    next_unit = u + 1;
    const int64_t unit_ms = kUnitTable[u].ms;

    // Whole part, checked against the cap digit by digit.
    const int64_t cap = kMaxDuration.count();
    int64_t count = 0;
    for (char c : whole) {
      count = count * 10 + (c - '0');
      if (count > cap / unit_ms) {
        return Bad(text, "is longer than the longest duration, " + FormatDuration(kMaxDuration) +
                             " (100 years)");
      }
    }
    int64_t part = count * unit_ms;
    if (!fraction.empty()) {
      if (fraction.size() > kMaxFractionDigits) {
        return Bad(text, "has more than " + std::to_string(kMaxFractionDigits) + " decimals");
      }
      int64_t numerator = 0;
      int64_t denominator = 1;
      for (char c : fraction) {
        numerator = numerator * 10 + (c - '0');
        denominator *= 10;
      }
      // numerator < 1e9 and unit_ms <= 8.64e7: the product fits in int64.
      if ((numerator * unit_ms) % denominator != 0) {
        return Bad(text, "is finer than a millisecond, the smallest step of a duration");
      }
      part += numerator * unit_ms / denominator;
    }
    total += part;
    if (total > cap) {
      return Bad(text, "is longer than the longest duration, " + FormatDuration(kMaxDuration) +
                           " (100 years)");
    }
  }
  return std::chrono::milliseconds(total);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  for (const Unit& u : kUnitTable) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + std::string(u.name);
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace sluice

// Small helpers shared by the simulator's source files: Salesforce's JSON error shapes, text
// checks (dates, numbers, UTF-8 lengths), path and form parsing. Private to libs/sfsim/src.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/logging.h"
#include "sluice/http/server.h"
#include "sluice/sfsim/auth.h"

namespace sluice::sfsim::detail {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using TimePoint = Clock::TimePoint;
using Duration = Clock::Duration;

inline constexpr std::string_view kJsonType = "application/json;charset=UTF-8";
inline constexpr double kCompositeCreateMinVersion = 42.0;
inline constexpr double kCompositeUpsertMinVersion = 46.0;
inline constexpr double kUpsertCreatedFlagMinVersion = 46.0;
inline constexpr double kOperationEnqueuedMinVersion = 44.0;
inline constexpr int kMaxCollectionChunks = 10;
inline constexpr double kBulkV2MinVersion = 41.0;
inline constexpr uint64_t kDefaultLedgerPage = 100000;
inline constexpr uint64_t kMaxLedgerPage = 1000000;
inline constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag |
                                        rapidjson::kParseIterativeFlag |
                                        rapidjson::kParseInsituFlag;

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

inline bool IEq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

inline std::string_view Str(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

inline uint64_t KeyHash(std::string_view s) { return std::hash<std::string_view>()(s); }

// Salesforce's error shapes. Top level: [{"message":..,"errorCode":..,"fields":[..]}]; per
// record: {"statusCode":..,"message":..,"fields":[..]}.
struct RecordError {
  std::string code;
  std::string message;
  std::vector<std::string> fields;
};

inline void WriteFields(Writer& w, const std::vector<std::string>& fields) {
  w.Key("fields");
  w.StartArray();
  for (const auto& f : fields) w.String(f.data(), static_cast<rapidjson::SizeType>(f.size()));
  w.EndArray();
}

inline std::string ErrorArray(const std::vector<RecordError>& errors, bool with_fields = true) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartArray();
  for (const auto& e : errors) {
    w.StartObject();
    w.Key("message");
    w.String(e.message.data(), static_cast<rapidjson::SizeType>(e.message.size()));
    w.Key("errorCode");
    w.String(e.code.data(), static_cast<rapidjson::SizeType>(e.code.size()));
    if (with_fields && !e.fields.empty()) WriteFields(w, e.fields);
    w.EndObject();
  }
  w.EndArray();
  return std::string(buf.GetString(), buf.GetSize());
}

inline http::ServerResponse Json(int status, std::string body) {
  http::ServerResponse res;
  res.status = status;
  res.headers.Add("Content-Type", std::string(kJsonType));
  res.body = std::move(body);
  return res;
}

inline http::ServerResponse ApiError(int status, std::string code, std::string message,
                                     std::vector<std::string> fields = {}) {
  return Json(status, ErrorArray({{std::move(code), std::move(message), std::move(fields)}}));
}

inline http::ServerResponse NotFound() {
  return ApiError(404, "NOT_FOUND", "The requested resource does not exist");
}

inline http::ServerResponse MethodNotAllowed(const std::string& method,
                                             const std::string& allowed) {
  auto res = ApiError(405, "METHOD_NOT_ALLOWED",
                      "HTTP Method '" + method + "' not allowed. Allowed are " + allowed);
  res.headers.Add("Allow", allowed);
  return res;
}

inline std::string OAuthErrorBody(const OAuthError& e) {
  return "{\"error\":\"" + JsonEscape(e.error) + "\",\"error_description\":\"" +
         JsonEscape(e.description) + "\"}";
}

// Length in characters (code points) of valid UTF-8.
inline size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

inline std::string Truncate(std::string_view s, size_t max = 100) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

inline std::string ValueText(const Value& v) {
  if (v.IsString()) return std::string(Str(v));
  if (v.IsNull()) return "null";
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  rapidjson::StringBuffer buf;
  Writer w(buf);
  if (v.IsNumber()) {
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
  }
  return v.IsObject() ? "{...}" : "[...]";
}

inline bool Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

inline int Num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

inline bool ValidDate(std::string_view s) {
  if (s.size() < 10 || !Digits(s, 0, 4) || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' ||
      !Digits(s, 8, 2)) {
    return false;
  }
  int y = Num(s, 0, 4), m = Num(s, 5, 2), d = Num(s, 8, 2);
  static const int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > kDays[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

inline bool ValidDateTime(std::string_view s) {
  if (!ValidDate(s)) return false;
  if (s.size() == 10) return true;
  if (s[10] != 'T' || !Digits(s, 11, 2) || s.size() < 16 || s[13] != ':' || !Digits(s, 14, 2)) {
    return false;
  }
  if (Num(s, 11, 2) > 23 || Num(s, 14, 2) > 59) return false;
  size_t p = 16;
  if (p < s.size() && s[p] == ':') {
    if (!Digits(s, p + 1, 2) || Num(s, p + 1, 2) > 60) return false;
    p += 3;
    if (p < s.size() && s[p] == '.') {
      size_t q = p + 1;
      while (q < s.size() && std::isdigit(static_cast<unsigned char>(s[q]))) ++q;
      if (q == p + 1) return false;
      p = q;
    }
  }
  if (p == s.size()) return true;
  if (s[p] == 'Z') return p + 1 == s.size();
  if (s[p] != '+' && s[p] != '-') return false;
  std::string_view z = s.substr(p + 1);
  if (z.size() == 5 && Digits(z, 0, 2) && z[2] == ':' && Digits(z, 3, 2)) return true;
  return z.size() == 4 && Digits(z, 0, 4);
}

inline bool ParseIntText(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return i < s.size() && Digits(s, i, s.size() - i);
}

inline bool ParseDoubleText(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  std::string t(s);
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(d);
}

// Splits "/a/b/c/" into decoded segments {"a","b","c"}.
inline std::vector<std::string> Segments(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    out.push_back(http::ServerPercentDecode(path.substr(i, j - i), false));
    i = j;
  }
  return out;
}

// "v62.0" → 62.0; nullopt unless v<digits>.0.
inline std::optional<double> ParseVersion(std::string_view s) {
  if (s.size() < 4 || s.size() > 8 || s[0] != 'v' || s.substr(s.size() - 2) != ".0") {
    return std::nullopt;
  }
  std::string_view major = s.substr(1, s.size() - 3);
  if (major.empty() || !Digits(major, 0, major.size())) return std::nullopt;
  return static_cast<double>(Num(major, 0, major.size()));
}

inline std::string VersionText(double v) { return std::to_string(static_cast<int>(v)) + ".0"; }

inline std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string key = http::ServerPercentDecode(pair.substr(0, eq), true);
    std::string value =
        eq == std::string_view::npos ? "" : http::ServerPercentDecode(pair.substr(eq + 1), true);
    out.emplace(std::move(key), std::move(value));
  }
  return out;
}

inline constexpr const char* kMaintenanceHtml =
    "<!DOCTYPE html>\n<html><head><title>Salesforce - Maintenance</title></head>\n"
    "<body><h1>Down for Maintenance</h1>\n"
    "<p>This Salesforce instance is currently unavailable due to scheduled maintenance. "
    "Please try again later.</p></body></html>\n";

// ---- the org's data ----

}  // namespace sluice::sfsim::detail

#include "sluice/sfsim/simulator.h"

#include <openssl/hmac.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/auth.h"
#include "sluice/sfsim/latency.h"
#include "sluice/sfsim/ledger.h"
#include "sluice/sfsim/record_id.h"
#include "sluice/sfsim/usage.h"

namespace sluice::sfsim {
namespace {

using rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;
using TimePoint = Clock::TimePoint;
using Duration = Clock::Duration;

constexpr std::string_view kJsonType = "application/json;charset=UTF-8";
constexpr double kCompositeCreateMinVersion = 42.0;
constexpr double kCompositeUpsertMinVersion = 46.0;
constexpr double kUpsertCreatedFlagMinVersion = 46.0;
constexpr double kOperationEnqueuedMinVersion = 44.0;
constexpr int kMaxCollectionChunks = 10;
constexpr uint64_t kDefaultLedgerPage = 100000;
constexpr uint64_t kMaxLedgerPage = 1000000;
constexpr unsigned kParseFlags = rapidjson::kParseValidateEncodingFlag |
                                 rapidjson::kParseIterativeFlag | rapidjson::kParseInsituFlag;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IEq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Str(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

uint64_t KeyHash(std::string_view s) { return std::hash<std::string_view>()(s); }

// Salesforce's error shapes. Top level: [{"message":..,"errorCode":..,"fields":[..]}]; per
// record: {"statusCode":..,"message":..,"fields":[..]}.
struct RecordError {
  std::string code;
  std::string message;
  std::vector<std::string> fields;
};

void WriteFields(Writer& w, const std::vector<std::string>& fields) {
  w.Key("fields");
  w.StartArray();
  for (const auto& f : fields) w.String(f.data(), static_cast<rapidjson::SizeType>(f.size()));
  w.EndArray();
}

std::string ErrorArray(const std::vector<RecordError>& errors, bool with_fields = true) {
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

http::ServerResponse Json(int status, std::string body) {
  http::ServerResponse res;
  res.status = status;
  res.headers.Add("Content-Type", std::string(kJsonType));
  res.body = std::move(body);
  return res;
}

http::ServerResponse ApiError(int status, std::string code, std::string message,
                              std::vector<std::string> fields = {}) {
  return Json(status, ErrorArray({{std::move(code), std::move(message), std::move(fields)}}));
}

http::ServerResponse NotFound() {
  return ApiError(404, "NOT_FOUND", "The requested resource does not exist");
}

http::ServerResponse MethodNotAllowed(const std::string& method, const std::string& allowed) {
  auto res = ApiError(405, "METHOD_NOT_ALLOWED",
                      "HTTP Method '" + method + "' not allowed. Allowed are " + allowed);
  res.headers.Add("Allow", allowed);
  return res;
}

std::string OAuthErrorBody(const OAuthError& e) {
  return "{\"error\":\"" + JsonEscape(e.error) + "\",\"error_description\":\"" +
         JsonEscape(e.description) + "\"}";
}

// Length in characters (code points) of valid UTF-8.
size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Truncate(std::string_view s, size_t max = 100) {
  if (s.size() <= max) return std::string(s);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return std::string(s.substr(0, cut)) + "...";
}

std::string ValueText(const Value& v) {
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

bool Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int Num(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool ValidDate(std::string_view s) {
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

bool ValidDateTime(std::string_view s) {
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

bool ParseIntText(std::string_view s) {
  if (s.empty() || s.size() > 19) return false;
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  return i < s.size() && Digits(s, i, s.size() - i);
}

bool ParseDoubleText(std::string_view s) {
  if (s.empty() || s.size() > 40) return false;
  std::string t(s);
  char* end = nullptr;
  double d = std::strtod(t.c_str(), &end);
  return end == t.c_str() + t.size() && std::isfinite(d);
}

// Splits "/a/b/c/" into decoded segments {"a","b","c"}.
std::vector<std::string> Segments(std::string_view path) {
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
std::optional<double> ParseVersion(std::string_view s) {
  if (s.size() < 4 || s.size() > 8 || s[0] != 'v' || s.substr(s.size() - 2) != ".0") {
    return std::nullopt;
  }
  std::string_view major = s.substr(1, s.size() - 3);
  if (major.empty() || !Digits(major, 0, major.size())) return std::nullopt;
  return static_cast<double>(Num(major, 0, major.size()));
}

std::string VersionText(double v) { return std::to_string(static_cast<int>(v)) + ".0"; }

std::map<std::string, std::string> ParseForm(std::string_view body) {
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

const char* kMaintenanceHtml =
    "<!DOCTYPE html>\n<html><head><title>Salesforce - Maintenance</title></head>\n"
    "<body><h1>Down for Maintenance</h1>\n"
    "<p>This Salesforce instance is currently unavailable due to scheduled maintenance. "
    "Please try again later.</p></body></html>\n";

// ---- the org's data ----

struct RecordState {
  TimePoint locked_until{};
  uint32_t writes = 0;
  std::vector<std::string> keys;  // value per indexed slot ("" = none)
};

struct ObjectState {
  ObjectDef def;
  std::vector<int> slot_of_field;  // field index → slot, or -1
  std::vector<int> field_of_slot;
  // Per slot: 64-bit hash of a value → records holding it (the record's own copy of the value
  // settles hash collisions). Hash keys keep the table's nodes small and string-free.
  std::vector<std::unordered_multimap<uint64_t, uint32_t>> index;
  std::vector<RecordState> records;  // record number n is records[n - 1]
  uint64_t events_published = 0;     // platform events have no stored records

  // Case-insensitive, as Salesforce matches field names; a scan beats hashing a lower-cased copy
  // for the dozen fields an object has.
  int FieldIndex(std::string_view name) const {
    for (size_t i = 0; i < def.fields.size(); ++i) {
      if (IEq(def.fields[i].name, name)) return static_cast<int>(i);
    }
    return -1;
  }
  // Records whose slot holds `value`.
  std::vector<uint32_t> Lookup(int slot, const std::string& value) const {
    std::vector<uint32_t> out;
    auto [b, e] = index[static_cast<size_t>(slot)].equal_range(KeyHash(value));
    for (auto it = b; it != e; ++it) {
      if (records[it->second].keys[static_cast<size_t>(slot)] == value) out.push_back(it->second);
    }
    return out;
  }
};

enum class WriteMode { kCreate, kUpsert, kUpdate };

// One record's planned write, decided before anything is applied (so allOrNone can refuse all).
struct Plan {
  ObjectState* obj = nullptr;
  bool create = true;
  uint32_t record = 0;  // index into obj->records when updating
  std::string key_value;
  std::vector<std::pair<int, std::string>> keys;  // slot → new value ("" clears)
  std::string event_id;
  std::optional<RecordError> error;
  std::string record_id;  // filled on commit
};

struct ScheduledFault {
  std::string kind;
  TimePoint until;
  double rate = 1.0;
  bool html = false;
  double slow_ms = 0;
};

}  // namespace

class Simulator::Impl {
 public:
  Impl(const SimOptions& options, Clock& clock, std::unique_ptr<Ledger> ledger,
       std::unique_ptr<JwtVerifier> jwt)
      : options_(options),
        clock_(clock),
        rng_(options.faults.seed),
        latency_(options.latency, options.faults.seed * 7919 + 1),
        tokens_(options.org.org_id.substr(0, 15), options.org.session_timeout, options.faults.seed),
        usage_(clock.Now()),
        ledger_(std::move(ledger)),
        jwt_(std::move(jwt)) {
    for (const auto& def : options.org.objects) {
      auto obj = std::make_unique<ObjectState>();
      obj->def = def;
      for (size_t i = 0; i < def.fields.size(); ++i) {
        const auto& f = def.fields[i];
        if ((f.unique || f.external_id) && !def.platform_event) {
          obj->slot_of_field.push_back(static_cast<int>(obj->field_of_slot.size()));
          obj->field_of_slot.push_back(static_cast<int>(i));
        } else {
          obj->slot_of_field.push_back(-1);
        }
      }
      obj->index.resize(obj->field_of_slot.size());
      objects_by_lower_.emplace(Lower(def.name), obj.get());
      objects_.push_back(std::move(obj));
    }
  }

  Outcome Handle(http::ServerRequest& req) {
    std::lock_guard lock(mu_);
    TimePoint now = clock_.Now();
    uint64_t request_id = ++request_seq_;
    Outcome out;
    std::string route;
    if (req.path.rfind("/sim/", 0) == 0 || req.path == "/sim") {
      route = "admin";
      out.response = HandleAdmin(req, now);
      CountRequest(route, out.response.status);
      return out;
    }
    // Everything else is "the org": in flight until Complete().
    out.ticket = ++ticket_seq_;
    in_flight_.emplace(out.ticket, now);
    peak_in_flight_ = std::max<uint64_t>(peak_in_flight_, in_flight_.size());
    ctx_ = RequestContext{};
    ctx_.now = now;
    ctx_.request_id = request_id;
    ctx_.wall_ms = clock_.WallMillis();

    if (FaultRoll("reset", options_.faults.reset_rate)) {
      faults_reset_++;
      out.reset = true;
      CountRequest("reset", 0);
      return out;
    }
    if (auto unavailable = UnavailableFault()) {
      faults_unavailable_++;
      out.response = std::move(*unavailable);
      CountRequest("unavailable", out.response.status);
      return out;
    }
    route = Route(req, &out.response);
    if (ctx_.latency_applies) {
      Duration d = latency_.Sample(ctx_.records) + ctx_.lock_wait;
      if (SlowFault()) {
        faults_slow_++;
        d += std::chrono::duration_cast<Duration>(
            std::chrono::duration<double, std::milli>(ctx_.slow_ms));
      }
      out.delay = d;
    }
    if (!ctx_.commits.empty() || ctx_.applied) {
      Commit(now + out.delay);
      FinishDeferred(&out.response);
      if (!ctx_.commits.empty() &&
          FaultRoll("reset_after_write", options_.faults.reset_after_write_rate)) {
        faults_reset_after_write_++;
        out.reset = true;
      }
    }
    if (ctx_.api) {
      out.response.headers.Add("Sforce-Limit-Info",
                               "api-usage=" + std::to_string(usage_.Used(now)) + "/" +
                                   std::to_string(options_.limits.daily_api_requests));
    }
    out.response.headers.Add("X-Sfsim-Request-Id", std::to_string(request_id));
    CountRequest(route, out.reset ? 0 : out.response.status);
    return out;
  }

  void Complete(uint64_t ticket) {
    std::lock_guard lock(mu_);
    UpdateLongRunningPeak(clock_.Now());
    in_flight_.erase(ticket);
  }

  void SetBaseUrl(const std::string& url) {
    std::lock_guard lock(mu_);
    base_url_ = url;
  }

  std::string StatsJson() {
    std::lock_guard lock(mu_);
    return StatsJsonLocked();
  }

 private:
  // What the current request decided, applied after the latency is known.
  struct RequestContext {
    TimePoint now{};
    int64_t wall_ms = 0;
    uint64_t request_id = 0;
    bool api = false;              // a /services/data/vXX.X call: gets Sforce-Limit-Info
    bool latency_applies = false;  // the org did work: latency model applies
    int records = 0;
    Duration lock_wait{0};
    double slow_ms = 0;
    std::vector<Plan*> commits;  // successful plans to apply
    bool applied = false;
  };

  // ---- routing ----

  std::string Route(http::ServerRequest& req, http::ServerResponse* res) {
    const std::string& path = req.path;
    if (path == "/services/oauth2/token" || path == "/services/oauth2/token/") {
      *res = OAuthToken(req);
      return "oauth_token";
    }
    auto seg = Segments(path);
    if (seg.size() >= 2 && seg[0] == "services" && seg[1] == "data") {
      if (seg.size() == 2) {
        if (req.method != "GET" && req.method != "HEAD") {
          *res = MethodNotAllowed(req.method, "GET,HEAD");
        } else {
          *res = Versions();
        }
        return "versions";
      }
      return Api(req, seg, res);
    }
    *res = NotFound();
    return "not_found";
  }

  std::string Api(http::ServerRequest& req, const std::vector<std::string>& seg,
                  http::ServerResponse* res) {
    // Authentication comes first, as in Salesforce: no token, no information.
    auto auth = req.headers.Get("Authorization");
    std::string_view token;
    if (auth) {
      std::string_view a = *auth;
      if (a.size() > 7 && IEq(a.substr(0, 7), "Bearer ")) token = a.substr(7);
      if (a.size() > 6 && IEq(a.substr(0, 6), "OAuth ")) token = a.substr(6);
      while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    }
    if (token.empty() || !tokens_.Valid(token, ctx_.now)) {
      *res = ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid");
      res->headers.Add("WWW-Authenticate", "Token");
      return "unauthorized";
    }
    auto version = ParseVersion(seg[2]);
    if (!version || *version < options_.org.api_min_version ||
        *version > options_.org.api_max_version) {
      *res = NotFound();
      return "not_found";
    }
    ctx_.api = true;
    if (usage_.Used(ctx_.now) >= options_.limits.daily_api_requests) {
      *res = ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
      return "limit_exceeded";
    }
    if (LongRunning(ctx_.now) >= options_.limits.max_long_running) {
      *res = ApiError(403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.");
      return "limit_exceeded";
    }
    usage_.Add(ctx_.now);
    ctx_.latency_applies = true;
    double v = *version;
    const std::string& m = req.method;
    std::vector<std::string> rest(seg.begin() + 3, seg.end());
    if (rest.empty()) {
      if (m != "GET") return Set(res, MethodNotAllowed(m, "GET,HEAD"), "resources");
      return Set(res, Resources(v), "resources");
    }
    if (rest[0] == "limits" && rest.size() == 1) {
      if (m != "GET") return Set(res, MethodNotAllowed(m, "GET,HEAD"), "limits");
      return Set(res, Limits(), "limits");
    }
    if (rest[0] == "sobjects") {
      if (rest.size() == 1) {
        if (m != "GET") return Set(res, MethodNotAllowed(m, "GET,HEAD"), "sobjects");
        return Set(res, DescribeGlobal(), "sobjects");
      }
      ObjectState* obj = FindObject(rest[1]);
      if (!obj) return Set(res, NotFound(), "not_found");
      if (rest.size() == 2) {
        if (m == "POST")
          return Set(res, CreateOne(req, obj, v),
                     obj->def.platform_event ? "event_publish" : "sobject_create");
        if (m == "GET") return Set(res, DescribeBasic(*obj), "sobject_describe");
        return Set(res, MethodNotAllowed(m, "GET,HEAD,POST"), "sobject_create");
      }
      if (rest.size() == 3 && rest[2] == "describe") {
        if (m != "GET") return Set(res, MethodNotAllowed(m, "GET,HEAD"), "sobject_describe");
        return Set(res, Describe(*obj), "sobject_describe");
      }
      if (rest.size() == 3) {
        if (m != "PATCH") return Set(res, MethodNotAllowed(m, "PATCH"), "sobject_update");
        return Set(res, UpdateById(req, obj, rest[2]), "sobject_update");
      }
      if (rest.size() == 4) {
        if (m != "PATCH") return Set(res, MethodNotAllowed(m, "PATCH"), "sobject_upsert");
        return Set(res, UpsertOne(req, obj, rest[2], rest[3], v), "sobject_upsert");
      }
      return Set(res, NotFound(), "not_found");
    }
    if (rest[0] == "composite" && rest.size() >= 2 && rest[1] == "sobjects") {
      if (rest.size() == 2) {
        if (v < kCompositeCreateMinVersion) return Set(res, NotFound(), "not_found");
        if (m != "POST") return Set(res, MethodNotAllowed(m, "POST"), "collections_create");
        return Set(res, Collection(req, nullptr, "", v), "collections_create");
      }
      if (rest.size() == 4) {
        if (v < kCompositeUpsertMinVersion) return Set(res, NotFound(), "not_found");
        if (m != "PATCH") return Set(res, MethodNotAllowed(m, "PATCH"), "collections_upsert");
        ObjectState* obj = FindObject(rest[2]);
        if (!obj) return Set(res, NotFound(), "not_found");
        return Set(res, Collection(req, obj, rest[3], v), "collections_upsert");
      }
    }
    return Set(res, NotFound(), "not_found");
  }

  static std::string Set(http::ServerResponse* res, http::ServerResponse value, std::string route) {
    *res = std::move(value);
    return route;
  }

  ObjectState* FindObject(std::string_view name) {
    auto it = objects_by_lower_.find(Lower(name));
    return it == objects_by_lower_.end() ? nullptr : it->second;
  }

  // ---- OAuth ----

  http::ServerResponse OAuthToken(const http::ServerRequest& req) {
    auto error = [](const std::string& code, const std::string& description) {
      // What was refused and why, never what was offered (a wrong secret is often a right one
      // for another org).
      LogWith(*GetLogger("sfsim"), spdlog::level::info,
              {{"event", "token_refused"}, {"error_code", code}}, "token request refused: {} ({})",
              code, description);
      return Json(400, OAuthErrorBody({code, description}));
    };
    if (req.method != "POST") {
      return error("invalid_request", "must use HTTP POST");
    }
    // A scheduled refusal: the credentials are right, but the org refuses them for a while (an
    // admin revoked the app, a password expired), as tests of the relay's auth handling need.
    if (FaultRoll("refuse_auth", 0)) return error("invalid_client", "invalid client credentials");
    auto form = ParseForm(req.body);
    const std::string& grant = form["grant_type"];
    std::string subject;
    if (grant == "client_credentials") {
      std::string id = form["client_id"];
      std::string secret = form["client_secret"];
      if (auto basic = req.headers.Get("Authorization");
          basic && basic->size() > 6 && IEq(basic->substr(0, 6), "Basic ")) {
        auto decoded = Base64Decode(basic->substr(6), false);
        if (!decoded) return error("invalid_client", "invalid client credentials");
        size_t colon = decoded->find(':');
        if (colon == std::string::npos)
          return error("invalid_client", "invalid client credentials");
        id = http::ServerPercentDecode(decoded->substr(0, colon), true);
        secret = http::ServerPercentDecode(decoded->substr(colon + 1), true);
      }
      if (id != options_.org.client_id) {
        return error("invalid_client_id", "client identifier invalid");
      }
      if (secret != options_.org.client_secret) {
        return error("invalid_client", "invalid client credentials");
      }
    } else if (grant == "urn:ietf:params:oauth:grant-type:jwt-bearer") {
      if (!jwt_) return error("invalid_grant", "invalid assertion: no certificate configured");
      JwtPolicy policy;
      policy.client_id = options_.org.client_id;
      policy.usernames = options_.org.usernames;
      policy.audiences = options_.org.jwt_audiences;
      if (!base_url_.empty()) policy.audiences.push_back(base_url_);
      if (!options_.org.instance_url.empty()) {
        policy.audiences.push_back(options_.org.instance_url);
      }
      OAuthError e;
      auto sub = jwt_->Verify(form["assertion"], policy, ctx_.wall_ms / 1000, &e);
      if (!sub.ok()) return error(e.error, e.description);
      subject = *sub;
    } else {
      return error("unsupported_grant_type", "grant type not supported");
    }
    std::string token = tokens_.Issue(ctx_.now);
    LogWith(*GetLogger("sfsim"), spdlog::level::debug,
            {{"event", "token_issued"}, {"grant", grant}}, "token issued ({})", grant);
    std::string issued_at = std::to_string(ctx_.wall_ms);
    std::string id_url =
        "https://login.salesforce.com/id/" + options_.org.org_id + "/" + options_.org.user_id;
    // signature: HMAC-SHA256 of id + issued_at keyed with the consumer secret, base64.
    std::string to_sign = id_url + issued_at;
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), options_.org.client_secret.data(),
         static_cast<int>(options_.org.client_secret.size()),
         reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac, &mac_len);
    std::string signature =
        Base64Encode(std::string_view(reinterpret_cast<char*>(mac), mac_len), false);
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("access_token");
    w.String(token.c_str());
    w.Key("signature");
    w.String(signature.c_str());
    w.Key("scope");
    w.String("api");
    w.Key("instance_url");
    std::string instance = InstanceUrl();
    w.String(instance.c_str());
    w.Key("id");
    w.String(id_url.c_str());
    w.Key("token_type");
    w.String("Bearer");
    w.Key("issued_at");
    w.String(issued_at.c_str());
    w.EndObject();
    auto res = Json(200, std::string(buf.GetString(), buf.GetSize()));
    res.headers.Add("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private");
    return res;
  }

  std::string InstanceUrl() const {
    if (!options_.org.instance_url.empty()) return options_.org.instance_url;
    return base_url_.empty() ? "http://127.0.0.1" : base_url_;
  }

  // ---- read-only resources ----

  http::ServerResponse Versions() {
    static const char* kReleases[] = {"Winter", "Spring", "Summer"};
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    for (int v = static_cast<int>(options_.org.api_min_version);
         v <= static_cast<int>(options_.org.api_max_version); ++v) {
      // v20.0 was Winter '11; three releases a year since.
      std::string label = v < 20 ? std::string("Legacy")
                                 : std::string(kReleases[(v - 20) % 3]) + " '" +
                                       std::to_string((11 + (v - 20) / 3) % 100);
      std::string version = VersionText(v);
      std::string url = "/services/data/v" + version;
      w.StartObject();
      w.Key("label");
      w.String(label.c_str());
      w.Key("url");
      w.String(url.c_str());
      w.Key("version");
      w.String(version.c_str());
      w.EndObject();
    }
    w.EndArray();
    return Json(200, std::string(buf.GetString(), buf.GetSize()));
  }

  http::ServerResponse Resources(double v) {
    std::string base = "/services/data/v" + VersionText(v);
    std::string body = "{\"sobjects\":\"" + base + "/sobjects\",\"limits\":\"" + base +
                       "/limits\",\"composite\":\"" + base + "/composite\"}";
    return Json(200, body);
  }

  http::ServerResponse Limits() {
    int64_t max = options_.limits.daily_api_requests;
    int64_t remaining = std::max<int64_t>(0, max - usage_.Used(ctx_.now));
    auto pair = [](int64_t m, int64_t r) {
      return "{\"Max\":" + std::to_string(m) + ",\"Remaining\":" + std::to_string(r) + "}";
    };
    uint64_t published = 0;
    for (const auto& o : objects_) published += o->events_published;
    int64_t pe_max = 250000;
    int64_t pe_remaining = std::max<int64_t>(0, pe_max - static_cast<int64_t>(published));
    std::string body = "{\"DailyApiRequests\":" + pair(max, remaining) +
                       ",\"DailyAsyncApexExecutions\":" + pair(250000, 250000) +
                       ",\"DailyBulkApiBatches\":" + pair(15000, 15000) +
                       ",\"DailyBulkV2QueryJobs\":" + pair(10000, 10000) +
                       ",\"DailyStreamingApiEvents\":" + pair(1000000, 1000000) +
                       ",\"DataStorageMB\":" + pair(5120, 5120) +
                       ",\"FileStorageMB\":" + pair(20480, 20480) +
                       ",\"HourlyPublishedPlatformEvents\":" + pair(pe_max, pe_remaining) +
                       ",\"MonthlyPlatformEventsUsageEntitlement\":" + pair(300000, 300000) + "}";
    return Json(200, body);
  }

  http::ServerResponse DescribeGlobal() {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("encoding");
    w.String("UTF-8");
    w.Key("maxBatchSize");
    w.Int(options_.limits.max_collection_records);
    w.Key("sobjects");
    w.StartArray();
    for (const auto& o : objects_) WriteObjectSummary(w, *o);
    w.EndArray();
    w.EndObject();
    return Json(200, std::string(buf.GetString(), buf.GetSize()));
  }

  void WriteObjectSummary(Writer& w, const ObjectState& o) {
    w.StartObject();
    w.Key("name");
    w.String(o.def.name.c_str());
    w.Key("label");
    w.String(o.def.name.c_str());
    w.Key("keyPrefix");
    w.String(o.def.key_prefix.c_str());
    w.Key("custom");
    w.Bool(o.def.name.find("__") != std::string::npos);
    w.Key("createable");
    w.Bool(true);
    w.Key("updateable");
    w.Bool(!o.def.platform_event);
    w.Key("queryable");
    w.Bool(false);
    w.EndObject();
  }

  http::ServerResponse DescribeBasic(const ObjectState& o) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("objectDescribe");
    WriteObjectSummary(w, o);
    w.Key("recentItems");
    w.StartArray();
    w.EndArray();
    w.EndObject();
    return Json(200, std::string(buf.GetString(), buf.GetSize()));
  }

  http::ServerResponse Describe(const ObjectState& o) {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("name");
    w.String(o.def.name.c_str());
    w.Key("keyPrefix");
    w.String(o.def.key_prefix.c_str());
    w.Key("fields");
    w.StartArray();
    w.StartObject();
    w.Key("name");
    w.String("Id");
    w.Key("type");
    w.String("id");
    w.Key("length");
    w.Int(18);
    w.Key("nillable");
    w.Bool(false);
    w.EndObject();
    for (const auto& f : o.def.fields) {
      w.StartObject();
      w.Key("name");
      w.String(f.name.c_str());
      w.Key("type");
      std::string type(FieldTypeName(f.type));
      w.String(type.c_str());
      w.Key("length");
      w.Int(f.length);
      w.Key("nillable");
      w.Bool(!f.required);
      w.Key("unique");
      w.Bool(f.unique);
      w.Key("externalId");
      w.Bool(f.external_id);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Json(200, std::string(buf.GetString(), buf.GetSize()));
  }

  // ---- writes ----

  // Parses `body` in place; on failure fills `res` with Salesforce's JSON_PARSER_ERROR.
  bool ParseBody(std::string& body, rapidjson::Document* doc, http::ServerResponse* res) {
    if (body.empty()) {
      *res = ApiError(400, "JSON_PARSER_ERROR",
                      "The HTTP entity body is required, but this request has no entity body.");
      return false;
    }
    doc->ParseInsitu<kParseFlags>(body.data());
    if (doc->HasParseError()) {
      *res = ApiError(400, "JSON_PARSER_ERROR",
                      std::string(rapidjson::GetParseError_En(doc->GetParseError())) +
                          " at [line:1, column:" + std::to_string(doc->GetErrorOffset() + 1) + "]");
      return false;
    }
    return true;
  }

  // Validates one record's fields and works out what writing it would do. `key_field` (a field
  // index, or -1 for "Id") and `key_value` are the upsert key; for kCreate they are unused.
  void PlanRecord(Plan* p, const Value& rec, WriteMode mode, int key_field,
                  const std::optional<std::string>& key_value) {
    ObjectState& obj = *p->obj;
    const ObjectDef& def = obj.def;
    std::vector<bool> seen(def.fields.size(), false);
    std::vector<std::string> missing;
    for (const auto& m : rec.GetObject()) {
      std::string_view name = Str(m.name);
      if (name == "attributes") continue;
      if (IEq(name, "Id")) {
        if (mode == WriteMode::kCreate || mode == WriteMode::kUpdate || key_field >= 0) {
          p->error = RecordError{"INVALID_FIELD_FOR_INSERT_UPDATE",
                                 "Unable to create/update fields: Id. Please check the security "
                                 "settings of this field and verify that it is read/write for "
                                 "your profile or permission set.",
                                 {"Id"}};
          return;
        }
        continue;  // upsert on Id: the key, handled below
      }
      int fi = obj.FieldIndex(name);
      if (fi < 0) {
        p->error =
            RecordError{"INVALID_FIELD",
                        "No such column '" + std::string(name) + "' on sobject of type " + def.name,
                        {}};
        return;
      }
      const FieldDef& f = def.fields[static_cast<size_t>(fi)];
      seen[static_cast<size_t>(fi)] = true;
      const Value& v = m.value;
      bool is_null = v.IsNull() || (v.IsString() && v.GetStringLength() == 0);
      if (is_null) {
        if (f.required) missing.push_back(f.name);
        if (obj.slot_of_field[static_cast<size_t>(fi)] >= 0) {
          p->keys.emplace_back(obj.slot_of_field[static_cast<size_t>(fi)], "");
        }
        continue;
      }
      if (auto e = CheckValue(f, v)) {
        p->error = std::move(e);
        return;
      }
      if (f.name == options_.ledger.event_id_field) p->event_id = ValueText(v);
      int slot = obj.slot_of_field[static_cast<size_t>(fi)];
      if (slot >= 0) p->keys.emplace_back(slot, ValueText(v));
    }
    // The upsert key.
    if (mode == WriteMode::kUpsert) {
      if (!key_value || key_value->empty()) {
        std::string kf = key_field >= 0 ? def.fields[static_cast<size_t>(key_field)].name : "Id";
        p->error = RecordError{"MISSING_ARGUMENT", kf + " not specified", {}};
        return;
      }
      p->key_value = *key_value;
      if (key_field < 0) {
        auto n = ParseRecordNumber(*key_value, def.key_prefix);
        if (!IsValidRecordId(*key_value)) {
          p->error = RecordError{
              "MALFORMED_ID", "Id: id value of incorrect type: " + Truncate(*key_value), {"Id"}};
          return;
        }
        if (!n || *n == 0 || *n > obj.records.size()) {
          p->error = RecordError{"NOT_FOUND", "The requested resource does not exist", {}};
          return;
        }
        p->create = false;
        p->record = static_cast<uint32_t>(*n - 1);
      } else {
        int slot = obj.slot_of_field[static_cast<size_t>(key_field)];
        // The key value wins over a same-named body field.
        p->keys.erase(std::remove_if(p->keys.begin(), p->keys.end(),
                                     [&](const auto& k) { return k.first == slot; }),
                      p->keys.end());
        p->keys.emplace_back(slot, *key_value);
        seen[static_cast<size_t>(key_field)] = true;
        auto matches = obj.Lookup(slot, *key_value);
        if (matches.size() > 1) {
          std::string ids;
          for (auto r : matches) {
            if (!ids.empty()) ids += ", ";
            ids += RecordId(obj, r);
          }
          p->error = RecordError{"MULTIPLE_RECORDS_FOUND",
                                 "More than 1 record found for external id field: [" + ids + "]",
                                 {}};
          return;
        }
        p->create = matches.empty();
        if (!matches.empty()) p->record = matches[0];
      }
    } else if (mode == WriteMode::kUpdate) {
      p->create = false;
    }
    if (p->create) {
      for (size_t i = 0; i < def.fields.size(); ++i) {
        if (def.fields[i].required && !seen[i]) missing.push_back(def.fields[i].name);
      }
    }
    if (!missing.empty()) {
      std::string list;
      for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
      p->error = RecordError{"REQUIRED_FIELD_MISSING",
                             "Required fields are missing: [" + list + "]", missing};
      return;
    }
  }

  std::optional<RecordError> CheckValue(const FieldDef& f, const Value& v) {
    auto wrong_type = [&]() {
      return RecordError{"INVALID_TYPE_ON_FIELD_IN_RECORD",
                         f.name + ": value not of required type: " + Truncate(ValueText(v)),
                         {f.name}};
    };
    if (v.IsObject() || v.IsArray()) return wrong_type();
    switch (f.type) {
      case FieldType::kString: {
        if (v.IsString()) {
          std::string_view s = Str(v);
          if (Utf8Length(s) > static_cast<size_t>(f.length)) {
            return RecordError{"STRING_TOO_LONG",
                               f.name + ": data value too large: " + Truncate(s) +
                                   " (max length=" + std::to_string(f.length) + ")",
                               {f.name}};
          }
        }
        return std::nullopt;
      }
      case FieldType::kBoolean:
        if (v.IsBool()) return std::nullopt;
        if (v.IsString() && (IEq(Str(v), "true") || IEq(Str(v), "false"))) return std::nullopt;
        return wrong_type();
      case FieldType::kInt:
        if (v.IsInt64() || v.IsUint64()) return std::nullopt;
        if (v.IsDouble() && std::floor(v.GetDouble()) == v.GetDouble()) return std::nullopt;
        if (v.IsString() && ParseIntText(Str(v))) return std::nullopt;
        return wrong_type();
      case FieldType::kDouble:
        if (v.IsNumber()) return std::nullopt;
        if (v.IsString() && ParseDoubleText(Str(v))) return std::nullopt;
        return wrong_type();
      case FieldType::kDate:
        if (v.IsString() && Str(v).size() == 10 && ValidDate(Str(v))) return std::nullopt;
        return wrong_type();
      case FieldType::kDateTime:
        if (v.IsString() && ValidDateTime(Str(v))) return std::nullopt;
        return wrong_type();
      case FieldType::kReference:
        if (v.IsString() && IsValidRecordId(Str(v))) return std::nullopt;
        return RecordError{"MALFORMED_ID",
                           f.name + ": id value of incorrect type: " + Truncate(ValueText(v)),
                           {f.name}};
    }
    return std::nullopt;
  }

  // Unique values, lock waits and lock faults, checked in request order against the store and
  // against earlier records of the same request.
  void CheckConflicts(std::vector<Plan>& plans) {
    std::unordered_set<std::string> claimed;  // "slot\x1fvalue" claimed by earlier records
    for (auto& p : plans) {
      if (p.error) continue;
      ObjectState& obj = *p.obj;
      for (const auto& [slot, value] : p.keys) {
        if (value.empty()) continue;
        const FieldDef& f = obj.def.fields[static_cast<size_t>(obj.field_of_slot[slot])];
        if (!f.unique && !f.external_id) continue;
        if (!f.unique) continue;  // external ids that are not unique may repeat
        std::string claim = obj.def.name + '\x1f' + std::to_string(slot) + '\x1f' + value;
        bool taken_here = claimed.count(claim) > 0;
        uint32_t other = 0;
        bool taken_store = false;
        for (uint32_t r : obj.Lookup(slot, value)) {
          if (p.create || r != p.record) {
            taken_store = true;
            other = r;
            break;
          }
        }
        if (taken_here || taken_store) {
          std::string who = taken_store ? RecordId(obj, other) : "(a record in this request)";
          p.error = RecordError{
              "DUPLICATE_VALUE",
              "duplicate value found: " + f.name + " duplicates value on record with id: " + who,
              {f.name}};
          break;
        }
      }
      if (p.error) continue;
      for (const auto& [slot, value] : p.keys) {
        if (!value.empty()) {
          claimed.insert(obj.def.name + '\x1f' + std::to_string(slot) + '\x1f' + value);
        }
      }
      // Record locks: a write overlapping an earlier one on the same record waits for it.
      if (!p.create) {
        const RecordState& rs = obj.records[p.record];
        if (rs.locked_until > ctx_.now) {
          Duration wait = rs.locked_until - ctx_.now;
          Duration timeout = options_.limits.lock_timeout;
          if (wait > timeout) {
            ctx_.lock_wait = std::max(ctx_.lock_wait, timeout);
            p.error = LockError(obj, p.record);
            locks_timed_out_++;
            continue;
          }
          ctx_.lock_wait = std::max(ctx_.lock_wait, wait);
          locks_waited_++;
        }
      }
      if (LockFault()) {
        faults_lock_rows_++;
        p.error = LockError(obj, p.create ? UINT32_MAX : p.record);
      }
    }
  }

  RecordError LockError(const ObjectState& obj, uint32_t record) {
    std::string id = record == UINT32_MAX ? MakeRecordId(obj.def.key_prefix, obj.records.size() + 1)
                                          : RecordId(obj, record);
    return RecordError{"UNABLE_TO_LOCK_ROW",
                       "unable to obtain exclusive access to this record or 1 records: " + id,
                       {}};
  }

  static std::string RecordId(const ObjectState& obj, uint32_t record) {
    return MakeRecordId(obj.def.key_prefix, static_cast<uint64_t>(record) + 1);
  }

  // Applies the successful plans; their records stay locked until `end`.
  void Commit(TimePoint end) {
    for (Plan* p : ctx_.commits) {
      ObjectState& obj = *p->obj;
      bool created = p->create;
      if (obj.def.platform_event) {
        obj.events_published++;
        p->record_id = MakeRecordId(obj.def.key_prefix, obj.events_published);
      } else if (created) {
        RecordState rs;
        rs.locked_until = end;
        rs.writes = 1;
        rs.keys.assign(obj.field_of_slot.size(), std::string());
        uint32_t r = static_cast<uint32_t>(obj.records.size());
        for (auto& [slot, value] : p->keys) {
          if (value.empty()) continue;
          obj.index[static_cast<size_t>(slot)].emplace(KeyHash(value), r);
          rs.keys[static_cast<size_t>(slot)] = value;
        }
        obj.records.push_back(std::move(rs));
        p->record = r;
        p->record_id = RecordId(obj, r);
      } else {
        RecordState& rs = obj.records[p->record];
        for (auto& [slot, value] : p->keys) {
          std::string& old = rs.keys[static_cast<size_t>(slot)];
          if (old == value) continue;
          auto& idx = obj.index[static_cast<size_t>(slot)];
          if (!old.empty()) {
            auto [b, e] = idx.equal_range(KeyHash(old));
            for (auto it = b; it != e; ++it) {
              if (it->second == p->record) {
                idx.erase(it);
                break;
              }
            }
          }
          if (!value.empty()) idx.emplace(KeyHash(value), p->record);
          old = value;
        }
        rs.writes++;
        if (rs.writes == 2) duplicate_keys_++;
        duplicate_writes_++;
        rs.locked_until = std::max(rs.locked_until, end);
        p->record_id = RecordId(obj, p->record);
      }
      records_written_++;
      (created ? records_created_ : records_updated_)++;
      if (!p->event_id.empty()) {
        auto& n = event_ids_[KeyHash(p->event_id)];
        if (++n == 2) duplicate_event_ids_++;
      }
      if (p->key_value.empty()) {
        // A create that sets an external id: the ledger keys it by that value too.
        for (const auto& [slot, value] : p->keys) {
          if (!value.empty() &&
              obj.def.fields[static_cast<size_t>(obj.field_of_slot[static_cast<size_t>(slot)])]
                  .external_id) {
            p->key_value = value;
            break;
          }
        }
      }
      LedgerEntry e;
      e.received_ms = ctx_.wall_ms;
      e.sobject = obj.def.name;
      e.external_id = p->key_value;
      e.record_id = p->record_id;
      e.event_id = p->event_id;
      e.request_id = ctx_.request_id;
      e.created = created;
      ledger_->Append(std::move(e));
    }
    (void)ledger_->Flush();
  }

  // The shared start of the one-record writes (create, upsert, update): parses the body, refuses
  // anything but a JSON object, and plans it as plans_[0] (`prepare` may set the plan up first).
  // Returns the error answer, or nullopt with plans_[0] planned.
  std::optional<http::ServerResponse> PlanOne(http::ServerRequest& req, ObjectState* obj,
                                              WriteMode mode, int key_field,
                                              const std::optional<std::string>& key_value,
                                              const std::function<void(Plan&)>& prepare = {}) {
    rapidjson::Document doc;
    http::ServerResponse res;
    if (!ParseBody(req.body, &doc, &res)) return res;
    if (!doc.IsObject()) {
      return ApiError(400, "JSON_PARSER_ERROR",
                      "Cannot deserialize instance of " + obj->def.name + " from a non-object");
    }
    ctx_.records = 1;
    plans_.assign(1, Plan{});
    Plan& p = plans_[0];
    p.obj = obj;
    if (prepare) prepare(p);
    PlanRecord(&p, doc, mode, key_field, key_value);
    return std::nullopt;
  }

  // POST /sobjects/{S}/: one record.
  http::ServerResponse CreateOne(http::ServerRequest& req, ObjectState* obj, double v) {
    if (auto error = PlanOne(req, obj, WriteMode::kCreate, -1, std::nullopt)) return *error;
    Plan& p = plans_[0];
    CheckConflicts(plans_);
    if (p.error) {
      records_failed_++;
      return Json(400, ErrorArray({*p.error}));
    }
    ctx_.commits.push_back(&p);
    // The id is known only at commit; commit now (the lock end is set again below).
    return Deferred([this, obj, v]() {
      Plan& q = plans_[0];
      rapidjson::StringBuffer buf;
      Writer w(buf);
      w.StartObject();
      w.Key("id");
      w.String(q.record_id.c_str());
      w.Key("success");
      w.Bool(true);
      w.Key("errors");
      w.StartArray();
      if (obj->def.platform_event && v >= kOperationEnqueuedMinVersion) WriteEnqueued(w);
      w.EndArray();
      w.EndObject();
      return Json(201, std::string(buf.GetString(), buf.GetSize()));
    });
  }

  void WriteEnqueued(Writer& w) {
    std::string uuid = Uuid();
    w.StartObject();
    w.Key("statusCode");
    w.String("OPERATION_ENQUEUED");
    w.Key("message");
    w.String(uuid.c_str());
    w.Key("fields");
    w.StartArray();
    w.EndArray();
    w.EndObject();
  }

  std::string Uuid() {
    uint64_t a = rng_(), b = rng_();
    a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
    b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
    char out[37];
    std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                  static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                  static_cast<unsigned>(b >> 48),
                  static_cast<unsigned long long>(b & 0xffffffffffffULL));
    return out;
  }

  // The field an upsert matches on: -1 for Id, a field index for an external id field of a
  // record object, kNoKeyField for anything else (unknown, not an external id, platform events).
  static constexpr int kNoKeyField = -2;
  static int KeyFieldIndex(ObjectState* obj, const std::string& field) {
    if (obj->def.platform_event) return kNoKeyField;
    if (IEq(field, "Id")) return -1;
    const int fi = obj->FieldIndex(field);
    return fi >= 0 && obj->def.fields[static_cast<size_t>(fi)].external_id ? fi : kNoKeyField;
  }
  static http::ServerResponse UnknownKeyField(const std::string& field) {
    return ApiError(404, "NOT_FOUND",
                    "Provided external ID field does not exist or is not accessible: " + field);
  }

  // PATCH /sobjects/{S}/{Field}/{value}.
  http::ServerResponse UpsertOne(http::ServerRequest& req, ObjectState* obj,
                                 const std::string& field, const std::string& value, double v) {
    const int key_field = KeyFieldIndex(obj, field);
    if (key_field == kNoKeyField) return UnknownKeyField(field);
    if (auto error = PlanOne(req, obj, WriteMode::kUpsert, key_field, value)) return *error;
    Plan& p = plans_[0];
    if (p.error && p.error->code == "MULTIPLE_RECORDS_FOUND") {
      records_failed_++;
      // 300 with the matching records' URLs.
      rapidjson::StringBuffer buf;
      Writer w(buf);
      w.StartArray();
      int slot = obj->slot_of_field[static_cast<size_t>(key_field)];
      for (uint32_t r : obj->Lookup(slot, value)) {
        std::string url = "/services/data/v" + VersionText(v) + "/sobjects/" + obj->def.name + "/" +
                          RecordId(*obj, r);
        w.String(url.c_str());
      }
      w.EndArray();
      return Json(300, std::string(buf.GetString(), buf.GetSize()));
    }
    if (p.error && p.error->code == "NOT_FOUND") {
      records_failed_++;
      return NotFound();
    }
    CheckConflicts(plans_);
    if (p.error) {
      records_failed_++;
      return Json(400, ErrorArray({*p.error}));
    }
    ctx_.commits.push_back(&p);
    return Deferred([this, v]() {
      Plan& q = plans_[0];
      if (!q.create && v < kUpsertCreatedFlagMinVersion) {
        http::ServerResponse r;
        r.status = 204;
        return r;
      }
      rapidjson::StringBuffer buf;
      Writer w(buf);
      w.StartObject();
      w.Key("id");
      w.String(q.record_id.c_str());
      w.Key("success");
      w.Bool(true);
      w.Key("errors");
      w.StartArray();
      w.EndArray();
      w.Key("created");
      w.Bool(q.create);
      w.EndObject();
      return Json(q.create ? 201 : 200, std::string(buf.GetString(), buf.GetSize()));
    });
  }

  // PATCH /sobjects/{S}/{id}: update by id, 204.
  http::ServerResponse UpdateById(http::ServerRequest& req, ObjectState* obj,
                                  const std::string& id) {
    if (obj->def.platform_event) return NotFound();
    if (!IsValidRecordId(id)) {
      return ApiError(400, "MALFORMED_ID",
                      obj->def.name + " ID: id value of incorrect type: " + Truncate(id), {"Id"});
    }
    auto n = ParseRecordNumber(id, obj->def.key_prefix);
    if (!n || *n == 0 || *n > obj->records.size()) return NotFound();
    const auto record = static_cast<uint32_t>(*n - 1);
    if (auto error = PlanOne(req, obj, WriteMode::kUpdate, -1, std::nullopt, [&](Plan& q) {
          q.create = false;
          q.record = record;
        })) {
      return *error;
    }
    Plan& p = plans_[0];
    CheckConflicts(plans_);
    if (p.error) {
      records_failed_++;
      return Json(400, ErrorArray({*p.error}));
    }
    ctx_.commits.push_back(&p);
    http::ServerResponse ok;
    ok.status = 204;
    return ok;
  }

  // POST /composite/sobjects (obj == nullptr) and PATCH /composite/sobjects/{S}/{Field}.
  http::ServerResponse Collection(http::ServerRequest& req, ObjectState* upsert_obj,
                                  const std::string& field, double v) {
    int key_field = kNoKeyField;
    if (upsert_obj) {
      key_field = KeyFieldIndex(upsert_obj, field);
      if (key_field == kNoKeyField) return UnknownKeyField(field);
    }
    rapidjson::Document doc;
    http::ServerResponse res;
    if (!ParseBody(req.body, &doc, &res)) return res;
    if (!doc.IsObject()) {
      return ApiError(400, "JSON_PARSER_ERROR",
                      "Cannot deserialize instance of SObjectCollectionRequest from a non-object");
    }
    bool all_or_none = false;
    auto aon = doc.FindMember("allOrNone");
    if (aon != doc.MemberEnd()) {
      if (!aon->value.IsBool()) {
        return ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false");
      }
      all_or_none = aon->value.GetBool();
    }
    auto recs = doc.FindMember("records");
    if (recs == doc.MemberEnd() || !recs->value.IsArray()) {
      return ApiError(400, "JSON_PARSER_ERROR", "records must be an array of records");
    }
    const auto& arr = recs->value.GetArray();
    if (arr.Size() > static_cast<unsigned>(options_.limits.max_collection_records)) {
      return ApiError(400, "EXCEEDED_ID_LIMIT",
                      "record limit reached. cannot submit more than " +
                          std::to_string(options_.limits.max_collection_records) +
                          " records into this call");
    }
    // Types: every record names a known type; upserts all name the path's type; creates use at
    // most 10 chunks (runs of one type).
    int chunks = 0;
    const ObjectState* prev = nullptr;
    std::vector<ObjectState*> types;
    types.reserve(arr.Size());
    for (const auto& r : arr) {
      if (!r.IsObject()) {
        return ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object");
      }
      auto attrs = r.FindMember("attributes");
      const Value* type = nullptr;
      if (attrs != r.MemberEnd() && attrs->value.IsObject()) {
        auto t = attrs->value.FindMember("type");
        if (t != attrs->value.MemberEnd() && t->value.IsString()) type = &t->value;
      }
      if (!type) {
        return ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.");
      }
      ObjectState* obj = FindObject(Str(*type));
      if (!obj) {
        return ApiError(400, "INVALID_TYPE",
                        "sObject type '" + Truncate(Str(*type)) + "' is not supported.");
      }
      if (upsert_obj && obj != upsert_obj) {
        return ApiError(400, "INVALID_TYPE",
                        "Record type " + obj->def.name + " does not match the URL's sObject " +
                            upsert_obj->def.name);
      }
      if (obj != prev) ++chunks;
      prev = obj;
      types.push_back(obj);
    }
    if (chunks > kMaxCollectionChunks) {
      return ApiError(400, "INVALID_OPERATION",
                      "Cannot have more than 10 chunks in a single operation. Please rearrange "
                      "the data to reduce chunking.");
    }
    ctx_.records = static_cast<int>(arr.Size());
    plans_.assign(arr.Size(), Plan{});
    // Upsert keys repeated inside one request fail on every record that repeats them.
    std::unordered_map<std::string_view, int> key_count;
    std::vector<std::optional<std::string>> keys(arr.Size());
    if (upsert_obj) {
      const std::string key_name = key_field >= 0
                                       ? upsert_obj->def.fields[static_cast<size_t>(key_field)].name
                                       : std::string("Id");
      for (unsigned i = 0; i < arr.Size(); ++i) {
        const Value& r = arr[i];
        for (const auto& m : r.GetObject()) {
          if (IEq(Str(m.name), key_name) && !m.value.IsNull() && !m.value.IsObject() &&
              !m.value.IsArray()) {
            keys[i] = ValueText(m.value);
            break;
          }
        }
      }
      for (const auto& k : keys) {
        if (k && !k->empty()) key_count[*k]++;
      }
    }
    for (unsigned i = 0; i < arr.Size(); ++i) {
      Plan& p = plans_[i];
      p.obj = types[i];
      if (upsert_obj) {
        if (keys[i] && !keys[i]->empty() && key_count[*keys[i]] > 1) {
          p.key_value = *keys[i];
          p.error = RecordError{"DUPLICATE_EXTERNAL_ID",
                                "Duplicate external id specified: " + Truncate(*keys[i]),
                                {}};
          continue;
        }
        if (key_field == -1 && !keys[i]) {
          PlanRecord(&p, arr[i], WriteMode::kCreate, -1, std::nullopt);  // no Id: a create
        } else {
          PlanRecord(&p, arr[i], WriteMode::kUpsert, key_field, keys[i]);
        }
      } else {
        PlanRecord(&p, arr[i], WriteMode::kCreate, -1, std::nullopt);
      }
    }
    CheckConflicts(plans_);
    bool any_error = std::any_of(plans_.begin(), plans_.end(),
                                 [](const Plan& p) { return p.error.has_value(); });
    bool rolled_back = all_or_none && any_error;
    for (auto& p : plans_) {
      if (p.error) {
        records_failed_++;
      } else if (!rolled_back) {
        ctx_.commits.push_back(&p);
      }
    }
    bool upsert = upsert_obj != nullptr;
    return Deferred([this, rolled_back, upsert, v]() {
      rapidjson::StringBuffer buf;
      Writer w(buf);
      w.StartArray();
      for (auto& p : plans_) {
        w.StartObject();
        if (p.error || rolled_back) {
          w.Key("success");
          w.Bool(false);
          w.Key("errors");
          w.StartArray();
          w.StartObject();
          RecordError e = p.error ? *p.error
                                  : RecordError{"ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                                "Record rolled back because not all records "
                                                "were valid and the request was using AllOrNone "
                                                "header",
                                                {}};
          w.Key("statusCode");
          w.String(e.code.c_str());
          w.Key("message");
          w.String(e.message.data(), static_cast<rapidjson::SizeType>(e.message.size()));
          WriteFields(w, e.fields);
          w.EndObject();
          w.EndArray();
        } else {
          w.Key("id");
          w.String(p.record_id.c_str());
          w.Key("success");
          w.Bool(true);
          w.Key("errors");
          w.StartArray();
          if (p.obj->def.platform_event && v >= kOperationEnqueuedMinVersion) WriteEnqueued(w);
          w.EndArray();
          if (upsert) {
            w.Key("created");
            w.Bool(p.create);
          }
        }
        w.EndObject();
      }
      w.EndArray();
      return Json(200, std::string(buf.GetString(), buf.GetSize()));
    });
  }

  // A response that can only be written once the commit has assigned ids: Handle() commits, then
  // calls the builder.
  http::ServerResponse Deferred(std::function<http::ServerResponse()> build) {
    deferred_ = std::move(build);
    ctx_.applied = true;
    http::ServerResponse placeholder;
    placeholder.status = -1;
    return placeholder;
  }

 public:
  // Completes a deferred response after Commit (called by Handle).
  void FinishDeferred(http::ServerResponse* res) {
    if (res->status != -1 || !deferred_) return;
    auto headers = std::move(res->headers);
    *res = deferred_();
    for (const auto& [k, v] : headers.fields()) res->headers.Add(k, v);
    deferred_ = nullptr;
  }

 private:
  // ---- limits ----

  int64_t LongRunning(TimePoint now) {
    TimePoint cutoff = now - options_.limits.long_running_threshold;
    int64_t n = 0;
    for (const auto& [ticket, start] : in_flight_) {
      if (start > cutoff) break;  // ordered by ticket, so by start
      ++n;
    }
    peak_long_running_ = std::max(peak_long_running_, n);
    return n;
  }

  void UpdateLongRunningPeak(TimePoint now) { (void)LongRunning(now); }

  // ---- faults ----

  double Uniform() { return std::uniform_real_distribution<double>(0, 1)(rng_); }

  bool FaultRoll(const char* kind, double rate) {
    for (const auto& f : scheduled_) {
      if (f.kind == kind && f.until > ctx_.now && Uniform() < f.rate) return true;
    }
    return rate > 0 && Uniform() < rate;
  }

  std::optional<http::ServerResponse> UnavailableFault() {
    bool html = false;
    bool hit = false;
    for (const auto& f : scheduled_) {
      if (f.kind == "unavailable" && f.until > ctx_.now && Uniform() < f.rate) {
        hit = true;
        html = f.html;
        break;
      }
    }
    if (!hit && options_.faults.unavailable_rate > 0 &&
        Uniform() < options_.faults.unavailable_rate) {
      hit = true;
      html = options_.faults.unavailable_html_fraction > 0 &&
             Uniform() < options_.faults.unavailable_html_fraction;
    }
    if (!hit) return std::nullopt;
    if (html) {
      http::ServerResponse res;
      res.status = 503;
      res.headers.Add("Content-Type", "text/html;charset=UTF-8");
      res.body = kMaintenanceHtml;
      return res;
    }
    return ApiError(503, "SERVER_UNAVAILABLE", "Server too busy");
  }

  bool SlowFault() {
    for (const auto& f : scheduled_) {
      if (f.kind == "slow" && f.until > ctx_.now && Uniform() < f.rate) {
        ctx_.slow_ms = f.slow_ms;
        return true;
      }
    }
    if (options_.faults.slow_rate > 0 && Uniform() < options_.faults.slow_rate) {
      ctx_.slow_ms = options_.faults.slow_ms;
      return true;
    }
    return false;
  }

  bool LockFault() { return FaultRoll("lock_rows", options_.faults.lock_row_rate); }

  // ---- admin API ----

  http::ServerResponse AdminJson(int status, std::string body) {
    http::ServerResponse res;
    res.status = status;
    res.headers.Add("Content-Type", "application/json");
    res.body = std::move(body);
    return res;
  }

  http::ServerResponse AdminError(int status, const std::string& message) {
    return AdminJson(status, "{\"error\":\"" + JsonEscape(message) + "\"}");
  }

  http::ServerResponse HandleAdmin(http::ServerRequest& req, TimePoint now) {
    ctx_ = RequestContext{};
    ctx_.now = now;
    const std::string& p = req.path;
    const std::string& m = req.method;
    if (p == "/sim/stats" || p == "/sim/stats/") {
      if (m != "GET") return AdminError(405, "use GET");
      return AdminJson(200, StatsJsonLocked());
    }
    if (p == "/sim/healthz") return AdminJson(200, "{\"ok\":true}");
    if (p == "/sim/ledger" || p == "/sim/ledger/") {
      if (m != "GET") return AdminError(405, "use GET");
      uint64_t since = 0, limit = kDefaultLedgerPage;
      auto num = [](const std::optional<std::string>& s, uint64_t* out) {
        if (!s) return true;
        if (s->empty() || s->size() > 19 || !Digits(*s, 0, s->size())) return false;
        *out = std::stoull(*s);
        return true;
      };
      if (!num(req.QueryParam("since"), &since) || !num(req.QueryParam("limit"), &limit)) {
        return AdminError(400, "since and limit must be non-negative integers");
      }
      limit = std::min(limit, kMaxLedgerPage);
      http::ServerResponse res;
      res.headers.Add("Content-Type", "application/x-ndjson");
      uint64_t last = since;
      ledger_->ForEachSince(since, limit, [&](const LedgerEntry& e) {
        res.body += e.ToJsonLine();
        res.body += '\n';
        last = e.seq;
      });
      res.headers.Add("X-Sfsim-Ledger-Last", std::to_string(last));
      res.headers.Add("X-Sfsim-Ledger-Total", std::to_string(ledger_->total()));
      res.headers.Add("X-Sfsim-Ledger-First", std::to_string(ledger_->first_in_memory()));
      return res;
    }
    if (p == "/sim/faults" || p == "/sim/faults/") {
      if (m == "GET") return AdminJson(200, FaultsJson());
      if (m == "DELETE") {
        scheduled_.clear();
        return AdminJson(200, FaultsJson());
      }
      if (m != "POST") return AdminError(405, "use GET, POST or DELETE");
      return ScheduleFault(req.body, now);
    }
    if (p == "/sim/reset" || p == "/sim/reset/") {
      if (m != "POST") return AdminError(405, "use POST");
      ResetData(now);
      return AdminJson(200, "{\"ok\":true}");
    }
    return AdminError(404, "no such admin resource; see docs/SFSIM.md");
  }

  http::ServerResponse ScheduleFault(std::string& body, TimePoint now) {
    rapidjson::Document d;
    if (body.empty()) return AdminError(400, "a JSON body is required");
    d.ParseInsitu<kParseFlags>(body.data());
    if (d.HasParseError() || !d.IsObject()) return AdminError(400, "body must be a JSON object");
    auto str = [&](const char* k) -> std::string {
      auto it = d.FindMember(k);
      return it != d.MemberEnd() && it->value.IsString() ? std::string(Str(it->value)) : "";
    };
    auto num = [&](const char* k, double fallback, double lo, double hi, bool* bad) -> double {
      auto it = d.FindMember(k);
      if (it == d.MemberEnd()) return fallback;
      if (!it->value.IsNumber() || !(it->value.GetDouble() >= lo && it->value.GetDouble() <= hi)) {
        *bad = true;
        return fallback;
      }
      return it->value.GetDouble();
    };
    std::string kind = str("kind");
    bool bad = false;
    double duration_ms = num("duration_ms", -1, 0, 365.0 * 86400000, &bad);
    if (duration_ms < 0 && d.HasMember("duration")) {
      auto dur = ParseDuration(str("duration"));
      if (!dur.ok()) return AdminError(400, "duration: " + dur.status().message());
      duration_ms = static_cast<double>(dur->count());
    }
    if (kind == "expire_tokens") {
      tokens_.ExpireAll();
    } else if (kind == "exhaust_daily") {
      int64_t used = usage_.Used(now);
      usage_.Add(now, std::max<int64_t>(0, options_.limits.daily_api_requests - used));
    } else if (kind == "reset_usage") {
      usage_.Clear();
    } else if (kind == "unavailable" || kind == "reset" || kind == "slow" || kind == "lock_rows" ||
               kind == "refuse_auth") {
      if (duration_ms < 0) return AdminError(400, "duration_ms (or duration) is required");
      ScheduledFault f;
      f.kind = kind;
      f.until = now + std::chrono::duration_cast<Duration>(
                          std::chrono::duration<double, std::milli>(duration_ms));
      f.rate = num("rate", 1.0, 0, 1, &bad);
      auto html = d.FindMember("html");
      f.html = html != d.MemberEnd() && html->value.IsBool() && html->value.GetBool();
      f.slow_ms = num("slow_ms", options_.faults.slow_ms, 0, 3600000, &bad);
      if (bad) return AdminError(400, "a number is out of range");
      scheduled_.erase(std::remove_if(scheduled_.begin(), scheduled_.end(),
                                      [&](const ScheduledFault& s) { return s.until <= now; }),
                       scheduled_.end());
      scheduled_.push_back(f);
    } else if (kind == "rates") {
      FaultOptions& fo = options_.faults;
      fo.unavailable_rate = num("unavailable_rate", fo.unavailable_rate, 0, 1, &bad);
      fo.unavailable_html_fraction =
          num("unavailable_html_fraction", fo.unavailable_html_fraction, 0, 1, &bad);
      fo.reset_rate = num("reset_rate", fo.reset_rate, 0, 1, &bad);
      fo.reset_after_write_rate =
          num("reset_after_write_rate", fo.reset_after_write_rate, 0, 1, &bad);
      fo.slow_rate = num("slow_rate", fo.slow_rate, 0, 1, &bad);
      fo.slow_ms = num("slow_ms", fo.slow_ms, 0, 3600000, &bad);
      fo.lock_row_rate = num("lock_row_rate", fo.lock_row_rate, 0, 1, &bad);
      if (bad) return AdminError(400, "a rate is out of range");
    } else if (kind == "latency") {
      LatencyOptions& lo = options_.latency;
      lo.base_ms = num("base_ms", lo.base_ms, 0, 1e9, &bad);
      lo.per_record_ms = num("per_record_ms", lo.per_record_ms, 0, 1e9, &bad);
      lo.tail_median_ms = num("tail_median_ms", lo.tail_median_ms, 0, 1e9, &bad);
      lo.tail_sigma = num("tail_sigma", lo.tail_sigma, 0, 100, &bad);
      lo.max_ms = num("max_ms", lo.max_ms, 0, 1e9, &bad);
      if (bad) return AdminError(400, "a latency value is out of range");
      latency_.set_options(lo);
    } else {
      return AdminError(400,
                        "kind must be one of unavailable, reset, slow, lock_rows, expire_tokens, "
                        "exhaust_daily, reset_usage, rates, latency");
    }
    faults_scheduled_++;
    return AdminJson(200, FaultsJson());
  }

  std::string FaultsJson() {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("active");
    w.StartArray();
    for (const auto& f : scheduled_) {
      if (f.until <= ctx_.now) continue;
      w.StartObject();
      w.Key("kind");
      w.String(f.kind.c_str());
      w.Key("remaining_ms");
      w.Int64(std::chrono::duration_cast<std::chrono::milliseconds>(f.until - ctx_.now).count());
      w.Key("rate");
      w.Double(f.rate);
      if (f.kind == "unavailable") {
        w.Key("html");
        w.Bool(f.html);
      }
      if (f.kind == "slow") {
        w.Key("slow_ms");
        w.Double(f.slow_ms);
      }
      w.EndObject();
    }
    w.EndArray();
    const FaultOptions& fo = options_.faults;
    w.Key("rates");
    w.StartObject();
    w.Key("unavailable_rate");
    w.Double(fo.unavailable_rate);
    w.Key("unavailable_html_fraction");
    w.Double(fo.unavailable_html_fraction);
    w.Key("reset_rate");
    w.Double(fo.reset_rate);
    w.Key("reset_after_write_rate");
    w.Double(fo.reset_after_write_rate);
    w.Key("slow_rate");
    w.Double(fo.slow_rate);
    w.Key("slow_ms");
    w.Double(fo.slow_ms);
    w.Key("lock_row_rate");
    w.Double(fo.lock_row_rate);
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }

  void ResetData(TimePoint now) {
    for (auto& o : objects_) {
      o->records.clear();
      for (auto& idx : o->index) idx.clear();
      o->events_published = 0;
    }
    ledger_->Clear();
    usage_.Clear();
    event_ids_.clear();
    requests_.clear();
    records_written_ = records_created_ = records_updated_ = records_failed_ = 0;
    duplicate_keys_ = duplicate_writes_ = duplicate_event_ids_ = 0;
    peak_in_flight_ = in_flight_.size();
    peak_long_running_ = 0;
    locks_waited_ = locks_timed_out_ = 0;
    faults_reset_ = faults_reset_after_write_ = faults_unavailable_ = faults_slow_ =
        faults_lock_rows_ = 0;
    (void)now;
  }

  void CountRequest(const std::string& route, int status) {
    requests_[route][status]++;
    requests_total_++;
  }

  std::string StatsJsonLocked() {
    TimePoint now = clock_.Now();
    int64_t long_running = LongRunning(now);
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("requests_total");
    w.Uint64(requests_total_);
    w.Key("requests");
    w.StartObject();
    for (const auto& [route, by_status] : requests_) {
      w.Key(route.c_str());
      w.StartObject();
      for (const auto& [status, n] : by_status) {
        std::string s = status == 0 ? "reset" : std::to_string(status);
        w.Key(s.c_str());
        w.Uint64(n);
      }
      w.EndObject();
    }
    w.EndObject();
    auto u64 = [&](const char* k, uint64_t v) {
      w.Key(k);
      w.Uint64(v);
    };
    u64("records_written", records_written_);
    u64("records_created", records_created_);
    u64("records_updated", records_updated_);
    u64("records_failed", records_failed_);
    u64("duplicate_external_ids", duplicate_keys_);
    u64("duplicate_writes", duplicate_writes_);
    u64("duplicate_event_ids", duplicate_event_ids_);
    u64("in_flight", in_flight_.size());
    u64("peak_concurrent_requests", peak_in_flight_);
    u64("long_running", static_cast<uint64_t>(long_running));
    u64("peak_long_running_requests", static_cast<uint64_t>(peak_long_running_));
    u64("lock_waits", locks_waited_);
    u64("lock_timeouts", locks_timed_out_);
    u64("tokens_issued", tokens_.issued());
    u64("ledger_entries", ledger_->total());
    w.Key("api_usage");
    w.StartObject();
    u64("used", static_cast<uint64_t>(usage_.Used(now)));
    u64("max", static_cast<uint64_t>(options_.limits.daily_api_requests));
    w.EndObject();
    w.Key("faults");
    w.StartObject();
    u64("unavailable", faults_unavailable_);
    u64("reset", faults_reset_);
    u64("reset_after_write", faults_reset_after_write_);
    u64("slow", faults_slow_);
    u64("lock_rows", faults_lock_rows_);
    u64("scheduled", faults_scheduled_);
    w.EndObject();
    w.Key("objects");
    w.StartObject();
    for (const auto& o : objects_) {
      w.Key(o->def.name.c_str());
      w.Uint64(o->def.platform_event ? o->events_published : o->records.size());
    }
    w.EndObject();
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
  }

  std::mutex mu_;
  SimOptions options_;
  Clock& clock_;
  std::mt19937_64 rng_;
  LatencyModel latency_;
  TokenStore tokens_;
  DailyUsage usage_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<JwtVerifier> jwt_;
  std::string base_url_;

  std::vector<std::unique_ptr<ObjectState>> objects_;
  std::unordered_map<std::string, ObjectState*> objects_by_lower_;
  std::vector<ScheduledFault> scheduled_;

  RequestContext ctx_;
  std::vector<Plan> plans_;
  std::function<http::ServerResponse()> deferred_;

  uint64_t request_seq_ = 0;
  uint64_t ticket_seq_ = 0;
  std::map<uint64_t, TimePoint> in_flight_;  // ticket → start; tickets grow with time
  uint64_t peak_in_flight_ = 0;
  int64_t peak_long_running_ = 0;

  std::map<std::string, std::map<int, uint64_t>> requests_;
  uint64_t requests_total_ = 0;
  uint64_t records_written_ = 0, records_created_ = 0, records_updated_ = 0, records_failed_ = 0;
  uint64_t duplicate_keys_ = 0, duplicate_writes_ = 0, duplicate_event_ids_ = 0;
  // Writes per event id, keyed by the id's 64-bit hash (a collision among a few million ids is
  // vanishingly unlikely, and would only over-count duplicates).
  std::unordered_map<uint64_t, uint32_t> event_ids_;
  uint64_t locks_waited_ = 0, locks_timed_out_ = 0;
  uint64_t faults_reset_ = 0, faults_reset_after_write_ = 0, faults_unavailable_ = 0,
           faults_slow_ = 0, faults_lock_rows_ = 0, faults_scheduled_ = 0;
};

Simulator::Simulator(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulator::~Simulator() = default;

Result<std::unique_ptr<Simulator>> Simulator::Create(const SimOptions& options, Clock& clock) {
  RETURN_IF_ERROR(Validate(options));
  ASSIGN_OR_RETURN(auto ledger, Ledger::Open(options.ledger));
  std::unique_ptr<JwtVerifier> jwt;
  if (!options.org.jwt_public_key_file.empty()) {
    ASSIGN_OR_RETURN(jwt, JwtVerifier::FromPemFile(options.org.jwt_public_key_file));
  }
  return std::unique_ptr<Simulator>(
      new Simulator(std::make_unique<Impl>(options, clock, std::move(ledger), std::move(jwt))));
}

Outcome Simulator::Handle(http::ServerRequest& request) {
  Outcome out = impl_->Handle(request);
  return out;
}

void Simulator::Complete(uint64_t ticket) {
  if (ticket != 0) impl_->Complete(ticket);
}

void Simulator::SetBaseUrl(const std::string& base_url) { impl_->SetBaseUrl(base_url); }

std::string Simulator::StatsJson() { return impl_->StatsJson(); }

http::ServerResponse Simulator::ErrorResponse(int status, std::string_view message) {
  std::string code = "UNKNOWN_EXCEPTION";
  switch (status) {
    case 400:
      code = "MALFORMED_REQUEST";
      break;
    case 408:
      code = "REQUEST_TIMEOUT";
      break;
    case 413:
      code = "REQUEST_ENTITY_TOO_LARGE";
      break;
    case 414:
      code = "URI_TOO_LONG";
      break;
    case 431:
      code = "REQUEST_HEADER_FIELDS_TOO_LARGE";
      break;
    default:
      break;
  }
  return ApiError(status, code, std::string(message));
}

}  // namespace sluice::sfsim

// Simulator: the request entry point (faults, limits, latency, commit) and routing.
#include "sluice/sfsim/simulator.h"

#include <openssl/hmac.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "simulator_impl.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {

Simulator::Impl::Impl(const SimOptions& options, Clock& clock, std::unique_ptr<Ledger> ledger,
                      std::unique_ptr<JwtVerifier> jwt)
    : options_(options),
      clock_(clock),
      rng_(options.faults.seed),
      latency_(options.latency, options.faults.seed * 7919 + 1),
      tokens_(options.org.org_id.substr(0, 15), options.org.session_timeout, options.faults.seed),
      usage_(clock.Now()),
      ledger_(std::move(ledger)),
      jwt_(std::move(jwt)),
      bulk_records_(clock.Now()),
      bulk_batches_(clock.Now()) {
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
    for (const auto& lf : options.limits.parent_lock_fields) {
      const size_t dot = lf.find('.');
      if (dot == std::string::npos || !IEq(lf.substr(0, dot), def.name)) continue;
      const int fi = obj->FieldIndex(lf.substr(dot + 1));
      if (fi >= 0 && def.fields[static_cast<size_t>(fi)].type == FieldType::kReference) {
        obj->parent_lock_fields.push_back(fi);
      }
    }
    objects_by_lower_.emplace(Lower(def.name), obj.get());
    objects_by_prefix_.emplace(def.key_prefix, obj.get());
    objects_.push_back(std::move(obj));
  }
}

Outcome Simulator::Impl::Handle(http::ServerRequest& req) {
  std::lock_guard lock(mu_);
  TimePoint now = clock_.Now();
  uint64_t request_id = ++request_seq_;
  Outcome out;
  std::string route;
  // Bulk jobs move on the same clock: whatever was due by now has happened before this request.
  AdvanceJobs(now);
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

void Simulator::Impl::Complete(uint64_t ticket) {
  std::lock_guard lock(mu_);
  UpdateLongRunningPeak(clock_.Now());
  in_flight_.erase(ticket);
}

void Simulator::Impl::SetBaseUrl(const std::string& url) {
  std::lock_guard lock(mu_);
  base_url_ = url;
}

std::string Simulator::Impl::StatsJson() {
  std::lock_guard lock(mu_);
  AdvanceJobs(clock_.Now());  // the figures as of now, bulk jobs included
  return StatsJsonLocked();
}

std::string Simulator::Impl::Route(http::ServerRequest& req, http::ServerResponse* res) {
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

std::string Simulator::Impl::Api(http::ServerRequest& req, const std::vector<std::string>& seg,
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
  if (rest[0] == "jobs" && rest.size() >= 2 && rest[1] == "ingest") {
    if (v < kBulkV2MinVersion) return Set(res, NotFound(), "not_found");
    return BulkRoute(req, rest, v, res);
  }
  if (static_cast<int64_t>(req.body.size()) > options_.limits.max_body_bytes) {
    return Set(res,
               ErrorResponse(413, "Request body exceeds the limit of " +
                                      std::to_string(options_.limits.max_body_bytes) + " bytes"),
               "too_large");
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

std::string Simulator::Impl::Set(http::ServerResponse* res, http::ServerResponse value,
                                 std::string route) {
  *res = std::move(value);
  return route;
}

ObjectState* Simulator::Impl::FindObject(std::string_view name) {
  auto it = objects_by_lower_.find(Lower(name));
  return it == objects_by_lower_.end() ? nullptr : it->second;
}

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

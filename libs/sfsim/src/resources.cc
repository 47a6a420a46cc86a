// The OAuth token endpoint and the read-only resources: versions, resources, limits, describe.
#include <openssl/hmac.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "simulator_impl.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {

http::ServerResponse Simulator::Impl::OAuthToken(const http::ServerRequest& req) {
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
      if (colon == std::string::npos) return error("invalid_client", "invalid client credentials");
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
  LogWith(*GetLogger("sfsim"), spdlog::level::debug, {{"event", "token_issued"}, {"grant", grant}},
          "token issued ({})", grant);
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

std::string Simulator::Impl::InstanceUrl() const {
  if (!options_.org.instance_url.empty()) return options_.org.instance_url;
  return base_url_.empty() ? "http://127.0.0.1" : base_url_;
}

http::ServerResponse Simulator::Impl::Versions() {
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

http::ServerResponse Simulator::Impl::Resources(double v) {
  std::string base = "/services/data/v" + VersionText(v);
  std::string body = "{\"sobjects\":\"" + base + "/sobjects\",\"limits\":\"" + base +
                     "/limits\",\"composite\":\"" + base + "/composite\"}";
  return Json(200, body);
}

http::ServerResponse Simulator::Impl::Limits() {
  int64_t max = options_.limits.daily_api_requests;
  int64_t remaining = std::max<int64_t>(0, max - usage_.Used(ctx_.now));
  auto pair = [](int64_t m, int64_t r) {
    return "{\"Max\":" + std::to_string(m) + ",\"Remaining\":" + std::to_string(r) + "}";
  };
  uint64_t published = 0;
  for (const auto& o : objects_) published += o->events_published;
  int64_t pe_max = 250000;
  const int64_t batches_max = options_.bulk.daily_batches;
  const int64_t batches_remaining =
      std::max<int64_t>(0, batches_max - bulk_batches_.Used(ctx_.now));
  // Not a key of Salesforce's /limits (its records allocation is documented, not reported there):
  // sfsim's own, so that tests and the planner can watch it.
  const int64_t records_max = options_.bulk.daily_records;
  const int64_t records_remaining =
      std::max<int64_t>(0, records_max - bulk_records_.Used(ctx_.now));
  int64_t pe_remaining = std::max<int64_t>(0, pe_max - static_cast<int64_t>(published));
  std::string body = "{\"DailyApiRequests\":" + pair(max, remaining) +
                     ",\"DailyAsyncApexExecutions\":" + pair(250000, 250000) +
                     ",\"DailyBulkApiBatches\":" + pair(batches_max, batches_remaining) +
                     ",\"DailyBulkV2IngestRecords\":" + pair(records_max, records_remaining) +
                     ",\"DailyBulkV2QueryJobs\":" + pair(10000, 10000) +
                     ",\"DailyStreamingApiEvents\":" + pair(1000000, 1000000) +
                     ",\"DataStorageMB\":" + pair(5120, 5120) +
                     ",\"FileStorageMB\":" + pair(20480, 20480) +
                     ",\"HourlyPublishedPlatformEvents\":" + pair(pe_max, pe_remaining) +
                     ",\"MonthlyPlatformEventsUsageEntitlement\":" + pair(300000, 300000) + "}";
  return Json(200, body);
}

http::ServerResponse Simulator::Impl::DescribeGlobal() {
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

void Simulator::Impl::WriteObjectSummary(Writer& w, const ObjectState& o) {
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

http::ServerResponse Simulator::Impl::DescribeBasic(const ObjectState& o) {
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

http::ServerResponse Simulator::Impl::Describe(const ObjectState& o) {
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

}  // namespace sluice::sfsim

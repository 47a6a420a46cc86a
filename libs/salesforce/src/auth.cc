#include "sluice/salesforce/auth.h"

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <future>
#include <mutex>
#include <optional>
#include <vector>

#include "json_util.h"
#include "sluice/core/logging.h"
#include "sluice/salesforce/jwt.h"

namespace sluice::salesforce {
namespace {

constexpr size_t kMaxTokenBody = 64u << 10;

bool PrintableNoSpace(std::string_view s) {
  for (char c : s) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

Result<std::string> ValidInstanceUrl(std::string_view url) {
  if (url.size() > 2048) return UnavailableError("instance_url too long");
  if (!url.starts_with("https://") && !url.starts_with("http://")) {
    return UnavailableError("instance_url is not an http(s) URL");
  }
  if (!PrintableNoSpace(url) || url.find_first_of("?#") != std::string_view::npos) {
    return UnavailableError("instance_url holds characters a base URL cannot");
  }
  size_t scheme_end = url.find("://") + 3;
  while (url.size() > scheme_end && url.ends_with('/')) url.remove_suffix(1);
  if (url.size() <= scheme_end || url[scheme_end] == '/') {
    return UnavailableError("instance_url has no host");
  }
  return std::string(url);
}

// Reads an optional string member; error when present with another type.
Status OptionalString(const rapidjson::Value& obj, const char* name, std::string& out) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return Status::Ok();
  if (!it->value.IsString()) {
    return UnavailableError(std::string("malformed token response: \"") + name +
                            "\" is not a string");
  }
  out.assign(it->value.GetString(), it->value.GetStringLength());
  return Status::Ok();
}

}  // namespace

Result<AccessToken> ParseTokenResponse(int http_status, std::string_view body) {
  if (body.size() > kMaxTokenBody) {
    return UnavailableError("token response over " + std::to_string(kMaxTokenBody) +
                            " bytes (HTTP " + std::to_string(http_status) + ")");
  }
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(body.data(),
                                                                                    body.size());
  bool is_object = !doc.HasParseError() && doc.IsObject();
  if (http_status == 400 || http_status == 401 || http_status == 403) {
    std::string error = "token request refused";
    std::string description;
    if (is_object) {
      std::string e;
      (void)OptionalString(doc, "error", e);
      (void)OptionalString(doc, "error_description", description);
      if (!e.empty()) error = e;
    }
    std::string message = internal::Excerpt(error, 100);
    if (!description.empty()) message += ": " + internal::Excerpt(description, 300);
    return UnauthenticatedError(message + " (HTTP " + std::to_string(http_status) + ")");
  }
  if (http_status != 200) {
    return UnavailableError("token endpoint answered HTTP " + std::to_string(http_status) + ": " +
                            internal::Excerpt(body, 120));
  }
  if (!is_object) {
    return UnavailableError("malformed token response (not a JSON object): " +
                            internal::Excerpt(body, 120));
  }
  AccessToken token;
  std::string instance_url;
  RETURN_IF_ERROR(OptionalString(doc, "access_token", token.access_token));
  RETURN_IF_ERROR(OptionalString(doc, "instance_url", instance_url));
  RETURN_IF_ERROR(OptionalString(doc, "id", token.id));
  std::string issued_at;
  RETURN_IF_ERROR(OptionalString(doc, "issued_at", issued_at));
  if (token.access_token.empty()) {
    return UnavailableError("malformed token response: no access_token");
  }
  if (token.access_token.size() > 8192 || !PrintableNoSpace(token.access_token)) {
    return UnavailableError("malformed token response: access_token is not a printable token");
  }
  if (instance_url.empty()) return UnavailableError("malformed token response: no instance_url");
  auto url = ValidInstanceUrl(instance_url);
  if (!url.ok()) return url.status().WithContext("malformed token response");
  token.instance_url = std::move(url).value();
  if (!issued_at.empty()) {
    if (issued_at.size() > 18 || issued_at.find_first_not_of("0123456789") != std::string::npos) {
      return UnavailableError("malformed token response: issued_at is not epoch milliseconds");
    }
    token.issued_at_ms = std::stoll(issued_at);
  }
  // ".../id/<orgId>/<userId>": the last two path segments.
  std::string_view id = token.id;
  while (id.ends_with('/')) id.remove_suffix(1);
  size_t last = id.rfind('/');
  if (last != std::string_view::npos && last > 0) {
    size_t before = id.rfind('/', last - 1);
    if (before != std::string_view::npos && id.find("://") + 2 < before) {
      token.org_id = std::string(id.substr(before + 1, last - before - 1));
      token.user_id = std::string(id.substr(last + 1));
    }
  }
  return token;
}

Result<TokenPtr> TokenProvider::GetToken() {
  auto promise = std::make_shared<std::promise<Result<TokenPtr>>>();
  auto future = promise->get_future();
  GetTokenAsync([promise](Result<TokenPtr> r) { promise->set_value(std::move(r)); });
  return future.get();
}

namespace {

// TokenProvider with one mutex over the current token, the flight flag and the waiters; no
// callback ever runs under it. Thread-safety: as TokenProvider.
class TokenProviderImpl final : public TokenProvider {
 public:
  TokenProviderImpl(AuthOptions options, http::HttpTransport& transport, Clock& clock,
                    SalesforceStats* stats, std::optional<JwtSigner> signer)
      : options_(std::move(options)),
        transport_(transport),
        clock_(clock),
        stats_(stats),
        signer_(std::move(signer)) {}

  void GetTokenAsync(TokenCallback done) override {
    std::unique_lock<std::mutex> lock(mu_);
    if (current_) {
      TokenPtr token = current_;
      lock.unlock();
      done(std::move(token));
      return;
    }
    if (!refreshing_ && last_error_ && clock_.Now() < holdoff_until_) {
      Status error = *last_error_;
      lock.unlock();
      done(std::move(error));
      return;
    }
    waiters_.push_back(std::move(done));
    if (refreshing_) return;
    refreshing_ = true;
    lock.unlock();
    StartRefresh();
  }

  void Invalidate(const AccessToken& seen) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ && current_->generation == seen.generation) current_.reset();
  }

  TokenPtr current() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return current_;
  }

 private:
  void StartRefresh() {
    http::HttpRequest request;
    request.method = "POST";
    request.url = options_.login_url + "/services/oauth2/token";
    request.timeout = options_.request_timeout;
    request.headers.Add("Content-Type", "application/x-www-form-urlencoded");
    request.headers.Add("Accept", "application/json");
    if (options_.flow == AuthFlow::kClientCredentials) {
      request.body = http::FormEncode({{"grant_type", "client_credentials"},
                                       {"client_id", options_.client_id},
                                       {"client_secret", options_.client_secret}});
    } else {
      JwtClaims claims;
      claims.iss = options_.client_id;
      claims.sub = options_.username;
      claims.aud = options_.audience.empty() ? options_.login_url : options_.audience;
      claims.exp = clock_.WallMillis() / 1000 + options_.jwt_lifetime.count();
      auto assertion = signer_->Sign(claims);
      if (!assertion.ok()) {
        Finish(assertion.status());
        return;
      }
      request.body =
          http::FormEncode({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"},
                            {"assertion", *assertion}});
    }
    if (stats_ != nullptr) stats_->token_requests.fetch_add(1, std::memory_order_relaxed);
    transport_.Send(std::move(request), [this](Result<http::HttpResponse> response) {
      if (!response.ok()) {
        Finish(UnavailableError("token request failed: " + response.status().ToString()));
        return;
      }
      auto parsed = ParseTokenResponse(response->status, response->body);
      if (!parsed.ok()) {
        Finish(parsed.status());
        return;
      }
      Finish(std::move(parsed).value());
    });
  }

  void Finish(Result<AccessToken> result) {
    std::vector<TokenCallback> waiters;
    Result<TokenPtr> outcome = UnavailableError("unset");
    {
      std::lock_guard<std::mutex> lock(mu_);
      refreshing_ = false;
      if (result.ok()) {
        auto token = std::make_shared<AccessToken>(std::move(result).value());
        token->generation = ++generation_;
        current_ = token;
        last_error_.reset();
        outcome = TokenPtr(std::move(token));
      } else {
        last_error_ = result.status();
        holdoff_until_ = clock_.Now() + options_.failure_holdoff;
        outcome = result.status();
      }
      waiters.swap(waiters_);
    }
    if (!outcome.ok() && stats_ != nullptr) {
      stats_->token_failures.fetch_add(1, std::memory_order_relaxed);
    }
    if (outcome.ok()) {
      // Never the token itself: who and where, so an operator can tell a refresh happened.
      const AccessToken& t = **outcome;
      const char* what = t.generation == 1 ? "obtained" : "refreshed";
      LogWith(*GetLogger("salesforce"), spdlog::level::info,
              {{"event", t.generation == 1 ? "token_obtained" : "token_refreshed"},
               {"user_id", t.user_id},
               {"org_id", t.org_id},
               {"instance_url", t.instance_url},
               {"generation", t.generation}},
              "{} a Salesforce access token for user {} of org {} at {}", what,
              t.user_id.empty() ? "?" : t.user_id, t.org_id.empty() ? "?" : t.org_id,
              t.instance_url);
    }
    for (auto& w : waiters) w(outcome);
  }

  const AuthOptions options_;
  http::HttpTransport& transport_;
  Clock& clock_;
  SalesforceStats* stats_;
  const std::optional<JwtSigner> signer_;

  mutable std::mutex mu_;
  TokenPtr current_;                    // guarded by mu_
  bool refreshing_ = false;             // guarded by mu_
  uint64_t generation_ = 0;             // guarded by mu_
  std::optional<Status> last_error_;    // guarded by mu_
  Clock::TimePoint holdoff_until_{};    // guarded by mu_
  std::vector<TokenCallback> waiters_;  // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<TokenProvider>> TokenProvider::Create(AuthOptions options,
                                                             http::HttpTransport& transport,
                                                             Clock& clock, SalesforceStats* stats) {
  while (options.login_url.ends_with('/')) options.login_url.pop_back();
  if (!options.login_url.starts_with("https://") && !options.login_url.starts_with("http://")) {
    return InvalidArgumentError("auth.login_url must be an http(s) URL");
  }
  if (options.client_id.empty()) return InvalidArgumentError("auth.client_id is required");
  if (options.failure_holdoff.count() < 0) {
    return InvalidArgumentError("auth.failure_holdoff must not be negative");
  }
  std::optional<JwtSigner> signer;
  if (options.flow == AuthFlow::kClientCredentials) {
    if (options.client_secret.empty()) {
      return InvalidArgumentError("auth.client_secret is required for client credentials");
    }
  } else {
    if (options.username.empty()) {
      return InvalidArgumentError("auth.username is required for the JWT bearer flow");
    }
    if (options.jwt_lifetime.count() < 1 || options.jwt_lifetime.count() > 180) {
      return InvalidArgumentError("auth.jwt_lifetime must be 1..180 seconds");
    }
    Result<JwtSigner> loaded = InvalidArgumentError(
        "auth.private_key_pem or auth.private_key_file is required for the JWT bearer flow");
    // (The message is prefixed below with "auth.private_key: ".)
    if (!options.private_key_pem.empty()) {
      loaded = JwtSigner::FromPem(options.private_key_pem);
    } else if (!options.private_key_file.empty()) {
      loaded = JwtSigner::FromPemFile(options.private_key_file);
    }
    if (!loaded.ok()) {
      return InvalidArgumentError("auth.private_key: " + loaded.status().message());
    }
    signer = std::move(loaded).value();
  }
  return std::unique_ptr<TokenProvider>(
      new TokenProviderImpl(std::move(options), transport, clock, stats, std::move(signer)));
}

}  // namespace sluice::salesforce

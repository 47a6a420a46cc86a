// OAuth 2.0 for Salesforce: the token response parser and the TokenProvider that holds the one
// access token shared by every thread of a process.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/http/client.h"
#include "sluice/salesforce/stats.h"

namespace sluice::salesforce {

// A token as the token endpoint answered it. Salesforce sends no expiry: a token lasts the org's
// session timeout and clients learn of its end from a 401.
// Thread-safety: a value type; TokenProvider hands it out as shared_ptr<const>.
struct AccessToken {
  std::string access_token;
  std::string instance_url;  // e.g. "https://myorg.my.salesforce.com", no trailing '/'
  std::string id;            // identity URL, ".../id/<orgId>/<userId>"; may be empty
  std::string org_id;        // second-to-last path segment of `id`; empty if `id` has none
  std::string user_id;       // last path segment of `id`
  int64_t issued_at_ms = 0;  // `issued_at` (epoch ms); 0 when absent
  // Set by TokenProvider: 1 for its first token, +1 for each refresh. Invalidate compares it.
  uint64_t generation = 0;
};
using TokenPtr = std::shared_ptr<const AccessToken>;

// Parses the token endpoint's answer (salesforce-api.md "OAuth 2.0"). 200 with a JSON object
// holding a non-empty `access_token` (printable ASCII, no spaces) and an http(s) `instance_url`
// is a token; `id` and `issued_at` are optional but must be strings (issued_at all digits) when
// present. Errors:
//   Unauthenticated — 400/401/403 (the credentials were refused; message "<error>:
//     <error_description>" when the body says so);
//   Unavailable — any other status, or a 200 whose body is not a valid token answer (not JSON,
//     HTML, missing or mistyped fields, over 64 KiB): most likely a proxy or maintenance page.
Result<AccessToken> ParseTokenResponse(int http_status, std::string_view body);

enum class AuthFlow {
  kClientCredentials,  // client_id + client_secret in the form body
  kJwtBearer,          // RS256 assertion signed with the connected app's private key
};

struct AuthOptions {
  AuthFlow flow = AuthFlow::kClientCredentials;
  // Base URL of the token endpoint; the request goes to <login_url>/services/oauth2/token.
  // Default "https://login.salesforce.com" (client credentials need the org's My Domain URL).
  std::string login_url = "https://login.salesforce.com";
  // Connected app consumer key (client_id; the JWT's `iss`). Required.
  std::string client_id;
  // Client credentials only. Required for that flow.
  std::string client_secret;
  // JWT bearer only: the Salesforce username (`sub`). Required for that flow.
  std::string username;
  // JWT bearer only: the RSA private key, as PEM text or a file (one of the two is required;
  // the text wins when both are set). Loaded once by Create.
  std::string private_key_pem;
  std::string private_key_file;
  // JWT `aud`; empty means login_url.
  std::string audience;
  // JWT `exp` = now + jwt_lifetime; Salesforce allows at most 3 minutes. Default 180 s; must be
  // 1..180 s.
  std::chrono::seconds jwt_lifetime{180};
  // Deadline of one token request. Default 30 s.
  std::chrono::milliseconds request_timeout{30'000};
  // After a failed token request, GetToken answers with that failure for this long without
  // asking again, so a crowd of callers cannot hammer the token endpoint. Default 5 s.
  std::chrono::milliseconds failure_holdoff{5'000};
};

// Holds the current access token for every thread of a process and fetches a new one when there
// is none: single flight — however many callers want a token at once, one token request is in
// flight; all of them get its result.
//
// The 401 protocol: a caller whose request was refused with 401 calls Invalidate(token it used),
// then GetToken again. Invalidate drops the current token only if it is the one the caller saw;
// a caller that saw an older token (someone already refreshed) just gets the current one, so 16
// requests that all saw the same expired token cause exactly one refresh.
//
// Callbacks run on the transport's thread (or inline on the caller's). The provider must outlive
// every request it started: shut the transport down before destroying the provider.
// Thread-safety: all methods are safe from any number of threads at once.
class TokenProvider {
 public:
  using TokenCallback = std::function<void(Result<TokenPtr>)>;

  // Validates `options` (and loads the JWT key) up front: InvalidArgument names the bad field.
  // `transport`, `clock` and `stats` (optional) must outlive the provider.
  static Result<std::unique_ptr<TokenProvider>> Create(AuthOptions options,
                                                       http::HttpTransport& transport, Clock& clock,
                                                       SalesforceStats* stats = nullptr);
  virtual ~TokenProvider() = default;

  // The current token, fetching one if there is none. `done` runs exactly once, possibly before
  // this returns. Errors are those of ParseTokenResponse, plus the transport's Status wrapped as
  // Unavailable; a failure is repeated without a new request during failure_holdoff.
  virtual void GetTokenAsync(TokenCallback done) = 0;
  // Blocking form; not from inside a transport callback.
  Result<TokenPtr> GetToken();

  // Reports that `seen` was refused (401). Drops it if it is still current.
  virtual void Invalidate(const AccessToken& seen) = 0;

  // The token now held, or null.
  virtual TokenPtr current() const = 0;
};

}  // namespace sluice::salesforce

// OAuth for the simulator: access tokens with a session timeout, client credentials and RS256 JWT
// bearer assertions.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"

namespace sluice::sfsim {

// Issued tokens and their age.
// Thread-safety: not thread-safe; the simulator calls it under its own lock.
class TokenStore {
 public:
  TokenStore(std::string org_id15, std::chrono::milliseconds session_timeout, uint64_t seed);
  // A new token "00D…!AR…" valid from `now`.
  std::string Issue(Clock::TimePoint now);
  // True while the token exists and is younger than the session timeout.
  bool Valid(std::string_view token, Clock::TimePoint now);
  // Every token stops working.
  void ExpireAll();
  size_t size() const { return tokens_.size(); }
  uint64_t issued() const { return issued_; }

 private:
  void Prune(Clock::TimePoint now);
  std::string org_id15_;
  std::chrono::milliseconds timeout_;
  std::mt19937_64 rng_;
  std::unordered_map<std::string, Clock::TimePoint> tokens_;
  std::deque<std::pair<Clock::TimePoint, std::string>> order_;
  uint64_t issued_ = 0;
};

// An OAuth error answer: {"error":..., "error_description":...}.
struct OAuthError {
  std::string error;
  std::string description;
};

// What the JWT bearer check needs.
struct JwtPolicy {
  std::string client_id;                // expected `iss`
  std::vector<std::string> usernames;   // accepted `sub`
  std::vector<std::string> audiences;   // accepted `aud`
  std::chrono::seconds max_ahead{180};  // `exp` at most this far ahead (plus leeway)
  std::chrono::seconds leeway{30};      // clock skew tolerated on `exp`
};

// An RS256 verifier built from a PEM certificate or public key.
// Thread-safety: Verify may be called from any number of threads at once.
class JwtVerifier {
 public:
  static Result<std::unique_ptr<JwtVerifier>> FromPemFile(const std::string& path);
  static Result<std::unique_ptr<JwtVerifier>> FromPem(std::string_view pem);
  ~JwtVerifier();

  // Checks the assertion's form, alg, signature and claims at wall time `now_epoch_s`. Returns
  // the `sub` (username) on success.
  Result<std::string> Verify(std::string_view assertion, const JwtPolicy& policy,
                             int64_t now_epoch_s, OAuthError* error) const;

 private:
  struct Key;
  explicit JwtVerifier(std::unique_ptr<Key> key);
  std::unique_ptr<Key> key_;
};

// Base64url without padding (and standard base64, when `url` is false) decoding; nullopt on
// invalid input.
std::optional<std::string> Base64Decode(std::string_view in, bool url);
std::string Base64Encode(std::string_view in, bool url);

}  // namespace sluice::sfsim

// RS256 JSON Web Tokens for Salesforce's OAuth 2.0 JWT bearer flow.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::salesforce {

struct JwtClaims {
  std::string iss;  // the connected app's consumer key
  std::string sub;  // the Salesforce username
  std::string aud;  // https://login.salesforce.com, https://test.salesforce.com or a community URL
  int64_t exp = 0;  // expiry, epoch seconds; Salesforce accepts at most 3 minutes ahead
};

// Signs JWTs with an RSA private key (OpenSSL EVP, SHA-256, PKCS#1 v1.5): the header is
// {"alg":"RS256"}, the parts are base64url without padding.
// Thread-safety: immutable after creation; Sign may be called from any number of threads (each
// call uses its own signing context). Copies share the key.
class JwtSigner {
 public:
  // Loads an unencrypted PEM private key (PKCS#8 "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY").
  // InvalidArgument when it is not PEM, encrypted, or not RSA; NotFound for a missing file.
  static Result<JwtSigner> FromPem(std::string_view pem);
  static Result<JwtSigner> FromPemFile(const std::string& path);

  // "<header>.<claims>.<signature>".
  Result<std::string> Sign(const JwtClaims& claims) const;

 private:
  struct Key;
  explicit JwtSigner(std::shared_ptr<const Key> key) : key_(std::move(key)) {}
  std::shared_ptr<const Key> key_;
};

// base64url (RFC 4648 §5) without padding.
std::string Base64UrlEncode(std::string_view data);
// Accepts input with or without padding; nullopt on characters outside the alphabet.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace sluice::salesforce

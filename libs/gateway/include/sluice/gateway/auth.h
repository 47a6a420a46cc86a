// Bearer-token auth: tokens live in a file as SHA-256 hashes, each with the topics and sObjects it
// may write and an optional rate limit of its own. The token itself is never stored, logged or
// echoed.
//
// The file (YAML, schemas/gateway.tokens.schema.json):
//   tokens:
//     - name: web-backend                  # shown in logs and metrics
//       sha256: 9f86d081884c7d65...        # 64 hex digits: sluice-gateway --hash-token
//       sobjects: [Contact, Lead]          # may write these sObjects ("*": any) ...
//       topics: [sf.order__c.events]       # ... and these topics ("*": any)
//       events_per_second: 500             # optional
//     - name: billing                      # a client certificate instead of a token:
//       client_cert_cn: billing.internal   #   its subject CN, or
//       client_cert_san: spiffe://corp/billing  # one of its subjectAltName DNS or URI entries
//       topics: ["*"]
// An entry needs sha256, client_cert_cn or client_cert_san (any of them, also together: then the
// token and the certificate share the scopes and the rate limit).
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::gateway {

// One configured token. Thread-safety: a value type.
struct TokenEntry {
  std::string name;
  std::string sha256;  // 32 raw bytes; empty for an entry of client certificates only
  std::set<std::string> sobjects;
  std::set<std::string> topics;
  double events_per_second = 0;  // 0: no limit of its own
  std::string client_cert_cn;    // a verified client certificate with this subject CN; or
  std::string client_cert_san;   // with this subjectAltName DNS or URI entry (empty: none)

  // Whether this token may write an event of `sobject` to `topic`.
  bool Allows(const std::string& sobject, const std::string& topic) const;
};

// SHA-256 of `data` as 32 raw bytes (OpenSSL).
std::string Sha256(std::string_view data);
// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// Thread-safety: immutable after Load; any number of threads may call Find at once.
class TokenStore {
 public:
  // Parses a token file (see above). InvalidArgument naming the file, line and key for a bad
  // file; never quotes a hash.
  static Result<TokenStore> LoadFile(const std::string& path);
  static Result<TokenStore> LoadString(std::string_view yaml, std::string_view name = "<tokens>");

  // The entry whose hash equals SHA-256(token), or null. Every entry is compared, each with a
  // constant-time comparison, so the time taken does not depend on which entry (if any) matches.
  const TokenEntry* Find(std::string_view token) const;

  // The first entry (in file order) naming a verified client certificate with subject CN
  // `common_name` (client_cert_cn) or one of the subjectAltName entries `alt_names`
  // (client_cert_san), or null. Exact, case-sensitive matches.
  const TokenEntry* FindByCertificate(std::string_view common_name,
                                      const std::vector<std::string>& alt_names) const;

  // The token of an "Authorization: Bearer <token>" header value; nullopt for another scheme.
  static std::optional<std::string_view> BearerToken(std::string_view authorization);

  const std::vector<TokenEntry>& entries() const { return entries_; }

 private:
  std::vector<TokenEntry> entries_;
};

}  // namespace sluice::gateway

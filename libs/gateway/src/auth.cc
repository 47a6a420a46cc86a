#include "sluice/gateway/auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>

#include "sluice/config/config.h"
#include "sluice/schemas/schemas.h"

namespace sluice::gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the file's tokens to `entries`; the first error names the file and the key.
Status ReadEntries(const config::Config& c, std::vector<TokenEntry>* entries) {
  const size_t n = c.Size("/tokens");
  std::set<std::string> names;
  for (size_t i = 0; i < n; ++i) {
    const std::string at = "/tokens/" + std::to_string(i);
    TokenEntry e;
    ASSIGN_OR_RETURN(e.name, c.GetString(at + "/name"));
    const std::string hex = c.GetString(at + "/sha256", "");
    e.client_cert_cn = c.GetString(at + "/client_cert_cn", "");
    e.client_cert_san = c.GetString(at + "/client_cert_san", "");
    if (hex.empty() && e.client_cert_cn.empty() && e.client_cert_san.empty()) {
      return InvalidArgumentError(c.name() + ": " + at +
                                  ": an entry needs sha256 (a bearer token), client_cert_cn or "
                                  "client_cert_san (a client certificate)");
    }
    if (!hex.empty() && hex.size() != 64) {
      return InvalidArgumentError(c.name() + ": " + at + "/sha256: expected 64 hex digits");
    }
    for (size_t k = 0; k < hex.size(); k += 2) {
      const int hi = HexValue(hex[k]), lo = HexValue(hex[k + 1]);
      if (hi < 0 || lo < 0) {
        return InvalidArgumentError(c.name() + ": " + at + "/sha256: expected 64 hex digits");
      }
      e.sha256.push_back(static_cast<char>(hi * 16 + lo));
    }
    for (size_t k = 0; k < c.Size(at + "/sobjects"); ++k) {
      ASSIGN_OR_RETURN(std::string s, c.GetString(at + "/sobjects/" + std::to_string(k)));
      e.sobjects.insert(std::move(s));
    }
    for (size_t k = 0; k < c.Size(at + "/topics"); ++k) {
      ASSIGN_OR_RETURN(std::string s, c.GetString(at + "/topics/" + std::to_string(k)));
      e.topics.insert(std::move(s));
    }
    if (e.sobjects.empty() && e.topics.empty()) {
      return InvalidArgumentError(c.name() + ": " + at +
                                  ": a token needs sobjects or topics (\"*\" for any)");
    }
    e.events_per_second = c.GetDouble(at + "/events_per_second", 0.0);
    if (!names.insert(e.name).second) {
      return InvalidArgumentError(c.name() + ": " + at + "/name: '" + e.name +
                                  "' names two tokens");
    }
    for (const TokenEntry& other : *entries) {
      // One certificate identity names one entry, so which scopes apply is never a question of
      // file order.
      if (!e.client_cert_cn.empty() && other.client_cert_cn == e.client_cert_cn) {
        return InvalidArgumentError(c.name() + ": " + at + "/client_cert_cn: entries '" +
                                    other.name + "' and '" + e.name + "' name the same CN");
      }
      if (!e.client_cert_san.empty() && other.client_cert_san == e.client_cert_san) {
        return InvalidArgumentError(c.name() + ": " + at + "/client_cert_san: entries '" +
                                    other.name + "' and '" + e.name + "' name the same SAN");
      }
      if (!e.sha256.empty() && other.sha256 == e.sha256) {
        return InvalidArgumentError(c.name() + ": " + at + "/sha256: tokens '" + other.name +
                                    "' and '" + e.name + "' have the same hash");
      }
    }
    entries->push_back(std::move(e));
  }
  return Status::Ok();
}

config::LoadOptions TokenLoadOptions() {
  config::LoadOptions o;
  o.schema_json = std::string(schemas::Get("gateway.tokens.schema.json").value());
  o.schema_name = "gateway.tokens.schema.json";
  return o;
}

}  // namespace

bool TokenEntry::Allows(const std::string& sobject, const std::string& topic) const {
  return sobjects.count("*") > 0 || topics.count("*") > 0 || sobjects.count(sobject) > 0 ||
         topics.count(topic) > 0;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string Sha256Hex(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw = Sha256(data), out;
  for (unsigned char c : raw) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

Result<TokenStore> TokenStore::LoadFile(const std::string& path) {
  ASSIGN_OR_RETURN(config::Config c, config::Config::LoadFile(path, TokenLoadOptions()));
  TokenStore store;
  std::vector<TokenEntry> entries;
  RETURN_IF_ERROR(ReadEntries(c, &entries));
  store.entries_ = std::move(entries);
  return store;
}

Result<TokenStore> TokenStore::LoadString(std::string_view yaml, std::string_view name) {
  ASSIGN_OR_RETURN(config::Config c, config::Config::LoadString(yaml, TokenLoadOptions(), name));
  TokenStore store;
  std::vector<TokenEntry> entries;
  RETURN_IF_ERROR(ReadEntries(c, &entries));
  store.entries_ = std::move(entries);
  return store;
}

const TokenEntry* TokenStore::Find(std::string_view token) const {
  const std::string digest = Sha256(token);
  const TokenEntry* found = nullptr;
  for (const TokenEntry& e : entries_) {
    // No early exit: every entry costs the same. Certificate-only entries have no hash: they are
    // compared against 32 zero bytes like any other, and never match.
    static const std::string kNoHash(32, '\0');
    const std::string& hash = e.sha256.empty() ? kNoHash : e.sha256;
    const bool equal =
        CRYPTO_memcmp(digest.data(), hash.data(), digest.size()) == 0 && !e.sha256.empty();
    if (equal && found == nullptr) found = &e;
  }
  return found;
}

const TokenEntry* TokenStore::FindByCertificate(std::string_view common_name,
                                                const std::vector<std::string>& alt_names) const {
  for (const TokenEntry& e : entries_) {
    if (!e.client_cert_cn.empty() && e.client_cert_cn == common_name) return &e;
    if (!e.client_cert_san.empty()) {
      for (const std::string& san : alt_names) {
        if (san == e.client_cert_san) return &e;
      }
    }
  }
  return nullptr;
}

std::optional<std::string_view> TokenStore::BearerToken(std::string_view authorization) {
  while (!authorization.empty() && authorization.front() == ' ') authorization.remove_prefix(1);
  if (authorization.size() < 7) return std::nullopt;
  static constexpr std::string_view kScheme = "bearer ";
  for (size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

}  // namespace sluice::gateway

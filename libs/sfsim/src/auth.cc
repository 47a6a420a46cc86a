#include "sluice/sfsim/auth.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <sstream>

namespace sluice::sfsim {

// ---- base64 ----

std::optional<std::string> Base64Decode(std::string_view in, bool url) {
  static const auto table = [] {
    std::array<int8_t, 256> t;
    t.fill(-1);
    const char* std_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 62; ++i)
      t[static_cast<unsigned char>(std_chars[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t i = 0;
  for (; i < in.size(); ++i) {
    char c = in[i];
    if (c == '=') break;
    int v;
    if (url ? c == '-' : c == '+') {
      v = 62;
    } else if (url ? c == '_' : c == '/') {
      v = 63;
    } else {
      v = table[static_cast<unsigned char>(c)];
    }
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  for (; i < in.size(); ++i) {
    if (in[i] != '=' || url) return std::nullopt;
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

std::string Base64Encode(std::string_view in, bool url) {
  const char* chars = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                          : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(chars[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(chars[(acc << (6 - bits)) & 0x3f]);
  if (!url) {
    while (out.size() % 4 != 0) out.push_back('=');
  }
  return out;
}

// ---- tokens ----

TokenStore::TokenStore(std::string org_id15, std::chrono::milliseconds session_timeout,
                       uint64_t seed)
    : org_id15_(std::move(org_id15)), timeout_(session_timeout), rng_(seed ^ 0x5eed70c3u) {}

std::string TokenStore::Issue(Clock::TimePoint now) {
  static constexpr std::string_view kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._";
  std::string token = org_id15_ + "!AR";
  for (int i = 0; i < 96; ++i) token.push_back(kChars[rng_() % kChars.size()]);
  tokens_[token] = now;
  order_.emplace_back(now, token);
  ++issued_;
  Prune(now);
  return token;
}

bool TokenStore::Valid(std::string_view token, Clock::TimePoint now) {
  auto it = tokens_.find(std::string(token));
  if (it == tokens_.end()) return false;
  return now - it->second < timeout_;
}

void TokenStore::ExpireAll() {
  tokens_.clear();
  order_.clear();
}

void TokenStore::Prune(Clock::TimePoint now) {
  while (!order_.empty() && now - order_.front().first >= timeout_) {
    auto it = tokens_.find(order_.front().second);
    if (it != tokens_.end() && it->second == order_.front().first) tokens_.erase(it);
    order_.pop_front();
  }
}

// ---- JWT ----

struct JwtVerifier::Key {
  struct Free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  };
  std::unique_ptr<EVP_PKEY, Free> pkey;
};

JwtVerifier::JwtVerifier(std::unique_ptr<Key> key) : key_(std::move(key)) {}
JwtVerifier::~JwtVerifier() = default;

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::FromPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot read JWT key file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return FromPem(ss.str());
}

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::FromPem(std::string_view pem) {
  struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
  };
  struct X509Free {
    void operator()(X509* x) const { X509_free(x); }
  };
  auto key = std::make_unique<Key>();
  auto bio = [&] {
    return std::unique_ptr<BIO, BioFree>(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  };
  if (pem.find("BEGIN CERTIFICATE") != std::string_view::npos) {
    auto b = bio();
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
    if (!cert) return InvalidArgumentError("JWT key: unreadable PEM certificate");
    key->pkey.reset(X509_get_pubkey(cert.get()));
  } else {
    auto b = bio();
    key->pkey.reset(PEM_read_bio_PUBKEY(b.get(), nullptr, nullptr, nullptr));
  }
  if (!key->pkey) return InvalidArgumentError("JWT key: no PEM certificate or public key found");
  if (EVP_PKEY_base_id(key->pkey.get()) != EVP_PKEY_RSA) {
    return InvalidArgumentError("JWT key: RS256 needs an RSA key");
  }
  return std::unique_ptr<JwtVerifier>(new JwtVerifier(std::move(key)));
}

Result<std::string> JwtVerifier::Verify(std::string_view assertion, const JwtPolicy& policy,
                                        int64_t now_epoch_s, OAuthError* error) const {
  auto fail = [&](std::string code, std::string description) -> Result<std::string> {
    if (error) *error = {code, description};
    return InvalidArgumentError(code + ": " + description);
  };
  if (assertion.size() > 16 * 1024) return fail("invalid_grant", "invalid assertion");
  size_t d1 = assertion.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : assertion.find('.', d1 + 1);
  if (d2 == std::string_view::npos || assertion.find('.', d2 + 1) != std::string_view::npos) {
    return fail("invalid_grant", "invalid assertion");
  }
  auto header = Base64Decode(assertion.substr(0, d1), true);
  auto payload = Base64Decode(assertion.substr(d1 + 1, d2 - d1 - 1), true);
  auto signature = Base64Decode(assertion.substr(d2 + 1), true);
  if (!header || !payload || !signature) return fail("invalid_grant", "invalid assertion");
  rapidjson::Document h;
  h.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(header->data(),
                                                                                  header->size());
  if (h.HasParseError() || !h.IsObject()) return fail("invalid_grant", "invalid assertion");
  auto alg = h.FindMember("alg");
  if (alg == h.MemberEnd() || !alg->value.IsString() ||
      std::string_view(alg->value.GetString()) != "RS256") {
    return fail("invalid_grant", "invalid assertion: algorithm must be RS256");
  }
  // Signature over "header.payload".
  struct CtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx(EVP_MD_CTX_new());
  std::string_view signed_part = assertion.substr(0, d2);
  bool ok =
      ctx &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) == 1 &&
      EVP_DigestVerify(
          ctx.get(), reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
          reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
  if (!ok) return fail("invalid_grant", "invalid assertion: signature does not verify");
  rapidjson::Document p;
  p.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(payload->data(),
                                                                                  payload->size());
  if (p.HasParseError() || !p.IsObject()) return fail("invalid_grant", "invalid assertion");
  auto str = [&](const char* name) -> std::optional<std::string> {
    auto m = p.FindMember(name);
    if (m == p.MemberEnd() || !m->value.IsString()) return std::nullopt;
    return std::string(m->value.GetString(), m->value.GetStringLength());
  };
  auto iss = str("iss");
  if (!iss || *iss != policy.client_id)
    return fail("invalid_client_id", "client identifier invalid");
  // `aud` is a string or an array of strings.
  bool aud_ok = false;
  auto aud = p.FindMember("aud");
  auto accepted = [&](const rapidjson::Value& v) {
    if (!v.IsString()) return false;
    std::string a(v.GetString(), v.GetStringLength());
    while (!a.empty() && a.back() == '/') a.pop_back();
    for (auto want : policy.audiences) {
      while (!want.empty() && want.back() == '/') want.pop_back();
      if (a == want) return true;
    }
    return false;
  };
  if (aud != p.MemberEnd()) {
    if (aud->value.IsArray()) {
      for (const auto& v : aud->value.GetArray()) aud_ok = aud_ok || accepted(v);
    } else {
      aud_ok = accepted(aud->value);
    }
  }
  if (!aud_ok) return fail("invalid_grant", "audience is invalid");
  auto exp = p.FindMember("exp");
  if (exp == p.MemberEnd() || !exp->value.IsNumber()) {
    return fail("invalid_grant", "invalid assertion: no exp");
  }
  double e = exp->value.GetDouble();
  if (e + static_cast<double>(policy.leeway.count()) < static_cast<double>(now_epoch_s)) {
    return fail("invalid_grant", "expired authorization code");
  }
  if (e > static_cast<double>(now_epoch_s + policy.max_ahead.count() + policy.leeway.count())) {
    return fail("invalid_grant", "invalid assertion: exp too far in the future");
  }
  auto sub = str("sub");
  if (!sub ||
      std::find(policy.usernames.begin(), policy.usernames.end(), *sub) == policy.usernames.end()) {
    return fail("invalid_grant", "user hasn't approved this consumer");
  }
  return *sub;
}

}  // namespace sluice::sfsim

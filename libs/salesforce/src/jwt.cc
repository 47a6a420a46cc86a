#include "sluice/salesforce/jwt.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <sstream>

namespace sluice::salesforce {
namespace {

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

std::string OpenSslError() {
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

// Refuses to prompt for a passphrase: an encrypted key is a configuration error, not a question
// for whoever sits at the terminal.
int NoPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

struct JwtSigner::Key {
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey;
};

// base64url on top of OpenSSL's standard-alphabet base64: translate the two differing
// characters and drop (or restore) the padding.
std::string Base64UrlEncode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return out;
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  if (text.size() % 4 == 1 || text.size() > (1u << 30)) return std::nullopt;
  std::string in(text);
  for (char& c : in) {
    bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '-') {
      c = '+';
    } else if (c == '_') {
      c = '/';
    } else if (!plain) {
      return std::nullopt;  // includes '+' and '/', which base64url does not use
    }
  }
  size_t padding = (4 - in.size() % 4) % 4;
  in.append(padding, '=');
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - padding);
  return out;
}

Result<JwtSigner> JwtSigner::FromPem(std::string_view pem) {
  if (pem.empty()) return InvalidArgumentError("private key PEM is empty");
  if (pem.size() > (1u << 20)) return InvalidArgumentError("private key PEM is over 1 MiB");
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return InternalError("BIO_new_mem_buf failed");
  ERR_clear_error();
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, &NoPassphrase, nullptr));
  if (!pkey) {
    return InvalidArgumentError(
        "cannot read PEM private key (unencrypted PKCS#8 or PKCS#1 RSA "
        "expected): " +
        OpenSslError());
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
    return InvalidArgumentError("private key is not an RSA key (RS256 needs RSA)");
  }
  if (EVP_PKEY_get_bits(pkey.get()) < 2048) {
    return InvalidArgumentError("RSA key shorter than 2048 bits");
  }
  auto key = std::make_shared<Key>();
  key->pkey = std::move(pkey);
  return JwtSigner(std::move(key));
}

Result<JwtSigner> JwtSigner::FromPemFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open private key file " + path);
  std::ostringstream text;
  text << in.rdbuf();
  auto signer = FromPem(text.str());
  if (!signer.ok()) return signer.status().WithContext(path);
  return signer;
}

Result<std::string> JwtSigner::Sign(const JwtClaims& claims) const {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                    rapidjson::CrtAllocator, rapidjson::kWriteValidateEncodingFlag>
      w(buffer);
  bool ok = w.StartObject() && w.Key("iss") && w.String(claims.iss) && w.Key("sub") &&
            w.String(claims.sub) && w.Key("aud") && w.String(claims.aud) && w.Key("exp") &&
            w.Int64(claims.exp) && w.EndObject(4);
  if (!ok) return InvalidArgumentError("JWT claims are not valid UTF-8");
  std::string input = Base64UrlEncode(R"({"alg":"RS256"})");
  input += '.';
  input += Base64UrlEncode(std::string_view(buffer.GetString(), buffer.GetSize()));

  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (!ctx) return InternalError("EVP_MD_CTX_new failed");
  ERR_clear_error();
  if (EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_->pkey.get()) != 1) {
    return InternalError("EVP_DigestSignInit: " + OpenSslError());
  }
  size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
    return InternalError("EVP_DigestSign: " + OpenSslError());
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     input.size()) != 1) {
    return InternalError("EVP_DigestSign: " + OpenSslError());
  }
  signature.resize(length);
  input += '.';
  input += Base64UrlEncode(signature);
  return input;
}

}  // namespace sluice::salesforce

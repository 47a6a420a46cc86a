#include "sluice/salesforce/jwt.h"

#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "test_keys.h"

namespace sluice::salesforce {
namespace {

using testing::SharedKey;

// Verifies an RS256 JWT with the public key, independently of the code under test.
bool VerifyRs256(const std::string& jwt, const std::string& public_pem) {
  size_t dot2 = jwt.rfind('.');
  if (dot2 == std::string::npos) return false;
  std::string input = jwt.substr(0, dot2);
  auto signature = Base64UrlDecode(jwt.substr(dot2 + 1));
  if (!signature) return false;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
            EVP_DigestVerify(
                ctx, reinterpret_cast<const unsigned char*>(signature->data()), signature->size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

TEST(Base64UrlTest, RoundTripsWithoutPadding) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("f"), "Zg");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff\xfe"), "-__-");  // the url-safe characters
  EXPECT_EQ(Base64UrlEncode(R"({"alg":"RS256"})"), "eyJhbGciOiJSUzI1NiJ9");
  for (int n = 0; n < 300; ++n) {
    std::string data;
    for (int i = 0; i < n; ++i) data += static_cast<char>((i * 131 + n) & 0xFF);
    std::string enc = Base64UrlEncode(data);
    EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
    auto dec = Base64UrlDecode(enc);
    ASSERT_TRUE(dec.has_value()) << n;
    EXPECT_EQ(*dec, data);
  }
  EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
  EXPECT_FALSE(Base64UrlDecode("a").has_value());
  EXPECT_FALSE(Base64UrlDecode("ab c").has_value());
  EXPECT_EQ(Base64UrlDecode("Zg==").value_or("?"), "f");
}

TEST(JwtSignerTest, BuildsAVerifiableRs256Assertion) {
  auto signer = JwtSigner::FromPem(SharedKey().private_pem);
  ASSERT_TRUE(signer.ok()) << signer.status();
  JwtClaims claims{"3MVG9consumerKey", "relay@example.com", "https://login.salesforce.com",
                   1767225780};
  auto jwt = signer->Sign(claims);
  ASSERT_TRUE(jwt.ok()) << jwt.status();
  EXPECT_TRUE(VerifyRs256(*jwt, SharedKey().public_pem));

  size_t dot1 = jwt->find('.');
  size_t dot2 = jwt->rfind('.');
  ASSERT_NE(dot1, dot2);
  EXPECT_EQ(jwt->find_first_of("+/="), std::string::npos);
  EXPECT_EQ(Base64UrlDecode(jwt->substr(0, dot1)).value_or(""), R"({"alg":"RS256"})");
  std::string payload = Base64UrlDecode(jwt->substr(dot1 + 1, dot2 - dot1 - 1)).value_or("");
  rapidjson::Document doc;
  doc.Parse(payload.c_str());
  ASSERT_FALSE(doc.HasParseError()) << payload;
  EXPECT_STREQ(doc["iss"].GetString(), "3MVG9consumerKey");
  EXPECT_STREQ(doc["sub"].GetString(), "relay@example.com");
  EXPECT_STREQ(doc["aud"].GetString(), "https://login.salesforce.com");
  EXPECT_EQ(doc["exp"].GetInt64(), 1767225780);

  // A tampered payload no longer verifies (the check above is not vacuous).
  std::string tampered = *jwt;
  tampered[dot1 + 3] = tampered[dot1 + 3] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(VerifyRs256(tampered, SharedKey().public_pem));
  // Nor does it verify with another key.
  EXPECT_FALSE(VerifyRs256(*jwt, testing::MakeRsaKey().public_pem));
}

TEST(JwtSignerTest, EscapesClaims) {
  auto signer = JwtSigner::FromPem(SharedKey().private_pem);
  ASSERT_TRUE(signer.ok());
  auto jwt = signer->Sign({"a\"b", "line\nbreak", "https://x", 1});
  ASSERT_TRUE(jwt.ok());
  size_t dot1 = jwt->find('.');
  std::string payload =
      Base64UrlDecode(jwt->substr(dot1 + 1, jwt->rfind('.') - dot1 - 1)).value_or("");
  rapidjson::Document doc;
  doc.Parse(payload.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["iss"].GetString(), "a\"b");
  EXPECT_STREQ(doc["sub"].GetString(), "line\nbreak");
  EXPECT_FALSE(signer->Sign({"\xff\xfe", "s", "a", 1}).ok());  // not UTF-8
}

TEST(JwtSignerTest, RejectsUnusableKeys) {
  EXPECT_EQ(JwtSigner::FromPem("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(JwtSigner::FromPem("not a key").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(JwtSigner::FromPem(SharedKey().public_pem).status().code(),
            StatusCode::kInvalidArgument);
  std::string truncated = SharedKey().private_pem.substr(0, SharedKey().private_pem.size() / 2);
  EXPECT_EQ(JwtSigner::FromPem(truncated).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(JwtSigner::FromPem(std::string(2 << 20, 'A')).status().code(),
            StatusCode::kInvalidArgument);

  // An EC key cannot sign RS256.
  EVP_PKEY* ec = EVP_EC_gen("P-256");
  ASSERT_NE(ec, nullptr);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string ec_pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  EVP_PKEY_free(ec);
  auto ec_signer = JwtSigner::FromPem(ec_pem);
  EXPECT_EQ(ec_signer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(ec_signer.status().message().find("RSA"), std::string::npos);

  // An encrypted key fails instead of prompting for a passphrase.
  BIO* in = BIO_new_mem_buf(SharedKey().private_pem.data(),
                            static_cast<int>(SharedKey().private_pem.size()));
  EVP_PKEY* rsa = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(rsa, nullptr);
  BIO* enc = BIO_new(BIO_s_mem());
  char pass[] = "secret";
  PEM_write_bio_PKCS8PrivateKey(enc, rsa, EVP_aes_256_cbc(), pass, 6, nullptr, nullptr);
  n = BIO_get_mem_data(enc, &data);
  std::string encrypted(data, static_cast<size_t>(n));
  BIO_free(enc);
  EVP_PKEY_free(rsa);
  EXPECT_EQ(JwtSigner::FromPem(encrypted).status().code(), StatusCode::kInvalidArgument);

  // Files.
  EXPECT_EQ(JwtSigner::FromPemFile("/nonexistent/key.pem").status().code(), StatusCode::kNotFound);
  char path[] = "/tmp/sluice_jwt_keyXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, SharedKey().private_pem.data(), SharedKey().private_pem.size()),
            static_cast<ssize_t>(SharedKey().private_pem.size()));
  close(fd);
  auto from_file = JwtSigner::FromPemFile(path);
  std::remove(path);
  ASSERT_TRUE(from_file.ok()) << from_file.status();
  auto jwt = from_file->Sign({"i", "s", "a", 2});
  ASSERT_TRUE(jwt.ok());
  EXPECT_TRUE(VerifyRs256(*jwt, SharedKey().public_pem));
}

}  // namespace
}  // namespace sluice::salesforce

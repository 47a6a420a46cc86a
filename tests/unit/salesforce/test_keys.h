// RSA test keys generated once per test binary with OpenSSL (no key material in the repository).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <string>

namespace sluice::salesforce::testing {

struct TestKey {
  std::string private_pem;
  std::string public_pem;
};

inline TestKey MakeRsaKey(int bits = 2048) {
  TestKey key;
  EVP_PKEY* pkey = EVP_RSA_gen(static_cast<unsigned>(bits));
  if (pkey == nullptr) return key;
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, pkey);
  char* data = nullptr;
  long n = BIO_get_mem_data(priv, &data);
  key.private_pem.assign(data, static_cast<size_t>(n));
  n = BIO_get_mem_data(pub, &data);
  key.public_pem.assign(data, static_cast<size_t>(n));
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(pkey);
  return key;
}

// One 2048-bit key shared by the tests of this binary (generation takes a moment).
inline const TestKey& SharedKey() {
  static const TestKey* key = new TestKey(MakeRsaKey());
  return *key;
}

}  // namespace sluice::salesforce::testing

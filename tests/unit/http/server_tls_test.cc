// CheckServerTls (libs/http/src/server_tls.cc): the TLS files are loaded and every bad one is
// refused with the file's name and what is wrong. Certificates are made here with OpenSSL's API.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sluice/http/server.h"

namespace sluice::http {
namespace {

// A temporary directory with a self-signed EC certificate (cert.pem, key.pem).
class TlsFiles {
 public:
  TlsFiles()
      : dir_(std::filesystem::temp_directory_path() /
             ("sluice-tls-test-" +
              std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
              std::to_string(reinterpret_cast<uintptr_t>(this)))) {
    std::filesystem::create_directories(dir_);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* x = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME* name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("test"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_sign(x, key, EVP_sha256());
    FILE* f = std::fopen(Path("cert.pem").c_str(), "w");
    PEM_write_X509(f, x);
    std::fclose(f);
    f = std::fopen(Path("key.pem").c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    X509_free(x);
    EVP_PKEY_free(key);
  }
  ~TlsFiles() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  std::string Write(const std::string& name, const std::string& content) const {
    std::ofstream(Path(name), std::ios::binary) << content;
    return Path(name);
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(Path(name));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  ServerOptions Options(ClientCertMode mode, const std::string& ca) const {
    ServerOptions o;
    o.tls_cert_file = Path("cert.pem");
    o.tls_key_file = Path("key.pem");
    o.tls_client_certs = mode;
    o.tls_client_ca_file = ca;
    return o;
  }

 private:
  std::filesystem::path dir_;
};

TEST(ServerTlsTest, AGoodCaFileAndTheModesWithoutOne) {
  TlsFiles files;
  EXPECT_TRUE(
      CheckServerTls(files.Options(ClientCertMode::kRequired, files.Path("cert.pem"))).ok());
  EXPECT_TRUE(CheckServerTls(files.Options(ClientCertMode::kOff, "")).ok());
  EXPECT_TRUE(CheckServerTls(ServerOptions{}).ok());  // plain HTTP
  Status no_ca = CheckServerTls(files.Options(ClientCertMode::kOptional, ""));
  EXPECT_FALSE(no_ca.ok());
  EXPECT_NE(no_ca.message().find("client CA file"), std::string::npos) << no_ca.message();
  ServerOptions no_tls;
  no_tls.tls_client_certs = ClientCertMode::kRequired;
  no_tls.tls_client_ca_file = files.Path("cert.pem");
  EXPECT_FALSE(CheckServerTls(no_tls).ok());
}

TEST(ServerTlsTest, HostileCaFilesAreRefusedByName) {
  TlsFiles files;
  const std::string cert = files.Read("cert.pem");
  const std::string key = files.Read("key.pem");
  std::string binary;
  for (int i = 0; i < 65536; ++i) binary.push_back(static_cast<char>((i * 131) & 0xff));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty", ""},
      {"text", "hello, I am not a certificate\n"},
      {"binary", binary},
      {"bad-base64", "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n"},
      {"truncated", cert.substr(0, cert.size() / 2)},
      {"key-only", key},  // PEM, but not a certificate
      {"good-then-garbage",
       cert + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"},
  };
  for (const auto& [name, content] : cases) {
    const std::string path = files.Write(name + ".pem", content);
    Status st = CheckServerTls(files.Options(ClientCertMode::kRequired, path));
    EXPECT_FALSE(st.ok()) << name;
    EXPECT_NE(st.message().find("client CA file '" + path + "'"), std::string::npos)
        << name << ": " << st.message();
  }
  Status missing = CheckServerTls(files.Options(ClientCertMode::kRequired, files.Path("nope")));
  EXPECT_NE(missing.message().find("cannot be read"), std::string::npos) << missing.message();
}

TEST(ServerTlsTest, ABadCertificateOrKeyIsNamed) {
  TlsFiles files;
  ServerOptions o = files.Options(ClientCertMode::kOff, "");
  o.tls_cert_file = files.Write("garbage-cert.pem", "garbage");
  Status cert = CheckServerTls(o);
  EXPECT_NE(cert.message().find("certificate file '" + o.tls_cert_file + "'"), std::string::npos)
      << cert.message();
  o = files.Options(ClientCertMode::kOff, "");
  o.tls_key_file = files.Write("garbage-key.pem", "garbage");
  Status key = CheckServerTls(o);
  EXPECT_NE(key.message().find("key file '" + o.tls_key_file + "'"), std::string::npos)
      << key.message();
}

}  // namespace
}  // namespace sluice::http

// Client certificates (mutual TLS) against a real sluice-gateway over real TLS on loopback:
// certificates made here with the openssl command, requests sent with curl.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sluice/testing/gateway_process.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/process.h"

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;

// Runs openssl; fails the test (and returns false) when it does not succeed.
bool OpenSsl(std::vector<std::string> args) {
  args.insert(args.begin(), "openssl");
  CapturedRun r = RunCapturing(args, Ms(60'000));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0;
}

// A directory of certificates: two CAs, a server certificate, client certificates.
class Pki {
 public:
  Pki() : dir_((std::filesystem::temp_directory_path() / KafkaBroker::UniqueName("gw-mtls"))) {
    std::filesystem::create_directories(dir_);
  }
  ~Pki() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }

  // A self-signed CA <name>.pem / <name>.key.
  bool Ca(const std::string& name) {
    return OpenSsl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", Path(name + ".key"), "-out", Path(name + ".pem"), "-days",
                    "2", "-subj", "/CN=" + name});
  }
  // <name>.pem / <name>.key signed by `ca`, valid for `days` (-1: expired yesterday), with the
  // subject CN `cn` and, when not empty, the subjectAltName `san` (e.g. "URI:spiffe://x/y").
  bool Leaf(const std::string& name, const std::string& ca, const std::string& cn,
            const std::string& san = "", int days = 1) {
    if (!OpenSsl({"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                  "-keyout", Path(name + ".key"), "-out", Path(name + ".csr"), "-subj",
                  "/CN=" + cn})) {
      return false;
    }
    std::vector<std::string> args = {"x509",
                                     "-req",
                                     "-in",
                                     Path(name + ".csr"),
                                     "-CA",
                                     Path(ca + ".pem"),
                                     "-CAkey",
                                     Path(ca + ".key"),
                                     "-CAcreateserial",
                                     "-out",
                                     Path(name + ".pem"),
                                     "-days",
                                     std::to_string(days)};
    if (!san.empty()) {
      std::ofstream(Path(name + ".ext")) << "subjectAltName=" << san << "\n";
      args.push_back("-extfile");
      args.push_back(Path(name + ".ext"));
    }
    return OpenSsl(args);
  }

 private:
  std::filesystem::path dir_;
};

struct Answer {
  int curl_exit = -1;
  std::string status;  // "202", ... or "000" when there was no HTTP answer
  std::string body;
};

// POSTs one event of `sobject` to the gateway with curl, with client certificate `cert` (a name
// in `pki`, empty: none) and bearer token `token` (empty: none).
Answer Post(const Pki& pki, uint16_t port, const std::string& cert, const std::string& token,
            const std::string& sobject, uint64_t n) {
  const std::string body_path = pki.Path("answer-" + std::to_string(n));
  std::vector<std::string> args = {"curl",   "-sk",
                                   "-m",     "20",
                                   "-o",     body_path,
                                   "-w",     "%{http_code}",
                                   "-H",     "Content-Type: application/json",
                                   "--data", GatewayTestEvent(14, n, 1000, sobject)};
  if (!cert.empty()) {
    args.insert(args.end(), {"--cert", pki.Path(cert + ".pem"), "--key", pki.Path(cert + ".key")});
  }
  if (!token.empty()) args.insert(args.end(), {"-H", "Authorization: Bearer " + token});
  args.push_back("https://127.0.0.1:" + std::to_string(port) + "/v1/events");
  Answer a;
  CapturedRun r = RunCapturing(args, Ms(30'000));
  a.curl_exit = r.exit_code;
  a.status = r.out.substr(0, 3);
  std::ifstream in(body_path);
  a.body.assign(std::istreambuf_iterator<char>(in), {});
  return a;
}

// Certificates for every case, a topic, and a gateway with client certificates in `mode`. The
// token file names "writer-any" by CN (any sObject), "spiffe://sluice.test/contacts" by SAN
// (Contact only) and "slow" by CN (1 event/s).
class ClientCertTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = KafkaBroker::Shared();
    ASSERT_TRUE(broker.ok());
    bootstrap_ = (*broker)->bootstrap();
    auto topic = (*broker)->CreateTopic(1, "gw-mtls");
    ASSERT_TRUE(topic.ok());
    topic_ = *topic;
    ASSERT_TRUE(pki_.Ca("ca"));
    ASSERT_TRUE(pki_.Ca("other-ca"));
    ASSERT_TRUE(pki_.Leaf("server", "ca", "127.0.0.1", "IP:127.0.0.1"));
    ASSERT_TRUE(pki_.Leaf("any", "ca", "writer-any"));
    ASSERT_TRUE(pki_.Leaf("contacts", "ca", "someone", "URI:spiffe://sluice.test/contacts"));
    ASSERT_TRUE(pki_.Leaf("stranger", "ca", "stranger"));
    ASSERT_TRUE(pki_.Leaf("slow", "ca", "slow"));
    ASSERT_TRUE(pki_.Leaf("foreign", "other-ca", "writer-any"));  // the right CN, the wrong CA
    ASSERT_TRUE(pki_.Leaf("expired", "ca", "writer-any", "", -1));
  }

  GatewayProcessOptions Options(const std::string& mode) {
    GatewayProcessOptions o;
    o.bootstrap = bootstrap_;
    o.topics = {{"Contact", topic_}, {"Account", topic_}};
    o.tls_cert_file = pki_.Path("server.pem");
    o.tls_key_file = pki_.Path("server.key");
    o.tls_client_certs = mode;
    o.tls_client_ca_file = pki_.Path("ca.pem");
    o.extra_tokens_yaml =
        "  - name: cert-any\n    client_cert_cn: writer-any\n    sobjects: ['*']\n"
        "  - name: cert-contacts\n    client_cert_san: 'spiffe://sluice.test/contacts'\n"
        "    sobjects: [Contact]\n"
        "  - name: cert-slow\n    client_cert_cn: slow\n    sobjects: ['*']\n"
        "    events_per_second: 1\n";
    return o;
  }

  std::string bootstrap_;
  std::string topic_;
  Pki pki_;
};

TEST_F(ClientCertTest, RequiredModeAuthorizesByCertificate) {
  auto gw = GatewayProcess::Start(Options("required"));
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  const uint16_t port = (*gw)->port();

  // A certificate from the CA whose CN the token file names: 202, no token needed.
  Answer ok = Post(pki_, port, "any", "", "Account", 1);
  EXPECT_EQ(ok.status, "202") << ok.body;
  // No certificate: 401, even with a valid bearer token (required means every request).
  Answer none = Post(pki_, port, "", "", "Contact", 2);
  EXPECT_EQ(none.status, "401") << none.body;
  EXPECT_NE(none.body.find("client certificate is required"), std::string::npos) << none.body;
  Answer token_only = Post(pki_, port, "", kGatewayToken, "Contact", 3);
  EXPECT_EQ(token_only.status, "401") << token_only.body;
  // A certificate from another CA (with the right CN): the handshake fails, no HTTP answer.
  Answer foreign = Post(pki_, port, "foreign", "", "Contact", 4);
  EXPECT_EQ(foreign.status, "000");
  EXPECT_NE(foreign.curl_exit, 0);
  // An expired certificate from the right CA: refused in the handshake too.
  Answer expired = Post(pki_, port, "expired", "", "Contact", 5);
  EXPECT_EQ(expired.status, "000");
  EXPECT_NE(expired.curl_exit, 0);
  // Valid, but named by no entry: authenticated, not authorized.
  Answer stranger = Post(pki_, port, "stranger", "", "Contact", 6);
  EXPECT_EQ(stranger.status, "403") << stranger.body;
  EXPECT_NE(stranger.body.find("CN=stranger"), std::string::npos) << stranger.body;
  // Named by SAN with Contact only: Contact 202, Account 403 naming the event.
  Answer contact = Post(pki_, port, "contacts", "", "Contact", 7);
  EXPECT_EQ(contact.status, "202") << contact.body;
  Answer account = Post(pki_, port, "contacts", "", "Account", 8);
  EXPECT_EQ(account.status, "403") << account.body;
  EXPECT_NE(account.body.find("cert-contacts"), std::string::npos) << account.body;
  // A certificate entry's rate limit applies: 1 event/s, so the second request at once is 429.
  Answer slow1 = Post(pki_, port, "slow", "", "Contact", 9);
  Answer slow2 = Post(pki_, port, "slow", "", "Contact", 10);
  EXPECT_EQ(slow1.status, "202") << slow1.body;
  EXPECT_EQ(slow2.status, "429") << slow2.body;
  // A wrong bearer token beside a valid certificate is refused, not ignored.
  Answer wrong = Post(pki_, port, "any", "not-a-token", "Contact", 11);
  EXPECT_EQ(wrong.status, "401") << wrong.body;
  // The failed handshakes did not hurt the gateway.
  Answer again = Post(pki_, port, "any", "", "Contact", 12);
  EXPECT_EQ(again.status, "202") << again.body;
  EXPECT_TRUE((*gw)->child().running());
  // The refused handshakes are counted (/metrics needs no certificate).
  CapturedRun metrics = RunCapturing(
      {"curl", "-sk", "-m", "20", "https://127.0.0.1:" + std::to_string(port) + "/metrics"},
      Ms(30'000));
  const std::string key = "sluice_gateway_http_server_total{event=\"tls_handshake_failures\"} ";
  const size_t at = metrics.out.find(key);
  ASSERT_NE(at, std::string::npos) << metrics.out.substr(0, 2000);
  EXPECT_GE(std::atof(metrics.out.c_str() + at + key.size()), 2.0);
}

TEST_F(ClientCertTest, OptionalModeTakesTokensOrCertificates) {
  auto gw = GatewayProcess::Start(Options("optional"));
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  const uint16_t port = (*gw)->port();
  EXPECT_EQ(Post(pki_, port, "any", "", "Contact", 21).status, "202");
  EXPECT_EQ(Post(pki_, port, "", kGatewayToken, "Contact", 22).status, "202");
  Answer none = Post(pki_, port, "", "", "Contact", 23);
  EXPECT_EQ(none.status, "401") << none.body;
  // A certificate, when sent, must still be valid.
  EXPECT_EQ(Post(pki_, port, "foreign", kGatewayToken, "Contact", 24).status, "000");
  EXPECT_EQ(Post(pki_, port, "expired", kGatewayToken, "Contact", 25).status, "000");
}

// --check-config loads the client CA file: garbage, an empty file, a missing file, and a CA file
// without a mode each get a clear error naming the problem (exit 2), and a good one passes.
TEST_F(ClientCertTest, CheckConfigRefusesABadClientCaFile) {
  const std::string tokens = pki_.Path("tokens.yaml");
  std::ofstream(tokens) << "tokens:\n  - name: a\n    client_cert_cn: a\n    topics: ['*']\n";
  const std::string garbage = pki_.Path("garbage.pem");
  std::ofstream(garbage) << "-----BEGIN CERTIFICATE-----\nnot base64 at all !!!\n"
                            "-----END CERTIFICATE-----\n";
  const std::string binary = pki_.Path("binary.pem");
  {
    std::ofstream out(binary, std::ios::binary);
    for (int i = 0; i < 4096; ++i) out.put(static_cast<char>((i * 7919) & 0xff));
  }
  const std::string empty = pki_.Path("empty.pem");
  std::ofstream(empty) << "";
  auto check = [&](const std::string& http_yaml) {
    const std::string config = pki_.Path("gateway.yaml");
    std::ofstream(config) << "http: {listen: '127.0.0.1:0', tls_cert_file: '"
                          << pki_.Path("server.pem") << "', tls_key_file: '"
                          << pki_.Path("server.key") << "'" << http_yaml << "}\n"
                          << "kafka: {bootstrap: '127.0.0.1:1'}\nauth: {tokens_file: '" << tokens
                          << "'}\n";
    return RunCapturing({BinPath("sluice-gateway"), "--config", config, "--check-config"},
                        Ms(30'000));
  };
  const std::string req = ", tls_client_certs: required, tls_client_ca_file: '";
  for (const std::string& bad : {garbage, binary, empty}) {
    CapturedRun r = check(req + bad + "'");
    EXPECT_EQ(r.exit_code, 2) << bad << ": " << r.err;
    EXPECT_NE(r.err.find("client CA file '" + bad + "'"), std::string::npos) << r.err;
  }
  CapturedRun missing = check(req + pki_.Path("nope.pem") + "'");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("cannot be read"), std::string::npos) << missing.err;
  CapturedRun no_ca = check(", tls_client_certs: required");
  EXPECT_EQ(no_ca.exit_code, 2);
  EXPECT_NE(no_ca.err.find("needs http.tls_client_ca_file"), std::string::npos) << no_ca.err;
  CapturedRun ca_off = check(", tls_client_ca_file: '" + pki_.Path("ca.pem") + "'");
  EXPECT_EQ(ca_off.exit_code, 2);
  EXPECT_NE(ca_off.err.find("tls_client_certs is off"), std::string::npos) << ca_off.err;
  CapturedRun bad_mode = check(", tls_client_certs: sometimes");
  EXPECT_EQ(bad_mode.exit_code, 2);
  CapturedRun good = check(req + pki_.Path("ca.pem") + "'");
  EXPECT_EQ(good.exit_code, 0) << good.err;
}

}  // namespace
}  // namespace sluice::testing

#include "sluice/salesforce/auth.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fake_http_transport.h"
#include "sluice/core/logging.h"
#include "sluice/salesforce/jwt.h"
#include "sluice/testing/simulated_clock.h"
#include "test_keys.h"

namespace sluice::salesforce {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpTransport;
using testing::Response;

constexpr char kGoodToken[] =
    R"({"access_token":"00D5g000000abcd!AQ0AQ.token","signature":"sig","scope":"api",)"
    R"("instance_url":"https://acme.my.salesforce.com","id":"https://login.salesforce.com/id/)"
    R"(00D5g000000abcdEAA/0055g00000XyZ12AAB","token_type":"Bearer","issued_at":"1700000000000"})";

TEST(ParseTokenResponseTest, ParsesSalesforceAnswer) {
  auto token = ParseTokenResponse(200, kGoodToken);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->access_token, "00D5g000000abcd!AQ0AQ.token");
  EXPECT_EQ(token->instance_url, "https://acme.my.salesforce.com");
  EXPECT_EQ(token->org_id, "00D5g000000abcdEAA");
  EXPECT_EQ(token->user_id, "0055g00000XyZ12AAB");
  EXPECT_EQ(token->issued_at_ms, 1700000000000);
  auto minimal =
      ParseTokenResponse(200, R"({"access_token":"t","instance_url":"http://127.0.0.1:8080/"})");
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_EQ(minimal->instance_url, "http://127.0.0.1:8080");  // trailing '/' dropped
  EXPECT_EQ(minimal->org_id, "");
  EXPECT_EQ(minimal->issued_at_ms, 0);
}

TEST(ParseTokenResponseTest, RefusedCredentialsAreUnauthenticated) {
  auto refused = ParseTokenResponse(
      400, R"({"error":"invalid_grant","error_description":"authentication failure"})");
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(refused.status().message().find("invalid_grant: authentication failure"),
            std::string::npos);
  EXPECT_EQ(ParseTokenResponse(400, R"({"error":"invalid_client_id"})").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(ParseTokenResponse(401, "<html>no</html>").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(ParseTokenResponse(403, "").status().code(), StatusCode::kUnauthenticated);
}

TEST(ParseTokenResponseTest, HostileBodiesAreErrorsNotTokens) {
  const std::pair<int, std::string> cases[] = {
      {503, "<html><body>Down for maintenance</body></html>"},
      {500, kGoodToken},  // a token-shaped body with a failure status is not a token
      {200, ""},
      {200, "not json"},
      {200, "<html><body>Please log in</body></html>"},
      {200, "[]"},
      {200, "null"},
      {200, R"({"instance_url":"https://x.my.salesforce.com"})"},  // no access_token
      {200, R"({"access_token":"t"})"},                            // no instance_url
      {200, R"({"access_token":"","instance_url":"https://x"})"},  // empty token
      {200, R"({"access_token":42,"instance_url":"https://x"})"},  // wrong type
      {200, R"({"access_token":"t","instance_url":["https://x"]})"},
      {200, R"({"access_token":"t","instance_url":"https://x","id":7})"},
      {200, R"({"access_token":"t","instance_url":"https://x","issued_at":"soon"})"},
      {200, R"({"access_token":"t","instance_url":"https://x","issued_at":1700000000000})"},
      {200, R"({"access_token":"t","instance_url":"ftp://x"})"},
      {200, R"x({"access_token":"t","instance_url":"javascript:alert(1)"})x"},
      {200, R"({"access_token":"t","instance_url":"https://"})"},
      {200, R"({"access_token":"t","instance_url":"https://x/?a=b"})"},
      {200, R"({"access_token":"t","instance_url":"https://evil host"})"},
      // Header injection through the token.
      {200, R"({"access_token":"t\r\nX-Injected: 1","instance_url":"https://x"})"},
      {200, R"({"access_token":"has space","instance_url":"https://x"})"},
      {200, "{\"access_token\":\"\xff\xfe\",\"instance_url\":\"https://x\"}"},
      {200, std::string(100000, '{')},
      {200, R"({"access_token":")" + std::string(70000, 'a') + R"(","instance_url":"https://x"})"},
  };
  for (const auto& [status, body] : cases) {
    auto token = ParseTokenResponse(status, body);
    ASSERT_FALSE(token.ok()) << status << " " << body.substr(0, 100);
    EXPECT_EQ(token.status().code(), StatusCode::kUnavailable) << token.status();
    EXPECT_LT(token.status().message().size(), 600u);
  }
}

struct ProviderFixture {
  explicit ProviderFixture(AuthOptions options = DefaultOptions()) : options_(options) {
    transport.set_handler([this](const http::HttpRequest& r) -> Result<http::HttpResponse> {
      if (r.url.find("/services/oauth2/token") == std::string::npos) {
        return Response(404, "");
      }
      int n = ++token_requests;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait_for(lock, 20s, [this] { return !gate_closed; });
      }
      if (fail) {
        return Response(
            400, R"({"error":"invalid_grant","error_description":"authentication failure"})");
      }
      return Response(200, R"({"access_token":"tok)" + std::to_string(n) +
                               R"(","instance_url":"https://acme.my.salesforce.com"})");
    });
    auto created = TokenProvider::Create(options_, transport, clock, &stats);
    EXPECT_TRUE(created.ok()) << created.status();
    provider = std::move(created).value();
  }
  static AuthOptions DefaultOptions() {
    AuthOptions o;
    o.login_url = "https://login.example.test/";
    o.client_id = "client id";
    o.client_secret = "s3cret&=+";
    return o;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu);
      gate_closed = false;
    }
    cv.notify_all();
  }

  AuthOptions options_;
  sluice::testing::SimulatedClock clock;
  FakeHttpTransport transport;
  SalesforceStats stats;
  std::unique_ptr<TokenProvider> provider;
  std::atomic<int> token_requests{0};
  std::atomic<bool> fail{false};
  std::mutex mu;
  std::condition_variable cv;
  bool gate_closed = false;
};

TEST(TokenProviderTest, ClientCredentialsRequestAndCaching) {
  ProviderFixture f;
  auto t1 = f.provider->GetToken();
  ASSERT_TRUE(t1.ok()) << t1.status();
  EXPECT_EQ((*t1)->access_token, "tok1");
  EXPECT_EQ((*t1)->generation, 1u);
  auto t2 = f.provider->GetToken();
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ(t2->get(), t1->get());  // the same token object, no second request
  ASSERT_EQ(f.transport.requests().size(), 1u);
  const http::HttpRequest r = f.transport.requests()[0];
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.url, "https://login.example.test/services/oauth2/token");
  EXPECT_EQ(r.headers.Get("content-type"), "application/x-www-form-urlencoded");
  EXPECT_EQ(r.body,
            "grant_type=client_credentials&client_id=client%20id&client_secret=s3cret%26%3D%2B");
  EXPECT_EQ(f.stats.token_requests.load(), 1u);
}

TEST(TokenProviderTest, InvalidateDropsOnlyTheTokenSeen) {
  ProviderFixture f;
  auto t1 = f.provider->GetToken();
  ASSERT_TRUE(t1.ok());
  f.provider->Invalidate(**t1);
  EXPECT_EQ(f.provider->current(), nullptr);
  auto t2 = f.provider->GetToken();
  ASSERT_TRUE(t2.ok());
  EXPECT_EQ((*t2)->access_token, "tok2");
  EXPECT_EQ((*t2)->generation, 2u);
  // A late report about tok1 must not throw tok2 away.
  f.provider->Invalidate(**t1);
  EXPECT_EQ(f.provider->current().get(), t2->get());
  EXPECT_EQ(f.token_requests.load(), 2);
}

// Each token obtained or refreshed is logged at info, naming the user, org and instance, never the
// token or the secret.
TEST(TokenProviderTest, ObtainingAndRefreshingAreLoggedWithoutSecrets) {
  auto path = std::filesystem::temp_directory_path() /
              ("sluice_auth_log_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  ASSERT_TRUE(SetupLogging("t", LoggingOptions{.level = "info", .sink = path.string()}));
  spdlog::drop("salesforce");  // made by an earlier test, with the sinks of that time
  ProviderFixture f;
  auto t1 = f.provider->GetToken();
  ASSERT_TRUE(t1.ok());
  f.provider->Invalidate(**t1);
  ASSERT_TRUE(f.provider->GetToken().ok());
  GetLogger("salesforce")->flush();
  std::ifstream in(path);
  const std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("obtained a Salesforce access token"), std::string::npos) << log;
  EXPECT_NE(log.find("refreshed a Salesforce access token"), std::string::npos) << log;
  EXPECT_EQ(log.find("tok1"), std::string::npos) << log;
  EXPECT_EQ(log.find("tok2"), std::string::npos) << log;
  EXPECT_EQ(log.find("s3cret"), std::string::npos) << log;
  ASSERT_TRUE(SetupLogging("t", LoggingOptions{.level = "warn"}));
  spdlog::drop("salesforce");
  std::filesystem::remove(path);
}

TEST(TokenProviderTest, SixteenThreadsSeeingA401CauseExactlyOneRefresh) {
  ProviderFixture f;
  auto first = f.provider->GetToken();
  ASSERT_TRUE(first.ok());
  {
    std::lock_guard<std::mutex> lock(f.mu);
    f.gate_closed = true;  // the refresh hangs until every thread is waiting for it
  }
  constexpr int kThreads = 16;
  std::atomic<int> arrived{0};
  std::vector<Result<TokenPtr>> results(kThreads, UnavailableError("unset"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      f.provider->Invalidate(**first);  // every thread's request was refused with tok1
      arrived++;
      results[i] = f.provider->GetToken();
    });
  }
  // Wait (by condition) until the refresh is in flight and every thread has asked.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while ((f.token_requests.load() < 2 || arrived.load() < kThreads) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(arrived.load(), kThreads);
  EXPECT_EQ(f.token_requests.load(), 2);
  f.Open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(f.token_requests.load(), 2);  // the first token and exactly one refresh
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)->access_token, "tok2");
    EXPECT_EQ((*r)->generation, 2u);
  }
}

TEST(TokenProviderTest, FailureIsHeldOffOnTheClock) {
  ProviderFixture f;
  f.fail = true;
  auto t1 = f.provider->GetToken();
  ASSERT_FALSE(t1.ok());
  EXPECT_EQ(t1.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(f.token_requests.load(), 1);
  // Within the hold-off the failure is repeated without asking again.
  f.clock.Advance(4s);
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(f.provider->GetToken().status().code(), StatusCode::kUnauthenticated);
  }
  EXPECT_EQ(f.token_requests.load(), 1);
  f.clock.Advance(1s);
  f.fail = false;
  auto t2 = f.provider->GetToken();
  ASSERT_TRUE(t2.ok()) << t2.status();
  EXPECT_EQ(f.token_requests.load(), 2);
  EXPECT_EQ(f.stats.token_failures.load(), 1u);
}

TEST(TokenProviderTest, TransportFailureIsUnavailable) {
  sluice::testing::SimulatedClock clock;
  FakeHttpTransport transport([](const http::HttpRequest&) {
    return Result<http::HttpResponse>(UnavailableError("Couldn't connect to server"));
  });
  auto provider = TokenProvider::Create(ProviderFixture::DefaultOptions(), transport, clock);
  ASSERT_TRUE(provider.ok());
  auto t = (*provider)->GetToken();
  EXPECT_EQ(t.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(t.status().message().find("Couldn't connect"), std::string::npos);
}

TEST(TokenProviderTest, JwtBearerFlowSendsAVerifiableAssertion) {
  AuthOptions o;
  o.flow = AuthFlow::kJwtBearer;
  o.login_url = "https://test.salesforce.com";
  o.client_id = "3MVG9key";
  o.username = "relay@acme.com";
  o.private_key_pem = testing::SharedKey().private_pem;
  ProviderFixture f(o);
  auto t = f.provider->GetToken();
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_EQ(f.transport.requests().size(), 1u);
  std::string body = f.transport.requests()[0].body;
  const std::string prefix =
      "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
  ASSERT_EQ(body.substr(0, prefix.size()), prefix);
  std::string jwt = body.substr(prefix.size());
  size_t dot1 = jwt.find('.');
  size_t dot2 = jwt.rfind('.');
  ASSERT_NE(dot1, dot2);
  // Verify the signature with the public key.
  auto signature = Base64UrlDecode(jwt.substr(dot2 + 1));
  ASSERT_TRUE(signature.has_value());
  const std::string& pub = testing::SharedKey().public_pem;
  BIO* bio = BIO_new_mem_buf(pub.data(), static_cast<int>(pub.size()));
  EVP_PKEY* pkey = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(pkey, nullptr);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  std::string input = jwt.substr(0, dot2);
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, pkey), 1);
  EXPECT_EQ(EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature->data()),
                             signature->size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()),
            1);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  // Claims: exp is the (simulated) wall clock plus 180 s.
  std::string payload = Base64UrlDecode(jwt.substr(dot1 + 1, dot2 - dot1 - 1)).value_or("");
  rapidjson::Document doc;
  doc.Parse(payload.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["iss"].GetString(), "3MVG9key");
  EXPECT_STREQ(doc["sub"].GetString(), "relay@acme.com");
  EXPECT_STREQ(doc["aud"].GetString(), "https://test.salesforce.com");
  EXPECT_EQ(doc["exp"].GetInt64(), f.clock.WallMillis() / 1000 + 180);
}

TEST(TokenProviderTest, CreateValidatesOptions) {
  sluice::testing::SimulatedClock clock;
  FakeHttpTransport transport;
  auto check = [&](AuthOptions o, const char* needle) {
    auto p = TokenProvider::Create(o, transport, clock);
    ASSERT_FALSE(p.ok()) << needle;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(needle), std::string::npos) << p.status();
  };
  AuthOptions o = ProviderFixture::DefaultOptions();
  o.client_id = "";
  check(o, "client_id");
  o = ProviderFixture::DefaultOptions();
  o.client_secret = "";
  check(o, "client_secret");
  o = ProviderFixture::DefaultOptions();
  o.login_url = "login.salesforce.com";
  check(o, "login_url");
  o = ProviderFixture::DefaultOptions();
  o.flow = AuthFlow::kJwtBearer;
  o.username = "u";
  check(o, "private_key");
  o.private_key_file = "/nonexistent.pem";
  check(o, "nonexistent");
  o.private_key_pem = "garbage";
  check(o, "PEM");
  o.private_key_pem = testing::SharedKey().private_pem;
  o.jwt_lifetime = 181s;
  check(o, "jwt_lifetime");
  o.jwt_lifetime = 180s;
  o.username = "";
  check(o, "username");
}

}  // namespace
}  // namespace sluice::salesforce

#include "sluice/gateway/gateway.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <optional>

#include "fake_producer.h"
#include "sluice/metrics/registry.h"
#include "sluice/testing/simulated_clock.h"
#include "test_events.h"

namespace sluice::gateway {
namespace {

using testing::ContactEvent;
using testing::EventId;
using testing::FakeProducer;
using ::testing::HasSubstr;

class GatewayTest : public ::testing::Test {
 protected:
  void Make(GatewayOptions options = {}, const std::string& more_tokens = "") {
    auto store = TokenStore::LoadString(
        "tokens:\n"
        "  - {name: web, sha256: " +
        Sha256Hex("web") +
        ", sobjects: [Contact]}\n"
        "  - {name: slow, sha256: " +
        Sha256Hex("slow") +
        ", sobjects: ['*'], "
        "events_per_second: 10}\n" +
        more_tokens);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    tokens_ = std::make_unique<TokenStore>(std::move(store).value());
    options.bootstrap = "unused:1";
    GatewayDeps deps;
    deps.producer = &producer_;
    deps.tokens = tokens_.get();
    deps.clock = &clock_;
    deps.registry = &registry_;
    deps.openapi_yaml = "openapi: 3.1.0\n";
    auto g = Gateway::Create(options, deps);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    gateway_ = std::move(g).value();
    gateway_->SetBrokerReachable(true);
  }

  // Sends a request; the answer lands in answer_ (maybe later, from FakeProducer::Ack).
  void Send(std::string body, std::string content_type = "application/json",
            std::string token = "web", std::string method = "POST", std::string path = "/v1/events",
            std::optional<std::string> idempotency_key = std::nullopt,
            std::shared_ptr<const http::ClientCertificate> cert = nullptr) {
    http::ServerRequest req;
    req.client_certificate = std::move(cert);
    req.method = method;
    req.path = path;
    req.target = path;
    if (!token.empty()) req.headers.Add("Authorization", "Bearer " + token);
    if (!content_type.empty()) req.headers.Add("Content-Type", content_type);
    if (idempotency_key) req.headers.Add("Idempotency-Key", *idempotency_key);
    req.body = std::move(body);
    answer_.reset();
    ++sent_;
    gateway_->Handle(req, [this](http::ServerResponse r) {
      ++answered_;
      answer_ = std::move(r);
    });
  }

  void TearDown() override { producer_.AckRest(); }

  rapidjson::Document Json() {
    rapidjson::Document d;
    d.Parse(answer_->body.c_str());
    EXPECT_FALSE(d.HasParseError()) << answer_->body;
    return d;
  }

  FakeProducer producer_;
  sluice::testing::SimulatedClock clock_;
  metrics::Registry registry_;
  std::unique_ptr<TokenStore> tokens_;
  std::unique_ptr<Gateway> gateway_;
  std::optional<http::ServerResponse> answer_;
  int sent_ = 0, answered_ = 0;
};

TEST_F(GatewayTest, Answers202OnlyAfterEveryEventIsAcked) {
  Make();
  Send("[" + ContactEvent(1) + "," + ContactEvent(2) + "," + ContactEvent(3) + "]");
  EXPECT_FALSE(answer_.has_value());
  ASSERT_EQ(producer_.records.size(), 3u);
  EXPECT_EQ(producer_.records[0].topic, "sf.contact.events");
  EXPECT_EQ(producer_.records[0].key, "K-1");
  EXPECT_THAT(producer_.records[0].value, HasSubstr(EventId(1)));
  EXPECT_EQ(gateway_->unacked_events(), 3);
  EXPECT_EQ(gateway_->requests_in_flight(), 1);
  producer_.Ack(2, 12, 1);
  producer_.Ack(0, 10, 1);
  EXPECT_FALSE(answer_.has_value());
  producer_.Ack(1, 11, 1);
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 202);
  rapidjson::Document d = Json();
  EXPECT_EQ(d["accepted"].GetInt(), 3);
  ASSERT_EQ(d["events"].Size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(d["events"][i]["index"].GetInt(), i);
    EXPECT_EQ(std::string(d["events"][i]["event_id"].GetString()), EventId(i + 1));
    EXPECT_EQ(d["events"][i]["partition"].GetInt(), 1);
    EXPECT_EQ(d["events"][i]["offset"].GetInt(), 10 + i);
  }
  EXPECT_EQ(gateway_->unacked_events(), 0);
  EXPECT_EQ(gateway_->requests_in_flight(), 0);
  EXPECT_THAT(registry_.RenderPrometheus(), HasSubstr("sluice_gateway_events_accepted_total 3"));
}

TEST_F(GatewayTest, OneFailedAckMakesA503ListingWhichEventsAreInKafka) {
  Make();
  Send("[" + ContactEvent(1) + "," + ContactEvent(2) + "]");
  producer_.Ack(0, 7);
  producer_.Fail(1, DeadlineExceededError("Local: Message timed out"));
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 503);
  EXPECT_EQ(answer_->headers.Get("Content-Type"), "application/problem+json");
  EXPECT_EQ(answer_->headers.Get("Retry-After"), "2");
  rapidjson::Document d = Json();
  EXPECT_THAT(d["detail"].GetString(), HasSubstr("same event ids"));
  EXPECT_EQ(std::string(d["events"][0]["status"].GetString()), "acked");
  EXPECT_EQ(d["events"][0]["offset"].GetInt(), 7);
  EXPECT_EQ(std::string(d["events"][1]["status"].GetString()), "not_acked");
  EXPECT_EQ(gateway_->unacked_events(), 0);
}

TEST_F(GatewayTest, AFullProducerQueueBeforeAnyProduceIs429) {
  Make();
  producer_.fail_after = 0;
  Send(ContactEvent(1));
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 429);
  EXPECT_TRUE(answer_->headers.Has("Retry-After"));
  EXPECT_EQ(gateway_->unacked_events(), 0);
  EXPECT_EQ(gateway_->requests_in_flight(), 0);
}

TEST_F(GatewayTest, AQueueFullHalfwayWaitsForTheProducedEventsThenAnswers503) {
  Make();
  producer_.fail_after = 1;
  Send("[" + ContactEvent(1) + "," + ContactEvent(2) + "]");
  EXPECT_FALSE(answer_.has_value());
  EXPECT_EQ(gateway_->unacked_events(), 1);
  producer_.Ack(0, 1);
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 503);
  rapidjson::Document d = Json();
  EXPECT_EQ(std::string(d["events"][0]["status"].GetString()), "acked");
  EXPECT_EQ(std::string(d["events"][1]["status"].GetString()), "not_acked");
}

TEST_F(GatewayTest, UnackedBoundAnswers429AndProducesNothing) {
  GatewayOptions o;
  o.max_events = 2;
  o.max_unacked_events = 3;
  Make(o);
  Send("[" + ContactEvent(1) + "," + ContactEvent(2) + "]");
  EXPECT_FALSE(answer_.has_value());
  Send("[" + ContactEvent(3) + "," + ContactEvent(4) + "]");
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 429);
  EXPECT_EQ(answer_->headers.Get("Retry-After"), "1");
  EXPECT_EQ(producer_.records.size(), 2u);
  producer_.Ack(0, 0);
  producer_.Ack(1, 1);
  Send("[" + ContactEvent(3) + "," + ContactEvent(4) + "]");
  EXPECT_FALSE(answer_.has_value());
  EXPECT_EQ(producer_.records.size(), 4u);
}

TEST_F(GatewayTest, AuthErrors) {
  Make();
  Send(ContactEvent(1), "application/json", "");
  EXPECT_EQ(answer_->status, 401);
  EXPECT_TRUE(answer_->headers.Has("WWW-Authenticate"));
  Send(ContactEvent(1), "application/json", "wrong");
  EXPECT_EQ(answer_->status, 401);
  EXPECT_THAT(answer_->body, ::testing::Not(HasSubstr("wrong")));
  Send(ContactEvent(1, "Lead"), "application/json", "web");
  EXPECT_EQ(answer_->status, 403);
  rapidjson::Document d = Json();
  EXPECT_EQ(d["errors"][0]["index"].GetInt(), 0);
  EXPECT_EQ(std::string(d["errors"][0]["field"].GetString()), "/sobject");
  EXPECT_TRUE(producer_.records.empty());
}

// What the server hands over for a verified client certificate (the handshake did the checking).
std::shared_ptr<const http::ClientCertificate> Cert(std::string cn,
                                                    std::vector<std::string> uris = {}) {
  auto c = std::make_shared<http::ClientCertificate>();
  c->subject = "CN=" + cn + ",O=Test";
  c->common_name = std::move(cn);
  c->uris = std::move(uris);
  return c;
}

TEST_F(GatewayTest, ClientCertificatesAuthorizeByTheTokenFile) {
  GatewayOptions o;
  o.tls_client_certs = "required";
  Make(o,
       "  - {name: by-cn, client_cert_cn: writer, sobjects: ['*']}\n"
       "  - {name: by-san, client_cert_san: 'spiffe://t/contacts', sobjects: [Contact]}\n");
  // Named by CN, no token: produced.
  Send(ContactEvent(1, "Lead"), "application/json", "", "POST", "/v1/events", std::nullopt,
       Cert("writer"));
  EXPECT_EQ(producer_.records.size(), 1u);
  producer_.AckRest();
  EXPECT_EQ(answer_->status, 202);
  // Named by a URI SAN, scoped to Contact: a Lead is 403 naming the entry.
  Send(ContactEvent(2, "Lead"), "application/json", "", "POST", "/v1/events", std::nullopt,
       Cert("other", {"spiffe://t/contacts"}));
  EXPECT_EQ(answer_->status, 403);
  EXPECT_THAT(answer_->body, HasSubstr("by-san"));
  // Verified but named by nothing: 403 naming its subject.
  Send(ContactEvent(3), "application/json", "", "POST", "/v1/events", std::nullopt,
       Cert("stranger"));
  EXPECT_EQ(answer_->status, 403);
  EXPECT_THAT(answer_->body, HasSubstr("CN=stranger"));
  // A wrong token beside a good certificate: 401, the certificate does not stand in.
  Send(ContactEvent(4), "application/json", "wrong", "POST", "/v1/events", std::nullopt,
       Cert("writer"));
  EXPECT_EQ(answer_->status, 401);
  // required: no certificate is a 401 even with a good token.
  Send(ContactEvent(5), "application/json", "web");
  EXPECT_EQ(answer_->status, 401);
  EXPECT_THAT(answer_->body, HasSubstr("client certificate is required"));
  EXPECT_EQ(producer_.records.size(), 1u);
}

TEST_F(GatewayTest, OptionalClientCertificatesLeaveTokensWorking) {
  GatewayOptions o;
  o.tls_client_certs = "optional";
  Make(o, "  - {name: by-cn, client_cert_cn: writer, sobjects: ['*']}\n");
  Send(ContactEvent(1), "application/json", "web");
  producer_.AckRest();
  EXPECT_EQ(answer_->status, 202);
  Send(ContactEvent(2), "application/json", "");
  EXPECT_EQ(answer_->status, 401);
  EXPECT_THAT(answer_->body, HasSubstr("or a client certificate"));
}

TEST_F(GatewayTest, ATokensOwnRateLimitAnswers429WithRetryAfter) {
  Make();
  std::string ten;
  for (int i = 0; i < 10; ++i) ten += ContactEvent(i) + "\n";
  Send(ten, "application/x-ndjson", "slow");
  ASSERT_EQ(producer_.records.size(), 10u);
  for (size_t i = 0; i < 10; ++i) producer_.Ack(i, static_cast<int64_t>(i));
  EXPECT_EQ(answer_->status, 202);
  Send(ContactEvent(20), "application/json", "slow");
  ASSERT_TRUE(answer_.has_value());
  EXPECT_EQ(answer_->status, 429);
  EXPECT_EQ(answer_->headers.Get("Retry-After"), "1");
  clock_.Advance(std::chrono::milliseconds(200));
  Send(ContactEvent(21), "application/json", "slow");
  EXPECT_FALSE(answer_.has_value());  // produced
}

TEST_F(GatewayTest, ContentTypeBodyAndMethodErrors) {
  Make();
  Send(ContactEvent(1), "text/plain");
  EXPECT_EQ(answer_->status, 415);
  Send(ContactEvent(1), "");
  EXPECT_EQ(answer_->status, 415);
  Send("{", "application/json");
  EXPECT_EQ(answer_->status, 400);
  Send(ContactEvent(1), "application/json", "web", "GET");
  EXPECT_EQ(answer_->status, 405);
  EXPECT_EQ(answer_->headers.Get("Allow"), "POST");
  Send("", "", "", "GET", "/nowhere");
  EXPECT_EQ(answer_->status, 404);
  Send(ContactEvent(1), "application/json", "web", "POST", "/v1/events", EventId(9));
  EXPECT_EQ(answer_->status, 400);
  EXPECT_TRUE(producer_.records.empty());
  EXPECT_EQ(sent_, answered_);
}

TEST_F(GatewayTest, UnreachableBrokerAnswers503AtOnceAndReadyzSaysSo) {
  Make();
  gateway_->SetBrokerReachable(false);
  Send(ContactEvent(1));
  EXPECT_EQ(answer_->status, 503);
  EXPECT_TRUE(answer_->headers.Has("Retry-After"));
  EXPECT_TRUE(producer_.records.empty());
  Send("", "", "", "GET", "/readyz");
  EXPECT_EQ(answer_->status, 503);
  gateway_->SetBrokerReachable(true);
  Send("", "", "", "GET", "/readyz");
  EXPECT_EQ(answer_->status, 200);
  Send("", "", "", "GET", "/healthz");
  EXPECT_EQ(answer_->status, 200);
}

TEST_F(GatewayTest, DrainingRefusesNewRequestsButAnswersThoseInFlight) {
  Make();
  Send(ContactEvent(1));
  gateway_->BeginDrain();
  std::optional<http::ServerResponse> first;
  Send(ContactEvent(2));
  EXPECT_EQ(answer_->status, 503);
  EXPECT_TRUE(answer_->close_connection);
  EXPECT_EQ(gateway_->requests_in_flight(), 1);
  producer_.Ack(0, 0);
  EXPECT_EQ(answer_->status, 202);
  EXPECT_EQ(gateway_->requests_in_flight(), 0);
}

TEST_F(GatewayTest, MetricsCountRejectionsByReason) {
  Make();
  Send(ContactEvent(1), "text/plain");
  Send("{", "application/json");
  const std::string m = registry_.RenderPrometheus();
  EXPECT_THAT(m, HasSubstr("sluice_gateway_rejected_requests_total{reason=\"content_type\"} 1"));
  EXPECT_THAT(m, HasSubstr("sluice_gateway_rejected_requests_total{reason=\"invalid\"} 1"));
  EXPECT_THAT(m, HasSubstr("sluice_gateway_requests_total{code=\"415\"} 1"));
  EXPECT_THAT(m, HasSubstr("sluice_gateway_request_seconds_count"));
}

}  // namespace
}  // namespace sluice::gateway

// Hostile HTTP against a real sluice-gateway: each attack gets a clean error (or a closed
// connection where no answer is possible), the gateway stays up, and its memory stays bounded.
#include <gtest/gtest.h>
#include <poll.h>

#include <thread>

#include "sluice/testing/gateway_process.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;
using Headers = std::vector<std::pair<std::string, std::string>>;

[[maybe_unused]] const bool kBroker = RegisterKafkaBrokerEnvironment();

class HostileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = KafkaBroker::Shared();
    ASSERT_TRUE(broker.ok());
    auto topic = (*broker)->CreateTopic(1, "gw-hostile");
    ASSERT_TRUE(topic.ok());
    GatewayProcessOptions o;
    o.bootstrap = (*broker)->bootstrap();
    o.topics = {{"Contact", *topic}};
    o.extra_yaml =
        "limits: {max_body_bytes: 1000000, max_header_bytes: 8192, read_timeout: 2s,\n"
        "         idle_timeout: 5s}\n";
    auto gw = GatewayProcess::Start(o);
    ASSERT_TRUE(gw.ok()) << gw.status().ToString();
    gw_ = std::move(gw).value();
  }

  Headers Auth(const std::string& type = "application/json",
               const std::string& token = kGatewayToken) {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", type}};
  }

  // A fresh connection's answer to a request.
  RawResponse Post(const std::string& body, const Headers& headers) {
    auto c = RawConnection::Connect(gw_->port());
    EXPECT_TRUE(c.ok());
    auto r = (*c)->Request("POST", "/v1/events", headers, body, Ms(30'000));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RawResponse{};
  }

  void ExpectProblem(const RawResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("Content-Type"), "application/problem+json") << r.body;
  }

  void ExpectAlive() {
    auto c = RawConnection::Connect(gw_->port());
    ASSERT_TRUE(c.ok());
    auto r = (*c)->Request("GET", "/healthz", {}, "", Ms(10'000));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }

  std::unique_ptr<GatewayProcess> gw_;
};

TEST_F(HostileTest, GarbageBytesGetA400OrAClose) {
  for (std::string garbage :
       {std::string("\x00\xff\xfe garbage\r\n\r\n", 15), std::string("GET / HTTP/9.9\r\n\r\n"),
        std::string(5000, '\x01'),
        std::string("POST /v1/events HTTP/1.1\r\nContent-Length: -5\r\n\r\n")}) {
    auto c = RawConnection::Connect(gw_->port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send(garbage).ok());
    auto r = (*c)->ReadResponse(Ms(10'000));
    if (r.ok()) {
      EXPECT_EQ(r->status, 400) << r->body;
    } else {
      EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
    }
    ExpectAlive();
  }
}

TEST_F(HostileTest, OversizeHeadersAre431AndOversizeBodies413) {
  Headers big = Auth();
  big.emplace_back("X-Big", std::string(20'000, 'a'));
  ExpectProblem(Post("{}", big), 431);
  ExpectProblem(Post(std::string(2'000'000, ' '), Auth()), 413);
  ExpectAlive();
}

TEST_F(HostileTest, AChunkedBodyThatNeverEndsIsCutOff) {
  auto c = RawConnection::Connect(gw_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         std::string(kGatewayToken) +
                         "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                  .ok());
  const std::string chunk = "10000\r\n" + std::string(0x10000, ' ') + "\r\n";
  size_t sent = 0;
  for (int i = 0; i < 200; ++i) {  // up to 13 MB, far past the 1 MB limit
    if (!(*c)->Send(chunk, Ms(5'000)).ok()) break;
    sent += chunk.size();
    pollfd p{(*c)->fd(), POLLIN, 0};
    if (poll(&p, 1, 0) > 0) break;  // the answer (or the close) is there
  }
  auto r = (*c)->ReadResponse(Ms(10'000));
  if (r.ok()) {
    ExpectProblem(*r, 413);
  } else {
    EXPECT_TRUE((*c)->WaitClosed(Ms(10'000)));
  }
  // The 413 comes once the limit is passed, not at the end of the stream (socket buffers hold
  // some more).
  EXPECT_LT(sent, 6'000'000u);
  ExpectAlive();
}

TEST_F(HostileTest, SlowlorisIsClosedAfterTheReadTimeout) {
  auto c = RawConnection::Connect(gw_->port());
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Send("POST /v1/events HTTP/1.1\r\nHost: x\r\n").ok());
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    if (!(*c)->Send("X-Slow-" + std::to_string(i) + ": a\r\n", Ms(1'000)).ok()) break;
    closed = (*c)->WaitClosed(Ms(500));
  }
  if (!closed) closed = (*c)->WaitClosed(Ms(5'000));
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ExpectAlive();
}

TEST_F(HostileTest, WrongContentTypeTokenAndTopicAreRefused) {
  const std::string ev = GatewayTestEvent(9, 1);
  ExpectProblem(Post(ev, Auth("text/plain")), 415);
  ExpectProblem(Post(ev, Auth("application/json", "not-a-token")), 401);
  ExpectProblem(Post(ev, {{"Content-Type", "application/json"}}), 401);
  ExpectProblem(
      Post(GatewayTestEvent(9, 2, 10, "Lead"), Auth("application/json", kGatewayContactToken)),
      403);
  ExpectAlive();
}

TEST_F(HostileTest, HostileJsonIsA400Or413) {
  std::string bad_utf8 = GatewayTestEvent(9, 3);
  bad_utf8[bad_utf8.find("L3")] = '\xC0';
  ExpectProblem(Post(bad_utf8, Auth()), 400);
  ExpectProblem(Post(std::string(10'000, '[') + std::string(10'000, ']'), Auth()), 400);
  ExpectProblem(Post(std::string(10'000, '{'), Auth("application/x-ndjson")), 400);
  std::string tiny = "[";
  for (int i = 0; i < 100'000; ++i) tiny += i ? ",{}" : "{}";
  tiny += "]";
  ExpectProblem(Post(tiny, Auth()), 413);
  ExpectAlive();
}

TEST_F(HostileTest, MemoryStaysBoundedUnderRepeatedAttacks) {
  const int64_t before = gw_->RssKib().value_or(0);
  std::string tiny = "[";
  for (int i = 0; i < 100'000; ++i) tiny += i ? ",{}" : "{}";
  tiny += "]";
  const std::string deep = std::string(10'000, '[') + std::string(10'000, ']');
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 30; ++i) {
        for (const std::string* body : {static_cast<const std::string*>(&tiny), &deep}) {
          auto c = RawConnection::Connect(gw_->port());
          if (!c.ok()) continue;
          (void)(*c)->Request("POST", "/v1/events", Auth(), *body, Ms(30'000));
        }
        auto c = RawConnection::Connect(gw_->port());
        if (c.ok()) (void)(*c)->Request("POST", "/v1/events", Auth(), std::string(2'000'000, ' '));
      }
    });
  }
  for (auto& t : threads) t.join();
  const int64_t after = gw_->RssKib().value_or(0);
  std::printf("gateway RSS: %lld KiB before, %lld KiB after 360 hostile requests\n",
              static_cast<long long>(before), static_cast<long long>(after));
  EXPECT_GT(after, 0);
  EXPECT_LT(after, 200 * 1024);
  ExpectAlive();
}

}  // namespace
}  // namespace sluice::testing

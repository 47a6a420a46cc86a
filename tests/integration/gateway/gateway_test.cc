// sluice-gateway against a real broker: nothing answered 202 is ever missing from Kafka or in it
// twice, whatever happens to the broker or the gateway; hostile HTTP gets clean errors.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "load.h"
#include "sluice/kafka/admin.h"
#include "sluice/testing/gateway_process.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;
using std::chrono::seconds;

const bool kBrokerRegistered = RegisterKafkaBrokerEnvironment();

GatewayProcessOptions GwOptions(const std::string& bootstrap, const std::string& topic,
                                const std::string& extra_yaml = "") {
  GatewayProcessOptions o;
  o.bootstrap = bootstrap;
  o.topics = {{"Contact", topic}};
  o.extra_yaml = extra_yaml;
  return o;
}

LoadRunner::Options Load(uint16_t port, int connections, int batch, uint32_t run,
                         uint64_t max_events, const std::string& token, bool ndjson = false) {
  LoadRunner::Options o;
  o.port = port;
  o.connections = connections;
  o.batch = batch;
  o.run = run;
  o.max_events = max_events;
  o.token = token;
  o.ndjson = ndjson;
  return o;
}

kafka::AdminOptions AdminFor(const std::string& bootstrap) {
  kafka::AdminOptions o;
  o.bootstrap = bootstrap;
  return o;
}

// Compares what the gateway accepted with what the topic holds. Empty when every 202'd event is
// in the topic exactly once, at the partition and offset its 202 named.
std::vector<std::string> Compare(
    const std::map<std::string, std::pair<int32_t, int64_t>>& accepted,
    const std::map<std::string, std::vector<std::pair<int32_t, int64_t>>>& topic) {
  std::vector<std::string> problems;
  size_t missing = 0, duplicated = 0, misplaced = 0;
  for (const auto& [id, where] : accepted) {
    auto it = topic.find(id);
    if (it == topic.end()) {
      if (++missing <= 3) problems.push_back("missing " + id);
    } else if (it->second.size() != 1) {
      if (++duplicated <= 3) problems.push_back("duplicated " + id);
    } else if (it->second[0] != where) {
      if (++misplaced <= 3) {
        problems.push_back("202 said " + id + " is at " + std::to_string(where.first) + "/" +
                           std::to_string(where.second) + ", the topic has it at " +
                           std::to_string(it->second[0].first) + "/" +
                           std::to_string(it->second[0].second));
      }
    }
  }
  if (missing + duplicated + misplaced > 0) {
    problems.push_back(std::to_string(missing) + " missing, " + std::to_string(duplicated) +
                       " duplicated, " + std::to_string(misplaced) + " misplaced of " +
                       std::to_string(accepted.size()) + " accepted");
  }
  return problems;
}

std::string Describe(const std::map<int, int>& counts) {
  std::string s;
  for (auto [status, n] : counts) s += std::to_string(status) + ":" + std::to_string(n) + " ";
  return s;
}

TEST(GatewayIntegrationTest, EveryAcceptedEventIsInKafkaOnceWhereThe202SaidIt) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok()) << broker.status().ToString();
  auto topic = (*broker)->CreateTopic(4, "gw");
  ASSERT_TRUE(topic.ok()) << topic.status().ToString();
  auto gw = GatewayProcess::Start(GwOptions((*broker)->bootstrap(), *topic));
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  // Three forms at once: arrays of 100, NDJSON of 50, single envelopes.
  LoadRunner arrays(Load((*gw)->port(), 4, 100, 1, 20000, kGatewayToken));
  LoadRunner lines(Load((*gw)->port(), 2, 50, 2, 5000, kGatewayToken, /*ndjson=*/true));
  LoadRunner singles(Load((*gw)->port(), 8, 1, 3, 2000, kGatewayContactToken));
  arrays.Start();
  lines.Start();
  singles.Start();
  arrays.Join();
  lines.Join();
  singles.Join();
  auto accepted = arrays.Accepted();
  for (auto& runner : {&lines, &singles}) {
    EXPECT_EQ(runner->StatusCounts(),
              (std::map<int, int>{{202, static_cast<int>(runner->outcomes().size())}}));
    for (auto& kv : runner->Accepted()) accepted.insert(kv);
  }
  EXPECT_EQ(Describe(arrays.StatusCounts()), "202:200 ");
  ASSERT_EQ(accepted.size(), 27000u);
  auto records = ReadTopic((*broker)->bootstrap(), *topic, Ms(120'000));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(records->size(), 27000u);
  EXPECT_EQ(Compare(accepted, *records), std::vector<std::string>{});
}

// GET /readyz's status (0 when it could not be asked).
int Readyz(uint16_t port) {
  auto c = RawConnection::Connect(port);
  if (!c.ok()) return 0;
  auto r = (*c)->Request("GET", "/readyz", {}, "", Ms(10'000));
  return r.ok() ? r->status : 0;
}

// A broker of this test's own, so stopping it harms no other test.
class OwnBroker {
 public:
  OwnBroker() {
    dir_ = (std::filesystem::temp_directory_path() / KafkaBroker::UniqueName("gw-own-broker"))
               .string();
    auto r = RunCommand({SourcePath("tools/kafka/broker"), "start", "--data", dir_}, Ms(180'000));
    if (r.ok() && r->exit_code == 0) {
      bootstrap_ = r->out;
      while (!bootstrap_.empty() && (bootstrap_.back() == '\n' || bootstrap_.back() == ' ')) {
        bootstrap_.pop_back();
      }
    }
  }
  ~OwnBroker() {
    (void)RunCommand({SourcePath("tools/kafka/broker"), "stop", "--data", dir_}, Ms(120'000));
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  bool Stop() {
    auto r = RunCommand({SourcePath("tools/kafka/broker"), "stop", "--data", dir_}, Ms(120'000));
    return r.ok() && r->exit_code == 0;
  }
  bool Resume() {
    auto r = RunCommand({SourcePath("tools/kafka/broker"), "resume", "--data", dir_}, Ms(180'000));
    return r.ok() && r->exit_code == 0;
  }
  const std::string& bootstrap() const { return bootstrap_; }

 private:
  std::string dir_;
  std::string bootstrap_;
};

TEST(GatewayIntegrationTest, BrokerStoppedUnderLoadOnlyRefusesAndRecoversByItself) {
  OwnBroker broker;
  ASSERT_FALSE(broker.bootstrap().empty());
  std::string topic = KafkaBroker::UniqueName("gw-outage");
  {
    auto admin = kafka::Admin::Create(AdminFor(broker.bootstrap()));
    ASSERT_TRUE(admin.ok());
    ASSERT_TRUE((*admin)->CreateTopics({kafka::TopicSpec(topic, 4)}, Ms(30'000)).ok());
  }
  auto gw = GatewayProcess::Start(
      GwOptions(broker.bootstrap(), topic, "limits: {ack_timeout: 3s, retry_after: 1s}\n"));
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  LoadRunner load(Load((*gw)->port(), 4, 50, 4, 0, kGatewayToken));
  load.Start();
  std::this_thread::sleep_for(seconds(3));
  ASSERT_TRUE(broker.Stop());
  const auto stopped_at = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(seconds(8));
  // /readyz says the broker is gone (two failed probes of 2 s, one a second).
  EXPECT_EQ(Readyz((*gw)->port()), 503);
  ASSERT_TRUE(broker.Resume());
  const auto resumed_at = std::chrono::steady_clock::now();
  // The gateway recovers by itself: 202s again, with nobody restarting it.
  bool recovered = false;
  for (int i = 0; i < 120 && !recovered; ++i) {
    std::this_thread::sleep_for(seconds(1));
    for (const Outcome& o : load.outcomes()) {
      if (o.status == 202 && o.at > resumed_at + seconds(1)) recovered = true;
    }
  }
  load.Stop();
  EXPECT_TRUE(recovered) << Describe(load.StatusCounts());
  EXPECT_EQ(Readyz((*gw)->port()), 200);
  std::map<int, int> counts = load.StatusCounts();
  std::printf("answers during the run (status:count): %s\n", Describe(counts).c_str());
  int refused_during_outage = 0;
  for (const Outcome& o : load.outcomes()) {
    if (o.at > stopped_at + seconds(4) && o.at < resumed_at && o.status != 202) {
      ++refused_during_outage;
    }
  }
  EXPECT_GT(refused_during_outage, 0) << Describe(counts);
  for (auto [status, n] : counts) {
    EXPECT_TRUE(status == 202 || status == 503 || status == 429)
        << "status " << status << " x" << n << ": " << Describe(counts);
  }
  auto records = ReadTopic(broker.bootstrap(), topic, Ms(120'000));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(Compare(load.Accepted(), *records), std::vector<std::string>{}) << Describe(counts);
}

// SIGTERM while the broker is gone and a request waits for its acks: the drain deadline passes,
// the connection closes without a 202, the producer purges the request's events on the way out,
// and the process exits 1 (requests were unanswered at the deadline) instead of hanging or
// crashing. The order of that teardown (producer before gateway) matters for memory safety: with
// the gateway built under ASan, the wrong order fails this test with a heap-use-after-free; the
// plain build happened not to crash.
TEST(GatewayIntegrationTest, SigtermWithTheBrokerGoneExitsCleanly) {
  OwnBroker broker;
  ASSERT_FALSE(broker.bootstrap().empty());
  std::string topic = KafkaBroker::UniqueName("gw-term-down");
  {
    auto admin = kafka::Admin::Create(AdminFor(broker.bootstrap()));
    ASSERT_TRUE(admin.ok());
    ASSERT_TRUE((*admin)->CreateTopics({kafka::TopicSpec(topic, 1)}, Ms(30'000)).ok());
  }
  auto gw = GatewayProcess::Start(
      GwOptions(broker.bootstrap(), topic, "limits: {ack_timeout: 60s}\nshutdown_deadline: 1s\n"));
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  auto conn = RawConnection::Connect((*gw)->port());
  ASSERT_TRUE(conn.ok());
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"Authorization", std::string("Bearer ") + kGatewayToken},
      {"Content-Type", "application/json"}};
  auto first = (*conn)->Request("POST", "/v1/events", headers, GatewayTestEvent(11, 1));
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->status, 202);
  ASSERT_TRUE(broker.Stop());
  // Sent before the probe notices: produced, then waiting for an ack that cannot come.
  ASSERT_TRUE((*conn)
                  ->Send("POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         std::string(kGatewayToken) +
                         "\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(GatewayTestEvent(11, 2).size()) + "\r\n\r\n" +
                         GatewayTestEvent(11, 2))
                  .ok());
  std::this_thread::sleep_for(Ms(300));
  (*gw)->child().Signal(SIGTERM);
  auto code = (*gw)->child().Wait(Ms(60'000));
  ASSERT_TRUE(code.has_value());
  EXPECT_TRUE(*code == 0 || *code == 1) << "exit " << *code;
  // The waiting request got no 202 (the server stops before the purge, so usually no answer).
  auto r = (*conn)->ReadResponse(Ms(5'000));
  if (r.ok()) {
    EXPECT_NE(r->status, 202) << r->body;
  }
}

TEST(GatewayIntegrationTest, SigkilledMidLoadEveryAcceptedEventIsInKafka) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto topic = (*broker)->CreateTopic(4, "gw-kill");
  ASSERT_TRUE(topic.ok());
  auto gw = GatewayProcess::Start(GwOptions((*broker)->bootstrap(), *topic));
  ASSERT_TRUE(gw.ok());
  LoadRunner load(Load((*gw)->port(), 6, 100, 5, 0, kGatewayToken));
  load.Start();
  std::this_thread::sleep_for(seconds(3));
  (*gw)->child().Signal(SIGKILL);
  (*gw)->child().Wait(Ms(10'000));
  load.Stop();
  const auto counts = load.StatusCounts();
  EXPECT_GT(counts.count(202) ? counts.at(202) : 0, 0) << Describe(counts);
  auto records = ReadTopic((*broker)->bootstrap(), *topic, Ms(120'000));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(Compare(load.Accepted(), *records), std::vector<std::string>{}) << Describe(counts);
}

TEST(GatewayIntegrationTest, SigtermAnswersRequestsInFlightThenExitsZero) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto topic = (*broker)->CreateTopic(2, "gw-term");
  ASSERT_TRUE(topic.ok());
  auto gw = GatewayProcess::Start(GwOptions((*broker)->bootstrap(), *topic));
  ASSERT_TRUE(gw.ok());
  LoadRunner load(Load((*gw)->port(), 4, 100, 6, 0, kGatewayToken));
  load.Start();
  std::this_thread::sleep_for(seconds(2));
  (*gw)->child().Signal(SIGTERM);
  auto code = (*gw)->child().Wait(Ms(30'000));
  load.Stop();
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
  const auto counts = load.StatusCounts();
  for (auto [status, n] : counts) {
    // 0: the connection closed after the drain (never a request left unanswered mid-way is
    // distinguishable here, so the check is on what Kafka holds).
    EXPECT_TRUE(status == 202 || status == 503 || status == 0) << Describe(counts);
  }
  auto records = ReadTopic((*broker)->bootstrap(), *topic, Ms(120'000));
  ASSERT_TRUE(records.ok()) << records.status().ToString();
  EXPECT_EQ(Compare(load.Accepted(), *records), std::vector<std::string>{}) << Describe(counts);
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// http.tls_cert_file/tls_key_file: the gateway speaks HTTPS only (curl -k against a self-signed
// certificate made here with openssl).
TEST(GatewayIntegrationTest, ServesHttpsWithACertificateAndKey) {
  auto broker = KafkaBroker::Shared();
  ASSERT_TRUE(broker.ok());
  auto topic = (*broker)->CreateTopic(1, "gw-tls");
  ASSERT_TRUE(topic.ok());
  const std::string dir =
      (std::filesystem::temp_directory_path() / KafkaBroker::UniqueName("gw-tls")).string();
  std::filesystem::create_directories(dir);
  const std::string cert = dir + "/cert.pem", key = dir + "/key.pem";
  auto made = RunCommand({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                          key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"},
                         Ms(60'000), ChildOptions{.env = {}, .stderr_path = "/dev/null"});
  ASSERT_TRUE(made.ok() && made->exit_code == 0);
  GatewayProcessOptions o = GwOptions((*broker)->bootstrap(), *topic);
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  auto gw = GatewayProcess::Start(o);
  ASSERT_TRUE(gw.ok()) << gw.status().ToString();
  const std::string url = "https://127.0.0.1:" + std::to_string((*gw)->port());
  auto post = RunCommand(
      {"curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", "-H",
       std::string("Authorization: Bearer ") + kGatewayToken, "-H",
       "Content-Type: application/json", "--data", GatewayTestEvent(8, 1), url + "/v1/events"},
      Ms(30'000));
  ASSERT_TRUE(post.ok());
  EXPECT_EQ(post->out.substr(0, 3), "202") << post->out;
  // Plain HTTP on the TLS port gets no HTTP answer.
  auto plain = RunCommand({"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5",
                           "http://127.0.0.1:" + std::to_string((*gw)->port()) + "/healthz"},
                          Ms(30'000));
  ASSERT_TRUE(plain.ok());
  EXPECT_NE(plain->out.substr(0, 3), "200") << plain->out;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace sluice::testing

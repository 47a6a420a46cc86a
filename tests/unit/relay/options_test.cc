#include "sluice/relay/options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "relay_yaml.h"
#include "sluice/config/config.h"

namespace sluice::relay {
namespace {

constexpr const char* kMinimal = testing::kMinimalRelayYaml;

Result<RelayOptions> Load(const std::string& yaml,
                          const std::map<std::string, std::string>& env = {}) {
  return testing::LoadRelayYaml(yaml, env);
}

TEST(RelayOptionsTest, MinimalFileGetsDocumentedDefaults) {
  auto o = Load(kMinimal);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->kafka.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(o->kafka.topics, std::vector<std::string>{"sf.contact.events"});
  EXPECT_EQ(o->kafka.group_id, "sluice-relay");
  EXPECT_EQ(o->max_records, 200u);
  EXPECT_EQ(o->linger, std::chrono::milliseconds(20));
  EXPECT_EQ(o->max_in_flight, 20);
  EXPECT_DOUBLE_EQ(o->requests_per_second, 100);
  EXPECT_DOUBLE_EQ(o->budget_reserve, 0.1);
  EXPECT_EQ(o->dlq_suffix, ".dlq");
  EXPECT_TRUE(o->idempotency.enabled);
  EXPECT_EQ(o->idempotency.retention.retention, std::chrono::hours(24 * 7));
  EXPECT_EQ(o->http.port, 9464);
  EXPECT_EQ(o->parse_threads, 1);
  EXPECT_EQ(o->idempotency.store.max_staged_rows, 200'000);
  EXPECT_EQ(o->salesforce.auth.client_secret, "s3cret");
  EXPECT_FALSE(o->instance_id.empty());
}

TEST(RelayOptionsTest, EveryDeliveryKnobIsRead) {
  auto o = Load(std::string(kMinimal) + R"(
delivery:
  max_records: 50
  linger: 5ms
  max_in_flight: 4
  requests_per_second: 12.5
  records_per_second: 500
  budget_reserve: 0.25
  max_buffered_events: 1000
  retry: {initial: 50ms, multiplier: 3, cap: 2s, max_attempts: 4, max_elapsed: 1m}
http:
  listen: 127.0.0.1:0
)");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_records, 50u);
  EXPECT_EQ(o->linger, std::chrono::milliseconds(5));
  EXPECT_EQ(o->max_in_flight, 4);
  EXPECT_DOUBLE_EQ(o->requests_per_second, 12.5);
  EXPECT_DOUBLE_EQ(o->budget_reserve, 0.25);
  EXPECT_EQ(o->max_buffered_events, 1000u);
  EXPECT_EQ(o->retry.initial, std::chrono::milliseconds(50));
  EXPECT_DOUBLE_EQ(o->retry.multiplier, 3);
  EXPECT_EQ(o->retry.max_attempts, 4);
  EXPECT_EQ(o->retry.max_elapsed, std::chrono::minutes(1));
  EXPECT_EQ(o->http.port, 0);
}

TEST(RelayOptionsTest, RevokeStallCircuitAndClientKnobsAreRead) {
  auto d = Load(kMinimal);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->revoke_deadline, std::chrono::seconds(10));
  EXPECT_EQ(d->stall_after, std::chrono::seconds(60));
  EXPECT_EQ(d->budget_probe_interval, std::chrono::seconds(60));
  EXPECT_EQ(d->circuit.open_cap, std::chrono::seconds(5));
  EXPECT_EQ(d->circuit.failure_threshold, 3);
  EXPECT_EQ(d->kafka.consumer_queue_kbytes, 16'384);
  EXPECT_EQ(d->dlq_max_message_bytes, 16 << 20);
  EXPECT_EQ(d->idempotency.store.cache_size_kib, 8 * 1024);
  EXPECT_EQ(d->idempotency.store.merge_chunk_rows, 4'000);

  auto o = Load(R"(
kafka:
  bootstrap: 127.0.0.1:9092
  topics: [t]
  consumer_queue_kbytes: 4096
salesforce:
  login_url: http://127.0.0.1:8443
  auth: {flow: client_credentials, client_id: app, client_secret: s3cret}
dlq:
  max_message_bytes: 2000000
delivery:
  revoke_deadline: 3s
  stall_after: 90s
  budget_probe_interval: 10s
  circuit:
    failure_threshold: 5
    open_initial: 250ms
    open_multiplier: 3
    open_cap: 10s
    open_jitter: 0.2
idempotency:
  cache_kib: 1024
  merge_chunk_rows: 500
)");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->kafka.consumer_queue_kbytes, 4096);
  EXPECT_EQ(o->dlq_max_message_bytes, 2'000'000);
  EXPECT_EQ(o->revoke_deadline, std::chrono::seconds(3));
  EXPECT_EQ(o->stall_after, std::chrono::seconds(90));
  EXPECT_EQ(o->budget_probe_interval, std::chrono::seconds(10));
  EXPECT_EQ(o->circuit.failure_threshold, 5);
  EXPECT_EQ(o->circuit.open_initial, std::chrono::milliseconds(250));
  EXPECT_DOUBLE_EQ(o->circuit.open_multiplier, 3);
  EXPECT_EQ(o->circuit.open_cap, std::chrono::seconds(10));
  EXPECT_DOUBLE_EQ(o->circuit.open_jitter, 0.2);
  EXPECT_EQ(o->idempotency.store.cache_size_kib, 1024);
  EXPECT_EQ(o->idempotency.store.merge_chunk_rows, 500);

  auto bad = Load(std::string(kMinimal) + R"(
delivery:
  circuit:
    open_initial: 20s
    open_cap: 5s
)");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("delivery.circuit"), std::string::npos) << bad.status();
}

TEST(RelayOptionsTest, EnvelopeKnobsAreReadAndChecked) {
  auto o = Load(std::string(kMinimal) + "envelope: {max_bytes: 4096, parse_threads: 0}\n");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->envelope.max_bytes, 4096u);
  EXPECT_EQ(o->parse_threads, 0);
  RelayOptions direct = *o;
  direct.parse_threads = -1;
  EXPECT_NE(direct.Validate().message().find("envelope.parse_threads"), std::string::npos);
  direct.parse_threads = 65;
  EXPECT_NE(direct.Validate().message().find("envelope.parse_threads"), std::string::npos);
}

TEST(RelayOptionsTest, LockFieldsAreReadAndChecked) {
  auto off = Load(kMinimal);
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_TRUE(off->lock_fields.empty());
  auto o = Load(std::string(kMinimal) +
                "delivery: {lock_fields: {Contact: AccountId, Opportunity: AccountId}}\n");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->lock_fields, (std::map<std::string, std::string>{{"Contact", "AccountId"},
                                                                {"Opportunity", "AccountId"}}));
  // From the environment, the whole map at once (a level named in a variable is lower-cased, so
  // ..._LOCK_FIELDS__CONTACT would name a "contact" sObject).
  auto env = Load(kMinimal, {{"SLUICE_RELAY_DELIVERY__LOCK_FIELDS", "{Contact: AccountId}"}});
  ASSERT_TRUE(env.ok()) << env.status();
  EXPECT_EQ(env->lock_fields, (std::map<std::string, std::string>{{"Contact", "AccountId"}}));
  // Hostile shapes: a list, a non-string field, an empty field name, an empty sObject name.
  for (const char* bad :
       {"delivery: {lock_fields: [Contact]}\n", "delivery: {lock_fields: {Contact: 3}}\n",
        "delivery: {lock_fields: {Contact: \"\"}}\n",
        "delivery: {lock_fields: {\"\": AccountId}}\n"}) {
    auto r = Load(std::string(kMinimal) + bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("lock_fields"), std::string::npos)
        << bad << ": " << r.status();
  }
}

TEST(RelayOptionsTest, EnvironmentOverridesTheFile) {
  auto o = Load(kMinimal, {{"SLUICE_RELAY_DELIVERY__REQUESTS_PER_SECOND", "42"},
                           {"SLUICE_RELAY_KAFKA__GROUP_ID", "blue"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_DOUBLE_EQ(o->requests_per_second, 42);
  EXPECT_EQ(o->kafka.group_id, "blue");
}

TEST(RelayOptionsTest, JwtFlowNeedsUsernameAndKey) {
  std::string yaml = kMinimal;
  yaml.replace(yaml.find("client_credentials"), 18, "jwt_bearer");
  auto o = Load(yaml);
  EXPECT_FALSE(o.ok());
}

struct BadCase {
  const char* name;
  std::string yaml;
  const char* needle;  // must appear in the error
};

class RelayOptionsBadTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(RelayOptionsBadTest, ClearErrorNamingTheProblem) {
  auto o = Load(GetParam().yaml);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find(GetParam().needle), std::string::npos)
      << o.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Hostile, RelayOptionsBadTest,
    ::testing::Values(
        BadCase{"NotYaml", "{{{{ not: yaml", "relay.yaml"}, BadCase{"Empty", "", "relay.yaml"},
        BadCase{"ScalarTop", "just a string", "relay.yaml"},
        BadCase{"UnknownKey", std::string(kMinimal) + "delivery: {speed: 9}\n", "speed"},
        BadCase{"WrongType", std::string(kMinimal) + "delivery: {requests_per_second: fast}\n",
                "requests_per_second"},
        BadCase{"TooManyRecords", std::string(kMinimal) + "delivery: {max_records: 201}\n",
                "max_records"},
        BadCase{"ZeroRate", std::string(kMinimal) + "delivery: {requests_per_second: 0}\n",
                "requests_per_second"},
        BadCase{"ReserveAboveOne", std::string(kMinimal) + "delivery: {budget_reserve: 2}\n",
                "budget_reserve"},
        BadCase{"BadDuration", std::string(kMinimal) + "delivery: {linger: soon}\n", "linger"},
        BadCase{"NegativeParseThreads", std::string(kMinimal) + "envelope: {parse_threads: -1}\n",
                "parse_threads"},
        BadCase{"TooManyParseThreads", std::string(kMinimal) + "envelope: {parse_threads: 100}\n",
                "parse_threads"},
        BadCase{"TinyStaging", std::string(kMinimal) + "idempotency: {max_staged_rows: 10}\n",
                "max_staged_rows"},
        BadCase{"BadListen", std::string(kMinimal) + "http: {listen: nowhere}\n", "listen"},
        BadCase{"BadPort", std::string(kMinimal) + "http: {listen: \"h:99999\"}\n", "listen"},
        BadCase{"NoTopics",
                "kafka: {bootstrap: b, topics: []}\nsalesforce: {login_url: u, auth: {flow: "
                "client_credentials, client_id: a, client_secret: b}}\n",
                "topics"},
        BadCase{"NoSecret",
                "kafka: {bootstrap: b, topics: [t]}\nsalesforce: {login_url: u, auth: {flow: "
                "client_credentials, client_id: a}}\n",
                "client_secret"},
        BadCase{"MissingSecretFile",
                "kafka: {bootstrap: b, topics: [t]}\nsalesforce: {login_url: u, auth: {flow: "
                "client_credentials, client_id: a, client_secret_file: /nonexistent/x}}\n",
                "client_secret"},
        BadCase{"MisspelledKafkaProperty",
                "kafka: {bootstrap: b, topics: [t], properties: {security.protocl: SSL}}\n"
                "salesforce: {login_url: u, auth: {flow: client_credentials, client_id: a, "
                "client_secret: b}}\n",
                "security.protocl"},
        BadCase{"BadKafkaPropertyValue",
                "kafka: {bootstrap: b, topics: [t], properties: {security.protocol: pigeon}}\n"
                "salesforce: {login_url: u, auth: {flow: client_credentials, client_id: a, "
                "client_secret: b}}\n",
                "security.protocol"},
        BadCase{"BinaryGarbage", std::string("\x01\x02\xff\xfe\x00zz", 7), "relay.yaml"},
        BadCase{"Huge", std::string(5 * 1024 * 1024, '#'), "relay.yaml"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return info.param.name; });

}  // namespace
}  // namespace sluice::relay

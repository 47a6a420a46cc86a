#include "sluice/gateway/options.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "sluice/config/config.h"
#include "sluice/schemas/schemas.h"

namespace sluice::gateway {
namespace {

using ::testing::HasSubstr;

Result<GatewayOptions> Load(const std::string& yaml,
                            const std::map<std::string, std::string>& env = {}) {
  config::LoadOptions load;
  load.schema_json = std::string(schemas::Get("gateway.config.schema.json").value());
  load.schema_name = "gateway.config.schema.json";
  SetEnvOverrides(&load);
  load.env = &env;
  ASSIGN_OR_RETURN(config::Config c, config::Config::LoadString(yaml, load, "gateway.yaml"));
  return GatewayOptionsFromConfig(c);
}

TEST(GatewayOptionsTest, DefaultsWhenTheFileSaysLittle) {
  auto o = Load("kafka: {bootstrap: '127.0.0.1:9092'}\nauth: {tokens_file: t.yaml}\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  GatewayOptions d;
  EXPECT_EQ(o->http.host, "127.0.0.1");
  EXPECT_EQ(o->http.port, 8088);
  EXPECT_EQ(o->max_events, d.max_events);
  EXPECT_EQ(o->max_body_bytes, d.max_body_bytes);
  EXPECT_EQ(o->ack_timeout, d.ack_timeout);
  EXPECT_EQ(o->default_topic, "sf.{object}.events");
}

TEST(GatewayOptionsTest, EveryKeyAndEnvOverrides) {
  auto o = Load(
      "http: {listen: '127.0.0.1:0', io_threads: 3}\n"
      "kafka: {bootstrap: 'b:1', properties: {linger.ms: 5}}\n"
      "routing: {default_topic: 'in.{object}', topics: {Order__c: orders}}\n"
      "auth: {tokens_file: t.yaml}\n"
      "limits: {max_body_bytes: 2048, max_events: 10, max_event_bytes: 1000, max_depth: 4,\n"
      "         max_header_bytes: 4096, max_connections: 7, read_timeout: 2s, idle_timeout: 3s,\n"
      "         max_unacked_events: 100, ack_timeout: 1500ms, retry_after: 4s}\n"
      "shutdown_deadline: 9s\n"
      "logging: {level: debug, json: false}\n",
      {{"SLUICE_GATEWAY_LIMITS__MAX_EVENTS", "20"},
       {"SLUICE_GATEWAY_KAFKA__PROPERTIES__COMPRESSION_TYPE", "lz4"}});
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->http.port, 0);
  EXPECT_EQ(o->io_threads, 3);
  EXPECT_EQ(o->kafka_properties.at("linger.ms"), "5");
  EXPECT_EQ(o->kafka_properties.at("compression.type"), "lz4");
  EXPECT_EQ(o->topics.at("Order__c"), "orders");
  EXPECT_EQ(o->max_events, 20u);
  EXPECT_EQ(o->max_depth, 4);
  EXPECT_EQ(o->max_connections, 7u);
  EXPECT_EQ(o->read_timeout, std::chrono::seconds(2));
  EXPECT_EQ(o->ack_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(o->retry_after, std::chrono::seconds(4));
  EXPECT_EQ(o->shutdown_deadline, std::chrono::seconds(9));
  EXPECT_EQ(o->logging.level, "debug");
}

// The Kafka SASL password, like every secret, can come from a file (issue 16).
TEST(GatewayOptionsTest, TheSaslPasswordComesFromAFile) {
  const std::string path = ::testing::TempDir() + "/gateway-sasl-password";
  std::ofstream(path) << "s3cret-from-file\n";
  auto o = Load("kafka: {bootstrap: 'b:1', properties: {sasl.password_file: '" + path +
                "'}}\nauth: {tokens_file: t}\n");
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->kafka_properties.at("sasl.password"), "s3cret-from-file");
  EXPECT_EQ(o->kafka_properties.count("sasl.password_file"), 0u);
  auto missing = Load(
      "kafka: {bootstrap: 'b:1', properties: {sasl.password_file: /nonexistent/pw}}\n"
      "auth: {tokens_file: t}\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("sasl.password_file"));
}

TEST(GatewayOptionsTest, BadFilesSayWhichKey) {
  auto no_tokens = Load("kafka: {bootstrap: 'b:1'}\n");
  ASSERT_FALSE(no_tokens.ok());
  EXPECT_THAT(no_tokens.status().message(), HasSubstr("auth.tokens_file"));
  EXPECT_TRUE(Load("kafka: {bootstrap: 'b:1'}\nauth: {allow_anonymous: true}\n").ok());
  auto typo = Load("kafka: {bootstrap: 'b:1'}\nauth: {tokens_file: t}\nlimits: {max_event: 3}\n");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.status().message(), HasSubstr("max_event"));
  auto unit =
      Load("kafka: {bootstrap: 'b:1'}\nauth: {tokens_file: t}\nlimits: {ack_timeout: 30}\n");
  ASSERT_FALSE(unit.ok());
  auto prop = Load("kafka: {bootstrap: 'b:1', properties: {no.such: 1}}\nauth: {tokens_file: t}\n");
  ASSERT_FALSE(prop.ok());
  EXPECT_THAT(prop.status().message(), HasSubstr("no.such"));
  auto unacked =
      Load("kafka: {bootstrap: 'b:1'}\nauth: {tokens_file: t}\nlimits: {max_unacked_events: 5}\n");
  ASSERT_FALSE(unacked.ok());
  auto tls = Load("kafka: {bootstrap: 'b:1'}\nauth: {tokens_file: t}\nhttp: {tls_cert_file: c}\n");
  ASSERT_FALSE(tls.ok());
}

TEST(GatewayOptionsTest, ClientCertificatesNeedTlsAndACaFile) {
  const std::string base = "kafka: {bootstrap: 'b:1'}\nauth: {tokens_file: t}\n";
  const std::string tls = "tls_cert_file: c, tls_key_file: k";
  auto ok =
      Load(base + "http: {" + tls + ", tls_client_certs: required, tls_client_ca_file: ca}\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->tls_client_certs, "required");
  EXPECT_EQ(ok->tls_client_ca_file, "ca");
  auto off = Load(base + "http: {" + tls + "}\n");
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->tls_client_certs, "off");  // the default
  auto no_tls = Load(base + "http: {tls_client_certs: optional, tls_client_ca_file: ca}\n");
  ASSERT_FALSE(no_tls.ok());
  EXPECT_THAT(no_tls.status().message(), HasSubstr("needs TLS"));
  auto no_ca = Load(base + "http: {" + tls + ", tls_client_certs: optional}\n");
  ASSERT_FALSE(no_ca.ok());
  EXPECT_THAT(no_ca.status().message(), HasSubstr("tls_client_ca_file"));
  auto ca_off = Load(base + "http: {" + tls + ", tls_client_ca_file: ca}\n");
  ASSERT_FALSE(ca_off.ok());
  EXPECT_THAT(ca_off.status().message(), HasSubstr("tls_client_certs is off"));
  auto bad = Load(base + "http: {" + tls + ", tls_client_certs: yes, tls_client_ca_file: ca}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("tls_client_certs"));
}

}  // namespace
}  // namespace sluice::gateway

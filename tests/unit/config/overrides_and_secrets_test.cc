// The config loader: SLUICE_... environment overrides, and secrets inline or from files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config_test_util.h"
#include "sluice/config/config.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace testutil;

// ---- environment overrides ----

TEST(ConfigEnvTest, OverridesExistingAndNewKeys) {
  std::map<std::string, std::string> env = {
      {"SLUICE_RELAY_KAFKA__BOOTSTRAP", "10.0.0.1:9093"},
      {"SLUICE_RELAY_RATE__MAX_IN_FLIGHT", "16"},
      {"SLUICE_RELAY_RATE__WINDOW", "30s"},
      {"SLUICE_RELAY_KAFKA__PROPERTIES__LINGER_MS", "20"},
      {"SLUICE_RELAY_KAFKA__PROPERTIES__ACKS", "all"},
      {"SLUICE_RELAY_KAFKA__TOPICS", "[a, b, c]"},
      {"SLUICE_RELAY_MODE", "dry-run"},
      {"SLUICE_RELAY_SALESFORCE__CLIENT_ID", "abc: def"},
      {"OTHER_KAFKA__BOOTSTRAP", "ignored"},
      {"SLUICE_RELAY_", "ignored: nothing after the prefix"},
  };
  LoadOptions o;
  o.schema_path = kSchema;
  o.env_prefix = "SLUICE_RELAY_";
  o.env = &env;
  auto c = Config::LoadString(kValid, o, "relay.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetString("/kafka/bootstrap").value(), "10.0.0.1:9093");
  EXPECT_EQ(c->GetInt("/rate/max_in_flight").value(), 16);
  EXPECT_EQ(c->GetString("/rate/window").value(), "30s");
  EXPECT_EQ(c->GetInt("/kafka/properties/linger.ms").value(), 20);  // matched "linger.ms"
  EXPECT_FALSE(c->Has("/kafka/properties/linger_ms"));
  EXPECT_EQ(c->GetString("/kafka/properties/acks").value(), "all");
  EXPECT_EQ(c->Size("/kafka/topics"), 3u);
  EXPECT_EQ(c->GetString("/mode").value(), "dry-run");
  EXPECT_EQ(c->GetString("/salesforce/client_id").value(), "abc: def");  // block text stays text
}

TEST(ConfigEnvTest, OverridesAreValidatedAndNamedInErrors) {
  std::map<std::string, std::string> env = {{"SLUICE_RELAY_RATE__REQUESTS_PER_SECOND", "fast"}};
  LoadOptions o;
  o.schema_path = kSchema;
  o.env_prefix = "SLUICE_RELAY_";
  o.env = &env;
  Status s = Config::LoadString(kValid, o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "relay.yaml: /rate/requests_per_second (env SLUICE_RELAY_RATE__REQUESTS_PER_SECOND): "
            "expected number, got string \"fast\"");
  env = {{"SLUICE_RELAY_RATE__TYPO", "1"}};
  s = Config::LoadString(kValid, o, "relay.yaml").status();
  EXPECT_THAT(s.message(), HasSubstr("/rate/typo (env SLUICE_RELAY_RATE__TYPO): unknown key"));
}

TEST(ConfigEnvTest, MalformedOverridesAreErrors) {
  LoadOptions o;
  o.env_prefix = "APP_";
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"APP_A____B", "1"},
           {"APP_A__", "1"},
           {"APP___A", "1"},
           {"APP_A-B", "1"},
           {"APP_NAME__INNER", "1"},               // /name is a string
           {"APP_LIST__5", "1"},                   // index out of range
           {"APP_LIST__X", "1"},                   // not an index
           {"APP_NAME", "[unclosed"},              // flow value that is not YAML
           {"APP_NAME", std::string("a\x01", 2)},  // control character
           {"APP_NAME", "\xff\xfe"},               // invalid UTF-8
       }) {
    std::map<std::string, std::string> env = {{name, value}};
    o.env = &env;
    Status s = Config::LoadString("name: x\nlist: [1, 2]\n", o, "t.yaml").status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name << "=" << value;
    EXPECT_THAT(s.message(), HasSubstr("env " + name)) << s;
  }
}

TEST(ConfigEnvTest, IndexesArraysAndCreatesMappings) {
  std::map<std::string, std::string> env = {{"APP_LIST__1", "9"},
                                            {"APP_NEW__DEEP__KEY", "true"},
                                            {"APP_NULLED__X", "1"},
                                            {"APP_EMPTY", ""}};
  LoadOptions o;
  o.env_prefix = "APP_";
  o.env = &env;
  Config c = MustLoad("list: [1, 2]\nnulled:\nempty: x\n", o);
  EXPECT_EQ(c.GetInt("/list/1").value(), 9);
  EXPECT_TRUE(c.GetBool("/new/deep/key").value());
  EXPECT_EQ(c.GetInt("/nulled/x").value(), 1);
  EXPECT_EQ(c.GetString("/empty").value(), "");
}

TEST(ConfigEnvTest, IgnoredVariablesAreNotOverrides) {
  std::map<std::string, std::string> env = {{"APP_CONFIG", "/etc/app.yaml"}, {"APP_A", "2"}};
  LoadOptions o;
  o.env_prefix = "APP_";
  o.env = &env;
  o.env_ignore = {"APP_CONFIG"};
  Config c = MustLoad("a: 1\n", o);
  EXPECT_EQ(c.GetInt("/a").value(), 2);
  EXPECT_FALSE(c.Has("/config"));
}

TEST(ConfigEnvTest, ReadsTheProcessEnvironmentByDefault) {
  ::setenv("SLUICE_CONFIG_TEST_PROC_A__B", "from-process", 1);
  LoadOptions o;
  o.env_prefix = "SLUICE_CONFIG_TEST_PROC_";
  Config c = MustLoad("a: {b: from-file}\n", o);
  ::unsetenv("SLUICE_CONFIG_TEST_PROC_A__B");
  EXPECT_EQ(c.GetString("/a/b").value(), "from-process");
  // No prefix: no overrides at all.
  Config plain = MustLoad("a: {b: from-file}\n");
  EXPECT_EQ(plain.GetString("/a/b").value(), "from-file");
}

// ---- secrets ----

TEST(ConfigSecretTest, InlineAndFromFile) {
  TempDir dir;
  dir.Write("secret.txt", "  s3cr3t-value\n\n");
  std::string config_path =
      dir.Write("relay.yaml",
                "sf:\n  client_secret_file: secret.txt\n  token: inline-token\n"
                "  abs_file: " +
                    dir.path() + "/secret.txt\n");
  auto c = Config::LoadFile(config_path, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetSecret("/sf/client_secret").value(), "s3cr3t-value");  // relative to the file
  EXPECT_EQ(c->GetSecret("/sf/abs").value(), "s3cr3t-value");
  EXPECT_EQ(c->GetSecret("/sf/token").value(), "inline-token");
}

TEST(ConfigSecretTest, ErrorsNameTheKeyButNeverTheSecret) {
  TempDir dir;
  dir.Write("empty.txt", " \n\t\n");
  dir.Write("big.txt", std::string(70 * 1024, 'k'));
  std::string path = dir.Write(
      "relay.yaml",
      "both: hunter2\nboth_file: x.txt\nmissing_file: does-not-exist.txt\nempty_file: empty.txt\n"
      "big_file: big.txt\nnumber: 987654321\nblank: ''\nnot_path_file: 5\ndir_file: .\n");
  auto c = Config::LoadFile(path, {});
  ASSERT_TRUE(c.ok()) << c.status();

  Status both = c->GetSecret("/both").status();
  EXPECT_EQ(both.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(both.message(), HasSubstr("set either /both or /both_file, not both"));
  EXPECT_THAT(both.message(), Not(HasSubstr("hunter2")));

  Status missing = c->GetSecret("/missing").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(),
              HasSubstr("relay.yaml:3:1: /missing_file: cannot read secret file"));
  EXPECT_THAT(missing.message(), HasSubstr("does-not-exist.txt"));

  EXPECT_EQ(c->GetSecret("/empty").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c->GetSecret("/empty").status().message(), HasSubstr("is empty"));
  EXPECT_EQ(c->GetSecret("/big").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c->GetSecret("/big").status().message(), Not(HasSubstr("kkkk")));

  Status number = c->GetSecret("/number").status();
  EXPECT_EQ(number.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(number.message(), Not(HasSubstr("987654321")));
  EXPECT_EQ(c->GetSecret("/blank").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->GetSecret("/not_path").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(c->GetSecret("/dir").ok());
  EXPECT_EQ(c->GetSecret("/nothing").status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c->GetSecret("/nothing").status().message(),
              HasSubstr("set /nothing or /nothing_file"));
}

// Pass-through properties (librdkafka's) read any `<name>_file` key from that file, so the Kafka
// SASL password can live in a mounted secret as the Salesforce secrets do.
TEST(ConfigSecretTest, PropertyMapReadsNameFileKeysFromFiles) {
  TempDir dir;
  dir.Write("kafka-password", "pa55-from-file\n");
  dir.Write("empty", "\n");
  std::string path = dir.Write(
      "relay.yaml",
      "kafka:\n  properties:\n    security.protocol: SASL_SSL\n"
      "    sasl.password_file: kafka-password\n    ssl.key.password_file: " +
          dir.path() +
          "/kafka-password\n    linger.ms: 5\n"
          "bad:\n  both:\n    sasl.password: hunter2\n    sasl.password_file: kafka-password\n"
          "  missing:\n    sasl.password_file: nope\n"
          "  empty:\n    sasl.password_file: empty\n");
  auto c = Config::LoadFile(path, {});
  ASSERT_TRUE(c.ok()) << c.status();
  auto props = c->GetPropertyMap("/kafka/properties");
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_EQ(*props, (std::map<std::string, std::string>{{"linger.ms", "5"},
                                                        {"sasl.password", "pa55-from-file"},
                                                        {"security.protocol", "SASL_SSL"},
                                                        {"ssl.key.password", "pa55-from-file"}}));
  EXPECT_TRUE(c->GetPropertyMap("/absent").value().empty());

  Status both = c->GetPropertyMap("/bad/both").status();
  EXPECT_EQ(both.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(both.message(), HasSubstr("relay.yaml:10:5: /bad/both/sasl.password_file: set either "
                                        "sasl.password or sasl.password_file, not both"));
  EXPECT_THAT(both.message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(both.message(), Not(HasSubstr("pa55")));
  Status missing = c->GetPropertyMap("/bad/missing").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("relay.yaml:12:5: /bad/missing/sasl.password_file: "
                                           "cannot read secret file"));
  Status empty = c->GetPropertyMap("/bad/empty").status();
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(), HasSubstr("is empty"));
}

TEST(ConfigSecretTest, RedactedJsonHidesSecretishKeys) {
  Config c = MustLoad(
      "sf: {client_secret: abc123, password: pw9, api_token: tk7, user: me, nested: {privateKey: "
      "k5}}\nlist: [{secret: s1}]\n");
  std::string redacted = c.ToRedactedJson();
  for (const char* secret : {"abc123", "pw9", "tk7", "k5", "s1"}) {
    EXPECT_THAT(redacted, Not(HasSubstr(secret))) << secret;
    EXPECT_THAT(c.ToJson(), HasSubstr(secret));
  }
  EXPECT_THAT(redacted, HasSubstr("\"user\":\"me\""));
  EXPECT_TRUE(IsSecretKeyName("Client_Secret"));
  EXPECT_FALSE(IsSecretKeyName("client_id"));
}

}  // namespace
}  // namespace sluice::config

// How the loader uses the duration grammar (schema messages with file:line:column, overrides),
// how the schema types environment overrides, and how librdkafka's dotted names are reached.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "sluice/config/config.h"
#include "sluice/config/json_schema.h"

namespace sluice::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const std::string kSchema = std::string(SLUICE_CONFIG_TESTDATA) + "/relay.schema.json";

const char kBase[] =
    "kafka:\n"
    "  bootstrap: 127.0.0.1:9092\n"
    "  properties:\n"
    "    linger.ms: 5\n"
    "rate:\n"
    "  window: 20s\n"
    "salesforce:\n"
    "  client_id: abc\n";

Result<Config> Load(std::string_view yaml, const std::map<std::string, std::string>& env = {},
                    std::set<std::string> dotted = {}) {
  LoadOptions o;
  o.schema_path = kSchema;
  o.env_prefix = "SLUICE_RELAY_";
  o.env = &env;
  o.env_dotted_maps = std::move(dotted);
  return Config::LoadString(yaml, o, "relay.yaml");
}

TEST(ConfigDurationTest, SchemaViolationsOfDurationsSayWhatToWrite) {
  // A bare number in the file: the key, its line and column, and the unit to add.
  auto c = Load("kafka: {bootstrap: b}\nrate:\n  window: 30\n");
  EXPECT_EQ(c.status().message(),
            "relay.yaml:3:3: /rate/window: 30 needs a unit, e.g. 30ms or 30s");
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: '30'\n");
  EXPECT_EQ(c.status().message(),
            "relay.yaml:3:3: /rate/window: 30 needs a unit, e.g. 30ms or 30s");
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: 1.5\n");
  EXPECT_THAT(c.status().message(), HasSubstr("relay.yaml:3:3: /rate/window: 1.5 needs a unit"));
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: 5 minutes\n");
  EXPECT_THAT(c.status().message(), HasSubstr("relay.yaml:3:3: /rate/window: \"5 minutes\""));
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: -5s\n");
  EXPECT_THAT(c.status().message(), HasSubstr("/rate/window: \"-5s\" is negative"));
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: 5y\n");
  EXPECT_THAT(c.status().message(), HasSubstr("unknown unit \"y\""));
  // The schema's pattern checks the shape; the range is checked where the value is read.
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: 99999d\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_THAT(c->GetDuration("/rate/window").status().message(),
              HasSubstr("relay.yaml:3:3: /rate/window: \"99999d\" is longer than the longest"));
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: \"\"\n");
  EXPECT_THAT(c.status().message(), HasSubstr("/rate/window: empty duration"));
  c = Load("kafka: {bootstrap: b}\nrate:\n  window: [1s]\n");
  EXPECT_THAT(c.status().message(),
              HasSubstr("/rate/window: expected string or integer, got array"));
  // Good ones pass.
  for (const char* good : {"0", "'0'", "250ms", "1h30m", "7d", "1.5s"}) {
    EXPECT_TRUE(Load(std::string("kafka: {bootstrap: b}\nrate:\n  window: ") + good + "\n").ok())
        << good;
  }
}

TEST(ConfigDurationTest, OverridesOfDurationsAreCheckedAlike) {
  auto c = Load(kBase, {{"SLUICE_RELAY_RATE__WINDOW", "30"}});
  EXPECT_EQ(c.status().message(),
            "relay.yaml: /rate/window (env SLUICE_RELAY_RATE__WINDOW): 30 needs a unit, e.g. "
            "30ms or 30s");
  c = Load(kBase, {{"SLUICE_RELAY_RATE__WINDOW", "2m"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetDuration("/rate/window")->count(), 120'000);
}

TEST(ConfigEnvTypingTest, NumericLookingSecretsStayStrings) {
  for (const char* secret : {"123456", "007", "0x1f", "1e3", "true", "null", "~", "-0"}) {
    auto c = Load(kBase, {{"SLUICE_RELAY_SALESFORCE__CLIENT_SECRET", secret}});
    ASSERT_TRUE(c.ok()) << secret << ": " << c.status();
    auto s = c->GetSecret("/salesforce/client_secret");
    ASSERT_TRUE(s.ok()) << secret << ": " << s.status();
    EXPECT_EQ(*s, secret);
  }
  // A string that happens to look like a number where the schema wants a string, too.
  auto c = Load(kBase, {{"SLUICE_RELAY_SALESFORCE__CLIENT_ID", "0042"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetString("/salesforce/client_id").value(), "0042");
}

TEST(ConfigEnvTypingTest, NumbersStayNumbersWhereTheSchemaWantsThem) {
  auto c = Load(kBase, {{"SLUICE_RELAY_RATE__MAX_IN_FLIGHT", "16"},
                        {"SLUICE_RELAY_RATE__REQUESTS_PER_SECOND", "7"},
                        {"SLUICE_RELAY_SALESFORCE__PIN", "null"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetInt("/rate/max_in_flight").value(), 16);
  EXPECT_EQ(c->GetDouble("/rate/requests_per_second").value(), 7.0);
  EXPECT_FALSE(c->GetString("/salesforce/pin").ok());  // null is allowed there, so it is null
  // A word where a number is wanted is still an error, not a string.
  c = Load(kBase, {{"SLUICE_RELAY_RATE__MAX_IN_FLIGHT", "many"}});
  EXPECT_THAT(c.status().message(), HasSubstr("expected integer, got string \"many\""));
  // Without a schema, scalars read as YAML says.
  std::map<std::string, std::string> env = {{"APP_SECRET", "007"}};
  LoadOptions o;
  o.env_prefix = "APP_";
  o.env = &env;
  auto plain = Config::LoadString("a: 1\n", o);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->GetInt("/secret").value(), 7);
}

// ..._SASL_PASSWORD_FILE names the file the password is read from (Config::GetPropertyMap): the
// "_file" suffix keeps its underscore.
TEST(ConfigEnvDottedTest, AFileSuffixKeepsItsUnderscore) {
  auto c = Load(kBase, {{"SLUICE_RELAY_KAFKA__PROPERTIES__SASL_PASSWORD_FILE", "/run/secrets/k"}},
                {"/kafka/properties"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetString("/kafka/properties/sasl.password_file").value(), "/run/secrets/k");
  EXPECT_FALSE(c->Has("/kafka/properties/sasl.password.file"));
}

TEST(ConfigEnvDottedTest, LibrdkafkaPropertiesGetTheirDots) {
  const std::set<std::string> dotted = {"/kafka/properties"};
  auto c = Load(kBase,
                {{"SLUICE_RELAY_KAFKA__PROPERTIES__SECURITY_PROTOCOL", "SASL_SSL"},
                 {"SLUICE_RELAY_KAFKA__PROPERTIES__SASL_MECHANISMS", "PLAIN"},
                 {"SLUICE_RELAY_KAFKA__PROPERTIES__SSL_CA_LOCATION", "/etc/ca.pem"},
                 {"SLUICE_RELAY_KAFKA__PROPERTIES__LINGER_MS", "10"},  // existing "linger.ms"
                 {"SLUICE_RELAY_KAFKA__PROPERTIES__LOG_LEVEL", "3"},   // librdkafka's own "_"
                 {"SLUICE_RELAY_KAFKA__PROPERTIES__SASL_PASSWORD", "007"},
                 {"SLUICE_RELAY_KAFKA__PROPERTIES__ENABLE_IDEMPOTENCE", "true"}},
                dotted);
  ASSERT_TRUE(c.ok()) << c.status();
  const auto props = c->GetStringMap("/kafka/properties");
  // Values are passed as written: librdkafka reads every property from text.
  EXPECT_EQ(c->GetString("/kafka/properties/sasl.password").value(), "007");
  EXPECT_EQ(props, (std::map<std::string, std::string>{{"enable.idempotence", "true"},
                                                       {"linger.ms", "10"},
                                                       {"log_level", "3"},
                                                       {"sasl.mechanisms", "PLAIN"},
                                                       {"sasl.password", "007"},
                                                       {"security.protocol", "SASL_SSL"},
                                                       {"ssl.ca.location", "/etc/ca.pem"}}));
  // Only the named mappings: elsewhere '_' stays '_'.
  auto plain = Load(kBase, {{"SLUICE_RELAY_KAFKA__PROPERTIES__SECURITY_PROTOCOL", "SSL"}});
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_TRUE(plain->Has("/kafka/properties/security_protocol"));
  // Errors name the variable and the dotted key.
  auto bad = Load(kBase,
                  {{"SLUICE_RELAY_KAFKA__PROPERTIES__ACKS", "all"},
                   {"SLUICE_RELAY_KAFKA__PROPERTIES____X", "1"}},
                  dotted);
  EXPECT_THAT(bad.status().message(),
              HasSubstr("env SLUICE_RELAY_KAFKA__PROPERTIES____X: malformed override name"));
}

TEST(JsonSchemaTypesAtTest, FollowsPropertiesRefsAndMaps) {
  auto schema = JsonSchema::FromFile(kSchema);
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_THAT(schema->TypesAt("/rate/window"), ElementsAre("string", "integer"));  // via $ref
  EXPECT_THAT(schema->TypesAt("/rate/max_in_flight"), ElementsAre("integer"));
  EXPECT_THAT(schema->TypesAt("/kafka/properties/anything"),
              ElementsAre("string", "integer", "number", "boolean"));
  EXPECT_THAT(schema->TypesAt("/kafka/topics/0"), ElementsAre("string"));
  EXPECT_THAT(schema->TypesAt(""), ElementsAre("object"));
  EXPECT_THAT(schema->TypesAt("/mode"), IsEmpty());  // an enum without a type
  EXPECT_THAT(schema->TypesAt("/nope/deeper"), IsEmpty());
  EXPECT_THAT(schema->TypesAt("not a pointer"), IsEmpty());
  // RapidJSON 1.1 would recurse until it crashes on a $ref loop: refused before compiling.
  auto looping = JsonSchema::FromString(
      R"({"definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}},
          "properties": {"x": {"$ref": "#/definitions/a"}}})");
  EXPECT_THAT(looping.status().message(), HasSubstr("\"$ref\" loops or points at nothing"));
  auto dangling = JsonSchema::FromString(R"({"properties": {"y": {"$ref": "#/nowhere"}}})");
  EXPECT_THAT(dangling.status().message(), HasSubstr("/properties/y"));
}

}  // namespace
}  // namespace sluice::config

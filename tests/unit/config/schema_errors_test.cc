// The config loader against a JSON Schema: errors that name the file, line, key and value.
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

// ---- schema validation ----

TEST(ConfigSchemaTest, ValidFilePasses) {
  LoadOptions o;
  o.schema_path = kSchema;
  auto c = Config::LoadString(kValid, o, "relay.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetDuration("/rate/window").value().count(), 20'000);
}

TEST(ConfigSchemaTest, WrongTypeNamesFileLineKeyAndValue) {
  LoadOptions o;
  o.schema_path = kSchema;
  std::string yaml = kValid;
  yaml.replace(yaml.find("25.5"), 4, "fast");
  Status s = Config::LoadString(yaml, o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "relay.yaml:10:3: /rate/requests_per_second: expected number, got string \"fast\"");
}

TEST(ConfigSchemaTest, UnknownKeyIsNamed) {
  LoadOptions o;
  o.schema_path = kSchema;
  std::string yaml = std::string(kValid) + "  max_in_flite: 3\n";
  Status s = Config::LoadString(yaml, o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("relay.yaml:13:3: /rate/max_in_flite: unknown key "
                                     "\"max_in_flite\" (allowed: max_in_flight, "
                                     "requests_per_second, window)"));
  s = Config::LoadString(std::string(kValid) + "extra: {a: 1}\n", o, "relay.yaml").status();
  EXPECT_THAT(s.message(), HasSubstr("relay.yaml:13:1: /extra: unknown key \"extra\""));
}

TEST(ConfigSchemaTest, MissingRequiredKeyIsNamed) {
  LoadOptions o;
  o.schema_path = kSchema;
  Status s = Config::LoadString("kafka:\n  group_id: g\nrate: {}\n", o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "relay.yaml:1:1: /kafka/bootstrap: missing required key \"bootstrap\"");
  s = Config::LoadString("kafka: {bootstrap: x}\n", o, "relay.yaml").status();
  EXPECT_THAT(s.message(), HasSubstr("/rate: missing required key \"rate\""));
}

TEST(ConfigSchemaTest, OtherKeywordsHaveReadableMessages) {
  LoadOptions o;
  o.schema_path = kSchema;
  auto msg = [&](const std::string& extra) {
    return Config::LoadString(std::string(kValid) + extra, o, "relay.yaml").status().message();
  };
  EXPECT_THAT(msg("mode: fast\n"),
              HasSubstr("/mode: expected one of \"live\", \"dry-run\", got string \"fast\""));
  std::string yaml = kValid;
  yaml.replace(yaml.find("max_in_flight: 8"), 16, "max_in_flight: 0");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("r.yaml:11:3: /rate/max_in_flight: expected >= 1, got integer 0"));
  yaml = kValid;
  yaml.replace(yaml.find("25.5"), 4, "0");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("/rate/requests_per_second: expected > 0, got integer 0"));
  yaml = kValid;
  yaml.replace(yaml.find("sluice-relay"), 12, "Sluice_Relay");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("/kafka/group_id: string \"Sluice_Relay\" does not match pattern"));
  yaml = kValid;
  yaml.replace(yaml.find("[sf.contact.events, sf.order.events]"), 36, "[]");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("/kafka/topics: expected at least 1 items, got 0"));
}

TEST(ConfigSchemaTest, SecretValuesNeverAppearInErrors) {
  LoadOptions o;
  o.schema_path = kSchema;
  Status s = Config::LoadString(std::string(kValid) + "salesforce: {client_secret: 12345678}\n", o,
                                "relay.yaml")
                 .status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("/salesforce/client_secret: expected string, got integer"));
  EXPECT_THAT(s.message(), Not(HasSubstr("12345678")));
}

TEST(ConfigSchemaTest, MissingOrBrokenSchemaIsAnError) {
  LoadOptions o;
  o.schema_path = "/nonexistent/relay.schema.json";
  EXPECT_EQ(Config::LoadString(kValid, o).status().code(), StatusCode::kNotFound);
  TempDir dir;
  o.schema_path = dir.Write("bad.json", "{not json");
  Status s = Config::LoadString(kValid, o).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("schema is not JSON"));
}

TEST(ConfigSchemaTest, SchemaTextValidatesLikeTheFile) {
  std::ifstream in(kSchema);
  std::stringstream text;
  text << in.rdbuf();
  LoadOptions o;
  o.schema_json = text.str();
  o.schema_name = "relay.schema.json";
  ASSERT_TRUE(Config::LoadString(kValid, o, "relay.yaml").ok());
  std::string yaml = kValid;
  yaml.replace(yaml.find("25.5"), 4, "fast");
  EXPECT_EQ(Config::LoadString(yaml, o, "relay.yaml").status().message(),
            "relay.yaml:10:3: /rate/requests_per_second: expected number, got string \"fast\"");
  o.schema_json = "{not json";
  EXPECT_THAT(Config::LoadString(kValid, o).status().message(), HasSubstr("relay.schema.json"));
  o.schema_json = text.str();
  o.schema_path = kSchema;
  EXPECT_EQ(Config::LoadString(kValid, o).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sluice::config

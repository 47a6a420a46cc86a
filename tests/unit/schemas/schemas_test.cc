#include "sluice/schemas/schemas.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/config/json_schema.h"
#include "sluice/testing/process.h"

namespace sluice::schemas {
namespace {

std::vector<std::string> SourceSchemaNames() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(testing::SourcePath("schemas"))) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadSource(const std::string& name) {
  std::ifstream in(testing::SourcePath("schemas/" + name), std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(SchemasTest, EveryFileInSchemasIsEmbeddedByteForByte) {
  const std::vector<std::string> source = SourceSchemaNames();
  // The ones the binaries look up by name, so a rename shows here first.
  for (const char* used :
       {"relay.config.schema.json", "sfsim.config.schema.json", "flood.config.schema.json",
        "dlq.config.schema.json", "event.schema.json", "flood-report.schema.json"}) {
    EXPECT_THAT(source, ::testing::Contains(used));
  }
  std::vector<std::string> embedded;
  for (std::string_view name : Names()) embedded.emplace_back(name);
  EXPECT_EQ(embedded, source);
  for (const std::string& name : source) {
    auto text = Get(name);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_EQ(*text, ReadSource(name)) << name;
  }
}

TEST(SchemasTest, EveryEmbeddedSchemaCompiles) {
  for (std::string_view name : Names()) {
    auto schema = config::JsonSchema::FromString(Get(name).value(), name);
    EXPECT_TRUE(schema.ok()) << schema.status();
  }
}

TEST(SchemasTest, UnknownNameIsNotFoundAndListsTheKnownOnes) {
  auto r = Get("relay.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("relay.yaml"));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr("relay.config.schema.json"));
  EXPECT_FALSE(Get("").ok());
}

}  // namespace
}  // namespace sluice::schemas

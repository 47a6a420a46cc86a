#include "sluice/build_info/build_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <regex>
#include <sstream>
#include <string>

namespace sluice::build_info {
namespace {

using ::testing::MatchesRegex;

TEST(BuildInfoTest, VersionsAreSet) {
  EXPECT_EQ(ProjectVersion(), SLUICE_PROJECT_VERSION);
  // git describe's shape (a tag, a count, a hash, -dirty) or the project version.
  EXPECT_THAT(std::string(SluiceVersion()), MatchesRegex("[A-Za-z0-9._+~-]+"));
  const RuntimeVersions v = GetRuntimeVersions();
  for (const std::string& version : {v.librdkafka, v.libcurl, v.openssl, v.sqlite}) {
    EXPECT_TRUE(std::regex_match(version, std::regex(R"(\d+\.\d+(\.\d+)*.*)"))) << version;
  }
}

TEST(BuildInfoTest, VersionTextNamesTheProgramAndEachLibrary) {
  const RuntimeVersions v = GetRuntimeVersions();
  std::string first = "sluice-test " + std::string(SluiceVersion());
  if (SluiceVersion() != ProjectVersion()) {
    first += " (sluice " + std::string(ProjectVersion()) + ")";
  }
  EXPECT_EQ(VersionText("sluice-test"), first + "\nlibrdkafka " + v.librdkafka + "\nlibcurl " +
                                            v.libcurl + "\nOpenSSL " + v.openssl + "\nSQLite " +
                                            v.sqlite);
}

TEST(BuildInfoTest, VersionFlagWinsOverRequiredOptionsAndExitsZero) {
  CLI::App app{"test", "sluice-test"};
  std::string config;
  app.add_option("--config", config)->required();
  AddVersionFlag(app, "sluice-test");
  try {
    app.parse(std::vector<std::string>{"--version"});
    FAIL() << "--version did not stop parsing";
  } catch (const CLI::CallForVersion& e) {
    EXPECT_EQ(std::string(e.what()), VersionText("sluice-test"));
    std::ostringstream out, err;
    EXPECT_EQ(app.exit(e, out, err), 0);
    EXPECT_EQ(out.str(), VersionText("sluice-test") + "\n");
  }
  // Without it, the required option still is.
  EXPECT_THROW(app.parse(std::vector<std::string>{}), CLI::RequiredError);
}

}  // namespace
}  // namespace sluice::build_info

// ReadChangelogSection: the changelog section over the library's defaults.
#include "sluice/changelog/section.h"

#include <gtest/gtest.h>

#include <string>

#include "sluice/config/config.h"

namespace sluice::changelog {
namespace {

Result<ChangelogSection> Read(const std::string& yaml, ChangelogSection defaults = {}) {
  auto c = config::Config::LoadString(yaml, config::LoadOptions{}, "app.yaml");
  if (!c.ok()) return c.status();
  return ReadChangelogSection(*c, "/changelog", std::move(defaults));
}

TEST(ChangelogSectionTest, AnAbsentSectionKeepsTheLibraryDefaults) {
  auto s = Read("other: 1\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->suffix, kDefaultSuffix);
  EXPECT_EQ(s->replication_factor, -1);
  EXPECT_EQ(s->restore.timeout, RestoreOptions{}.timeout);
  EXPECT_EQ(s->restore.timeout, std::chrono::minutes(2));
}

TEST(ChangelogSectionTest, EveryKeyIsRead) {
  auto s = Read(
      "changelog: {enabled: false, suffix: .seen, replication_factor: 3, restore_timeout: 30s}\n");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->enabled);
  EXPECT_EQ(s->suffix, ".seen");
  EXPECT_EQ(s->replication_factor, 3);
  EXPECT_EQ(s->restore.timeout, std::chrono::seconds(30));
}

TEST(ChangelogSectionTest, BadValuesNameTheKey) {
  struct Case {
    const char* yaml;
    const char* key;
  } cases[] = {
      {"changelog: {replication_factor: 0}\n", "replication_factor"},
      {"changelog: {replication_factor: -2}\n", "replication_factor"},
      {"changelog: {replication_factor: 33}\n", "replication_factor"},
      {"changelog: {restore_timeout: 999ms}\n", "restore_timeout"},
      {"changelog: {suffix: \"/bad\"}\n", "suffix"},
  };
  for (const Case& c : cases) {
    auto s = Read(c.yaml);
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.status().message().find("app.yaml"), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find(c.key), std::string::npos) << s.status();
  }
  // A suffix is not checked while the changelog is off.
  EXPECT_TRUE(Read("changelog: {enabled: false, suffix: \"/bad\"}\n").ok());
  EXPECT_TRUE(Read("changelog: {replication_factor: 32, restore_timeout: 1s}\n").ok());
}

}  // namespace
}  // namespace sluice::changelog

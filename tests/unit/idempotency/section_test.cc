// ReadStoreSection: the idempotency section of a config file over SqliteStoreOptions' and
// RetentionOptions' own defaults, or over a program's.
#include "sluice/idempotency/section.h"

#include <gtest/gtest.h>

#include <string>

#include "sluice/config/config.h"

namespace sluice::idempotency {
namespace {

Result<StoreSection> Read(const std::string& yaml, StoreSection defaults = {}) {
  auto c = config::Config::LoadString(yaml, config::LoadOptions{}, "app.yaml");
  if (!c.ok()) return c.status();
  return ReadStoreSection(*c, "/idempotency", std::move(defaults));
}

StoreSection WithPath() {
  StoreSection s;
  s.store.path = "x.db";
  return s;
}

TEST(StoreSectionTest, AnAbsentSectionKeepsTheLibraryDefaults) {
  auto s = Read("other: 1\n", WithPath());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->enabled);
  EXPECT_EQ(s->store.path, "x.db");
  EXPECT_EQ(s->store.max_staged_rows, SqliteStoreOptions{}.max_staged_rows);
  EXPECT_EQ(s->store.merge_chunk_rows, SqliteStoreOptions{}.merge_chunk_rows);
  EXPECT_EQ(s->store.cache_size_kib, SqliteStoreOptions{}.cache_size_kib);
  EXPECT_EQ(s->retention.retention, RetentionOptions{}.retention);
}

TEST(StoreSectionTest, EveryKeyIsRead) {
  auto s = Read(R"(
idempotency:
  enabled: false
  path: /var/lib/app.db
  retention: 2d
  max_staged_rows: 5000
  merge_chunk_rows: 700
  cache_kib: 512
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->enabled);
  EXPECT_EQ(s->store.path, "/var/lib/app.db");
  EXPECT_EQ(s->retention.retention, std::chrono::hours(48));
  EXPECT_EQ(s->store.max_staged_rows, 5000);
  EXPECT_EQ(s->store.merge_chunk_rows, 700);
  EXPECT_EQ(s->store.cache_size_kib, 512);
}

TEST(StoreSectionTest, AProgramsDefaultsStandWhereTheFileIsSilent) {
  StoreSection mine = WithPath();
  mine.store.merge_chunk_rows = 4000;
  auto s = Read("idempotency: {cache_kib: 1024}\n", mine);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->store.merge_chunk_rows, 4000);
  EXPECT_EQ(s->store.cache_size_kib, 1024);
}

TEST(StoreSectionTest, RangesAreCheckedAndTheKeyIsNamed) {
  struct Case {
    const char* yaml;
    const char* key;
  } cases[] = {
      {"idempotency: {max_staged_rows: 999}\n", "max_staged_rows"},
      {"idempotency: {max_staged_rows: 8000001}\n", "max_staged_rows"},
      {"idempotency: {merge_chunk_rows: 99}\n", "merge_chunk_rows"},
      {"idempotency: {merge_chunk_rows: 1000001}\n", "merge_chunk_rows"},
      {"idempotency: {cache_kib: 255}\n", "cache_kib"},
      {"idempotency: {path: \"\"}\n", "path"},
      {"idempotency: {retention: 7}\n", "retention"},
  };
  for (const Case& c : cases) {
    auto s = Read(c.yaml, WithPath());
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.status().message().find("app.yaml"), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find(c.key), std::string::npos) << s.status();
  }
  // The bounds themselves are accepted, and an empty path is fine while the store is off.
  EXPECT_TRUE(Read("idempotency: {max_staged_rows: 1000}\n", WithPath()).ok());
  EXPECT_TRUE(Read("idempotency: {max_staged_rows: 8000000}\n", WithPath()).ok());
  EXPECT_TRUE(Read("idempotency: {enabled: false}\n").ok());
}

TEST(StoreSectionTest, TheLibraryDefaultsPassTheirOwnRanges) {
  EXPECT_TRUE(WithPath().Validate().ok()) << WithPath().Validate();
}

}  // namespace
}  // namespace sluice::idempotency

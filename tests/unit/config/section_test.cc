// The section helpers: key paths, dotted names, durations read over a default, the logging section.
#include "sluice/config/section.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::config {
namespace {

Config Load(const std::string& yaml) {
  return *Config::LoadString(yaml, LoadOptions{}, "app.yaml");
}

TEST(SectionTest, KeysAndNames) {
  EXPECT_EQ(SectionKey("/idempotency", "path"), "/idempotency/path");
  EXPECT_EQ(DottedName("/delivery/retry"), "delivery.retry");
  EXPECT_EQ(DottedName("kafka"), "kafka");
}

TEST(SectionTest, ReadDurationKeepsTheDefaultOnlyWhenTheKeyIsAbsent) {
  std::chrono::milliseconds d{1234};
  ASSERT_TRUE(ReadDuration(Load("a: {b: 250ms}\n"), "/a/c", &d).ok());
  EXPECT_EQ(d.count(), 1234);
  ASSERT_TRUE(ReadDuration(Load("a: {b: 250ms}\n"), "/a/b", &d).ok());
  EXPECT_EQ(d.count(), 250);
  Status bad = ReadDuration(Load("a: {b: 30}\n"), "/a/b", &d);
  EXPECT_NE(bad.message().find("30 needs a unit"), std::string::npos) << bad;
  EXPECT_EQ(d.count(), 250);
}

TEST(SectionTest, LoggingOverCoresDefaults) {
  auto o = ReadLogging(Load("other: 1\n"), "/logging");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->level, LoggingOptions{}.level);
  EXPECT_EQ(o->json, LoggingOptions{}.json);
  o = ReadLogging(Load("logging: {level: warn, json: false}\n"), "/logging");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->level, "warn");
  EXPECT_FALSE(o->json);
  o = ReadLogging(Load("logging: {level: chatty}\n"), "/logging");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("app.yaml: /logging/level: \"chatty\""), std::string::npos)
      << o.status();
}

}  // namespace
}  // namespace sluice::config

// ReadConsumerSection: a consuming program's kafka section over the library's defaults.
#include "sluice/kafka/section.h"

#include <gtest/gtest.h>

#include <string>

#include "sluice/config/config.h"

namespace sluice::kafka {
namespace {

constexpr const char* kBase = "kafka:\n  bootstrap: 127.0.0.1:9092\n  group_id: g\n  topics: [a]\n";

Result<ConsumerSection> Read(const std::string& yaml, ConsumerSection defaults = {}) {
  auto c = config::Config::LoadString(yaml, config::LoadOptions{}, "app.yaml");
  if (!c.ok()) return c.status();
  return ReadConsumerSection(*c, "/kafka", std::move(defaults));
}

TEST(ConsumerSectionTest, AMinimalSectionGetsTheLibraryDefaults) {
  auto s = Read(kBase);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(s->group_id, "g");
  EXPECT_EQ(s->topics, std::vector<std::string>{"a"});
  EXPECT_TRUE(s->properties.empty());
  EXPECT_EQ(s->poll_batch, 1000u);
  EXPECT_EQ(s->commit_interval, std::chrono::seconds(1));
  EXPECT_EQ(s->consumer_queue_kbytes, 16'384);
}

TEST(ConsumerSectionTest, EveryKeyIsRead) {
  auto s = Read(std::string(kBase) + R"(  properties: {client.id: me, fetch.min.bytes: 10}
  poll_batch: 50
  commit_interval: 250ms
  consumer_queue_kbytes: 4096
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->properties.at("client.id"), "me");
  EXPECT_EQ(s->properties.at("fetch.min.bytes"), "10");
  EXPECT_EQ(s->poll_batch, 50u);
  EXPECT_EQ(s->commit_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(s->consumer_queue_kbytes, 4096);
}

TEST(ConsumerSectionTest, AProgramsGroupStandsUnlessTheFileNamesOne) {
  ConsumerSection mine;
  mine.group_id = "my-program";
  auto s = Read("kafka: {bootstrap: b, topics: [t]}\n", mine);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->group_id, "my-program");
  s = Read("kafka: {bootstrap: b, topics: [t], group_id: other}\n", mine);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->group_id, "other");
}

TEST(ConsumerSectionTest, MissingAndOutOfRangeValuesNameTheKey) {
  struct Case {
    std::string yaml;
    const char* key;
  } cases[] = {
      {"kafka: {group_id: g, topics: [a]}\n", "bootstrap"},
      {"kafka: {bootstrap: b, topics: [a]}\n", "group_id"},
      {"kafka: {bootstrap: b, group_id: g, topics: []}\n", "topics"},
      {std::string(kBase) + "  poll_batch: 0\n", "poll_batch"},
      {std::string(kBase) + "  poll_batch: 100001\n", "poll_batch"},
      {std::string(kBase) + "  consumer_queue_kbytes: 1023\n", "consumer_queue_kbytes"},
      {std::string(kBase) + "  consumer_queue_kbytes: 2097152\n", "consumer_queue_kbytes"},
      {std::string(kBase) + "  commit_interval: 30\n", "commit_interval"},
      {std::string(kBase) + "  properties: {security.protocl: SSL}\n", "security.protocl"},
  };
  for (const Case& c : cases) {
    auto s = Read(c.yaml);
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.status().message().find("app.yaml"), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find(c.key), std::string::npos) << s.status();
  }
  EXPECT_TRUE(Read(std::string(kBase) + "  poll_batch: 100000\n").ok());
  EXPECT_TRUE(Read(std::string(kBase) + "  consumer_queue_kbytes: 1024\n").ok());
}

}  // namespace
}  // namespace sluice::kafka

// The environment-override mapping (libs/config, LoadOptions::env_dotted_maps) reads '_' as '.'
// inside kafka.properties because librdkafka's property names are dotted. This checks that
// assumption against the librdkafka actually linked: every property it lets a string set is
// dotted or one of the names the mapping keeps as they are.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "rdkafka_util.h"

namespace sluice::kafka {
namespace {

TEST(LibrdkafkaPropertyNamesTest, OnlyTheKnownNamesHaveUnderscores) {
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(),
                                                                          rd_kafka_conf_destroy);
  std::unique_ptr<rd_kafka_topic_conf_t, decltype(&rd_kafka_topic_conf_destroy)> topic(
      rd_kafka_topic_conf_new(), rd_kafka_topic_conf_destroy);
  std::set<std::string> with_underscore;
  size_t total = 0;
  auto scan = [&](const char** dump, size_t count) {
    for (size_t i = 0; i + 1 < count; i += 2) {  // name, value, name, value, ...
      const std::string name = dump[i];
      ++total;
      if (name.find('_') == std::string::npos) continue;
      // Only properties a string can set matter: the mapping produces strings. Callbacks and
      // pointers are listed too, but setting them from text is refused.
      std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> scratch(
          rd_kafka_conf_new(), rd_kafka_conf_destroy);
      char error[256];
      rd_kafka_conf_res_t settable =
          rd_kafka_conf_set(scratch.get(), name.c_str(), dump[i + 1], error, sizeof(error));
      if (settable == RD_KAFKA_CONF_OK) with_underscore.insert(name);
    }
  };
  size_t count = 0;
  const char** dump = rd_kafka_conf_dump(conf.get(), &count);
  scan(dump, count);
  rd_kafka_conf_dump_free(dump, count);
  dump = rd_kafka_topic_conf_dump(topic.get(), &count);
  for (size_t i = 0; i + 1 < count; i += 2) {
    EXPECT_EQ(std::string(dump[i]).find('_'), std::string::npos) << dump[i];
  }
  rd_kafka_conf_dump_free(dump, count);
  EXPECT_GT(total, 50u) << "librdkafka listed too few properties for this check to mean much";
  for (const auto& name : with_underscore) {
    EXPECT_TRUE(name == "log_level" || name == "enabled_events" || name == "enable_sasl_queue")
        << name << " has '_': add it to KeepsUnderscores in libs/config/src/env_overrides.cc";
  }
}

}  // namespace
}  // namespace sluice::kafka

namespace sluice::kafka::internal {
namespace {

// One kafka.properties map configures the relay's consumer, DLQ producer and admin clients; each
// gets only what librdkafka applies to its kind (librdkafka warned CONFWARN for every
// consumer-only property on the producer).
TEST(PropertyScopeTest, FromLibrdkafkasOwnTable) {
  EXPECT_EQ(ScopeOf("session.timeout.ms"), PropertyScope::kConsumer);
  EXPECT_EQ(ScopeOf("auto.offset.reset"), PropertyScope::kConsumer);
  EXPECT_EQ(ScopeOf("enable.idempotence"), PropertyScope::kProducer);
  EXPECT_EQ(ScopeOf("linger.ms"), PropertyScope::kProducer);
  EXPECT_EQ(ScopeOf("security.protocol"), PropertyScope::kAny);
  EXPECT_EQ(ScopeOf("security.protocl"), PropertyScope::kUnknown);
}

TEST(PropertyScopeTest, EachClientGetsItsOwnAndUnknownNamesStay) {
  const std::map<std::string, std::string> all = {{"session.timeout.ms", "10000"},
                                                  {"linger.ms", "5"},
                                                  {"security.protocol", "ssl"},
                                                  {"security.protocl", "ssl"}};
  EXPECT_EQ(OnlyFor(RD_KAFKA_PRODUCER, all),
            (std::map<std::string, std::string>{
                {"linger.ms", "5"}, {"security.protocol", "ssl"}, {"security.protocl", "ssl"}}));
  EXPECT_EQ(OnlyFor(RD_KAFKA_CONSUMER, all),
            (std::map<std::string, std::string>{{"session.timeout.ms", "10000"},
                                                {"security.protocol", "ssl"},
                                                {"security.protocl", "ssl"}}));
}

}  // namespace
}  // namespace sluice::kafka::internal

// Configuration handling, checked without ever starting a client: every case here fails before
// librdkafka would open a connection.
#include <gtest/gtest.h>

#include <string>

#include "rdkafka_util.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"

namespace sluice::kafka {
namespace {

using internal::BuildConf;

bool Contains(const Status& s, const std::string& needle) {
  return s.message().find(needle) != std::string::npos;
}

std::string ConfValue(rd_kafka_conf_t* conf, const char* name) {
  char buf[1024];
  size_t size = sizeof(buf);
  if (rd_kafka_conf_get(conf, name, buf, &size) != RD_KAFKA_CONF_OK) return "<unset>";
  return buf;
}

TEST(KafkaConfigTest, PassesPropertiesThroughAfterDefaults) {
  auto conf = BuildConf("127.0.0.1:9092", {{"acks", "all"}, {"linger.ms", "5"}},
                        {{"linger.ms", "50"}, {"client.id", "relay-1"}});
  ASSERT_TRUE(conf.ok()) << conf.status();
  EXPECT_EQ(ConfValue(conf->get(), "bootstrap.servers"), "127.0.0.1:9092");
  EXPECT_EQ(ConfValue(conf->get(), "linger.ms"), "50");  // the property wins over the default
  EXPECT_EQ(ConfValue(conf->get(), "client.id"), "relay-1");
}

TEST(KafkaConfigTest, UnknownPropertyIsNamed) {
  auto conf = BuildConf("127.0.0.1:9092", {}, {{"no.such.property", "1"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_EQ(conf.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(conf.status(), "no.such.property")) << conf.status();
  EXPECT_TRUE(Contains(conf.status(), "No such configuration property")) << conf.status();
}

TEST(KafkaConfigTest, BadValuesAreNamed) {
  const std::pair<std::string, std::string> bad[] = {
      {"acks", "banana"},
      {"message.max.bytes", "abc"},
      {"queue.buffering.max.messages", "-5"},
      {"linger.ms", "1e999"},
      {"enable.idempotence", "maybe"},
      {"message.max.bytes", std::string(1 << 20, '9')},  // oversized number
  };
  for (const auto& [name, value] : bad) {
    auto conf = BuildConf("127.0.0.1:9092", {}, {{name, value}});
    ASSERT_FALSE(conf.ok()) << name << "=" << value.substr(0, 20);
    EXPECT_EQ(conf.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(conf.status(), "'" + name + "'")) << conf.status();
  }
}

TEST(KafkaConfigTest, BootstrapMustBeGivenExactlyOnce) {
  auto none = BuildConf("", {}, {});
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(none.status(), "bootstrap")) << none.status();
  auto twice = BuildConf("127.0.0.1:1", {}, {{"bootstrap.servers", "127.0.0.1:2"}});
  EXPECT_EQ(twice.status().code(), StatusCode::kInvalidArgument);
  auto via_property = BuildConf("", {}, {{"bootstrap.servers", "127.0.0.1:2"}});
  ASSERT_TRUE(via_property.ok()) << via_property.status();
  EXPECT_EQ(ConfValue(via_property->get(), "bootstrap.servers"), "127.0.0.1:2");
}

TEST(KafkaConfigTest, HostilePropertyNamesAndValues) {
  auto empty = BuildConf("127.0.0.1:1", {}, {{"", "x"}});
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
  auto nul = BuildConf("127.0.0.1:1", {}, {{std::string("acks\0x", 6), "all"}});
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(nul.status(), "NUL")) << nul.status();
  auto nul_value = BuildConf("127.0.0.1:1", {}, {{"client.id", std::string("a\0b", 3)}});
  EXPECT_EQ(nul_value.status().code(), StatusCode::kInvalidArgument);
  auto control = BuildConf("127.0.0.1:1", {}, {{"acks\n\x01", "all"}});
  EXPECT_EQ(control.status().code(), StatusCode::kInvalidArgument);
  auto huge_name = BuildConf("127.0.0.1:1", {}, {{std::string(100000, 'a'), "1"}});
  EXPECT_EQ(huge_name.status().code(), StatusCode::kInvalidArgument);
  auto nul_bootstrap = BuildConf(std::string("127.0.0.1:1\0evil", 16), {}, {});
  EXPECT_EQ(nul_bootstrap.status().code(), StatusCode::kInvalidArgument);
}

TEST(KafkaConfigTest, ForbiddenPropertiesSayWhy) {
  auto conf = BuildConf("127.0.0.1:1", {}, {{"enable.auto.offset.store", "true"}},
                        {{"enable.auto.offset.store", "offsets are stored by hand"}});
  ASSERT_FALSE(conf.ok());
  EXPECT_TRUE(Contains(conf.status(), "enable.auto.offset.store")) << conf.status();
  EXPECT_TRUE(Contains(conf.status(), "stored by hand")) << conf.status();
}

TEST(KafkaConfigTest, ProducerCreateReportsTheBadProperty) {
  ProducerOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.properties["linger.mss"] = "5";
  auto producer = Producer::Create(options);
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(producer.status(), "linger.mss")) << producer.status();
  EXPECT_TRUE(Contains(producer.status(), "create Kafka producer")) << producer.status();
}

TEST(KafkaConfigTest, ProducerRejectsIdempotenceWithoutAcksAll) {
  // librdkafka refuses this combination in rd_kafka_new, before any connection.
  ProducerOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.acks = "1";
  auto producer = Producer::Create(options);
  ASSERT_FALSE(producer.ok());
  EXPECT_EQ(producer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(producer.status(), "acks")) << producer.status();
}

TEST(KafkaConfigTest, TaggedRecordsNeedAHandlerAndASmallEnoughTag) {
  // Both are refused before anything is enqueued, so no broker is needed.
  ProducerOptions options;
  options.bootstrap = "127.0.0.1:1";
  auto without = Producer::Create(options);
  ASSERT_TRUE(without.ok()) << without.status();
  Status st = (*without)->ProduceTagged("t", "k", "v", {}, 1);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st;
  EXPECT_TRUE(Contains(st, "on_tagged_delivery")) << st;

  options.on_tagged_delivery = [](const TaggedReport&) {};
  auto with = Producer::Create(options);
  ASSERT_TRUE(with.ok()) << with.status();
  st = (*with)->ProduceTagged("t", "k", "v", {}, Producer::kMaxTag + 1);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_TRUE(Contains(st, "2^63 - 1")) << st;
  EXPECT_EQ((*with)->InFlight(), 0);
}

TEST(KafkaConfigTest, ATaggedRecordThatTimesOutIsReportedAsFailedWithItsTag) {
  // Nothing listens on port 1 of the loopback, so the record expires in the local queue.
  std::vector<std::string> reports;
  ProducerOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.properties = {{"message.timeout.ms", "200"}};
  options.deliver_on_caller_thread = true;
  options.on_tagged_delivery = [&](const TaggedReport& r) {
    reports.push_back(std::to_string(r.tag) + " " + std::string(r.topic) + " " +
                      std::string(StatusCodeName(r.status.code())) +
                      (r.possibly_persisted ? " maybe written" : " not written"));
  };
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE((*producer)->ProduceTagged("t", "k", "v", {}, 42).ok());
  EXPECT_EQ((*producer)->Flush(std::chrono::seconds(30)).code(), StatusCode::kOk);
  EXPECT_EQ(reports, std::vector<std::string>{"42 t DeadlineExceeded not written"});
}

TEST(KafkaConfigTest, ConsumerNeedsAGroup) {
  ConsumerOptions options;
  options.bootstrap = "127.0.0.1:1";
  auto consumer = Consumer::Create(options);
  ASSERT_FALSE(consumer.ok());
  EXPECT_EQ(consumer.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(consumer.status(), "group")) << consumer.status();
  options.group_id = "g";
  options.properties["group.id"] = "h";
  EXPECT_EQ(Consumer::Create(options).status().code(), StatusCode::kInvalidArgument);
}

TEST(KafkaConfigTest, ConsumerRefusesAutomaticOffsetStore) {
  ConsumerOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.group_id = "g";
  options.properties["enable.auto.offset.store"] = "true";
  auto consumer = Consumer::Create(options);
  ASSERT_FALSE(consumer.ok());
  EXPECT_TRUE(Contains(consumer.status(), "enable.auto.offset.store")) << consumer.status();
}

TEST(KafkaConfigTest, ConsumerBadValues) {
  ConsumerOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.group_id = "g";
  options.auto_offset_reset = "sideways";
  auto consumer = Consumer::Create(options);
  ASSERT_FALSE(consumer.ok());
  EXPECT_TRUE(Contains(consumer.status(), "auto.offset.reset")) << consumer.status();
  options.auto_offset_reset = "earliest";
  options.properties["session.timeout.ms"] = "not-a-number";
  consumer = Consumer::Create(options);
  ASSERT_FALSE(consumer.ok());
  EXPECT_TRUE(Contains(consumer.status(), "session.timeout.ms")) << consumer.status();
}

TEST(KafkaConfigTest, AdminReportsTheBadProperty) {
  AdminOptions options;
  options.bootstrap = "127.0.0.1:1";
  options.properties["socket.timeout.mss"] = "1";
  auto admin = Admin::Create(options);
  ASSERT_FALSE(admin.ok());
  EXPECT_TRUE(Contains(admin.status(), "socket.timeout.mss")) << admin.status();
}

}  // namespace
}  // namespace sluice::kafka

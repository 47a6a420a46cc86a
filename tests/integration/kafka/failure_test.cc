// Failure paths: no broker at the address, a full local queue, deadlines.
#include "kafka_test_util.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

std::string DeadBootstrap() { return "127.0.0.1:" + std::to_string(DeadPort()); }

TEST(KafkaFailureTest, ProduceWithNoBrokerFailsWithinItsDeadline) {
  ProducerOptions options;
  options.bootstrap = DeadBootstrap();
  options.properties = {{"message.timeout.ms", "2000"}};
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();

  const auto start = SteadyClock::now();
  auto report = (*producer)->ProduceSync({"orders", std::string("k"), std::string("v"), {}}, 60s);
  const auto elapsed = SteadyClock::now() - start;
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kDeadlineExceeded) << report.status();
  EXPECT_NE(report.status().message().find("timed out"), std::string::npos) << report.status();
  // The report came from message.timeout.ms, not from ProduceSync giving up at 60 s.
  EXPECT_LT(elapsed, 60s);

  // Flush with a record that cannot be delivered reports the deadline.
  DeliveryReport late;
  std::atomic<bool> called{false};
  ASSERT_OK((*producer)->Produce("orders", "k", "v", {}, [&](const DeliveryReport& r) {
    late = r;
    called = true;
  }));
  Status flushed = (*producer)->Flush(100ms);
  EXPECT_EQ(flushed.code(), StatusCode::kDeadlineExceeded) << flushed;
  ASSERT_OK((*producer)->Flush(60s));  // the record times out (2 s), its callback runs
  EXPECT_TRUE(called);
  EXPECT_EQ(late.status.code(), StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(late.possibly_persisted);  // never sent anywhere
}

TEST(KafkaFailureTest, FullLocalQueueIsResourceExhaustedAfterTheEnqueueTimeout) {
  ProducerOptions options;
  options.bootstrap = DeadBootstrap();
  options.properties = {{"queue.buffering.max.messages", "5"}};
  options.enqueue_timeout = 200ms;
  options.close_timeout = 0ms;  // purge at destruction; callbacks get Unavailable
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::atomic<int> purged{0};
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK((*producer)->Produce("orders", "k", "v", {}, [&](const DeliveryReport& r) {
      if (r.status.code() == StatusCode::kUnavailable) ++purged;
    }));
  }
  Status full = (*producer)->Produce("orders", "k", "v");
  EXPECT_EQ(full.code(), StatusCode::kResourceExhausted) << full;
  EXPECT_NE(full.message().find("queue"), std::string::npos) << full;
  EXPECT_EQ((*producer)->InFlight(), 5);
  producer->reset();  // destructor purges; every callback has run when it returns
  EXPECT_EQ(purged.load(), 5);
}

TEST(KafkaFailureTest, AdminCallsRespectTheirDeadline) {
  AdminOptions options;
  options.bootstrap = DeadBootstrap();
  auto admin = Admin::Create(options);
  ASSERT_TRUE(admin.ok()) << admin.status();
  const auto start = SteadyClock::now();
  auto topics = (*admin)->ListTopics(1500ms);
  EXPECT_FALSE(topics.ok());
  EXPECT_TRUE(topics.status().IsRetryable()) << topics.status();
  Status created = (*admin)->CreateTopic({"t", 1}, 1500ms);
  EXPECT_FALSE(created.ok());
  EXPECT_TRUE(created.IsRetryable()) << created;
  // Generous bound: two 1.5 s calls plus the 1 s grace each (not a speed assertion).
  EXPECT_LT(SteadyClock::now() - start, 30s);
}

TEST(KafkaFailureTest, ConsumerReportsAnUnreachableBrokerAsErrorEvents) {
  ConsumerOptions options;
  options.bootstrap = DeadBootstrap();
  options.group_id = "g";
  auto consumer = Consumer::Create(options);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_OK((*consumer)->Subscribe({"orders"}));
  const auto deadline = SteadyClock::now() + 60s;
  Status seen;
  while (seen.ok() && SteadyClock::now() < deadline) {
    auto messages = (*consumer)->Poll(10, 200ms);
    ASSERT_TRUE(messages.ok()) << messages.status();
    for (const auto& m : *messages) {
      ASSERT_TRUE(m.is_error()) << "a record from a broker that does not exist";
      seen = m.error;
    }
  }
  EXPECT_EQ(seen.code(), StatusCode::kUnavailable) << seen;
  ASSERT_OK((*consumer)->Close());
}

}  // namespace
}  // namespace sluice::kafka

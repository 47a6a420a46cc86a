// Admin against the real broker: topics, watermarks, committed offsets and lag.
#include "kafka_test_util.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

TEST_F(KafkaTest, CreateListCountAndDeleteTopics) {
  const std::string name = testing::KafkaBroker::UniqueName("adm");
  ASSERT_OK(admin_->CreateTopic({name, 4, 1, {{"retention.ms", "3600000"}}}, 60s));
  Status again = admin_->CreateTopic({name, 4}, 60s);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again;
  EXPECT_NE(again.message().find(name), std::string::npos) << again;

  auto count = admin_->PartitionCount(name, 30s);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(*count, 4);
  auto topics = admin_->ListTopics(30s);
  ASSERT_TRUE(topics.ok()) << topics.status();
  bool listed = false;
  for (const auto& t : *topics) {
    EXPECT_NE(t.name.rfind("__", 0), 0u) << "internal topic listed: " << t.name;
    if (t.name == name) listed = t.partitions == 4;
  }
  EXPECT_TRUE(listed);

  ASSERT_OK(admin_->DeleteTopics({name}, 60s));
  EXPECT_EQ(admin_->PartitionCount(name, 30s).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(admin_->DeleteTopics({name}, 30s).code(), StatusCode::kNotFound);
}

TEST_F(KafkaTest, MissingTopicsAreNotFoundAndNeverAutoCreated) {
  const std::string name = testing::KafkaBroker::UniqueName("missing");
  EXPECT_EQ(admin_->PartitionCount(name, 30s).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(admin_->Watermarks(name, 30s).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(admin_->Lag("g", name, 30s).status().code(), StatusCode::kNotFound);
  // The broker auto-creates topics on metadata requests that allow it; ours never do.
  EXPECT_EQ(admin_->PartitionCount(name, 30s).status().code(), StatusCode::kNotFound);
}

TEST_F(KafkaTest, CreateTopicsRejectsBadSpecs) {
  EXPECT_EQ(admin_->CreateTopic({"bad name"}, 10s).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(admin_->CreateTopic({testing::KafkaBroker::UniqueName("z"), 0}, 10s).code(),
            StatusCode::kInvalidArgument);
  // One broker: replication 3 cannot be met.
  Status rf = admin_->CreateTopic({testing::KafkaBroker::UniqueName("rf"), 1, 3}, 30s);
  EXPECT_EQ(rf.code(), StatusCode::kInvalidArgument) << rf;
  Status config =
      admin_->CreateTopic({testing::KafkaBroker::UniqueName("cfg"), 1, 1, {{"no.such", "1"}}}, 30s);
  EXPECT_EQ(config.code(), StatusCode::kInvalidArgument) << config;
}

TEST_F(KafkaTest, LagIsProducedMinusConsumedPerPartition) {
  const std::string topic = NewTopic(3);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  const int produced[3] = {100, 40, 0};
  for (int32_t p = 0; p < 3; ++p) {
    for (int i = 0; i < produced[p]; ++i) {
      ASSERT_OK(producer->Produce(topic, "k", std::to_string(i), {}, nullptr, p));
    }
  }
  ASSERT_OK(producer->Flush(30s));

  auto marks = admin_->Watermarks(topic, 30s);
  ASSERT_TRUE(marks.ok()) << marks.status();
  ASSERT_EQ(marks->size(), 3u);
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ((*marks)[p].partition, p);
    EXPECT_EQ((*marks)[p].low, 0);
    EXPECT_EQ((*marks)[p].high, produced[p]);
  }

  // Nothing consumed yet: everything retained is lag.
  const std::string group = testing::KafkaBroker::UniqueName("g");
  auto before = admin_->Lag(group, topic, 30s);
  ASSERT_TRUE(before.ok()) << before.status();
  for (int32_t p = 0; p < 3; ++p) {
    EXPECT_EQ((*before)[p].committed, kOffsetInvalid);
    EXPECT_EQ((*before)[p].lag, produced[p]);
  }

  // Consume everything, but process (store) only the first 30 of partition 0 and all of 1.
  auto consumer = NewConsumer(group);
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({topic}));
  int received = 0;
  ASSERT_TRUE(PollUntil(
      *consumer,
      [&](const Message& m) {
        ++received;
        if (m.partition == 1 || (m.partition == 0 && m.offset < 30)) {
          ASSERT_OK(consumer->StoreOffset(m.topic, m.partition, m.offset + 1));
        }
      },
      [&] { return received >= 140; }));
  ASSERT_OK(consumer->Commit(true));
  auto committed = consumer->Committed({{topic, 0}, {topic, 1}, {topic, 2}}, 30s);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_EQ((*committed)[0].offset, 30);
  EXPECT_EQ((*committed)[1].offset, 40);
  EXPECT_EQ((*committed)[2].offset, kOffsetInvalid);

  auto lag = admin_->Lag(group, topic, 30s);
  ASSERT_TRUE(lag.ok()) << lag.status();
  ASSERT_EQ(lag->size(), 3u);
  EXPECT_EQ((*lag)[0].committed, 30);
  EXPECT_EQ((*lag)[0].high_watermark, 100);
  EXPECT_EQ((*lag)[0].lag, 70);
  EXPECT_EQ((*lag)[1].committed, 40);
  EXPECT_EQ((*lag)[1].lag, 0);
  EXPECT_EQ((*lag)[2].committed, kOffsetInvalid);
  EXPECT_EQ((*lag)[2].lag, 0);

  // An explicit commit moves the lag the same way.
  ASSERT_OK(consumer->CommitOffsets({{topic, 0, 90}}, true));
  lag = admin_->Lag(group, topic, 30s);
  ASSERT_TRUE(lag.ok()) << lag.status();
  EXPECT_EQ((*lag)[0].lag, 10);
  ASSERT_OK(consumer->Close());
}

}  // namespace
}  // namespace sluice::kafka

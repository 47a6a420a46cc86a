// Rebalance hooks when a second member joins, for the eager and the cooperative-sticky protocol.
#include <set>

#include "kafka_test_util.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

std::set<TopicPartition> AsSet(const std::vector<TopicPartition>& v) {
  return {v.begin(), v.end()};
}

class RebalanceTest : public KafkaTest, public ::testing::WithParamInterface<AssignmentStrategy> {};

TEST_P(RebalanceTest, HooksFireWithTheRightPartitionsWhenASecondMemberJoins) {
  const AssignmentStrategy strategy = GetParam();
  const bool cooperative = strategy == AssignmentStrategy::kCooperativeSticky;
  constexpr int kPartitions = 4;
  constexpr int kPerPartition = 10;
  const std::string topic = NewTopic(kPartitions);
  const std::string group = testing::KafkaBroker::UniqueName("g");
  std::vector<TopicPartition> all;
  for (int32_t p = 0; p < kPartitions; ++p) all.push_back({topic, p});

  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  for (int32_t p = 0; p < kPartitions; ++p) {
    for (int i = 0; i < kPerPartition; ++i) {
      ASSERT_OK(producer->Produce(topic, "k", "before", {}, nullptr, p));
    }
  }
  ASSERT_OK(producer->Flush(30s));

  // Member A takes everything, processes it and stores offsets, but commits only when a
  // partition is revoked: the hook runs before the partitions move.
  RecordingListener listener_a;
  std::vector<Status> revoke_commits;
  listener_a.on_revoked = [&](Consumer& consumer, const std::vector<TopicPartition>&) {
    revoke_commits.push_back(consumer.Commit(true));
  };
  auto a = NewConsumer(group, &listener_a, strategy);
  ASSERT_NE(a, nullptr);
  ASSERT_OK(a->Subscribe({topic}));
  int consumed_a = 0;
  ASSERT_TRUE(PollUntil(
      *a,
      [&](const Message& m) {
        ++consumed_a;
        ASSERT_OK(a->StoreOffset(m.topic, m.partition, m.offset + 1));
      },
      [&] { return consumed_a >= kPartitions * kPerPartition; }));
  auto events = listener_a.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].kind, "assigned");
  EXPECT_EQ(events[0].partitions, all);
  EXPECT_TRUE(revoke_commits.empty());

  // Member B joins; both poll (one thread, interleaved) until the group settles.
  RecordingListener listener_b;
  auto b = NewConsumer(group, &listener_b, strategy);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(b->Subscribe({topic}));
  const auto deadline = SteadyClock::now() + 90s;
  std::vector<Message> got_b;
  for (;;) {
    ASSERT_LT(SteadyClock::now(), deadline) << "the group did not settle";
    for (Consumer* c : {a.get(), b.get()}) {
      auto messages = c->Poll(100, 100ms);
      ASSERT_TRUE(messages.ok()) << messages.status();
      for (const auto& m : *messages) {
        if (m.is_error()) continue;
        ASSERT_EQ(c, b.get()) << "A got a record it had already processed";
        got_b.push_back(m);
      }
    }
    auto assigned_a = a->Assignment();
    auto assigned_b = b->Assignment();
    ASSERT_TRUE(assigned_a.ok() && assigned_b.ok());
    if (assigned_a->size() == 2 && assigned_b->size() == 2) break;
  }
  auto final_a = AsSet(*a->Assignment());
  auto final_b = AsSet(*b->Assignment());
  std::set<TopicPartition> both = final_a;
  both.insert(final_b.begin(), final_b.end());
  EXPECT_EQ(both, AsSet(all));  // disjoint halves covering the topic

  events = listener_a.events();
  auto events_b = listener_b.events();
  ASSERT_EQ(events_b.size(), 1u);
  EXPECT_EQ(events_b[0].kind, "assigned");
  EXPECT_EQ(AsSet(events_b[0].partitions), final_b);
  if (cooperative) {
    // Only the partitions that moved were revoked; A's own half was never interrupted.
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[1].kind, "revoked");
    EXPECT_EQ(AsSet(events[1].partitions), final_b);
  } else {
    // Eager: everything revoked, then A's half assigned again.
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(events[1].kind, "revoked");
    EXPECT_EQ(events[1].partitions, all);
    EXPECT_EQ(events[2].kind, "assigned");
    EXPECT_EQ(AsSet(events[2].partitions), final_a);
  }
  ASSERT_EQ(revoke_commits.size(), 1u);
  EXPECT_TRUE(revoke_commits[0].ok()) << revoke_commits[0];

  // The commit in OnRevoked took effect before B started: B begins after A's records.
  auto committed = admin_->CommittedOffsets(group, topic, 30s);
  ASSERT_TRUE(committed.ok()) << committed.status();
  for (const auto& c : *committed) EXPECT_EQ(c.offset, kPerPartition) << "p" << c.partition;
  for (int32_t p = 0; p < kPartitions; ++p) {
    ASSERT_OK(producer->Produce(topic, "k", "after", {}, nullptr, p));
  }
  ASSERT_OK(producer->Flush(30s));
  ASSERT_TRUE(PollUntil(
      *b, [&](const Message& m) { got_b.push_back(m); }, [&] { return got_b.size() >= 2; }));
  for (const auto& m : got_b) {
    EXPECT_EQ(m.value, "after") << "B re-read a record A had committed";
    EXPECT_EQ(m.offset, kPerPartition);
    EXPECT_TRUE(final_b.count({m.topic, m.partition}));
  }

  // Closing B hands its partitions back to A.
  ASSERT_OK(b->Close());
  events_b = listener_b.events();
  ASSERT_EQ(events_b.size(), 2u);
  EXPECT_EQ(events_b[1].kind, "revoked");
  EXPECT_EQ(AsSet(events_b[1].partitions), final_b);
  ASSERT_OK(a->Close());
}

INSTANTIATE_TEST_SUITE_P(Protocols, RebalanceTest,
                         ::testing::Values(AssignmentStrategy::kEager,
                                           AssignmentStrategy::kCooperativeSticky),
                         [](const auto& info) {
                           return info.param == AssignmentStrategy::kEager ? "Eager"
                                                                           : "CooperativeSticky";
                         });

}  // namespace
}  // namespace sluice::kafka

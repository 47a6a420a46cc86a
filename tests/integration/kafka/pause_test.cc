// What librdkafka does with a partition's pause flag across a rebalance. The relay's "stall after
// a rebalance mid-drain" came from this: a partition paused before an eager rebalance comes back
// paused after it is assigned again (librdkafka issue #1849), and nothing is fetched from it until
// the application resumes it. The relay now sets every assigned partition's state explicitly.
#include "kafka_test_util.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

class PauseTest : public KafkaTest {};

// Polls every consumer until `done` holds (or fails the test after 90 s).
void PollAllUntil(const std::vector<Consumer*>& consumers, const std::function<bool()>& done,
                  std::vector<Message>* got = nullptr) {
  const auto deadline = SteadyClock::now() + 90s;
  while (!done()) {
    ASSERT_LT(SteadyClock::now(), deadline) << "the group did not settle";
    for (Consumer* c : consumers) {
      auto messages = c->Poll(100, 100ms);
      ASSERT_TRUE(messages.ok()) << messages.status();
      for (auto& m : *messages) {
        if (!m.is_error() && got != nullptr) got->push_back(std::move(m));
      }
    }
  }
}

TEST_F(PauseTest, APausedPartitionComesBackPausedAfterAnEagerRebalance) {
  constexpr int kPartitions = 2;
  const std::string topic = NewTopic(kPartitions);
  const std::string group = testing::KafkaBroker::UniqueName("g");
  auto a = NewConsumer(group);
  ASSERT_NE(a, nullptr);
  ASSERT_OK(a->Subscribe({topic}));
  PollAllUntil({a.get()}, [&] { return a->Assignment().value().size() == kPartitions; });
  ASSERT_OK(a->Pause(a->Assignment().value()));

  // B joins (every partition is revoked from A and half assigned again), then leaves (A gets the
  // other half back): both halves went through a revoke and a new assignment.
  auto b = NewConsumer(group);
  ASSERT_NE(b, nullptr);
  ASSERT_OK(b->Subscribe({topic}));
  PollAllUntil({a.get(), b.get()}, [&] {
    return a->Assignment().value().size() == 1 && b->Assignment().value().size() == 1;
  });
  ASSERT_OK(b->Close());
  PollAllUntil({a.get()}, [&] { return a->Assignment().value().size() == kPartitions; });

  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  for (int32_t p = 0; p < kPartitions; ++p) {
    for (int i = 0; i < 5; ++i) ASSERT_OK(producer->Produce(topic, "k", "v", {}, nullptr, p));
  }
  ASSERT_OK(producer->Flush(30s));

  // Nothing arrives while the flags are still set, though the application never paused the
  // partitions of its new assignment...
  std::vector<Message> got;
  const auto quiet_until = SteadyClock::now() + 5s;
  PollAllUntil(
      {a.get()}, [&] { return SteadyClock::now() >= quiet_until; }, &got);
  EXPECT_EQ(got.size(), 0u) << "librdkafka no longer keeps pause flags across a rebalance";
  // ...and everything arrives once it resumes them.
  ASSERT_OK(a->Resume(a->Assignment().value()));
  PollAllUntil(
      {a.get()}, [&] { return got.size() >= 2 * 5; }, &got);
  EXPECT_EQ(got.size(), 2u * 5);
  ASSERT_OK(a->Close());
}

}  // namespace
}  // namespace sluice::kafka

// Shared helpers for the libs/kafka integration tests.
#pragma once

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"
#include "sluice/testing/kafka_broker.h"

namespace sluice::kafka {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

#define ASSERT_OK(expr)                   \
  do {                                    \
    ::sluice::Status status_ = (expr);    \
    ASSERT_TRUE(status_.ok()) << status_; \
  } while (false)

// Base fixture: the binary's broker and factories for clients that talk to it.
class KafkaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto broker = testing::KafkaBroker::Shared();
    ASSERT_TRUE(broker.ok()) << broker.status();
    broker_ = *broker;
    auto admin = broker_->admin();
    ASSERT_TRUE(admin.ok()) << admin.status();
    admin_ = *admin;
  }

  std::string NewTopic(int partitions) {
    auto topic = broker_->CreateTopic(partitions);
    EXPECT_TRUE(topic.ok()) << topic.status();
    return topic.ok() ? *topic : std::string("no-topic");
  }

  std::unique_ptr<Producer> NewProducer(std::map<std::string, std::string> properties = {}) {
    ProducerOptions options;
    options.bootstrap = broker_->bootstrap();
    options.properties = std::move(properties);
    auto producer = Producer::Create(options);
    EXPECT_TRUE(producer.ok()) << producer.status();
    return producer.ok() ? std::move(*producer) : nullptr;
  }

  std::unique_ptr<Consumer> NewConsumer(const std::string& group,
                                        RebalanceListener* listener = nullptr,
                                        AssignmentStrategy strategy = AssignmentStrategy::kEager,
                                        std::map<std::string, std::string> properties = {}) {
    ConsumerOptions options;
    options.bootstrap = broker_->bootstrap();
    options.group_id = group;
    options.listener = listener;
    options.assignment_strategy = strategy;
    options.properties = std::move(properties);
    auto consumer = Consumer::Create(options);
    EXPECT_TRUE(consumer.ok()) << consumer.status();
    return consumer.ok() ? std::move(*consumer) : nullptr;
  }

  testing::KafkaBroker* broker_ = nullptr;
  Admin* admin_ = nullptr;
};

// Polls `consumer` and hands each record to `take` until `done()` or the deadline. Retryable
// error events are tolerated (the client recovers by itself); any other error event fails.
// Returns whether done() became true.
inline bool PollUntil(Consumer& consumer, const std::function<void(const Message&)>& take,
                      const std::function<bool()>& done, Ms timeout = 120s, size_t batch = 1000) {
  const auto deadline = SteadyClock::now() + timeout;
  while (!done()) {
    if (SteadyClock::now() >= deadline) return false;
    auto messages = consumer.Poll(batch, 200ms);
    if (!messages.ok()) {
      ADD_FAILURE() << messages.status();
      return false;
    }
    for (const auto& m : *messages) {
      if (m.is_error()) {
        if (!m.error.IsRetryable()) ADD_FAILURE() << "consumer error event: " << m.error;
        continue;
      }
      take(m);
    }
  }
  return true;
}

// Polls until the consumer has `n` partitions assigned (joining a group takes a rebalance).
inline bool WaitForAssignment(Consumer& consumer, size_t n, Ms timeout = 60s) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    auto assignment = consumer.Assignment();
    if (assignment.ok() && assignment->size() == n) return true;
    if (SteadyClock::now() >= deadline) return false;
    auto messages = consumer.Poll(1, 100ms);
    if (messages.ok() && !messages->empty() && !(*messages)[0].is_error()) {
      ADD_FAILURE() << "WaitForAssignment consumed a record; use it on empty topics only";
    }
  }
}

// A loopback port with nothing listening on it (bound, then released).
inline int DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// Records rebalance callbacks, and optionally runs a hook in OnRevoked.
class RecordingListener : public RebalanceListener {
 public:
  struct Event {
    std::string kind;  // "assigned", "revoked", "lost"
    std::vector<TopicPartition> partitions;
  };

  void OnAssigned(Consumer&, const std::vector<TopicPartition>& partitions) override {
    std::lock_guard lock(mu_);
    events_.push_back({"assigned", partitions});
  }
  void OnRevoked(Consumer& consumer, const std::vector<TopicPartition>& partitions) override {
    {
      std::lock_guard lock(mu_);
      events_.push_back({"revoked", partitions});
    }
    if (on_revoked) on_revoked(consumer, partitions);
  }
  void OnLost(Consumer&, const std::vector<TopicPartition>& partitions) override {
    std::lock_guard lock(mu_);
    events_.push_back({"lost", partitions});
  }

  std::vector<Event> events() const {
    std::lock_guard lock(mu_);
    return events_;
  }

  std::function<void(Consumer&, const std::vector<TopicPartition>&)> on_revoked;

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace sluice::kafka

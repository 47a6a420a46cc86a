// Producing and consuming against the real broker: volume, exactly-once accounting, commits and
// resumption, pause/resume, hostile records, pattern subscriptions.
#include <algorithm>
#include <atomic>
#include <set>
#include <thread>

#include "kafka_test_util.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

std::string KeyOf(int i) { return "key-" + std::to_string(i % 997); }

TEST_F(KafkaTest, HundredThousandKeyedMessagesEachConsumedOnceInOrder) {
  constexpr int kCount = 100000;
  constexpr int kPartitions = 6;
  const std::string topic = NewTopic(kPartitions);
  auto producer = NewProducer({{"linger.ms", "5"}});
  ASSERT_NE(producer, nullptr);

  std::atomic<int> acked{0};
  std::mutex failures_mu;
  std::vector<Status> failures;
  for (int i = 0; i < kCount; ++i) {
    Status s = producer->Produce(topic, KeyOf(i), std::to_string(i), {{"seq", std::to_string(i)}},
                                 [&](const DeliveryReport& r) {
                                   if (r.status.ok()) {
                                     acked.fetch_add(1);
                                   } else {
                                     std::lock_guard lock(failures_mu);
                                     failures.push_back(r.status);
                                   }
                                 });
    ASSERT_TRUE(s.ok()) << "record " << i << ": " << s;
  }
  ASSERT_OK(producer->Flush(120s));
  ASSERT_TRUE(failures.empty()) << failures.front();
  ASSERT_EQ(acked.load(), kCount);
  EXPECT_EQ(producer->InFlight(), 0);

  const std::string group = testing::KafkaBroker::UniqueName("g");
  auto consumer = NewConsumer(group);
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({topic}));

  std::vector<int> seen(kCount, 0);
  std::map<int32_t, int64_t> last_offset;  // partition -> last offset seen
  std::map<std::string, int> last_seq;     // key -> last sequence number seen
  std::map<std::string, int32_t> key_partition;
  int received = 0;
  bool ok = PollUntil(
      *consumer,
      [&](const Message& m) {
        ++received;
        int seq = std::stoi(m.value);
        ASSERT_GE(seq, 0);
        ASSERT_LT(seq, kCount);
        ++seen[seq];
        EXPECT_EQ(m.key, KeyOf(seq));
        ASSERT_EQ(m.headers.size(), 1u);
        EXPECT_EQ(m.headers[0].second, m.value);
        // Offsets within a partition come in order with no gap (no transactions here).
        auto it = last_offset.find(m.partition);
        if (it != last_offset.end()) {
          EXPECT_EQ(m.offset, it->second + 1) << "p" << m.partition;
        }
        last_offset[m.partition] = m.offset;
        // One key, one partition, ascending sequence numbers.
        auto kp = key_partition.emplace(m.key, m.partition);
        EXPECT_EQ(kp.first->second, m.partition) << m.key;
        auto ls = last_seq.find(m.key);
        if (ls != last_seq.end()) {
          EXPECT_GT(seq, ls->second) << m.key;
        }
        last_seq[m.key] = seq;
        ASSERT_OK(consumer->StoreOffset(m.topic, m.partition, m.offset + 1));
      },
      [&] { return received >= kCount; }, 300s);
  ASSERT_TRUE(ok) << "received " << received << " of " << kCount;
  EXPECT_EQ(received, kCount);
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(seen[i], 1) << "sequence number " << i;
  EXPECT_EQ(last_offset.size(), static_cast<size_t>(kPartitions));  // the keys spread out

  ASSERT_OK(consumer->Commit(true));
  auto lag = admin_->Lag(group, topic, 30s);
  ASSERT_TRUE(lag.ok()) << lag.status();
  ASSERT_EQ(lag->size(), static_cast<size_t>(kPartitions));
  int64_t total = 0;
  for (const auto& p : *lag) {
    EXPECT_EQ(p.lag, 0) << "p" << p.partition;
    EXPECT_EQ(p.committed, p.high_watermark);
    total += p.high_watermark;
  }
  EXPECT_EQ(total, kCount);  // nothing was written twice
  ASSERT_OK(consumer->Close());
}

// A local queue far smaller than the burst: Produce waits for deliveries to make room instead of
// failing, and nothing is lost. With one cached topic handle, the second topic goes by name.
TEST_F(KafkaTest, AFullLocalQueueWaitsForRoomAndTopicsBeyondTheCacheGoByName) {
  constexpr int kCount = 20000;
  const std::string cached = NewTopic(2);
  const std::string by_name = NewTopic(2);
  ProducerOptions options;
  options.bootstrap = broker_->bootstrap();
  options.properties = {{"queue.buffering.max.messages", "100"}, {"linger.ms", "1"}};
  options.max_cached_topics = 1;
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  std::atomic<int> acked_cached{0};
  std::atomic<int> acked_by_name{0};
  for (int i = 0; i < kCount; ++i) {
    const bool first = i % 2 == 0;
    ASSERT_OK((*producer)->Produce(first ? cached : by_name, KeyOf(i), std::to_string(i), {},
                                   [&, first](const DeliveryReport& r) {
                                     if (r.status.ok()) ++(first ? acked_cached : acked_by_name);
                                   }));
    ASSERT_LE((*producer)->InFlight(), 100);
  }
  ASSERT_OK((*producer)->Flush(120s));
  EXPECT_EQ(acked_cached.load(), kCount / 2);
  EXPECT_EQ(acked_by_name.load(), kCount / 2);
  EXPECT_EQ((*producer)->InFlight(), 0);
  // An invalid name is still refused on the uncached path.
  EXPECT_EQ((*producer)->Produce("bad topic", "k", "v").code(), StatusCode::kInvalidArgument);

  for (const std::string& t : {cached, by_name}) {
    auto lag = admin_->Lag(testing::KafkaBroker::UniqueName("g"), t, 30s);
    ASSERT_TRUE(lag.ok()) << lag.status();
    int64_t end = 0;
    for (const auto& p : *lag) end += p.high_watermark;
    EXPECT_EQ(end, kCount / 2) << t;
  }
}

// deliver_on_caller_thread: no poll thread; Produce (on a full queue too) and Flush serve the
// reports on the calling thread, and every record is reported once.
TEST_F(KafkaTest, ReportsCanBeServedOnTheProducingThread) {
  constexpr int kCount = 5000;
  const std::string topic = NewTopic(3);
  ProducerOptions options;
  options.bootstrap = broker_->bootstrap();
  options.properties = {{"queue.buffering.max.messages", "100"}, {"linger.ms", "1"}};
  options.deliver_on_caller_thread = true;
  auto producer = Producer::Create(options);
  ASSERT_TRUE(producer.ok()) << producer.status();
  const std::thread::id me = std::this_thread::get_id();
  int acked = 0;  // touched only on this thread
  int elsewhere = 0;
  std::vector<int> seen(kCount, 0);
  for (int i = 0; i < kCount; ++i) {
    ASSERT_OK((*producer)->Produce(topic, KeyOf(i), std::to_string(i), {},
                                   [&, i](const DeliveryReport& r) {
                                     if (std::this_thread::get_id() != me) ++elsewhere;
                                     if (r.status.ok()) ++acked;
                                     ++seen[static_cast<size_t>(i)];
                                   }));
  }
  ASSERT_OK((*producer)->Flush(60s));
  EXPECT_EQ(elsewhere, 0);
  EXPECT_EQ(acked, kCount);
  EXPECT_EQ(std::count(seen.begin(), seen.end(), 1), kCount);
  EXPECT_EQ((*producer)->InFlight(), 0);
}

// ProduceTagged: every record's report reaches the producer-wide handler once, with its own tag
// (up to the largest), topic, partition and offset, next to records with callbacks of their own,
// on either reporting thread; a record refused at once is not reported.
TEST_F(KafkaTest, TaggedRecordsReportTheirTagOnceEach) {
  constexpr uint64_t kCount = 3000;
  const std::string topic = NewTopic(3);
  for (bool on_caller : {false, true}) {
    SCOPED_TRACE(on_caller ? "reports on the producing thread" : "reports on the poll thread");
    std::mutex mu;
    std::map<uint64_t, int> seen;  // tag -> reports
    std::set<std::pair<int32_t, int64_t>> offsets;
    std::vector<std::string> bad;  // reports that broke a rule
    ProducerOptions options;
    options.bootstrap = broker_->bootstrap();
    options.properties = {{"queue.buffering.max.messages", "200"}, {"linger.ms", "1"}};
    options.deliver_on_caller_thread = on_caller;
    options.on_tagged_delivery = [&](const TaggedReport& r) {
      std::lock_guard lock(mu);
      ++seen[r.tag];
      if (!r.status.ok()) bad.push_back(r.status.ToString());
      if (r.topic != topic) bad.push_back("topic " + std::string(r.topic));
      if (!offsets.emplace(r.partition, r.offset).second || r.offset < 0) {
        bad.push_back("offset " + std::to_string(r.offset) + " reported twice");
      }
    };
    auto producer = Producer::Create(options);
    ASSERT_TRUE(producer.ok()) << producer.status();
    int callbacks = 0;
    for (uint64_t i = 0; i < kCount; ++i) {
      const uint64_t tag = i == kCount - 1 ? Producer::kMaxTag : i;
      ASSERT_OK((*producer)->ProduceTagged(topic, KeyOf(static_cast<int>(i)), "v", {}, tag));
      if (i % 100 == 0) {  // a record with a callback of its own between the tagged ones
        ASSERT_OK((*producer)->Produce(topic, "k", "own", {}, [&](const DeliveryReport& r) {
          std::lock_guard lock(mu);
          if (r.status.ok()) ++callbacks;
        }));
      }
    }
    // Refused at once (the partition does not exist): no report for it.
    EXPECT_EQ((*producer)->ProduceTagged(topic, "k", "v", {}, 7, 99).code(), StatusCode::kNotFound);
    ASSERT_OK((*producer)->Flush(60s));
    std::lock_guard lock(mu);
    EXPECT_TRUE(bad.empty()) << bad.size() << " bad reports, first: " << bad.front();
    EXPECT_EQ(callbacks, static_cast<int>(kCount / 100));
    EXPECT_EQ(seen.size(), kCount);
    for (const auto& [tag, n] : seen) EXPECT_EQ(n, 1) << "tag " << tag;
    EXPECT_EQ(seen.count(Producer::kMaxTag), 1u);
    EXPECT_EQ((*producer)->InFlight(), 0);
  }
}

TEST_F(KafkaTest, ReopenedGroupResumesAtTheCommittedOffset) {
  constexpr int kCount = 3000;
  constexpr int kFirst = 1000;
  const std::string topic = NewTopic(3);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  for (int i = 0; i < kCount; ++i) {
    ASSERT_OK(producer->Produce(topic, KeyOf(i), std::to_string(i)));
  }
  ASSERT_OK(producer->Flush(60s));

  const std::string group = testing::KafkaBroker::UniqueName("g");
  std::vector<int> processed(kCount, 0);
  int first_run = 0;
  {
    auto consumer = NewConsumer(group);
    ASSERT_NE(consumer, nullptr);
    ASSERT_OK(consumer->Subscribe({topic}));
    // Process exactly kFirst records; the rest of the last batch is fetched but not processed,
    // so its offsets are not stored.
    ASSERT_TRUE(PollUntil(
        *consumer,
        [&](const Message& m) {
          if (first_run >= kFirst) return;
          ++processed[std::stoi(m.value)];
          ++first_run;
          ASSERT_OK(consumer->StoreOffset(m.topic, m.partition, m.offset + 1));
        },
        [&] { return first_run >= kFirst; }, 120s, 64));
    ASSERT_OK(consumer->Commit(true));
    ASSERT_OK(consumer->Close());
    // Closed: no more calls.
    EXPECT_EQ(consumer->Poll(10, 10ms).status().code(), StatusCode::kFailedPrecondition);
    ASSERT_OK(consumer->Close());  // idempotent
  }
  auto committed = admin_->CommittedOffsets(group, topic, 30s);
  ASSERT_TRUE(committed.ok()) << committed.status();
  int64_t committed_total = 0;
  for (const auto& c : *committed) committed_total += std::max<int64_t>(0, c.offset);
  EXPECT_EQ(committed_total, kFirst);

  int second_run = 0;
  auto consumer = NewConsumer(group);
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({topic}));
  ASSERT_TRUE(PollUntil(
      *consumer,
      [&](const Message& m) {
        ++processed[std::stoi(m.value)];
        ++second_run;
        ASSERT_OK(consumer->StoreOffset(m.topic, m.partition, m.offset + 1));
      },
      [&] { return first_run + second_run >= kCount; }, 120s));
  EXPECT_EQ(second_run, kCount - kFirst);
  for (int i = 0; i < kCount; ++i) ASSERT_EQ(processed[i], 1) << "record " << i;
  ASSERT_OK(consumer->Commit(true));
  auto lag = admin_->Lag(group, topic, 30s);
  ASSERT_TRUE(lag.ok()) << lag.status();
  for (const auto& p : *lag) EXPECT_EQ(p.lag, 0);
}

TEST_F(KafkaTest, PausedPartitionDeliversNothingUntilResumed) {
  const std::string topic = NewTopic(2);
  const std::string group = testing::KafkaBroker::UniqueName("g");
  auto consumer = NewConsumer(group);
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({topic}));
  ASSERT_TRUE(WaitForAssignment(*consumer, 2));
  ASSERT_OK(consumer->Pause({{topic, 0}}));

  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  // Partition 0 first, so its records are on the broker before partition 1's arrive.
  for (int i = 0; i < 50; ++i) ASSERT_OK(producer->Produce(topic, "k", "p0", {}, nullptr, 0));
  ASSERT_OK(producer->Flush(30s));
  for (int i = 0; i < 50; ++i) ASSERT_OK(producer->Produce(topic, "k", "p1", {}, nullptr, 1));
  ASSERT_OK(producer->Flush(30s));

  std::map<int32_t, int> got;
  ASSERT_TRUE(PollUntil(
      *consumer, [&](const Message& m) { ++got[m.partition]; }, [&] { return got[1] >= 50; }));
  EXPECT_EQ(got[0], 0) << "a paused partition delivered records";
  EXPECT_EQ(got[1], 50);

  ASSERT_OK(consumer->Resume({{topic, 0}}));
  ASSERT_TRUE(PollUntil(
      *consumer, [&](const Message& m) { ++got[m.partition]; }, [&] { return got[0] >= 50; }));
  EXPECT_EQ(got[0], 50);
  EXPECT_EQ(got[1], 50);
  // Pausing a partition that is not assigned is an error, not a silent no-op.
  EXPECT_FALSE(consumer->Pause({{topic, 7}}).ok());
}

TEST_F(KafkaTest, HostileRecordsRoundTripOrFailClearly) {
  const std::string topic = NewTopic(1);
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);

  std::string binary_key("\0\x01\xff\n\"{", 6);
  std::string big_value(900 * 1024, 'v');  // under librdkafka's 1 MB message.max.bytes
  Headers headers = {{"dup", "1"}, {"dup", "2"}, {"empty", ""}, {"bin", std::string("\0\xfe", 2)}};
  for (int i = 0; i < 100; ++i) headers.emplace_back("h" + std::to_string(i), "x");

  ProducerRecord keyed{topic, binary_key, big_value, headers};
  ProducerRecord null_key{topic, std::nullopt, std::string("no key"), {}};
  ProducerRecord tombstone{topic, std::string("gone"), std::nullopt, {}};
  ProducerRecord empty{topic, std::string(), std::string(), {}};
  ProducerRecord stamped{topic, std::string("ts"), std::string("v"),
                         {},    kAnyPartition,     1700000000123};
  for (const auto* r : {&keyed, &null_key, &tombstone, &empty, &stamped}) {
    auto report = producer->ProduceSync(*r, 30s);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->partition, 0);
    EXPECT_GE(report->offset, 0);
  }

  // Too large for the producer: refused at once, naming the problem.
  ProducerRecord huge{topic, std::string("k"), std::string(2 << 20, 'x'), {}};
  Status too_big = producer->Produce(huge);
  EXPECT_EQ(too_big.code(), StatusCode::kInvalidArgument) << too_big;
  // Hostile topic names and partitions never reach the broker.
  EXPECT_EQ(producer->Produce("bad topic!", "k", "v").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(producer->Produce(std::string(300, 't'), "k", "v").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(producer->Produce(topic, "k", "v", {}, nullptr, -7).code(),
            StatusCode::kInvalidArgument);
  // A partition the topic does not have: the delivery report says so.
  ProducerRecord no_partition{topic, std::string("k"), std::string("v"), {}, 5};
  auto missing = producer->ProduceSync(no_partition, 30s);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status();

  auto consumer = NewConsumer(testing::KafkaBroker::UniqueName("g"));
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({topic}));
  std::vector<Message> got;
  ASSERT_TRUE(PollUntil(
      *consumer, [&](const Message& m) { got.push_back(m); }, [&] { return got.size() >= 5; }));
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got[0].key, binary_key);
  EXPECT_FALSE(got[0].key_is_null);
  EXPECT_EQ(got[0].value, big_value);
  EXPECT_EQ(got[0].headers, headers);
  EXPECT_GT(got[0].timestamp_ms, 0);
  EXPECT_TRUE(got[1].key_is_null);
  EXPECT_EQ(got[1].value, "no key");
  EXPECT_TRUE(got[2].value_is_null);
  EXPECT_EQ(got[2].key, "gone");
  EXPECT_FALSE(got[3].key_is_null);
  EXPECT_FALSE(got[3].value_is_null);
  EXPECT_EQ(got[3].key, "");
  EXPECT_EQ(got[3].value, "");
  EXPECT_EQ(got[4].timestamp_ms, 1700000000123);
}

TEST_F(KafkaTest, PatternSubscriptionFindsMatchingTopics) {
  const std::string prefix = testing::KafkaBroker::UniqueName("pat");
  ASSERT_OK(
      admin_->CreateTopics({{prefix + "-a", 1}, {prefix + "-b", 2}, {prefix + "x-c", 1}}, 60s));
  auto producer = NewProducer();
  ASSERT_NE(producer, nullptr);
  for (const auto& t : {prefix + "-a", prefix + "-b", prefix + "x-c"}) {
    ASSERT_OK(producer->Produce(t, "k", t));
  }
  ASSERT_OK(producer->Flush(30s));

  auto consumer = NewConsumer(testing::KafkaBroker::UniqueName("g"));
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({"^" + prefix + "-.*"}));
  std::set<std::string> topics;
  ASSERT_TRUE(PollUntil(
      *consumer, [&](const Message& m) { topics.insert(m.topic); },
      [&] { return topics.size() >= 2; }));
  EXPECT_EQ(topics, (std::set<std::string>{prefix + "-a", prefix + "-b"}));
  auto assignment = consumer->Assignment();
  ASSERT_TRUE(assignment.ok());
  EXPECT_EQ(assignment->size(), 3u);  // -a has 1 partition, -b has 2; x-c does not match
}

TEST_F(KafkaTest, SubscribeRejectsHostileInput) {
  auto consumer = NewConsumer(testing::KafkaBroker::UniqueName("g"));
  ASSERT_NE(consumer, nullptr);
  EXPECT_EQ(consumer->Subscribe({}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(consumer->Subscribe({""}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(consumer->Subscribe({"no spaces"}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(consumer->Poll(0, 10ms).status().code(), StatusCode::kInvalidArgument);
  // Storing offsets for partitions this member does not own is refused.
  EXPECT_FALSE(consumer->StoreOffset("nobody", 0, 5).ok());
  EXPECT_EQ(consumer->StoreOffset("nobody", 0, -3).code(), StatusCode::kInvalidArgument);
}

TEST_F(KafkaTest, TransactionsCommitOrAbortRecordsAndConsumerOffsets) {
  const std::string input = NewTopic(1);
  const std::string output = NewTopic(1);
  auto plain = NewProducer();
  ASSERT_NE(plain, nullptr);
  for (int i = 0; i < 10; ++i) ASSERT_OK(plain->Produce(input, "k", std::to_string(i)));
  ASSERT_OK(plain->Flush(30s));

  ProducerOptions options;
  options.bootstrap = broker_->bootstrap();
  options.transactional_id = testing::KafkaBroker::UniqueName("txn");
  auto created = Producer::Create(options);
  ASSERT_TRUE(created.ok()) << created.status();
  auto& producer = *created;
  ASSERT_OK(producer->InitTransactions(60s));

  // Aborted: these never become visible to read_committed consumers.
  ASSERT_OK(producer->BeginTransaction());
  for (int i = 0; i < 5; ++i) ASSERT_OK(producer->Produce(output, "k", "aborted"));
  ASSERT_OK(producer->Flush(30s));
  ASSERT_OK(producer->AbortTransaction(60s));

  // Consume-transform-produce: the input offsets commit with the output records.
  const std::string group = testing::KafkaBroker::UniqueName("g");
  auto consumer = NewConsumer(group);
  ASSERT_NE(consumer, nullptr);
  ASSERT_OK(consumer->Subscribe({input}));
  std::vector<Message> in;
  ASSERT_TRUE(PollUntil(
      *consumer, [&](const Message& m) { in.push_back(m); }, [&] { return in.size() >= 10; }));
  ASSERT_OK(producer->BeginTransaction());
  for (const auto& m : in) ASSERT_OK(producer->Produce(output, m.key, "copy-" + m.value));
  auto metadata = consumer->CurrentGroupMetadata();
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  ASSERT_OK(producer->SendOffsetsToTransaction({{input, 0, in.back().offset + 1}}, *metadata, 30s));
  ASSERT_OK(producer->CommitTransaction(60s));

  auto committed = admin_->CommittedOffsets(group, input, 30s);
  ASSERT_TRUE(committed.ok()) << committed.status();
  ASSERT_EQ(committed->size(), 1u);
  EXPECT_EQ((*committed)[0].offset, 10);

  auto reader = NewConsumer(testing::KafkaBroker::UniqueName("g"), nullptr,
                            AssignmentStrategy::kEager, {{"isolation.level", "read_committed"}});
  ASSERT_NE(reader, nullptr);
  ASSERT_OK(reader->Subscribe({output}));
  std::vector<std::string> values;
  ASSERT_TRUE(PollUntil(
      *reader, [&](const Message& m) { values.push_back(m.value); },
      [&] { return values.size() >= 10; }));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(values[i], "copy-" + std::to_string(i));
  // Transactions need a transactional.id.
  EXPECT_FALSE(plain->BeginTransaction().ok());
}

}  // namespace
}  // namespace sluice::kafka

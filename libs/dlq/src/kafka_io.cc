#include "sluice/dlq/kafka_io.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/partition_reader.h"
#include "sluice/kafka/producer.h"

namespace sluice::dlq {
namespace {

using Ms = std::chrono::milliseconds;
using kafka::PartitionReader;

// The DLQ tool reads without joining or leaving a trace in any consumer group.
kafka::PartitionReaderOptions ReaderOptions(const KafkaOptions& o) {
  kafka::PartitionReaderOptions r;
  r.bootstrap = o.bootstrap;
  r.properties = o.properties;
  r.group_id = "sluice-dlq-reader";
  return r;
}

Result<std::unique_ptr<kafka::Admin>> MakeAdmin(const KafkaOptions& o) {
  kafka::AdminOptions ao;
  ao.bootstrap = o.bootstrap;
  ao.properties = o.properties;
  ao.clock = o.clock;
  return kafka::Admin::Create(ao);
}

std::string BrokerName(const KafkaOptions& o) {
  if (!o.bootstrap.empty()) return o.bootstrap;
  auto it = o.properties.find("bootstrap.servers");
  return it != o.properties.end() ? it->second : "?";
}

// Watermarks with errors worded for operators.
Result<std::vector<kafka::PartitionWatermarks>> Watermarks(kafka::Admin& admin,
                                                           const KafkaOptions& o,
                                                           std::string_view topic) {
  auto w = admin.Watermarks(topic, o.timeout);
  if (w.ok()) return w;
  const Status& s = w.status();
  if (s.code() == StatusCode::kNotFound) {
    return NotFoundError(fmt::format("topic {} does not exist on {}", topic, BrokerName(o)));
  }
  if (s.code() == StatusCode::kUnavailable || s.code() == StatusCode::kDeadlineExceeded) {
    return Status(s.code(), fmt::format("cannot reach Kafka at {} within {} ms: {}", BrokerName(o),
                                        o.timeout.count(), s.message()));
  }
  return s;
}

Clock& ClockOf(const KafkaOptions& o) { return o.clock != nullptr ? *o.clock : RealClock(); }

// The group's starting offsets: committed, or the low watermark when none (or older).
Result<std::vector<PartitionRange>> Ranges(kafka::Admin& admin, const KafkaOptions& o,
                                           const std::string& topic, const std::string& group,
                                           const std::vector<kafka::PartitionWatermarks>& marks) {
  std::map<int32_t, int64_t> committed;
  auto c = admin.CommittedOffsets(group, topic, o.timeout);
  if (c.ok()) {
    for (const auto& po : *c) committed[po.partition] = po.offset;
  } else if (c.status().code() != StatusCode::kNotFound) {
    return c.status().WithContext("committed offsets of group " + group);
  }
  std::vector<PartitionRange> ranges;
  for (const auto& w : marks) {
    PartitionRange r;
    r.partition = w.partition;
    r.end = w.high;
    auto it = committed.find(w.partition);
    r.start = it != committed.end() && it->second >= 0 ? std::max(it->second, w.low) : w.low;
    ranges.push_back(r);
  }
  return ranges;
}

class KafkaReplayIo : public ReplayIo {
 public:
  KafkaReplayIo(KafkaOptions options, std::string topic, std::string group)
      : o_(std::move(options)), topic_(std::move(topic)), group_(std::move(group)) {}

  Result<std::vector<PartitionRange>> Start() override {
    ASSIGN_OR_RETURN(admin_, MakeAdmin(o_));
    ASSIGN_OR_RETURN(auto marks, Watermarks(*admin_, o_, topic_));
    kafka::ProducerOptions po;
    po.bootstrap = o_.bootstrap;
    po.properties = o_.properties;
    po.transactional_id = "sluice-dlq." + group_;
    po.clock = o_.clock;
    ASSIGN_OR_RETURN(producer_, kafka::Producer::Create(po));
    // Fences an earlier run with the same group and aborts its open transaction, so the committed
    // offsets read next are final.
    Status init = producer_->InitTransactions(o_.timeout);
    if (!init.ok())
      return init.WithContext("initializing transactions (" + po.transactional_id + ")");
    ASSIGN_OR_RETURN(auto ranges, Ranges(*admin_, o_, topic_, group_, marks));
    RETURN_IF_ERROR(Subscribe());
    return ranges;
  }

  Result<std::vector<kafka::Message>> Poll(size_t max, Ms timeout) override {
    return consumer_->Poll(max, timeout);
  }

  void Pause(int32_t partition) override { (void)consumer_->Pause({{topic_, partition}}); }

  Result<int> PartitionCount(const std::string& topic) override {
    return admin_->PartitionCount(topic, o_.timeout);
  }

  Status Begin() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      delivery_error_ = Status::Ok();
    }
    return producer_->BeginTransaction();
  }

  Status Send(const kafka::ProducerRecord& record) override {
    return producer_->Produce(record, [this](const kafka::DeliveryReport& report) {
      if (report.status.ok()) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (delivery_error_.ok()) delivery_error_ = report.status;
    });
  }

  Status Commit(const std::vector<kafka::PartitionOffset>& offsets) override {
    ASSIGN_OR_RETURN(kafka::GroupMetadata group, consumer_->CurrentGroupMetadata());
    RETURN_IF_ERROR(producer_->SendOffsetsToTransaction(offsets, group, o_.timeout));
    Status s = producer_->CommitTransaction(o_.timeout);
    if (!s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (!delivery_error_.ok()) return s.WithContext(delivery_error_.ToString());
    }
    return s;
  }

  Status Abort() override { return producer_->AbortTransaction(o_.timeout); }

  Status Rewind() override {
    if (consumer_) (void)consumer_->Close();
    consumer_.reset();
    return Subscribe();
  }

 private:
  Status Subscribe() {
    kafka::ConsumerOptions co;
    co.bootstrap = o_.bootstrap;
    co.group_id = group_;
    co.properties = o_.properties;
    co.properties.emplace("isolation.level", "read_committed");
    // Static membership: a rerun after a crash (or a Rewind) takes the dead member's place at
    // once instead of waiting out its session timeout; a second concurrent replay of the same
    // group fences the first, as its transactional.id does.
    co.properties.emplace("group.instance.id", "sluice-dlq-replay");
    co.auto_offset_reset = "earliest";
    co.clock = o_.clock;
    ASSIGN_OR_RETURN(consumer_, kafka::Consumer::Create(co));
    return consumer_->Subscribe({topic_});
  }

  KafkaOptions o_;
  std::string topic_;
  std::string group_;
  std::unique_ptr<kafka::Admin> admin_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::mutex mu_;
  Status delivery_error_;  // guarded by mu_: the first failed delivery of the open transaction
};

class DryRunReplayIo : public ReplayIo {
 public:
  DryRunReplayIo(KafkaOptions options, std::string topic, std::string group)
      : o_(std::move(options)), topic_(std::move(topic)), group_(std::move(group)) {}

  Result<std::vector<PartitionRange>> Start() override {
    ASSIGN_OR_RETURN(admin_, MakeAdmin(o_));
    ASSIGN_OR_RETURN(auto marks, Watermarks(*admin_, o_, topic_));
    ASSIGN_OR_RETURN(auto ranges, Ranges(*admin_, o_, topic_, group_, marks));
    std::map<int32_t, int64_t> starts;
    for (const auto& r : ranges) {
      if (r.start < r.end) starts[r.partition] = r.start;
    }
    if (!starts.empty()) {
      ASSIGN_OR_RETURN(reader_, PartitionReader::Open(ReaderOptions(o_), topic_, starts));
    }
    return ranges;
  }

  Result<std::vector<kafka::Message>> Poll(size_t max, Ms timeout) override {
    if (!reader_) return std::vector<kafka::Message>{};
    return reader_->Poll(max, timeout, nullptr);
  }

  void Pause(int32_t) override {}

  Result<int> PartitionCount(const std::string& topic) override {
    return admin_->PartitionCount(topic, o_.timeout);
  }

  Status Begin() override { return Refused(); }
  Status Send(const kafka::ProducerRecord&) override { return Refused(); }
  Status Commit(const std::vector<kafka::PartitionOffset>&) override { return Refused(); }
  Status Abort() override { return Refused(); }
  Status Rewind() override { return Refused(); }

 private:
  static Status Refused() { return FailedPreconditionError("a dry run writes nothing"); }

  KafkaOptions o_;
  std::string topic_;
  std::string group_;
  std::unique_ptr<kafka::Admin> admin_;
  std::unique_ptr<PartitionReader> reader_;
};

}  // namespace

Status ScanTopic(const KafkaOptions& options, std::string_view topic,
                 const std::function<bool(const kafka::Message&)>& visit, ScanSummary* summary) {
  ScanSummary local;
  ScanSummary& s = summary != nullptr ? *summary : local;
  ASSIGN_OR_RETURN(auto admin, MakeAdmin(options));
  ASSIGN_OR_RETURN(auto marks, Watermarks(*admin, options, topic));
  std::map<int32_t, int64_t> starts, ends, next;
  for (const auto& w : marks) {
    if (w.low >= w.high) continue;
    starts[w.partition] = w.low;
    ends[w.partition] = w.high;
    next[w.partition] = w.low;
    s.end_records += w.high - w.low;
  }
  if (starts.empty()) return Status::Ok();
  ASSIGN_OR_RETURN(auto reader,
                   PartitionReader::Open(ReaderOptions(options), std::string(topic), starts));
  std::set<int32_t> pending;
  for (const auto& [p, _] : starts) pending.insert(p);
  Clock& clock = ClockOf(options);
  auto last = clock.Now();
  while (!pending.empty()) {
    std::set<int32_t> at_end;
    ASSIGN_OR_RETURN(auto messages, reader->Poll(1000, Ms(200), &at_end));
    if (!messages.empty()) last = clock.Now();
    for (const auto& m : messages) {
      if (m.is_error()) {
        if (m.error.code() == StatusCode::kFailedPrecondition) return m.error;
        continue;
      }
      if (pending.count(m.partition) == 0 || m.offset >= ends[m.partition]) continue;
      ++s.records;
      next[m.partition] = m.offset + 1;
      if (!visit(m)) {
        s.stopped_early = true;
        return Status::Ok();
      }
      if (next[m.partition] >= ends[m.partition]) pending.erase(m.partition);
    }
    for (int32_t p : at_end) pending.erase(p);
    if (!pending.empty() && clock.Now() - last > options.timeout) {
      for (int32_t p : pending) {
        s.incomplete.push_back(fmt::format("partition {} at offset {} of {}", p, next[p], ends[p]));
      }
      break;
    }
  }
  return Status::Ok();
}

Result<kafka::Message> ReadRecord(const KafkaOptions& options, std::string_view topic,
                                  int32_t partition, int64_t offset) {
  ASSIGN_OR_RETURN(auto admin, MakeAdmin(options));
  ASSIGN_OR_RETURN(auto marks, Watermarks(*admin, options, topic));
  auto w = std::find_if(marks.begin(), marks.end(),
                        [&](const auto& m) { return m.partition == partition; });
  if (w == marks.end()) {
    return NotFoundError(fmt::format("topic {} has no partition {} ({} partitions)", topic,
                                     partition, marks.size()));
  }
  if (offset < w->low || offset >= w->high) {
    return NotFoundError(fmt::format("{}/{} has no offset {} (records are at {}..{})", topic,
                                     partition, offset, w->low, w->high - 1));
  }
  ASSIGN_OR_RETURN(auto reader, PartitionReader::Open(ReaderOptions(options), std::string(topic),
                                                      {{partition, offset}}));
  Clock& clock = ClockOf(options);
  const auto deadline = clock.Now() + options.timeout;
  while (clock.Now() < deadline) {
    std::set<int32_t> at_end;
    ASSIGN_OR_RETURN(auto messages, reader->Poll(1, Ms(200), &at_end));
    for (auto& m : messages) {
      if (m.is_error()) {
        if (m.error.code() == StatusCode::kFailedPrecondition) return m.error;
        continue;
      }
      if (m.partition != partition) continue;
      if (m.offset == offset) return std::move(m);
      return NotFoundError(fmt::format("{}/{}/{} is not a record (the next one is at {})", topic,
                                       partition, offset, m.offset));
    }
    if (at_end.count(partition) > 0) {
      return NotFoundError(
          fmt::format("{}/{}/{} is not a readable committed record", topic, partition, offset));
    }
  }
  return DeadlineExceededError(fmt::format("reading {}/{}/{}: nothing arrived within {} ms", topic,
                                           partition, offset, options.timeout.count()));
}

Result<std::unique_ptr<ReplayIo>> MakeKafkaReplayIo(const KafkaOptions& options,
                                                    const std::string& dlq_topic,
                                                    const std::string& group_id) {
  return std::unique_ptr<ReplayIo>(new KafkaReplayIo(options, dlq_topic, group_id));
}

Result<std::unique_ptr<ReplayIo>> MakeDryRunReplayIo(const KafkaOptions& options,
                                                     const std::string& dlq_topic,
                                                     const std::string& group_id) {
  return std::unique_ptr<ReplayIo>(new DryRunReplayIo(options, dlq_topic, group_id));
}

}  // namespace sluice::dlq

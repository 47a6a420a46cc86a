// A Producer that records ProduceTagged calls; the test answers them through OnTaggedDelivery.
#pragma once

#include <string>
#include <vector>

#include "sluice/gateway/gateway.h"
#include "sluice/kafka/producer.h"

namespace sluice::gateway::testing {

// Thread-safety: not thread-safe; one test thread.
class FakeProducer : public kafka::Producer {
 public:
  struct Record {
    std::string topic, key, value;
    uint64_t tag;
  };

  Status Produce(const kafka::ProducerRecord&, kafka::DeliveryCallback) override {
    return FailedPreconditionError("fake");
  }
  Status Produce(std::string_view, std::string_view, std::string_view, const kafka::Headers&,
                 kafka::DeliveryCallback, int32_t) override {
    return FailedPreconditionError("fake");
  }
  Status ProduceTagged(std::string_view topic, std::string_view key, std::string_view value,
                       const kafka::Headers&, uint64_t tag, int32_t) override {
    if (fail_after >= 0 && static_cast<int>(records.size()) >= fail_after) return fail_with;
    records.push_back({std::string(topic), std::string(key), std::string(value), tag});
    return Status::Ok();
  }
  Status Flush(std::chrono::milliseconds) override { return Status::Ok(); }
  int64_t InFlight() const override { return static_cast<int64_t>(records.size() - answered); }
  Status InitTransactions(std::chrono::milliseconds) override {
    return FailedPreconditionError("fake");
  }
  Status BeginTransaction() override { return FailedPreconditionError("fake"); }
  Status SendOffsetsToTransaction(const std::vector<kafka::PartitionOffset>&,
                                  const kafka::GroupMetadata&, std::chrono::milliseconds) override {
    return FailedPreconditionError("fake");
  }
  Status CommitTransaction(std::chrono::milliseconds) override {
    return FailedPreconditionError("fake");
  }
  Status AbortTransaction(std::chrono::milliseconds) override {
    return FailedPreconditionError("fake");
  }

  // Answers record `i`: acked at `offset`, or failed with `status`.
  void Ack(size_t i, int64_t offset, int32_t partition = 0) {
    done.resize(records.size());
    done[i] = true;
    kafka::TaggedReport r;
    r.tag = records[i].tag;
    r.topic = records[i].topic;
    r.partition = partition;
    r.offset = offset;
    ++answered;
    OnTaggedDelivery(r);
  }
  void Fail(size_t i, Status status) {
    done.resize(records.size());
    done[i] = true;
    kafka::TaggedReport r;
    r.tag = records[i].tag;
    r.topic = records[i].topic;
    r.status = std::move(status);
    ++answered;
    OnTaggedDelivery(r);
  }

  // Acks every record not answered yet (so no request stays pending past a test).
  void AckRest() {
    done.resize(records.size());
    for (size_t i = 0; i < records.size(); ++i) {
      if (!done[i]) Ack(i, 1000 + static_cast<int64_t>(i));
    }
  }

  std::vector<Record> records;
  std::vector<bool> done;
  size_t answered = 0;
  int fail_after = -1;  // >= 0: ProduceTagged fails once this many records were taken
  Status fail_with = ResourceExhaustedError("queue full");
};

}  // namespace sluice::gateway::testing

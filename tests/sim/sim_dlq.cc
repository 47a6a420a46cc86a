#include "sim_dlq.h"

#include <fmt/format.h>

#include <utility>

namespace sluice::sim {

SimDlqSink::SimDlqSink(World& world, SimKafka& kafka, Facts& facts, Owner incarnation,
                       const SimDlqOptions& options)
    : world_(world), kafka_(kafka), facts_(facts), incarnation_(incarnation), options_(options) {}

Status SimDlqSink::Produce(const kafka::ProducerRecord& record, kafka::DeliveryCallback done) {
  if (record.topic.empty()) return InvalidArgumentError("no topic");
  const size_t index = facts_.dlq.size();
  DlqFact fact;
  fact.produced_at = world_.Now();
  fact.incarnation = incarnation_;
  fact.slot = facts_.slots.count(incarnation_) ? facts_.slots.at(incarnation_) : -1;
  fact.instance_id =
      facts_.instance_ids.count(incarnation_) ? facts_.instance_ids.at(incarnation_) : "";
  fact.record = record;
  facts_.dlq.push_back(std::move(fact));
  ++*outstanding_;
  const TimePoint at = world_.Now() + world_.UniformDuration(options_.ack_min, options_.ack_max);
  auto report = std::make_shared<kafka::DeliveryReport>();
  report->topic = record.topic;
  // The broker's side: the record lands or not, whoever is alive to hear about it.
  world_.Schedule(at, kWorld, [&world = world_, &kafka = kafka_, &facts = facts_, index, report] {
    DlqFact& f = facts.dlq[index];
    if (!kafka.Available()) {
      report->status = UnavailableError("broker unavailable: DLQ record not acknowledged");
    } else if (!kafka.PartitionCount(f.record.topic).ok()) {
      report->status = NotFoundError("unknown topic " + f.record.topic);
    } else {
      f.landed = true;
      f.acked_at = world.Now();
      kafka.AppendDlq(f.record);
      report->status = Status::Ok();
      report->partition = 0;
      report->possibly_persisted = true;
    }
    world.Trace(fmt::format("dlq {} {} -> {}", f.instance_id, f.record.topic,
                            report->status.ok() ? "acked" : report->status.message()));
  });
  // The producer's side: the ack reaches the engine if it is still alive.
  world_.Schedule(at, incarnation_, [report, outstanding = outstanding_, done = std::move(done)] {
    --*outstanding;
    if (done) done(*report);
  });
  return Status::Ok();
}

void SimDlqSink::Flush(std::chrono::milliseconds timeout) {
  auto outstanding = outstanding_;
  world_.RunUntil(world_.Now() + timeout, [outstanding] { return *outstanding <= 0; });
}

Result<int> SimTopicAdmin::PartitionCount(std::string_view topic) {
  return kafka_.PartitionCount(topic);
}

Status SimTopicAdmin::CreateTopic(const std::string& topic, int partitions) {
  return kafka_.CreateTopic(topic, partitions);
}

Result<std::vector<kafka::TopicInfo>> SimTopicAdmin::ListTopics() { return kafka_.ListTopics(); }

}  // namespace sluice::sim

#include "dlq_writer.h"

#include <spdlog/spdlog.h>

#include "sluice/core/logging.h"

namespace sluice::relay {

using Ms = std::chrono::milliseconds;
constexpr Ms kDlqRetryDelay{1'000};

DlqWriter::DlqWriter(const RelayOptions& options, DlqSink& sink, TopicAdmin& admin,
                     PartitionBook& book, EventLoop& loop, std::shared_ptr<spdlog::logger> log,
                     Acked acked)
    : options_(options),
      sink_(sink),
      admin_(admin),
      book_(book),
      loop_(loop),
      log_(std::move(log)),
      acked_(std::move(acked)) {}

std::string DlqWriter::TopicFor(const std::string& topic) const {
  auto it = options_.dlq_topics.find(topic);
  return it != options_.dlq_topics.end() ? it->second : topic + options_.dlq_suffix;
}

void DlqWriter::EnsureTopic(const std::string& source_topic) {
  const std::string dlq = TopicFor(source_topic);
  if (ready_.count(dlq) > 0) return;
  if (admin_.PartitionCount(dlq).ok()) {
    ready_.insert(dlq);
    return;
  }
  if (!options_.dlq_create_missing) {
    LogWith(*log_, spdlog::level::err,
            {{"event", "dlq_topic_missing"}, {"dlq_topic", dlq}, {"topic", source_topic}},
            "DLQ topic {} does not exist and dlq.create_missing is false: dead letters for {} "
            "will wait until it exists",
            dlq, source_topic);
    return;
  }
  int partitions = 1;
  if (auto n = admin_.PartitionCount(source_topic); n.ok()) partitions = *n;
  Status s = admin_.CreateTopic(dlq, partitions);
  if (s.ok() || s.code() == StatusCode::kAlreadyExists) {
    LogWith(*log_, spdlog::level::info,
            {{"event", "dlq_topic_ready"},
             {"dlq_topic", dlq},
             {"topic", source_topic},
             {"partitions", partitions}},
            "DLQ topic {} ready ({} partitions)", dlq, partitions);
    ready_.insert(dlq);
  } else {
    LogWith(*log_, spdlog::level::err,
            {{"event", "dlq_topic_create_failed"},
             {"dlq_topic", dlq},
             {"topic", source_topic},
             {"error_code", StatusCodeName(s.code())},
             {"error", s.message()}},
            "could not create DLQ topic {}: {}", dlq, s.ToString());
  }
}

void DlqWriter::Write(EventRecord& e, envelope::DlqInfo info, bool omit_value) {
  if (e.abandoned) return;
  book_.SetStage(e, Stage::kDeadLettering);
  const std::string topic = TopicFor(e.msg.topic);
  if (ready_.count(topic) == 0) EnsureTopic(e.msg.topic);
  kafka::Headers headers = envelope::MakeDlqHeaders(e.msg.headers, info);
  if (omit_value) {
    headers.emplace_back(
        envelope::kHeaderValueOmitted,
        fmt::format("the original value ({} bytes) is too large for the DLQ "
                    "topic; it is still at {}[{}]@{}",
                    e.msg.value.size(), e.msg.topic, e.msg.partition, e.msg.offset));
  }
  kafka::ProducerRecord record(
      topic, e.msg.key_is_null ? std::nullopt : std::optional(e.msg.key),
      e.msg.value_is_null || omit_value ? std::nullopt : std::optional(e.msg.value),
      std::move(headers));
  const uint64_t seq = e.seq;
  auto shared_info = std::make_shared<envelope::DlqInfo>(std::move(info));
  Status s = sink_.Produce(
      record, [this, seq, shared_info, omit_value](const kafka::DeliveryReport& report) {
        loop_.Post([this, seq, shared_info, omit_value, status = report.status] {
          if (!status.ok()) {
            RetryLater(seq, shared_info, omit_value, status);
            return;
          }
          if (EventRecord* e = book_.Get(seq)) acked_(*e, *shared_info);
        });
      });
  if (!s.ok()) RetryLater(seq, shared_info, omit_value, s);
}

void DlqWriter::RetryLater(uint64_t seq, std::shared_ptr<envelope::DlqInfo> info, bool omit_value,
                           const Status& why) {
  // A record the DLQ can never take as it is (too large) would block its partition forever:
  // send it again without its value. Anything else (broker down) is retried as it is.
  const bool too_large = why.code() == StatusCode::kInvalidArgument && !omit_value;
  LogWith(*log_, spdlog::level::warn,
          {{"event", "dlq_produce_failed"},
           {"topic", info->source_topic},
           {"partition", info->source_partition},
           {"offset", info->source_offset},
           {"error_class", info->error_class},
           {"error_code", StatusCodeName(why.code())},
           {"error", why.message()},
           {"omit_value", too_large}},
          "DLQ produce failed ({}); {}", why.ToString(),
          too_large ? "sending it again without its value" : "retrying in a second");
  loop_.PostAfter(too_large ? Ms(0) : kDlqRetryDelay, [this, seq, info, omit_value, too_large] {
    EventRecord* e = book_.Get(seq);
    if (e == nullptr) return;
    if (e->abandoned) {
      acked_(*e, *info);  // lets the engine drop it; an abandoned event is never resolved
      return;
    }
    Write(*e, *info, omit_value || too_large);
  });
}

}  // namespace sluice::relay

// Private helpers shared by the producer, consumer and admin client: owning handles for
// librdkafka's C objects, configuration, logging, and conversions to sluice value types.
#pragma once

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/kafka/message.h"

namespace sluice::kafka::internal {

// Deleters for librdkafka's C objects. Thread-safety: stateless.
struct KafkaDeleter {
  void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_topic_partition_list_t* p) const {
    rd_kafka_topic_partition_list_destroy(p);
  }
  void operator()(rd_kafka_headers_t* p) const { rd_kafka_headers_destroy(p); }
  void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
  void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
  void operator()(rd_kafka_error_t* p) const { rd_kafka_error_destroy(p); }
  void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
  void operator()(rd_kafka_AdminOptions_t* p) const { rd_kafka_AdminOptions_destroy(p); }
  void operator()(rd_kafka_NewTopic_t* p) const { rd_kafka_NewTopic_destroy(p); }
  void operator()(rd_kafka_DeleteTopic_t* p) const { rd_kafka_DeleteTopic_destroy(p); }
  void operator()(rd_kafka_ListConsumerGroupOffsets_t* p) const {
    rd_kafka_ListConsumerGroupOffsets_destroy(p);
  }
  void operator()(const rd_kafka_metadata_t* p) const { rd_kafka_metadata_destroy(p); }
  void operator()(rd_kafka_consumer_group_metadata_t* p) const {
    rd_kafka_consumer_group_metadata_destroy(p);
  }
};

template <typename T>
using Owned = std::unique_ptr<T, KafkaDeleter>;

using KafkaHandle = Owned<rd_kafka_t>;
using ConfHandle = Owned<rd_kafka_conf_t>;
using PartitionList = Owned<rd_kafka_topic_partition_list_t>;
using HeadersHandle = Owned<rd_kafka_headers_t>;

// Builds a configuration: bootstrap.servers, then `defaults` in order, then `properties` (which
// win). Rejects an empty or conflicting bootstrap, property names that are empty or hold control
// characters, and any property in `forbidden` (with the reason given there). rd_kafka_conf_set's
// own errors (unknown property, bad value) come back as InvalidArgument naming the property.
// Also routes librdkafka's log lines to GetLogger("kafka").
Result<ConfHandle> BuildConf(std::string_view bootstrap,
                             const std::vector<std::pair<std::string, std::string>>& defaults,
                             const std::map<std::string, std::string>& properties,
                             const std::map<std::string, std::string>& forbidden = {});

// Which kind of client a librdkafka property applies to, as librdkafka's own property table
// (rd_kafka_conf_properties_show, read once per process) says: "C", "P" or "*" there.
enum class PropertyScope { kAny, kConsumer, kProducer, kUnknown };
PropertyScope ScopeOf(const std::string& name);

// `properties` less those librdkafka applies only to the other kind of client, which it would
// accept and then warn about once per client (CONFWARN, e.g. session.timeout.ms on the DLQ
// producer when one kafka.properties map configures every client). Unknown names are kept, so
// rd_kafka_conf_set still reports a misspelling.
std::map<std::string, std::string> OnlyFor(rd_kafka_type_t type,
                                           const std::map<std::string, std::string>& properties);

// Sets one property; InvalidArgument "kafka property 'name': <librdkafka's text>" on error.
Status SetConf(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

// Creates a client from `conf` (taking ownership of it in every case).
Result<KafkaHandle> NewClient(rd_kafka_type_t type, ConfHandle conf);

// Header conversions. A null header value becomes "".
HeadersHandle ToRdHeaders(const Headers& headers);
Headers FromRdHeaders(const rd_kafka_headers_t* headers);

// A consumed rd_kafka_message_t (record or error event) as a Message.
Message ToMessage(const rd_kafka_message_t* m);

PartitionList ToPartitionList(const std::vector<TopicPartition>& partitions);
PartitionList ToPartitionList(const std::vector<PartitionOffset>& offsets);
std::vector<TopicPartition> ToTopicPartitions(const rd_kafka_topic_partition_list_t* list);
std::vector<PartitionOffset> ToPartitionOffsets(const rd_kafka_topic_partition_list_t* list);
// The first per-partition error in `list`, as a Status with `context`; Ok when none.
Status FirstPartitionError(const rd_kafka_topic_partition_list_t* list, std::string_view context);

// librdkafka error objects (consumed: the error is destroyed). nullptr gives Ok.
Status StatusFromError(rd_kafka_error_t* error, std::string_view context);
Status StatusFromResp(rd_kafka_resp_err_t err, std::string_view context,
                      std::string_view detail = {});

// Kafka's topic name rule (1-249 of [a-zA-Z0-9._-], not "." or ".."), checked locally so a hostile
// name fails at once instead of in a delivery report or a broker error.
Status ValidateTopicName(std::string_view topic);

// Milliseconds from now to `deadline` on `clock`, clamped to [0, INT32_MAX].
int RemainingMs(const Clock& clock, Clock::TimePoint deadline);

}  // namespace sluice::kafka::internal

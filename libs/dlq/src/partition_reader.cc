#include "partition_reader.h"

#include <fmt/format.h>
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "sluice/core/logging.h"
#include "sluice/kafka/errors.h"

namespace sluice::dlq::internal {
namespace {

struct Deleter {
  void operator()(rd_kafka_t* p) const {
    rd_kafka_consumer_close(p);
    rd_kafka_destroy(p);
  }
  void operator()(rd_kafka_conf_t* p) const { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_topic_partition_list_t* p) const {
    rd_kafka_topic_partition_list_destroy(p);
  }
  void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
};

// librdkafka's log lines go to the "kafka" logger (at debug: the tool reports errors itself).
void LogCallback(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  static const auto logger = GetLogger("kafka");
  LogWith(*logger, level <= 3 ? spdlog::level::warn : spdlog::level::debug,
          {{"facility", fac != nullptr ? fac : ""}, {"syslog_level", level}}, "{}: {}",
          fac != nullptr ? fac : "", buf != nullptr ? buf : "");
}

Status Set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
    return InvalidArgumentError(fmt::format("kafka property '{}': {}", name, err));
  }
  return Status::Ok();
}

kafka::Message ToMessage(const rd_kafka_message_t* m) {
  kafka::Message out;
  if (m->rkt != nullptr) out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.error =
        kafka::StatusFromKafkaError(m->err, "consume " + out.topic, rd_kafka_message_errstr(m));
    return out;
  }
  out.offset = m->offset;
  out.key_is_null = m->key == nullptr;
  if (m->key != nullptr) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  out.value_is_null = m->payload == nullptr;
  if (m->payload != nullptr) out.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_timestamp_type_t type;
  const int64_t ts = rd_kafka_message_timestamp(m, &type);
  out.timestamp_ms = type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR && headers != nullptr) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      out.headers.emplace_back(name, value == nullptr
                                         ? std::string()
                                         : std::string(static_cast<const char*>(value), size));
    }
  }
  return out;
}

class PartitionReaderImpl : public PartitionReader {
 public:
  explicit PartitionReaderImpl(std::unique_ptr<rd_kafka_t, Deleter> rk) : rk_(std::move(rk)) {}

  Result<std::vector<kafka::Message>> Poll(size_t max, std::chrono::milliseconds timeout,
                                           std::set<int32_t>* at_end) override {
    std::vector<kafka::Message> out;
    int wait_ms = static_cast<int>(timeout.count());
    while (out.size() < max) {
      std::unique_ptr<rd_kafka_message_t, Deleter> m(rd_kafka_consumer_poll(rk_.get(), wait_ms));
      if (!m) break;
      wait_ms = 0;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (at_end != nullptr) at_end->insert(m->partition);
        continue;
      }
      out.push_back(ToMessage(m.get()));
    }
    return out;
  }

 private:
  std::unique_ptr<rd_kafka_t, Deleter> rk_;
};

}  // namespace

Result<std::unique_ptr<PartitionReader>> PartitionReader::Open(
    const KafkaOptions& options, const std::string& topic,
    const std::map<int32_t, int64_t>& starts) {
  std::unique_ptr<rd_kafka_conf_t, Deleter> conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> settings;
  if (!options.bootstrap.empty()) settings.emplace_back("bootstrap.servers", options.bootstrap);
  // A group id is needed by librdkafka's consumer API; assign() never joins it and nothing is
  // committed to it.
  settings.emplace_back("group.id", "sluice-dlq-reader");
  settings.emplace_back("enable.auto.commit", "false");
  settings.emplace_back("enable.auto.offset.store", "false");
  settings.emplace_back("enable.partition.eof", "true");
  settings.emplace_back("isolation.level", "read_committed");
  for (const auto& [k, v] : options.properties) settings.emplace_back(k, v);
  for (const auto& [k, v] : settings) RETURN_IF_ERROR(Set(conf.get(), k, v));
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  char err[512];
  rd_kafka_t* raw = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof(err));
  if (raw == nullptr) return InvalidArgumentError(std::string("kafka consumer: ") + err);
  conf.release();  // owned by the client now
  std::unique_ptr<rd_kafka_t, Deleter> rk(raw);
  rd_kafka_poll_set_consumer(rk.get());
  std::unique_ptr<rd_kafka_topic_partition_list_t, Deleter> list(
      rd_kafka_topic_partition_list_new(static_cast<int>(starts.size())));
  for (const auto& [p, offset] : starts) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  }
  const rd_kafka_resp_err_t e = rd_kafka_assign(rk.get(), list.get());
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka::StatusFromKafkaError(e, "assign " + topic);
  return std::unique_ptr<PartitionReader>(new PartitionReaderImpl(std::move(rk)));
}

}  // namespace sluice::dlq::internal

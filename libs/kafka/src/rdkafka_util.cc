#include "rdkafka_util.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "sluice/core/logging.h"
#include "sluice/kafka/errors.h"

namespace sluice::kafka::internal {
namespace {

// librdkafka logs with syslog levels (0 emerg .. 7 debug); its level 6 (info) lines are routine
// connection chatter, so they go to debug.
void LogCallback(const rd_kafka_t* rk, int level, const char* facility, const char* text) {
  auto logger = GetLogger("kafka");
  spdlog::level::level_enum spd_level;
  if (level <= 2) {
    spd_level = spdlog::level::critical;
  } else if (level == 3) {
    spd_level = spdlog::level::err;
  } else if (level == 4) {
    spd_level = spdlog::level::warn;
  } else if (level == 5) {
    spd_level = spdlog::level::info;
  } else {
    spd_level = spdlog::level::debug;
  }
  if (!logger->should_log(spd_level)) return;
  const char* client = rk != nullptr ? rd_kafka_name(rk) : "rdkafka";
  const char* fac = facility != nullptr ? facility : "";
  LogWith(*logger, spd_level, {{"client", client}, {"facility", fac}, {"syslog_level", level}},
          "{} {}: {}", client, fac, text != nullptr ? text : "");
}

}  // namespace

PropertyScope ScopeOf(const std::string& name) {
  // librdkafka has no per-property query for this; its table (a Markdown-like text with one row
  // per property, "name | C/P | range | default | importance | description") is the one source.
  static const auto* scopes = [] {
    auto* out = new std::map<std::string, PropertyScope>();
    char* text = nullptr;
    size_t size = 0;
    if (FILE* f = open_memstream(&text, &size)) {
      rd_kafka_conf_properties_show(f);
      std::fclose(f);
    }
    const std::string table(text != nullptr ? text : "", size);
    std::free(text);
    size_t at = 0;
    while (at < table.size()) {
      size_t end = table.find('\n', at);
      if (end == std::string::npos) end = table.size();
      const std::string_view line(table.data() + at, end - at);
      at = end + 1;
      const size_t bar1 = line.find('|');
      if (bar1 == std::string_view::npos) continue;
      const size_t bar2 = line.find('|', bar1 + 1);
      if (bar2 == std::string_view::npos) continue;
      auto trim = [](std::string_view v) {
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
        return v;
      };
      const std::string_view prop = trim(line.substr(0, bar1));
      const std::string_view scope = trim(line.substr(bar1 + 1, bar2 - bar1 - 1));
      if (scope == "C") {
        out->emplace(prop, PropertyScope::kConsumer);
      } else if (scope == "P") {
        out->emplace(prop, PropertyScope::kProducer);
      } else if (scope == "*") {
        out->emplace(prop, PropertyScope::kAny);
      }
    }
    return out;
  }();
  auto it = scopes->find(name);
  return it == scopes->end() ? PropertyScope::kUnknown : it->second;
}

std::map<std::string, std::string> OnlyFor(rd_kafka_type_t type,
                                           const std::map<std::string, std::string>& properties) {
  const PropertyScope other =
      type == RD_KAFKA_PRODUCER ? PropertyScope::kConsumer : PropertyScope::kProducer;
  std::map<std::string, std::string> out;
  for (const auto& [name, value] : properties) {
    if (ScopeOf(name) != other) out.emplace(name, value);
  }
  return out;
}

Status SetConf(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char errstr[512] = {0};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
      RD_KAFKA_CONF_OK) {
    return InvalidArgumentError("kafka property '" + name + "': " + errstr);
  }
  return Status::Ok();
}

Result<ConfHandle> BuildConf(std::string_view bootstrap,
                             const std::vector<std::pair<std::string, std::string>>& defaults,
                             const std::map<std::string, std::string>& properties,
                             const std::map<std::string, std::string>& forbidden) {
  const bool bootstrap_in_properties =
      properties.count("bootstrap.servers") > 0 || properties.count("metadata.broker.list") > 0;
  if (bootstrap.empty() && !bootstrap_in_properties) {
    return InvalidArgumentError("no Kafka bootstrap servers given (bootstrap is empty)");
  }
  if (!bootstrap.empty() && bootstrap_in_properties) {
    return InvalidArgumentError(
        "Kafka bootstrap servers given twice: set bootstrap or the bootstrap.servers property, "
        "not both");
  }
  for (const auto& [name, value] : properties) {
    if (name.empty()) return InvalidArgumentError("kafka property with an empty name");
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      return InvalidArgumentError("kafka property '" + name.substr(0, name.find('\0')) +
                                  "': name or value contains a NUL byte");
    }
    auto it = forbidden.find(name);
    if (it != forbidden.end()) {
      return InvalidArgumentError("kafka property '" + name + "' cannot be set: " + it->second);
    }
  }
  ConfHandle conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogCallback);
  if (!bootstrap.empty()) {
    if (bootstrap.find('\0') != std::string_view::npos) {
      return InvalidArgumentError("Kafka bootstrap servers contain a NUL byte");
    }
    RETURN_IF_ERROR(SetConf(conf.get(), "bootstrap.servers", std::string(bootstrap)));
  }
  for (const auto& [name, value] : defaults) RETURN_IF_ERROR(SetConf(conf.get(), name, value));
  for (const auto& [name, value] : properties) RETURN_IF_ERROR(SetConf(conf.get(), name, value));
  return conf;
}

Result<KafkaHandle> NewClient(rd_kafka_type_t type, ConfHandle conf) {
  char errstr[512] = {0};
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    // rd_kafka_new keeps the conf only on success.
    return InvalidArgumentError(std::string("invalid Kafka configuration: ") + errstr);
  }
  conf.release();  // now owned by rk
  return KafkaHandle(rk);
}

HeadersHandle ToRdHeaders(const Headers& headers) {
  HeadersHandle out(rd_kafka_headers_new(headers.size()));
  for (const auto& [name, value] : headers) {
    rd_kafka_header_add(out.get(), name.data(), static_cast<ssize_t>(name.size()), value.data(),
                        static_cast<ssize_t>(value.size()));
  }
  return out;
}

Headers FromRdHeaders(const rd_kafka_headers_t* headers) {
  Headers out;
  if (headers == nullptr) return out;
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  for (size_t i = 0;
       rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    out.emplace_back(name != nullptr ? name : "",
                     value != nullptr ? std::string(static_cast<const char*>(value), size) : "");
  }
  return out;
}

Message ToMessage(const rd_kafka_message_t* m) {
  Message out;
  if (m->rkt != nullptr) out.topic = rd_kafka_topic_name(m->rkt);
  out.partition = m->partition;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::string context = "consume";
    if (!out.topic.empty())
      context += " from " + out.topic + "[" + std::to_string(m->partition) + "]";
    // For error events the payload holds the error string.
    std::string detail = m->payload != nullptr
                             ? std::string(static_cast<const char*>(m->payload), m->len)
                             : std::string();
    out.error = StatusFromResp(m->err, context, detail);
    return out;
  }
  out.offset = m->offset;
  out.key_is_null = m->key == nullptr;
  if (m->key != nullptr) out.key.assign(static_cast<const char*>(m->key), m->key_len);
  out.value_is_null = m->payload == nullptr;
  if (m->payload != nullptr) out.value.assign(static_cast<const char*>(m->payload), m->len);
  rd_kafka_timestamp_type_t ts_type;
  int64_t ts = rd_kafka_message_timestamp(m, &ts_type);
  out.timestamp_ms = ts_type == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? -1 : ts;
  rd_kafka_headers_t* hdrs = nullptr;
  // rd_kafka_message_headers parses lazily; the message keeps ownership.
  if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    out.headers = FromRdHeaders(hdrs);
  }
  return out;
}

PartitionList ToPartitionList(const std::vector<TopicPartition>& partitions) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
  for (const auto& tp : partitions) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  }
  return list;
}

PartitionList ToPartitionList(const std::vector<PartitionOffset>& offsets) {
  PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& po : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), po.topic.c_str(), po.partition)->offset =
        po.offset;
  }
  return list;
}

std::vector<TopicPartition> ToTopicPartitions(const rd_kafka_topic_partition_list_t* list) {
  std::vector<TopicPartition> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition});
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<PartitionOffset> ToPartitionOffsets(const rd_kafka_topic_partition_list_t* list) {
  std::vector<PartitionOffset> out;
  if (list == nullptr) return out;
  out.reserve(static_cast<size_t>(list->cnt));
  for (int i = 0; i < list->cnt; ++i) {
    out.push_back({list->elems[i].topic, list->elems[i].partition, list->elems[i].offset});
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status FirstPartitionError(const rd_kafka_topic_partition_list_t* list, std::string_view context) {
  if (list == nullptr) return Status::Ok();
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return StatusFromResp(
          e.err, std::string(context) + " " + e.topic + "[" + std::to_string(e.partition) + "]");
    }
  }
  return Status::Ok();
}

Status StatusFromError(rd_kafka_error_t* error, std::string_view context) {
  if (error == nullptr) return Status::Ok();
  Owned<rd_kafka_error_t> owned(error);
  KafkaErrorFlags flags;
  flags.fatal = rd_kafka_error_is_fatal(error) != 0;
  flags.retriable = rd_kafka_error_is_retriable(error) != 0;
  flags.txn_requires_abort = rd_kafka_error_txn_requires_abort(error) != 0;
  const char* text = rd_kafka_error_string(error);
  return StatusFromKafkaError(rd_kafka_error_code(error), context, text != nullptr ? text : "",
                              flags);
}

Status StatusFromResp(rd_kafka_resp_err_t err, std::string_view context, std::string_view detail) {
  return StatusFromKafkaError(err, context, detail);
}

Status ValidateTopicName(std::string_view topic) {
  if (topic.empty()) return InvalidArgumentError("topic name is empty");
  if (topic.size() > 249) {
    return InvalidArgumentError("topic name is longer than 249 characters");
  }
  if (topic == "." || topic == "..") return InvalidArgumentError("topic name cannot be . or ..");
  for (char c : topic) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return InvalidArgumentError("topic name '" + JsonEscape(topic) +
                                  "' has a character outside [a-zA-Z0-9._-]");
    }
  }
  return Status::Ok();
}

int RemainingMs(const Clock& clock, Clock::TimePoint deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.Now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, INT_MAX));
}

}  // namespace sluice::kafka::internal

#include "sluice/kafka/partition_reader.h"

#include "rdkafka_util.h"
#include "sluice/kafka/errors.h"

namespace sluice::kafka {
namespace {

class PartitionReaderImpl final : public PartitionReader {
 public:
  explicit PartitionReaderImpl(internal::KafkaHandle rk) : rk_(std::move(rk)) {}
  ~PartitionReaderImpl() override { rd_kafka_consumer_close(rk_.get()); }

  Result<std::vector<Message>> Poll(size_t max, std::chrono::milliseconds timeout,
                                    std::set<int32_t>* at_end) override {
    std::vector<Message> out;
    int wait_ms = static_cast<int>(timeout.count());
    while (out.size() < max) {
      internal::Owned<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk_.get(), wait_ms));
      if (!m) break;
      wait_ms = 0;
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (at_end != nullptr) at_end->insert(m->partition);
        continue;
      }
      out.push_back(internal::ToMessage(m.get()));
    }
    return out;
  }

 private:
  internal::KafkaHandle rk_;
};

}  // namespace

Result<std::unique_ptr<PartitionReader>> PartitionReader::Open(
    const PartitionReaderOptions& options, const std::string& topic,
    const std::map<int32_t, int64_t>& starts) {
  RETURN_IF_ERROR(internal::ValidateTopicName(topic).WithContext("partition reader"));
  const std::vector<std::pair<std::string, std::string>> defaults = {
      {"group.id", options.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"enable.partition.eof", "true"},
      // A start before the log start (compaction, retention) reads from the log start.
      {"auto.offset.reset", "earliest"},
      {"isolation.level", options.read_committed ? "read_committed" : "read_uncommitted"},
  };
  ASSIGN_OR_RETURN(auto conf,
                   internal::BuildConf(options.bootstrap, defaults,
                                       internal::OnlyFor(RD_KAFKA_CONSUMER, options.properties)));
  ASSIGN_OR_RETURN(auto rk, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
  rd_kafka_poll_set_consumer(rk.get());
  internal::PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(starts.size())));
  for (const auto& [p, offset] : starts) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = offset;
  }
  const rd_kafka_resp_err_t e = rd_kafka_assign(rk.get(), list.get());
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return StatusFromKafkaError(e, "assign " + topic);
  return std::unique_ptr<PartitionReader>(new PartitionReaderImpl(std::move(rk)));
}

}  // namespace sluice::kafka

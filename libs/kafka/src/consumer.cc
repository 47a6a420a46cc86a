#include "sluice/kafka/consumer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <string_view>

#include "group_metadata.h"
#include "rdkafka_util.h"
#include "sluice/core/logging.h"
#include "sluice/kafka/errors.h"

namespace sluice::kafka {

GroupMetadata::GroupMetadata(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GroupMetadata::~GroupMetadata() = default;
GroupMetadata::GroupMetadata(GroupMetadata&&) noexcept = default;
GroupMetadata& GroupMetadata::operator=(GroupMetadata&&) noexcept = default;

namespace {

using internal::KafkaHandle;
using internal::Owned;
using internal::PartitionList;
using internal::StatusFromError;
using internal::StatusFromResp;
using Ms = std::chrono::milliseconds;

// Thread-safety: as Consumer; closed_ and errors_ are guarded by mu_.
class ConsumerImpl final : public Consumer {
 public:
  explicit ConsumerImpl(const ConsumerOptions& options)
      : options_(options), clock_(options.clock != nullptr ? *options.clock : RealClock()) {}

  ~ConsumerImpl() override {
    if (rk_ == nullptr) return;
    Status closed = Close();
    if (!closed.ok()) GetLogger("kafka")->warn("consumer close: {}", closed.message());
    rk_.reset();
  }

  Status Init() {
    const bool group_in_properties = options_.properties.count("group.id") > 0;
    if (options_.group_id.empty() && !group_in_properties) {
      return InvalidArgumentError("no consumer group given (group_id is empty)");
    }
    if (!options_.group_id.empty() && group_in_properties) {
      return InvalidArgumentError(
          "consumer group given twice: set group_id or the group.id property, not both");
    }
    std::vector<std::pair<std::string, std::string>> defaults = {
        {"enable.auto.commit", options_.enable_auto_commit ? "true" : "false"},
        {"enable.auto.offset.store", "false"},
        {"auto.offset.reset", options_.auto_offset_reset},
        {"partition.assignment.strategy",
         options_.assignment_strategy == AssignmentStrategy::kCooperativeSticky
             ? "cooperative-sticky"
             : "range,roundrobin"},
    };
    if (!options_.group_id.empty()) defaults.emplace_back("group.id", options_.group_id);
    std::map<std::string, std::string> forbidden;
    auto store = options_.properties.find("enable.auto.offset.store");
    if (store != options_.properties.end() && store->second != "false") {
      forbidden[store->first] = "offsets are stored only by Consumer::StoreOffset()";
    }
    ASSIGN_OR_RETURN(
        auto conf,
        internal::BuildConf(options_.bootstrap, defaults,
                            internal::OnlyFor(RD_KAFKA_CONSUMER, options_.properties), forbidden));
    // The assignors in effect (a property may override the field); librdkafka refuses a list that
    // mixes cooperative and eager ones, so the first one names the protocol.
    char strategy[256] = {0};
    size_t strategy_size = sizeof(strategy);
    if (rd_kafka_conf_get(conf.get(), "partition.assignment.strategy", strategy, &strategy_size) ==
        RD_KAFKA_CONF_OK) {
      cooperative_configured_ = std::string_view(strategy).starts_with("cooperative");
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_rebalance_cb(conf.get(), &ConsumerImpl::RebalanceTrampoline);
    rd_kafka_conf_set_error_cb(conf.get(), &ConsumerImpl::ErrorTrampoline);
    rd_kafka_conf_set_offset_commit_cb(conf.get(), &ConsumerImpl::CommitTrampoline);
    ASSIGN_OR_RETURN(rk_, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
    // Serve everything (rebalances, errors, commits) from the consumer queue, i.e. inside Poll().
    RETURN_IF_ERROR(StatusFromResp(rd_kafka_poll_set_consumer(rk_.get()), "poll_set_consumer"));
    return Status::Ok();
  }

  Status Subscribe(const std::vector<std::string>& topics) override {
    RETURN_IF_ERROR(CheckOpen());
    if (topics.empty()) return InvalidArgumentError("subscribe: no topics given");
    PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(topics.size())));
    for (const auto& topic : topics) {
      if (topic.empty()) return InvalidArgumentError("subscribe: empty topic name");
      if (topic[0] != '^')
        RETURN_IF_ERROR(internal::ValidateTopicName(topic).WithContext("subscribe"));
      if (topic.find('\0') != std::string::npos) {
        return InvalidArgumentError("subscribe: topic pattern contains a NUL byte");
      }
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), RD_KAFKA_PARTITION_UA);
    }
    return StatusFromResp(rd_kafka_subscribe(rk_.get(), list.get()), "subscribe");
  }

  Status Unsubscribe() override {
    RETURN_IF_ERROR(CheckOpen());
    return StatusFromResp(rd_kafka_unsubscribe(rk_.get()), "unsubscribe");
  }

  Result<std::vector<Message>> Poll(size_t max_messages, Ms timeout) override {
    RETURN_IF_ERROR(CheckOpen());
    if (max_messages == 0) return InvalidArgumentError("poll: max_messages is 0");
    const auto deadline = clock_.Now() + timeout;
    std::vector<Message> out;
    out.reserve(std::min<size_t>(max_messages, 1024));
    for (;;) {
      DrainErrors(out, max_messages);
      if (out.size() >= max_messages) break;
      // Wait only for the first message; then take what is ready.
      const int wait = out.empty() ? internal::RemainingMs(clock_, deadline) : 0;
      Owned<rd_kafka_message_t> m(rd_kafka_consumer_poll(rk_.get(), wait));
      if (m == nullptr) {
        DrainErrors(out, max_messages);
        if (wait == 0 || !out.empty()) break;
        continue;
      }
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      out.push_back(internal::ToMessage(m.get()));
    }
    return out;
  }

  Status StoreOffset(std::string_view topic, int32_t partition, int64_t next_offset) override {
    return StoreOffsets({{std::string(topic), partition, next_offset}});
  }

  Status StoreOffsets(const std::vector<PartitionOffset>& offsets) override {
    RETURN_IF_ERROR(CheckOpen());
    if (offsets.empty()) return Status::Ok();
    for (const auto& o : offsets) {
      if (o.offset < 0) {
        return InvalidArgumentError("store offset: offset " + std::to_string(o.offset) + " for " +
                                    o.topic + "[" + std::to_string(o.partition) +
                                    "] is not a real offset");
      }
    }
    auto list = internal::ToPartitionList(offsets);
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(rk_.get(), list.get());
    RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "store offset for"));
    return StatusFromResp(err, "store offsets");
  }

  Status Commit(bool sync) override {
    RETURN_IF_ERROR(CheckOpen());
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), nullptr, sync ? 0 : 1);
    if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return Status::Ok();  // nothing new to commit
    return StatusFromResp(err, "commit");
  }

  Status CommitOffsets(const std::vector<PartitionOffset>& offsets, bool sync) override {
    RETURN_IF_ERROR(CheckOpen());
    if (offsets.empty()) return Status::Ok();
    auto list = internal::ToPartitionList(offsets);
    rd_kafka_resp_err_t err = rd_kafka_commit(rk_.get(), list.get(), sync ? 0 : 1);
    if (sync) RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "commit offset for"));
    return StatusFromResp(err, "commit offsets");
  }

  Result<std::vector<PartitionOffset>> Committed(const std::vector<TopicPartition>& partitions,
                                                 Ms timeout) override {
    RETURN_IF_ERROR(CheckOpen());
    auto list = internal::ToPartitionList(partitions);
    RETURN_IF_ERROR(
        StatusFromResp(rd_kafka_committed(rk_.get(), list.get(), static_cast<int>(timeout.count())),
                       "committed offsets"));
    RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "committed offset of"));
    return internal::ToPartitionOffsets(list.get());
  }

  Status Pause(const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    RETURN_IF_ERROR(CheckAssigned(partitions, "pause"));
    auto list = internal::ToPartitionList(partitions);
    rd_kafka_resp_err_t err = rd_kafka_pause_partitions(rk_.get(), list.get());
    RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "pause"));
    return StatusFromResp(err, "pause");
  }

  Status Resume(const std::vector<TopicPartition>& partitions) override {
    RETURN_IF_ERROR(CheckOpen());
    RETURN_IF_ERROR(CheckAssigned(partitions, "resume"));
    auto list = internal::ToPartitionList(partitions);
    rd_kafka_resp_err_t err = rd_kafka_resume_partitions(rk_.get(), list.get());
    RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "resume"));
    return StatusFromResp(err, "resume");
  }

  Result<std::vector<TopicPartition>> Assignment() override {
    RETURN_IF_ERROR(CheckOpen());
    rd_kafka_topic_partition_list_t* raw = nullptr;
    RETURN_IF_ERROR(StatusFromResp(rd_kafka_assignment(rk_.get(), &raw), "assignment"));
    PartitionList list(raw);
    return internal::ToTopicPartitions(list.get());
  }

  Result<GroupMetadata> CurrentGroupMetadata() override {
    RETURN_IF_ERROR(CheckOpen());
    auto impl = std::make_unique<GroupMetadata::Impl>();
    impl->metadata.reset(rd_kafka_consumer_group_metadata(rk_.get()));
    if (impl->metadata == nullptr) {
      return FailedPreconditionError("group metadata: the consumer has no group");
    }
    return GroupMetadata(std::move(impl));
  }

  std::string MemberId() override {
    if (rk_ == nullptr) return "";
    char* id = rd_kafka_memberid(rk_.get());
    if (id == nullptr) return "";
    std::string out(id);
    rd_kafka_mem_free(rk_.get(), id);
    return out;
  }

  Status Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return Status::Ok();
      closed_ = true;
    }
    return StatusFromResp(rd_kafka_consumer_close(rk_.get()), "close consumer");
  }

 private:
  // librdkafka silently ignores pausing a partition that is not assigned; say so instead.
  Status CheckAssigned(const std::vector<TopicPartition>& partitions, const char* what) {
    ASSIGN_OR_RETURN(auto assignment, Assignment());
    for (const auto& tp : partitions) {
      if (!std::binary_search(assignment.begin(), assignment.end(), tp)) {
        return FailedPreconditionError(std::string(what) + ": " + tp.topic + "[" +
                                       std::to_string(tp.partition) +
                                       "] is not assigned to this consumer");
      }
    }
    return Status::Ok();
  }

  Status CheckOpen() {
    std::lock_guard lock(mu_);
    if (closed_) return FailedPreconditionError("the consumer is closed");
    return Status::Ok();
  }

  void DrainErrors(std::vector<Message>& out, size_t max_messages) {
    std::lock_guard lock(mu_);
    while (!errors_.empty() && out.size() < max_messages) {
      Message m;
      m.error = std::move(errors_.front());
      errors_.erase(errors_.begin());
      out.push_back(std::move(m));
    }
  }

  static void RebalanceTrampoline(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<ConsumerImpl*>(opaque)->OnRebalance(rk, err, partitions);
  }

  // Runs inside rd_kafka_consumer_poll / rd_kafka_consumer_close on the owner's thread.
  void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                   rd_kafka_topic_partition_list_t* partitions) {
    // rd_kafka_rebalance_protocol() asks the group's thread and gives null when it cannot answer,
    // as while rd_kafka_consumer_close() leaves the group (strcmp on that null crashed a test
    // under load); the configured assignors then decide.
    const char* protocol = rd_kafka_rebalance_protocol(rk);
    const bool cooperative =
        protocol != nullptr ? std::strcmp(protocol, "COOPERATIVE") == 0 : cooperative_configured_;
    auto parts = internal::ToTopicPartitions(partitions);
    auto logger = GetLogger("kafka");
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      Status s = cooperative
                     ? StatusFromError(rd_kafka_incremental_assign(rk, partitions), "assign")
                     : StatusFromResp(rd_kafka_assign(rk, partitions), "assign");
      if (!s.ok()) {
        LogWith(*logger, spdlog::level::err,
                {{"event", "assign_failed"},
                 {"error_code", StatusCodeName(s.code())},
                 {"error", s.message()}},
                "rebalance: {}", s.message());
      }
      LogWith(*logger, spdlog::level::debug,
              {{"event", "rebalance_assigned"},
               {"count", parts.size()},
               {"protocol", cooperative ? "cooperative" : "eager"}},
              "rebalance: assigned {} partitions ({})", parts.size(),
              cooperative ? "cooperative" : "eager");
      if (options_.listener != nullptr && !parts.empty()) {
        CallListener([&] { options_.listener->OnAssigned(*this, parts); });
      }
      return;
    }
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      logger->error("rebalance error: {}", rd_kafka_err2str(err));
    }
    if (options_.listener != nullptr && !parts.empty()) {
      if (rd_kafka_assignment_lost(rk)) {
        CallListener([&] { options_.listener->OnLost(*this, parts); });
      } else {
        CallListener([&] { options_.listener->OnRevoked(*this, parts); });
      }
    }
    Status s = cooperative
                   ? StatusFromError(rd_kafka_incremental_unassign(rk, partitions), "unassign")
                   : StatusFromResp(rd_kafka_assign(rk, nullptr), "unassign");
    if (!s.ok()) logger->error("rebalance: {}", s.message());
    logger->debug("rebalance: revoked {} partitions ({})", parts.size(),
                  cooperative ? "cooperative" : "eager");
  }

  template <typename F>
  static void CallListener(F&& f) {
    // An exception must not unwind through librdkafka's C frames.
    try {
      f();
    } catch (const std::exception& e) {
      GetLogger("kafka")->error("rebalance listener threw: {}", e.what());
    } catch (...) {
      GetLogger("kafka")->error("rebalance listener threw a non-std exception");
    }
  }

  static void ErrorTrampoline(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    static_cast<ConsumerImpl*>(opaque)->OnError(rk, err, reason);
  }

  void OnError(rd_kafka_t* rk, int err, const char* reason) {
    Status status;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512] = {0};
      auto cause = rd_kafka_fatal_error(rk, buf, sizeof(buf));
      status = StatusFromKafkaError(cause, "consumer", buf, {.fatal = true});
      GetLogger("kafka")->error("{}", status.message());
    } else {
      status = StatusFromKafkaError(err, "consumer", reason != nullptr ? reason : "");
    }
    std::lock_guard lock(mu_);
    // Bounded: a consumer whose owner stops polling must not grow without limit.
    if (errors_.size() < 1000) errors_.push_back(std::move(status));
  }

  static void CommitTrampoline(rd_kafka_t*, rd_kafka_resp_err_t err,
                               rd_kafka_topic_partition_list_t* offsets, void*) {
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || err == RD_KAFKA_RESP_ERR__NO_OFFSET) {
      Status s = internal::FirstPartitionError(offsets, "commit offset for");
      if (!s.ok()) {
        LogWith(*GetLogger("kafka"), spdlog::level::warn,
                {{"event", "commit_failed"}, {"error_code", StatusCodeName(s.code())}}, "{}",
                s.message());
      }
      return;
    }
    Status s = StatusFromResp(err, "commit");
    LogWith(*GetLogger("kafka"), spdlog::level::warn,
            {{"event", "commit_failed"},
             {"error_code", StatusCodeName(s.code())},
             {"kafka_error", rd_kafka_err2name(err)}},
            "{}", s.message());
  }

  const ConsumerOptions options_;
  bool cooperative_configured_ = false;  // set by Init: the assignors are cooperative
  Clock& clock_;
  KafkaHandle rk_;
  std::mutex mu_;
  bool closed_ = false;         // guarded by mu_
  std::vector<Status> errors_;  // guarded by mu_; client-level errors for the next Poll
};

}  // namespace

Result<std::unique_ptr<Consumer>> Consumer::Create(const ConsumerOptions& options) {
  auto consumer = std::make_unique<ConsumerImpl>(options);
  RETURN_IF_ERROR(consumer->Init().WithContext("create Kafka consumer"));
  return std::unique_ptr<Consumer>(std::move(consumer));
}

}  // namespace sluice::kafka

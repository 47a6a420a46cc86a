#include "sluice/kafka/admin.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <set>

#include "rdkafka_util.h"
#include "sluice/core/logging.h"
#include "sluice/kafka/errors.h"

namespace sluice::kafka {
namespace {

using internal::KafkaHandle;
using internal::Owned;
using internal::StatusFromResp;
using Ms = std::chrono::milliseconds;

// How often CreateTopics/DeleteTopics re-read metadata while waiting for the cluster to show the
// change (retry pacing against the broker, not a test wait).
constexpr Ms kMetadataRetryInterval(50);
// How often read-only calls retry an Unavailable answer before their deadline.
constexpr Ms kRetryInterval(100);

// Thread-safety: as Admin; the cached group clients are guarded by groups_mu_.
class AdminImpl final : public Admin {
 public:
  explicit AdminImpl(const AdminOptions& options)
      : options_(options), clock_(options.clock != nullptr ? *options.clock : RealClock()) {}

  Status Init() {
    // Metadata requests must never create topics as a side effect.
    ASSIGN_OR_RETURN(
        auto conf, internal::BuildConf(options_.bootstrap, {{"allow.auto.create.topics", "false"}},
                                       internal::OnlyFor(RD_KAFKA_PRODUCER, options_.properties)));
    ASSIGN_OR_RETURN(rk_, internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
    return Status::Ok();
  }

  Status CreateTopics(const std::vector<TopicSpec>& topics, Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    if (topics.empty()) return Status::Ok();
    std::vector<Owned<rd_kafka_NewTopic_t>> owned;
    std::vector<rd_kafka_NewTopic_t*> raw;
    for (const auto& spec : topics) {
      RETURN_IF_ERROR(internal::ValidateTopicName(spec.name).WithContext("create topic"));
      if (spec.partitions < 1 || (spec.replication < 1 && spec.replication != -1)) {
        return InvalidArgumentError("create topic " + spec.name +
                                    ": partitions must be at least 1, replication at least 1 (or "
                                    "-1: the broker's default)");
      }
      char errstr[512] = {0};
      owned.emplace_back(rd_kafka_NewTopic_new(spec.name.c_str(), spec.partitions, spec.replication,
                                               errstr, sizeof(errstr)));
      if (owned.back() == nullptr) {
        return InvalidArgumentError("create topic " + spec.name + ": " + errstr);
      }
      for (const auto& [name, value] : spec.configs) {
        RETURN_IF_ERROR(StatusFromResp(
            rd_kafka_NewTopic_set_config(owned.back().get(), name.c_str(), value.c_str()),
            "create topic " + spec.name + ": config " + name));
      }
      raw.push_back(owned.back().get());
    }
    ASSIGN_OR_RETURN(auto opts, Options(RD_KAFKA_ADMIN_OP_CREATETOPICS, deadline, true));
    Owned<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk_.get()));
    rd_kafka_CreateTopics(rk_.get(), raw.data(), raw.size(), opts.get(), queue.get());
    ASSIGN_OR_RETURN(auto event, WaitEvent(queue.get(), deadline, "create topics"));
    const auto* result = rd_kafka_event_CreateTopics_result(event.get());
    if (result == nullptr) return InternalError("create topics: unexpected admin result");
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(result, &count);
    Status first;
    std::map<std::string, int> created;
    for (size_t i = 0; i < count; ++i) {
      const char* name = rd_kafka_topic_result_name(results[i]);
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (const auto& spec : topics) {
          if (spec.name == name) created[spec.name] = spec.partitions;
        }
        continue;
      }
      if (first.ok()) {
        const char* text = rd_kafka_topic_result_error_string(results[i]);
        first = StatusFromResp(err, std::string("create topic ") + name, text ? text : "");
      }
    }
    // Wait until the new topics are usable: listed with a leader for every partition.
    for (;;) {
      ASSIGN_OR_RETURN(auto md, Metadata(deadline, "create topics"));
      bool all_ready = true;
      for (const auto& [name, partitions] : created) {
        const rd_kafka_metadata_topic_t* t = FindTopic(md.get(), name);
        bool ready =
            t != nullptr && t->err == RD_KAFKA_RESP_ERR_NO_ERROR && t->partition_cnt == partitions;
        for (int p = 0; ready && p < t->partition_cnt; ++p) {
          ready = t->partitions[p].leader >= 0 && t->partitions[p].err == 0;
        }
        all_ready = all_ready && ready;
      }
      if (all_ready) break;
      if (clock_.Now() + kMetadataRetryInterval >= deadline) {
        return DeadlineExceededError(
            "create topics: created, but not yet visible with leaders "
            "in the cluster metadata within " +
            std::to_string(timeout.count()) + " ms");
      }
      clock_.SleepFor(kMetadataRetryInterval);
    }
    return first;
  }

  Status DeleteTopics(const std::vector<std::string>& topics, Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    if (topics.empty()) return Status::Ok();
    std::vector<Owned<rd_kafka_DeleteTopic_t>> owned;
    std::vector<rd_kafka_DeleteTopic_t*> raw;
    for (const auto& name : topics) {
      RETURN_IF_ERROR(internal::ValidateTopicName(name).WithContext("delete topic"));
      owned.emplace_back(rd_kafka_DeleteTopic_new(name.c_str()));
      raw.push_back(owned.back().get());
    }
    ASSIGN_OR_RETURN(auto opts, Options(RD_KAFKA_ADMIN_OP_DELETETOPICS, deadline, true));
    Owned<rd_kafka_queue_t> queue(rd_kafka_queue_new(rk_.get()));
    rd_kafka_DeleteTopics(rk_.get(), raw.data(), raw.size(), opts.get(), queue.get());
    ASSIGN_OR_RETURN(auto event, WaitEvent(queue.get(), deadline, "delete topics"));
    const auto* result = rd_kafka_event_DeleteTopics_result(event.get());
    if (result == nullptr) return InternalError("delete topics: unexpected admin result");
    size_t count = 0;
    const rd_kafka_topic_result_t** results = rd_kafka_DeleteTopics_result_topics(result, &count);
    Status first;
    std::set<std::string> deleted;
    for (size_t i = 0; i < count; ++i) {
      const char* name = rd_kafka_topic_result_name(results[i]);
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        deleted.insert(name);
      } else if (first.ok()) {
        const char* text = rd_kafka_topic_result_error_string(results[i]);
        first = StatusFromResp(err, std::string("delete topic ") + name, text ? text : "");
      }
    }
    for (;;) {
      ASSIGN_OR_RETURN(auto md, Metadata(deadline, "delete topics"));
      bool gone = std::none_of(deleted.begin(), deleted.end(), [&](const std::string& name) {
        const rd_kafka_metadata_topic_t* t = FindTopic(md.get(), name);
        return t != nullptr && t->err == RD_KAFKA_RESP_ERR_NO_ERROR;
      });
      if (gone) break;
      if (clock_.Now() + kMetadataRetryInterval >= deadline) {
        return DeadlineExceededError("delete topics: still listed in the cluster metadata after " +
                                     std::to_string(timeout.count()) + " ms");
      }
      clock_.SleepFor(kMetadataRetryInterval);
    }
    return first;
  }

  Result<std::vector<TopicInfo>> ListTopics(Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    return Retrying(deadline, [&] { return ListTopicsBy(deadline); });
  }

  Result<int> PartitionCount(std::string_view topic, Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    return Retrying(deadline, [&] { return PartitionCountBy(topic, deadline); });
  }

  Result<std::vector<PartitionWatermarks>> Watermarks(std::string_view topic, Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    return Retrying(deadline, [&] { return WatermarksBy(topic, deadline); });
  }

  Result<std::vector<PartitionOffset>> CommittedOffsets(std::string_view group,
                                                        std::string_view topic,
                                                        Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    return Retrying(deadline, [&] { return CommittedBy(group, topic, deadline); });
  }

  Result<std::vector<PartitionLag>> Lag(std::string_view group, std::string_view topic,
                                        Ms timeout) override {
    const auto deadline = clock_.Now() + timeout;
    return Retrying(deadline, [&] { return LagBy(group, topic, deadline); });
  }

 private:
  // Runs `f` again while it fails with Unavailable (coordinator loading, leader moving, broker
  // not yet reachable) and the deadline leaves room; returns the last result.
  template <typename F>
  auto Retrying(Clock::TimePoint deadline, F f) -> decltype(f()) {
    for (;;) {
      auto result = f();
      if (result.ok() || result.status().code() != StatusCode::kUnavailable ||
          clock_.Now() + kRetryInterval >= deadline) {
        return result;
      }
      clock_.SleepFor(kRetryInterval);
    }
  }

  Result<std::vector<TopicInfo>> ListTopicsBy(Clock::TimePoint deadline) {
    ASSIGN_OR_RETURN(auto md, Metadata(deadline, "list topics"));
    std::vector<TopicInfo> out;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& t = md->topics[i];
      std::string name = t.topic;
      if (name.rfind("__", 0) == 0 || t.err != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
      out.push_back({name, t.partition_cnt});
    }
    std::sort(out.begin(), out.end(),
              [](const TopicInfo& a, const TopicInfo& b) { return a.name < b.name; });
    return out;
  }

  Result<std::vector<PartitionLag>> LagBy(std::string_view group, std::string_view topic,
                                          Clock::TimePoint deadline) {
    ASSIGN_OR_RETURN(auto committed, CommittedBy(group, topic, deadline));
    ASSIGN_OR_RETURN(auto marks, WatermarksBy(topic, deadline));
    std::vector<PartitionLag> out;
    for (const auto& w : marks) {
      PartitionLag lag;
      lag.partition = w.partition;
      lag.high_watermark = w.high;
      for (const auto& c : committed) {
        if (c.partition == w.partition) lag.committed = c.offset;
      }
      int64_t from = lag.committed >= 0 ? lag.committed : w.low;
      lag.lag = std::max<int64_t>(0, w.high - from);
      out.push_back(lag);
    }
    return out;
  }

  Result<int> PartitionCountBy(std::string_view topic, Clock::TimePoint deadline) {
    RETURN_IF_ERROR(internal::ValidateTopicName(topic));
    ASSIGN_OR_RETURN(auto md, Metadata(deadline, "partition count"));
    const rd_kafka_metadata_topic_t* t = FindTopic(md.get(), topic);
    if (t == nullptr || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return NotFoundError("topic " + std::string(topic) + " does not exist");
    }
    RETURN_IF_ERROR(StatusFromResp(t->err, "metadata of topic " + std::string(topic)));
    return t->partition_cnt;
  }

  Result<std::vector<PartitionWatermarks>> WatermarksBy(std::string_view topic,
                                                        Clock::TimePoint deadline) {
    ASSIGN_OR_RETURN(int partitions, PartitionCountBy(topic, deadline));
    std::string name(topic);
    // The earliest and the latest offsets of every partition, each in one ListOffsets request
    // per leader (the timestamps -2 and -1 ask for them).
    // rd_kafka_query_watermark_offsets asks one partition at a time, two round trips each, which
    // made sluice-flood's per-second sample of a many-partition topic take tens of milliseconds.
    const auto ask = [&](int64_t which) -> Result<internal::PartitionList> {
      internal::PartitionList list(rd_kafka_topic_partition_list_new(partitions));
      for (int32_t p = 0; p < partitions; ++p) {
        rd_kafka_topic_partition_list_add(list.get(), name.c_str(), p)->offset = which;
      }
      RETURN_IF_ERROR(StatusFromResp(
          rd_kafka_offsets_for_times(rk_.get(), list.get(),
                                     std::max(1, internal::RemainingMs(clock_, deadline))),
          "watermarks of " + name));
      RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "watermarks of"));
      return list;
    };
    ASSIGN_OR_RETURN(auto low, ask(RD_KAFKA_OFFSET_BEGINNING));
    ASSIGN_OR_RETURN(auto high, ask(RD_KAFKA_OFFSET_END));
    std::vector<PartitionWatermarks> out(static_cast<size_t>(partitions));
    for (int32_t p = 0; p < partitions; ++p) out[static_cast<size_t>(p)].partition = p;
    for (const auto& [list, field] : {std::pair{low.get(), &PartitionWatermarks::low},
                                      std::pair{high.get(), &PartitionWatermarks::high}}) {
      for (int i = 0; i < list->cnt; ++i) {
        const auto& e = list->elems[i];
        if (e.partition >= 0 && e.partition < partitions) {
          out[static_cast<size_t>(e.partition)].*field = e.offset;
        }
      }
    }
    return out;
  }

  Result<std::vector<PartitionOffset>> CommittedBy(std::string_view group, std::string_view topic,
                                                   Clock::TimePoint deadline) {
    if (group.empty()) return InvalidArgumentError("committed offsets: empty group name");
    ASSIGN_OR_RETURN(int partitions, PartitionCountBy(topic, deadline));
    std::string name(topic);
    std::string group_name(group);
    ASSIGN_OR_RETURN(auto client, GroupClient(group_name));
    rd_kafka_poll(client.get(), 0);  // serve queued client events (errors are logged)
    internal::PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), name.c_str(), p);
    }
    RETURN_IF_ERROR(
        StatusFromResp(rd_kafka_committed(client.get(), list.get(),
                                          std::max(1, internal::RemainingMs(clock_, deadline))),
                       "committed offsets of group " + group_name));
    RETURN_IF_ERROR(internal::FirstPartitionError(list.get(), "committed offset of"));
    auto out = internal::ToPartitionOffsets(list.get());
    for (auto& o : out) {
      if (o.offset < 0) o.offset = kOffsetInvalid;
    }
    return out;
  }

  // A consumer-type client with group.id = `group` that never joins the group, used only to
  // fetch the group's committed offsets. Not rd_kafka_ListConsumerGroupOffsets: in librdkafka
  // 2.0.2 its OffsetFetch reply handler dereferences the (absent) consumer group of a non-consumer
  // handle when the coordinator answers "load in progress" or "not coordinator", and the process
  // crashes (seen here on a fresh broker). Clients are cached per group (a few), shared_ptr so an
  // evicted one stays alive while another thread still uses it.
  Result<std::shared_ptr<rd_kafka_t>> GroupClient(const std::string& group) {
    std::lock_guard lock(groups_mu_);
    auto it = group_clients_.find(group);
    if (it != group_clients_.end()) return it->second;
    if (group_clients_.size() >= kMaxGroupClients) group_clients_.erase(group_clients_.begin());
    ASSIGN_OR_RETURN(
        auto conf,
        internal::BuildConf(
            options_.bootstrap,
            {{"group.id", group},
             {"enable.auto.commit", "false"},
             {"enable.auto.offset.store", "false"}},
            internal::OnlyFor(RD_KAFKA_CONSUMER, WithoutGroupProperties(options_.properties))));
    ASSIGN_OR_RETURN(auto client, internal::NewClient(RD_KAFKA_CONSUMER, std::move(conf)));
    std::shared_ptr<rd_kafka_t> shared(client.release(), [](rd_kafka_t* rk) {
      rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
    });
    group_clients_[group] = shared;
    return shared;
  }

  // Admin properties minus the ones that would override the group client's own.
  static std::map<std::string, std::string> WithoutGroupProperties(
      std::map<std::string, std::string> properties) {
    properties.erase("group.id");
    properties.erase("enable.auto.commit");
    properties.erase("enable.auto.offset.store");
    properties.erase("allow.auto.create.topics");
    return properties;
  }

  Result<Owned<rd_kafka_AdminOptions_t>> Options(rd_kafka_admin_op_t op, Clock::TimePoint deadline,
                                                 bool operation) {
    rd_kafka_poll(rk_.get(), 0);  // serve queued client events (errors are logged)
    Owned<rd_kafka_AdminOptions_t> opts(rd_kafka_AdminOptions_new(rk_.get(), op));
    const int ms = std::max(1, internal::RemainingMs(clock_, deadline));
    char errstr[512] = {0};
    RETURN_IF_ERROR(StatusFromResp(
        rd_kafka_AdminOptions_set_request_timeout(opts.get(), ms, errstr, sizeof(errstr)),
        "admin request timeout", errstr));
    if (operation) {
      RETURN_IF_ERROR(StatusFromResp(
          rd_kafka_AdminOptions_set_operation_timeout(opts.get(), ms, errstr, sizeof(errstr)),
          "admin operation timeout", errstr));
    }
    return opts;
  }

  Result<Owned<rd_kafka_event_t>> WaitEvent(rd_kafka_queue_t* queue, Clock::TimePoint deadline,
                                            const std::string& context) {
    // A small grace beyond the request timeout so librdkafka's own timeout error wins the race.
    Owned<rd_kafka_event_t> event(
        rd_kafka_queue_poll(queue, internal::RemainingMs(clock_, deadline) + 1000));
    if (event == nullptr) return DeadlineExceededError(context + ": no answer in time");
    if (rd_kafka_event_error(event.get()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* text = rd_kafka_event_error_string(event.get());
      return StatusFromResp(rd_kafka_event_error(event.get()), context, text ? text : "");
    }
    return event;
  }

  Result<Owned<const rd_kafka_metadata_t>> Metadata(Clock::TimePoint deadline,
                                                    const std::string& context) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(
        rk_.get(), 1, nullptr, &md, std::max(1, internal::RemainingMs(clock_, deadline)));
    RETURN_IF_ERROR(StatusFromResp(err, context + ": metadata"));
    return Owned<const rd_kafka_metadata_t>(md);
  }

  static const rd_kafka_metadata_topic_t* FindTopic(const rd_kafka_metadata_t* md,
                                                    std::string_view name) {
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (name == md->topics[i].topic) return &md->topics[i];
    }
    return nullptr;
  }

  static constexpr size_t kMaxGroupClients = 8;

  const AdminOptions options_;
  Clock& clock_;
  KafkaHandle rk_;
  std::mutex groups_mu_;
  std::map<std::string, std::shared_ptr<rd_kafka_t>> group_clients_;  // guarded by groups_mu_
};

}  // namespace

Result<std::unique_ptr<Admin>> Admin::Create(const AdminOptions& options) {
  auto admin = std::make_unique<AdminImpl>(options);
  RETURN_IF_ERROR(admin->Init().WithContext("create Kafka admin client"));
  return std::unique_ptr<Admin>(std::move(admin));
}

}  // namespace sluice::kafka

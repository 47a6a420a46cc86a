#include "sluice/kafka/producer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "group_metadata.h"
#include "rdkafka_util.h"
#include "sluice/core/logging.h"
#include "sluice/kafka/errors.h"

namespace sluice::kafka {
namespace {

using internal::HeadersHandle;
using internal::KafkaHandle;
using internal::StatusFromError;
using internal::StatusFromResp;
using Ms = std::chrono::milliseconds;

// Per-record state handed to librdkafka as the message opaque; touched by one thread at a time
// (the producing thread, then the poll thread).
struct Pending {
  DeliveryCallback callback;
};

// The message opaque is a Pending* (aligned, so its low bit is 0), a tag shifted left with the low
// bit set (ProduceTagged), or null (no callback).
static_assert(sizeof(void*) == sizeof(uint64_t), "tags are stored in a pointer");
void* TagOpaque(uint64_t tag) { return reinterpret_cast<void*>((tag << 1) | 1); }
bool IsTag(const void* opaque) { return (reinterpret_cast<uintptr_t>(opaque) & 1) != 0; }
uint64_t TagOf(const void* opaque) { return reinterpret_cast<uintptr_t>(opaque) >> 1; }

// One record as Enqueue takes it: pointers into the caller's data, copied by librdkafka.
struct RecordView {
  std::string_view topic;
  const char* key = nullptr;  // null: no key
  size_t key_len = 0;
  const char* value = nullptr;  // null: a tombstone
  size_t value_len = 0;
  const Headers* headers = nullptr;
  int32_t partition = kAnyPartition;
  int64_t timestamp_ms = 0;
};

// A string_view's data() may be null for an empty view; librdkafka would read that as a null
// key or value, so point empty ones at a static empty string.
const char* NonNull(std::string_view v) {
  static const char kEmpty[] = "";
  return v.data() != nullptr ? v.data() : kEmpty;
}

// Owning handle for a topic handle; released before the client (librdkafka's rule).
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* p) const { rd_kafka_topic_destroy(p); }
};
using TopicHandle = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;

// Thread-safety: as Producer. in_flight_ and has_fatal_ are atomics; fatal_ is guarded by mu_,
// topics_ by topics_mu_ (last_topic_, an atomic, points at one of its nodes).
//
// The per-record path is kept cheap because sluice-flood's producer throughput is measured against
// kcat's: no lock and no clock read unless the queue is full, a cached topic handle instead of a
// lookup by name, and a notify only when somebody waits.
class ProducerImpl final : public Producer {
 public:
  explicit ProducerImpl(const ProducerOptions& options)
      : options_(options), clock_(options.clock != nullptr ? *options.clock : RealClock()) {}

  ~ProducerImpl() override { Shutdown(); }

  Status Init() {
    std::vector<std::pair<std::string, std::string>> defaults = {
        {"enable.idempotence", options_.idempotence ? "true" : "false"},
        {"acks", options_.acks},
    };
    if (!options_.transactional_id.empty()) {
      defaults.emplace_back("transactional.id", options_.transactional_id);
    }
    ASSIGN_OR_RETURN(
        auto conf, internal::BuildConf(options_.bootstrap, defaults,
                                       internal::OnlyFor(RD_KAFKA_PRODUCER, options_.properties)));
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &ProducerImpl::DeliveryCallbackTrampoline);
    rd_kafka_conf_set_error_cb(conf.get(), &ProducerImpl::ErrorCallbackTrampoline);
    ASSIGN_OR_RETURN(rk_, internal::NewClient(RD_KAFKA_PRODUCER, std::move(conf)));
    if (!options_.deliver_on_caller_thread) poll_thread_ = std::thread([this] { PollLoop(); });
    return Status::Ok();
  }

  Status Produce(const ProducerRecord& r, DeliveryCallback callback) override {
    return EnqueueWithCallback({.topic = r.topic,
                                .key = r.key ? r.key->data() : nullptr,
                                .key_len = r.key ? r.key->size() : 0,
                                .value = r.value ? r.value->data() : nullptr,
                                .value_len = r.value ? r.value->size() : 0,
                                .headers = &r.headers,
                                .partition = r.partition,
                                .timestamp_ms = r.timestamp_ms},
                               std::move(callback));
  }

  Status Produce(std::string_view topic, std::string_view key, std::string_view value,
                 const Headers& headers, DeliveryCallback callback, int32_t partition) override {
    return EnqueueWithCallback(View(topic, key, value, headers, partition), std::move(callback));
  }

  Status ProduceTagged(std::string_view topic, std::string_view key, std::string_view value,
                       const Headers& headers, uint64_t tag, int32_t partition) override {
    if (!options_.on_tagged_delivery) {
      return FailedPreconditionError("produce to " + std::string(topic) +
                                     ": a tagged record needs ProducerOptions::on_tagged_delivery");
    }
    if (tag > kMaxTag) {
      return InvalidArgumentError("produce to " + std::string(topic) + ": tag " +
                                  std::to_string(tag) + " is above the largest, 2^63 - 1");
    }
    return Enqueue(View(topic, key, value, headers, partition), TagOpaque(tag));
  }

  Status Flush(Ms timeout) override {
    auto deadline = clock_.Now() + timeout;
    std::unique_lock lock(mu_);
    Waiting waiting(*this, 0);
    while (in_flight_.load() > 0) {
      if (clock_.Now() >= deadline) {
        return DeadlineExceededError("flush: " + std::to_string(in_flight_.load()) +
                                     " records still awaiting delivery after " +
                                     std::to_string(timeout.count()) + " ms");
      }
      const Ms wait = std::min<Ms>(Ms(internal::RemainingMs(clock_, deadline)), Ms(50));
      if (options_.deliver_on_caller_thread) {
        lock.unlock();  // callbacks run inside the poll
        rd_kafka_poll(rk_.get(), static_cast<int>(wait.count()));
        lock.lock();
      } else {
        // Woken by deliveries while waiters_ > 0; the bounded wait re-checks the (injected) clock.
        cv_.wait_for(lock, wait);
      }
    }
    return Status::Ok();
  }

  int64_t InFlight() const override { return in_flight_.load(); }

  Status InitTransactions(Ms timeout) override {
    return StatusFromError(rd_kafka_init_transactions(rk_.get(), static_cast<int>(timeout.count())),
                           "init transactions");
  }

  Status BeginTransaction() override {
    return StatusFromError(rd_kafka_begin_transaction(rk_.get()), "begin transaction");
  }

  Status SendOffsetsToTransaction(const std::vector<PartitionOffset>& offsets,
                                  const GroupMetadata& group, Ms timeout) override {
    auto list = internal::ToPartitionList(offsets);
    return StatusFromError(
        rd_kafka_send_offsets_to_transaction(rk_.get(), list.get(), group.impl().metadata.get(),
                                             static_cast<int>(timeout.count())),
        "send offsets to transaction");
  }

  Status CommitTransaction(Ms timeout) override {
    auto deadline = clock_.Now() + timeout;
    // Flush first so librdkafka's own flush inside commit finds nothing to deliver and every
    // delivery callback still runs on the poll thread.
    RETURN_IF_ERROR(Flush(timeout).WithContext("commit transaction"));
    return StatusFromError(
        rd_kafka_commit_transaction(rk_.get(), internal::RemainingMs(clock_, deadline)),
        "commit transaction");
  }

  Status AbortTransaction(Ms timeout) override {
    return StatusFromError(rd_kafka_abort_transaction(rk_.get(), static_cast<int>(timeout.count())),
                           "abort transaction");
  }

 private:
  // Registers a waiter on cv_ for its lifetime; construct and destroy it with mu_ held. Release
  // notifies only once in_flight_ has fallen to `wake_at`, the highest of the waiters' marks.
  class Waiting {
   public:
    Waiting(ProducerImpl& p, int64_t wake_at) : p_(p) {
      p_.waiters_.fetch_add(1);
      if (wake_at > p_.wake_at_.load()) p_.wake_at_.store(wake_at);
    }
    ~Waiting() {
      if (p_.waiters_.fetch_sub(1) == 1) p_.wake_at_.store(0);
    }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    ProducerImpl& p_;
  };

  using CachedTopic = std::pair<const std::string, TopicHandle>;

  static RecordView View(std::string_view topic, std::string_view key, std::string_view value,
                         const Headers& headers, int32_t partition) {
    return {.topic = topic,
            .key = NonNull(key),
            .key_len = key.size(),
            .value = NonNull(value),
            .value_len = value.size(),
            .headers = &headers,
            .partition = partition};
  }

  // The cached handle for `topic`, created on first use; nullptr (the name is valid) past
  // max_cached_topics. The topic of the previous call is answered without the lock.
  Result<rd_kafka_topic_t*> Topic(std::string_view topic) {
    if (const CachedTopic* last = last_topic_.load(std::memory_order_acquire);
        last != nullptr && last->first == topic) {
      return last->second.get();
    }
    std::lock_guard lock(topics_mu_);
    auto it = topics_.find(topic);
    if (it == topics_.end()) {
      RETURN_IF_ERROR(internal::ValidateTopicName(topic).WithContext("produce"));
      if (topics_.size() >= options_.max_cached_topics) return nullptr;
      std::string name(topic);
      TopicHandle handle(rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr));
      if (handle == nullptr) {
        return StatusFromResp(rd_kafka_last_error(), "produce to " + name);
      }
      it = topics_.emplace(std::move(name), std::move(handle)).first;
    }
    // Map nodes stay put until the destructor, so the pointer stays valid.
    last_topic_.store(&*it, std::memory_order_release);
    return it->second.get();
  }

  Status EnqueueWithCallback(const RecordView& r, DeliveryCallback callback) {
    auto pending = callback ? std::make_unique<Pending>(Pending{std::move(callback)}) : nullptr;
    Status status = Enqueue(r, pending.get());
    if (status.ok()) pending.release();  // freed by the delivery callback
    return status;
  }

  // Enqueues `r` with `opaque` (see TagOpaque), which the delivery callback gets back.
  Status Enqueue(const RecordView& r, void* opaque) {
    if (has_fatal_.load(std::memory_order_acquire)) {
      std::lock_guard lock(mu_);
      return fatal_;
    }
    const std::string_view topic = r.topic;
    if (r.partition < kAnyPartition) {
      return InvalidArgumentError("produce to " + std::string(topic) + ": bad partition " +
                                  std::to_string(r.partition));
    }
    ASSIGN_OR_RETURN(rd_kafka_topic_t * rkt, Topic(topic));
    // Only past max_cached_topics (Topic() has validated the name).
    const std::string uncached_name = rkt == nullptr ? std::string(topic) : std::string();
    in_flight_.fetch_add(1);
    std::optional<Clock::TimePoint> deadline;  // read from the clock only once the queue is full
    for (;;) {
      HeadersHandle hdrs = r.headers->empty() ? nullptr : internal::ToRdHeaders(*r.headers);
      rd_kafka_vu_t vus[8];
      size_t n = 0;
      if (rkt != nullptr) {
        vus[n].vtype = RD_KAFKA_VTYPE_RKT;
        vus[n++].u.rkt = rkt;
      } else {
        vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
        vus[n++].u.cstr = uncached_name.c_str();
      }
      vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
      vus[n++].u.i32 = r.partition;
      vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
      vus[n++].u.i = RD_KAFKA_MSG_F_COPY;
      vus[n].vtype = RD_KAFKA_VTYPE_KEY;
      vus[n].u.mem.ptr = const_cast<char*>(r.key);
      vus[n++].u.mem.size = r.key_len;
      vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
      vus[n].u.mem.ptr = const_cast<char*>(r.value);
      vus[n++].u.mem.size = r.value_len;
      vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
      vus[n++].u.ptr = opaque;
      if (r.timestamp_ms != 0) {
        vus[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
        vus[n++].u.i64 = r.timestamp_ms;
      }
      if (hdrs != nullptr) {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vus[n++].u.headers = hdrs.get();
      }
      rd_kafka_error_t* error = rd_kafka_produceva(rk_.get(), vus, n);
      if (error == nullptr) {
        hdrs.release();  // owned by the message now
        // Serving reports after every 32nd record instead of every one saves a queue lock per
        // record; they wait at most 31 records longer.
        if (options_.deliver_on_caller_thread && (++produced_ & 31) == 0) {
          rd_kafka_poll(rk_.get(), 0);
        }
        return Status::Ok();
      }
      const bool full = rd_kafka_error_code(error) == RD_KAFKA_RESP_ERR__QUEUE_FULL;
      if (full && !deadline) deadline = clock_.Now() + options_.enqueue_timeout;
      if (!full || clock_.Now() >= *deadline) {
        Status status = StatusFromError(error, "produce to " + std::string(topic));
        if (status.code() == StatusCode::kResourceExhausted) {
          status = ResourceExhaustedError(
              status.message() + "; the local queue stayed full for " +
              std::to_string(options_.enqueue_timeout.count()) +
              " ms (queue.buffering.max.messages/kbytes): the broker is not keeping up or is "
              "unreachable");
        }
        Release();
        return status;
      }
      rd_kafka_error_destroy(error);
      if (options_.deliver_on_caller_thread) {
        rd_kafka_poll(rk_.get(), 10);  // serves deliveries, which make room
        continue;
      }
      // Back-pressure: wait until deliveries have freed a quarter of the records in flight (or
      // 10 ms, so the deadline is re-checked). Waking for every single delivery would make this
      // thread and the poll thread take turns for one record at a time.
      std::unique_lock lock(mu_);
      const int64_t in_flight = in_flight_.load();
      Waiting waiting(*this, in_flight - std::max<int64_t>(1, in_flight / 4));
      cv_.wait_for(lock, Ms(10));
    }
  }

  void Release() {
    const int64_t left = in_flight_.fetch_sub(1) - 1;
    // A waiter registers before reading in_flight_, and this reads waiters_ after writing
    // in_flight_ (all sequentially consistent), so one of the two sees the other: no lost wakeup.
    if (waiters_.load() > 0 && left <= wake_at_.load()) {
      { std::lock_guard lock(mu_); }  // a waiter between its check and its wait gets the notify
      cv_.notify_all();
    }
  }

  void PollLoop() {
    while (!stop_.load()) rd_kafka_poll(rk_.get(), 100);
  }

  void Shutdown() {
    if (rk_ == nullptr) return;
    Status flushed = Flush(options_.close_timeout);
    if (!flushed.ok()) {
      GetLogger("kafka")->warn("producer closing: {}; purging undelivered records",
                               flushed.message());
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      // Purged records get their (failed) delivery reports on the poll thread.
      (void)Flush(Ms(10000));
    }
    stop_.store(true);
    rd_kafka_yield(rk_.get());
    if (poll_thread_.joinable()) poll_thread_.join();
    rd_kafka_poll(rk_.get(), 0);  // anything that slipped in after the loop ended
    last_topic_.store(nullptr);
    topics_.clear();
    rk_.reset();
  }

  static void DeliveryCallbackTrampoline(rd_kafka_t* rk, const rd_kafka_message_t* m,
                                         void* opaque) {
    static_cast<ProducerImpl*>(opaque)->OnDelivery(rk, m);
  }

  void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m) {
    if (IsTag(m->_private)) {
      TaggedReport report;
      report.tag = TagOf(m->_private);
      report.topic = rd_kafka_topic_name(m->rkt);
      FillOutcome(rk, m, report);
      Invoke(options_.on_tagged_delivery, report);
    } else if (std::unique_ptr<Pending> pending(static_cast<Pending*>(m->_private));
               pending != nullptr && pending->callback) {
      DeliveryReport report;
      report.topic = rd_kafka_topic_name(m->rkt);
      FillOutcome(rk, m, report);
      Invoke(pending->callback, report);
    }
    Release();
  }

  // Sets a report's partition, offset, status and possibly_persisted from `m`; its topic is set.
  template <typename Report>
  static void FillOutcome(rd_kafka_t* rk, const rd_kafka_message_t* m, Report& report) {
    report.partition = m->partition;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      report.offset = m->offset;
      report.possibly_persisted = true;
      return;
    }
    std::string context = "deliver to " + std::string(report.topic);
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512] = {0};
      auto cause = rd_kafka_fatal_error(rk, buf, sizeof(buf));
      report.status = StatusFromKafkaError(cause, context, buf, {.fatal = true});
    } else {
      report.status = StatusFromResp(m->err, context);
    }
    report.possibly_persisted = rd_kafka_message_status(m) != RD_KAFKA_MSG_STATUS_NOT_PERSISTED;
  }

  // Runs a callback; what it throws is logged, never propagated into librdkafka.
  template <typename Callback, typename Report>
  static void Invoke(const Callback& callback, const Report& report) {
    try {
      callback(report);
    } catch (const std::exception& e) {
      GetLogger("kafka")->error("delivery callback threw: {}", e.what());
    } catch (...) {
      GetLogger("kafka")->error("delivery callback threw a non-std exception");
    }
  }

  static void ErrorCallbackTrampoline(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
    static_cast<ProducerImpl*>(opaque)->OnError(rk, err, reason);
  }

  void OnError(rd_kafka_t* rk, int err, const char* reason) {
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      char buf[512] = {0};
      auto cause = rd_kafka_fatal_error(rk, buf, sizeof(buf));
      Status status = StatusFromKafkaError(cause, "producer", buf, {.fatal = true});
      GetLogger("kafka")->error("{}", status.message());
      std::lock_guard lock(mu_);
      fatal_ = status;
      has_fatal_.store(true, std::memory_order_release);
      return;
    }
    // librdkafka logs the underlying failure itself (e.g. FAIL lines); only the summary that
    // no broker is reachable is worth a warning of its own.
    auto level =
        err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ? spdlog::level::warn : spdlog::level::debug;
    const char* name = rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err));
    LogWith(*GetLogger("kafka"), level, {{"event", "producer_error"}, {"kafka_error", name}},
            "producer: {} ({})", reason != nullptr ? reason : "", name);
  }

  const ProducerOptions options_;
  Clock& clock_;
  KafkaHandle rk_;
  std::thread poll_thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<int64_t> in_flight_{0};
  uint64_t produced_ = 0;  // deliver_on_caller_thread: records since start (one caller at a time)
  std::atomic<int> waiters_{0};      // threads waiting on cv_ (see Waiting)
  std::atomic<int64_t> wake_at_{0};  // notify them once in_flight_ is down to this
  std::atomic<bool> has_fatal_{false};
  Status fatal_;  // guarded by mu_
  std::mutex topics_mu_;
  std::map<std::string, TopicHandle, std::less<>> topics_;  // guarded by topics_mu_
  std::atomic<const CachedTopic*> last_topic_{nullptr};     // a node of topics_, or null
};

}  // namespace

Result<std::unique_ptr<Producer>> Producer::Create(const ProducerOptions& options) {
  auto producer = std::make_unique<ProducerImpl>(options);
  RETURN_IF_ERROR(producer->Init().WithContext("create Kafka producer"));
  return std::unique_ptr<Producer>(std::move(producer));
}

Result<DeliveryReport> Producer::ProduceSync(const ProducerRecord& record, Ms timeout) {
  auto promise = std::make_shared<std::promise<DeliveryReport>>();
  auto future = promise->get_future();
  RETURN_IF_ERROR(
      Produce(record, [promise](const DeliveryReport& report) { promise->set_value(report); }));
  if (future.wait_for(timeout) != std::future_status::ready) {
    return DeadlineExceededError("produce to " + record.topic + ": no delivery report within " +
                                 std::to_string(timeout.count()) + " ms");
  }
  DeliveryReport report = future.get();
  if (!report.status.ok()) return report.status;
  return report;
}

std::future<DeliveryReport> Producer::ProduceAsync(const ProducerRecord& record) {
  auto promise = std::make_shared<std::promise<DeliveryReport>>();
  auto future = promise->get_future();
  Status status =
      Produce(record, [promise](const DeliveryReport& report) { promise->set_value(report); });
  if (!status.ok()) {
    DeliveryReport report;
    report.status = status;
    report.topic = record.topic;
    report.partition = record.partition;
    promise->set_value(std::move(report));
  }
  return future;
}

}  // namespace sluice::kafka

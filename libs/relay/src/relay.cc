#include "sluice/relay/relay.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <condition_variable>
#include <deque>
#include <latch>
#include <map>
#include <mutex>
#include <random>
#include <regex>
#include <set>
#include <thread>
#include <unordered_map>

#include "relay_metrics.h"
#include "sluice/core/clock.h"
#include "sluice/core/logging.h"
#include "sluice/envelope/dlq.h"
#include "sluice/envelope/event.h"
#include "sluice/flow/aimd.h"
#include "sluice/flow/backoff.h"
#include "sluice/flow/batcher.h"
#include "sluice/flow/circuit_breaker.h"
#include "sluice/flow/concurrency_gate.h"
#include "sluice/flow/daily_budget.h"
#include "sluice/flow/key_scheduler.h"
#include "sluice/flow/offset_tracker.h"
#include "sluice/flow/share.h"
#include "sluice/flow/token_bucket.h"
#include "sluice/http/client.h"
#include "sluice/http/server.h"
#include "sluice/idempotency/group_commit.h"
#include "sluice/idempotency/retention.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"
#include "sluice/salesforce/auth.h"
#include "sluice/salesforce/client.h"
#include "sluice/salesforce/stats.h"

namespace sluice::relay {
namespace {

using Ms = std::chrono::milliseconds;
using salesforce::ErrorClass;

constexpr Ms kAdminTimeout{10'000};
constexpr Ms kDlqRetryDelay{1'000};
constexpr Ms kStoreRetryDelay{500};

bool HasHeader(const kafka::Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

// Adds `"field":"value"` to a compact JSON object unless it already has the key. The envelope
// library produced `fields_json`, so it is compact and its keys appear as `"key":` not preceded
// by a backslash (inside strings a quote is always escaped).
std::string WithField(const std::string& fields_json, const std::string& field,
                      const std::string& value) {
  const std::string needle = "\"" + field + "\":";
  for (size_t pos = fields_json.find(needle); pos != std::string::npos;
       pos = fields_json.find(needle, pos + 1)) {
    if (pos == 0 || fields_json[pos - 1] != '\\') return fields_json;
  }
  std::string out = fields_json.substr(0, fields_json.size() - 1);  // drop the closing brace
  if (out.size() > 1) out += ',';
  out += needle + "\"" + JsonEscape(value) + "\"}";
  return out;
}

}  // namespace

// One consumed record from intake to resolution.
struct Pending {
  uint64_t seq = 0;
  flow::PartitionId pid = 0;
  kafka::Message msg;
  envelope::Event event;
  bool valid = false;
  flow::BatchKey batch_key;
  std::string send_fields;    // fields_json as sent (with the event id field when configured)
  std::string send_external;  // external id as sent
  // In the key scheduler (from Add until Complete).
  bool in_scheduler = false;
  flow::EventId sched_id = 0;
  flow::Dispatch dispatch;  // the last dispatch, for backoff decisions
  int sends = 0;            // Salesforce calls that carried it
  int64_t first_attempt_ms = -1;
  int64_t last_attempt_ms = -1;
  // Set when its partition was revoked: results are still reported to the scheduler, but nothing
  // is resolved or retried.
  bool abandoned = false;
};

struct PartitionState {
  kafka::TopicPartition tp;
  flow::PartitionId id = 0;
  int64_t committed = -1;  // last committed next-offset
  int64_t busy = 0;        // Salesforce calls, DLQ produces and store commits in progress
  bool revoking = false;
};

// One Salesforce call to make.
struct OutBatch {
  flow::BatchKey key;
  std::vector<uint64_t> seqs;
};

class Relay::Impl final : public kafka::RebalanceListener {
 public:
  explicit Impl(const RelayOptions& options) : options_(options), clock_(RealClock()) {}
  ~Impl() override { StopServices(); }

  Status Init();
  Status Run(const ShutdownToken& shutdown);
  uint16_t http_port() const { return server_ ? server_->port() : 0; }

  // kafka::RebalanceListener (called inside consumer_->Poll on the engine thread).
  void OnAssigned(kafka::Consumer& consumer,
                  const std::vector<kafka::TopicPartition>& partitions) override;
  void OnRevoked(kafka::Consumer& consumer,
                 const std::vector<kafka::TopicPartition>& partitions) override;

 private:
  // --- engine steps (engine thread only) ---
  void Intake(std::vector<kafka::Message>& messages);
  // Parses every taken record's envelope into its Pending (engine thread and the parse pool at
  // once); statuses[i] is taken[i]'s parse result.
  void ParseAll(const std::vector<Pending*>& taken, std::vector<Status>* statuses);
  void Dispatch(Clock::TimePoint now);
  bool TrySend(OutBatch& batch);
  void Send(OutBatch batch, flow::Admission admission);
  void OnWriteResult(const OutBatch& batch, flow::Admission admission,
                     const salesforce::WriteResult& result, Clock::TimePoint sent_at);
  void OnDelivered(std::vector<uint64_t> seqs, std::vector<idempotency::Entry> entries);
  void DeadLetter(Pending& p, const std::string& error_class, const std::string& code,
                  const std::string& message);
  // omit_value: the value could not be written (too large for the DLQ topic); send the headers
  // and a sluice.value.omitted note so the reason still reaches operators.
  void ProduceDlq(uint64_t seq, envelope::DlqInfo info, bool omit_value = false);
  void Resolve(Pending& p);
  void Erase(uint64_t seq);
  void MaybeCommit(bool force, const std::vector<flow::PartitionId>* only = nullptr);
  void UpdatePause();
  void ProbeBudget();
  Ms PollTimeout(Clock::TimePoint now);
  void DrainCompletions();
  bool WaitIdle(Clock::TimePoint deadline, const std::set<flow::PartitionId>* only);
  void RecomputeShare();
  void EnsureDlqTopic(const std::string& source_topic);
  std::string DlqTopicFor(const std::string& topic) const;
  PartitionState* PartitionOf(flow::PartitionId pid);
  void Busy(flow::PartitionId pid, int64_t delta);
  void StopServices();
  void Post(std::function<void()> fn);
  void PostAfter(Ms delay, std::function<void()> fn);
  void LagLoop();
  void HandleHttp(const http::ServerRequest& request, http::Responder responder);

  const RelayOptions options_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  RelayMetrics metrics_;

  // Parts.
  std::unique_ptr<http::HttpClient> http_;
  salesforce::SalesforceStats sf_stats_;
  std::unique_ptr<salesforce::TokenProvider> tokens_;
  std::unique_ptr<salesforce::SalesforceClient> sf_;
  std::unique_ptr<kafka::Consumer> consumer_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<kafka::Admin> admin_;
  std::unique_ptr<idempotency::IdempotencyStore> store_;
  std::unique_ptr<idempotency::GroupCommitter> committer_;
  std::unique_ptr<idempotency::RetentionPurger> purger_;
  std::unique_ptr<flow::KeyScheduler> scheduler_;
  flow::OffsetTracker tracker_;
  std::unique_ptr<flow::Batcher<uint64_t>> batcher_;
  std::unique_ptr<flow::TokenBucket> request_bucket_;
  std::unique_ptr<flow::TokenBucket> record_bucket_;
  std::unique_ptr<flow::ConcurrencyGate> gate_;
  std::unique_ptr<flow::Aimd> aimd_;
  std::unique_ptr<flow::Backoff> backoff_;
  std::unique_ptr<flow::CircuitBreaker> breaker_;
  std::unique_ptr<flow::DailyBudgetGuard> budget_;
  std::unique_ptr<http::Server> server_;
  std::unique_ptr<boost::asio::thread_pool> parse_pool_;  // null when parse_threads is 0

  // Engine state.
  uint64_t next_seq_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Pending>> pending_;
  std::map<kafka::TopicPartition, PartitionState> partitions_;
  std::unordered_map<flow::PartitionId, kafka::TopicPartition> by_id_;
  flow::PartitionId next_pid_ = 1;
  std::deque<OutBatch> ready_;
  std::set<std::string> dlq_ready_;  // DLQ topics known to exist
  std::map<std::string, int> topic_partitions_;
  bool paused_ = false;
  bool shutting_down_ = false;
  int64_t in_flight_calls_ = 0;
  int64_t other_ops_ = 0;  // DLQ produces and store commits in progress (and delayed retries)
  // Delivered events whose store write has not committed yet. A crash re-sends them (as upserts
  // of the same records), so dispatch stops while there are too many: the window stays bounded.
  int64_t unstored_ = 0;
  Clock::TimePoint last_commit_;
  bool budget_probe_out_ = false;
  int64_t known_api_max_ = 0;

  // Completions posted by other threads.
  std::mutex cq_mu_;
  std::condition_variable cq_cv_;
  std::vector<std::function<void()>> cq_;
  std::multimap<Clock::TimePoint, std::function<void()>> timers_;  // engine thread only

  // Shared with the HTTP and lag threads.
  std::atomic<int64_t> last_loop_ms_{0};
  std::atomic<bool> ready_flag_{false};
  std::mutex lag_mu_;
  std::vector<std::string> lag_topics_;
  std::condition_variable lag_cv_;
  bool lag_stop_ = false;
  std::thread lag_thread_;
  bool stopped_ = false;
};

Status Relay::Impl::Init() {
  log_ = GetLogger("relay");
  RETURN_IF_ERROR(metrics_.Register(&sf_stats_));

  // Salesforce.
  http::HttpClientOptions http_options;
  http_options.request_timeout = options_.request_timeout;
  http_options.max_host_connections =
      static_cast<int>(std::max<int64_t>(options_.max_in_flight, 4));
  http_options.ca_file = options_.ca_file;
  ASSIGN_OR_RETURN(http_, http::HttpClient::Create(http_options));
  ASSIGN_OR_RETURN(tokens_,
                   salesforce::TokenProvider::Create(options_.auth, *http_, clock_, &sf_stats_));
  salesforce::SalesforceClientOptions sf_options;
  sf_options.api_version = options_.api_version;
  sf_options.request_timeout = options_.request_timeout;
  sf_options.max_batch_records = options_.max_records;
  ASSIGN_OR_RETURN(sf_,
                   salesforce::SalesforceClient::Create(sf_options, *http_, *tokens_, &sf_stats_));

  // Kafka.
  kafka::ConsumerOptions consumer_options;
  consumer_options.bootstrap = options_.bootstrap;
  consumer_options.group_id = options_.group_id;
  consumer_options.properties = options_.kafka_properties;
  // Bound librdkafka's prefetch so memory follows max_buffered_events, not the backlog.
  consumer_options.properties.emplace("queued.max.messages.kbytes", "16384");
  consumer_options.listener = this;
  ASSIGN_OR_RETURN(consumer_, kafka::Consumer::Create(consumer_options));
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap = options_.bootstrap;
  producer_options.properties = options_.kafka_properties;
  // Whatever the source topic took must fit into the DLQ (the broker's own cap still applies).
  producer_options.properties.emplace("message.max.bytes", "16777216");
  ASSIGN_OR_RETURN(producer_, kafka::Producer::Create(producer_options));
  ASSIGN_OR_RETURN(
      admin_, kafka::Admin::Create(kafka::AdminOptions{.bootstrap = options_.bootstrap,
                                                       .properties = options_.kafka_properties}));

  // Idempotency.
  if (options_.idempotency_enabled) {
    idempotency::SqliteStoreOptions store_options;
    store_options.path = options_.idempotency_path;
    store_options.cache_size_kib = 8 * 1024;
    store_options.max_staged_rows = options_.idempotency_max_staged_rows;
    ASSIGN_OR_RETURN(store_, idempotency::OpenSqliteStore(store_options));
    ASSIGN_OR_RETURN(committer_, idempotency::GroupCommitter::Start(store_.get()));
    idempotency::RetentionOptions retention;
    retention.retention = options_.idempotency_retention;
    ASSIGN_OR_RETURN(purger_, idempotency::RetentionPurger::Start(store_.get(), retention));
  }

  // Flow.
  ASSIGN_OR_RETURN(scheduler_, flow::KeyScheduler::Create(flow::KeySchedulerOptions{
                                   .max_buffered = options_.max_buffered_events}));
  ASSIGN_OR_RETURN(batcher_, flow::Batcher<uint64_t>::Create(flow::BatcherOptions{
                                 .max_records = options_.max_records, .linger = options_.linger}));
  // Small bursts: a long-idle relay must not fire a whole second's worth of requests at once.
  ASSIGN_OR_RETURN(
      request_bucket_,
      flow::TokenBucket::Create(
          flow::TokenBucketOptions{.rate_per_second = options_.requests_per_second,
                                   .burst = std::max(1.0, options_.requests_per_second / 20.0)},
          clock_));
  ASSIGN_OR_RETURN(record_bucket_,
                   flow::TokenBucket::Create(
                       flow::TokenBucketOptions{
                           .rate_per_second = options_.records_per_second,
                           .burst = std::max<double>(static_cast<double>(options_.max_records),
                                                     options_.records_per_second / 20.0)},
                       clock_));
  ASSIGN_OR_RETURN(gate_, flow::ConcurrencyGate::Create(
                              flow::ConcurrencyGateOptions{.limit = options_.max_in_flight}));
  ASSIGN_OR_RETURN(aimd_, flow::Aimd::Create(
                              flow::AimdOptions{.ceiling = options_.requests_per_second}, clock_));
  std::random_device rd;
  ASSIGN_OR_RETURN(backoff_, flow::Backoff::Create(options_.retry, flow::SeededUniform(rd())));
  ASSIGN_OR_RETURN(
      breaker_, flow::CircuitBreaker::Create(options_.circuit, clock_, flow::SeededUniform(rd())));
  breaker_->SetListener([this](const flow::BreakerTransition& t) {
    // Runs on the engine thread: breaker calls are made there.
    log_->warn(
        "circuit {} -> {}{}", flow::BreakerStateName(t.from), flow::BreakerStateName(t.to),
        t.to == flow::BreakerState::kOpen
            ? fmt::format(" for {} ms (opening #{})",
                          std::chrono::duration_cast<Ms>(t.open_for).count(), t.consecutive_opens)
            : std::string());
    metrics_.circuit_transitions->Increment();
  });
  ASSIGN_OR_RETURN(budget_,
                   flow::DailyBudgetGuard::Create(
                       flow::DailyBudgetOptions{.reserve = options_.budget_reserve}, clock_));
  metrics_.BindFlow(request_bucket_.get(), record_bucket_.get(), gate_.get(), breaker_.get(),
                    aimd_.get());

  // HTTP: /metrics, /healthz, /readyz.
  if (options_.parse_threads > 0) {
    parse_pool_ =
        std::make_unique<boost::asio::thread_pool>(static_cast<size_t>(options_.parse_threads));
  }
  http::ServerOptions server_options;
  server_options.host = options_.http_host;
  server_options.port = options_.http_port;
  ASSIGN_OR_RETURN(server_,
                   http::Server::Start(server_options, [this](const http::ServerRequest& request,
                                                              http::Responder responder) {
                     HandleHttp(request, std::move(responder));
                   }));
  lag_thread_ = std::thread([this] { LagLoop(); });
  return Status::Ok();
}

void Relay::Impl::HandleHttp(const http::ServerRequest& request, http::Responder responder) {
  http::ServerResponse response;
  response.headers.Set("Content-Type", "text/plain; charset=utf-8");
  if (request.path == "/metrics") {
    response.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.body = metrics_.registry.RenderPrometheus();
  } else if (request.path == "/healthz") {
    // Alive while the engine loop turns (it turns at least every 100 ms unless blocked).
    const int64_t age = clock_.WallMillis() - last_loop_ms_.load();
    response.status = age < 30'000 ? 200 : 503;
    response.body = age < 30'000 ? "ok\n" : "engine loop stalled\n";
  } else if (request.path == "/readyz") {
    response.status = ready_flag_.load() ? 200 : 503;
    response.body = ready_flag_.load() ? "ready\n" : "not ready\n";
  } else {
    response.status = 404;
    response.body = "not found\n";
  }
  responder.Send(std::move(response));
}

void Relay::Impl::LagLoop() {
  std::unique_lock lock(lag_mu_);
  while (!lag_stop_) {
    std::vector<std::string> topics = lag_topics_;
    lock.unlock();
    for (const auto& topic : topics) {
      auto lag = admin_->Lag(options_.group_id, topic, Ms(5'000));
      if (lag.ok()) metrics_.SetLag(topic, *lag);
    }
    lock.lock();
    lag_cv_.wait_for(lock, std::chrono::seconds(5), [this] { return lag_stop_; });
  }
}

void Relay::Impl::Post(std::function<void()> fn) {
  {
    std::lock_guard lock(cq_mu_);
    cq_.push_back(std::move(fn));
  }
  cq_cv_.notify_one();
}

void Relay::Impl::PostAfter(Ms delay, std::function<void()> fn) {
  timers_.emplace(clock_.Now() + delay, std::move(fn));
}

void Relay::Impl::DrainCompletions() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard lock(cq_mu_);
    batch.swap(cq_);
  }
  for (auto& fn : batch) fn();
  const auto now = clock_.Now();
  while (!timers_.empty() && timers_.begin()->first <= now) {
    auto fn = std::move(timers_.begin()->second);
    timers_.erase(timers_.begin());
    fn();
  }
}

PartitionState* Relay::Impl::PartitionOf(flow::PartitionId pid) {
  auto it = by_id_.find(pid);
  if (it == by_id_.end()) return nullptr;
  auto ps = partitions_.find(it->second);
  return ps == partitions_.end() ? nullptr : &ps->second;
}

void Relay::Impl::Busy(flow::PartitionId pid, int64_t delta) {
  if (auto* ps = PartitionOf(pid)) ps->busy += delta;
}

std::string Relay::Impl::DlqTopicFor(const std::string& topic) const {
  auto it = options_.dlq_topics.find(topic);
  return it != options_.dlq_topics.end() ? it->second : topic + options_.dlq_suffix;
}

void Relay::Impl::EnsureDlqTopic(const std::string& source_topic) {
  const std::string dlq = DlqTopicFor(source_topic);
  if (dlq_ready_.count(dlq) > 0) return;
  auto existing = admin_->PartitionCount(dlq, kAdminTimeout);
  if (existing.ok()) {
    dlq_ready_.insert(dlq);
    return;
  }
  if (!options_.dlq_create_missing) {
    log_->error(
        "DLQ topic {} does not exist and dlq.create_missing is false: dead letters for {} "
        "will wait until it exists",
        dlq, source_topic);
    return;
  }
  int partitions = 1;
  if (auto n = admin_->PartitionCount(source_topic, kAdminTimeout); n.ok()) partitions = *n;
  Status s = admin_->CreateTopic(kafka::TopicSpec(dlq, partitions), kAdminTimeout);
  if (s.ok() || s.code() == StatusCode::kAlreadyExists) {
    log_->info("DLQ topic {} ready ({} partitions)", dlq, partitions);
    dlq_ready_.insert(dlq);
  } else {
    log_->error("could not create DLQ topic {}: {}", dlq, s.ToString());
  }
}

void Relay::Impl::OnAssigned(kafka::Consumer&, const std::vector<kafka::TopicPartition>& parts) {
  for (const auto& tp : parts) {
    PartitionState ps;
    ps.tp = tp;
    ps.id = next_pid_++;
    by_id_[ps.id] = tp;
    partitions_[tp] = ps;
    EnsureDlqTopic(tp.topic);
  }
  log_->info("assigned {} partitions (now {})", parts.size(), partitions_.size());
  if (paused_ && !parts.empty()) (void)consumer_->Pause(parts);
  RecomputeShare();
  std::lock_guard lock(lag_mu_);
  lag_topics_.clear();
  for (const auto& [tp, ps] : partitions_) {
    if (lag_topics_.empty() || lag_topics_.back() != tp.topic) lag_topics_.push_back(tp.topic);
  }
}

void Relay::Impl::OnRevoked(kafka::Consumer&, const std::vector<kafka::TopicPartition>& parts) {
  std::set<flow::PartitionId> revoked;
  for (const auto& tp : parts) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) continue;
    it->second.revoking = true;
    revoked.insert(it->second.id);
  }
  if (revoked.empty()) return;
  // Not yet sent: batches waiting for a gate, and items still in the batcher. Give them back.
  auto abandon = [&](uint64_t seq) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) return false;
    if (revoked.count(it->second->pid) == 0) return false;
    if (it->second->in_scheduler) (void)scheduler_->Complete(it->second->sched_id);
    it->second->in_scheduler = false;
    Erase(seq);
    return true;
  };
  for (auto& batch : ready_) {
    std::erase_if(batch.seqs, abandon);
  }
  std::erase_if(ready_, [](const OutBatch& b) { return b.seqs.empty(); });
  const auto now = clock_.Now();
  for (auto& batch : batcher_->TakeAll()) {
    for (uint64_t seq : batch.items) {
      if (!abandon(seq)) batcher_->Add(batch.key, seq, now);
    }
  }
  // Queued in the scheduler: drop.
  for (flow::PartitionId pid : revoked) {
    for (const auto& d : scheduler_->Drop(pid)) {
      if (d.in_flight) continue;  // reported later by its Salesforce call
      auto it = pending_.find(d.payload);
      if (it != pending_.end()) {
        it->second->in_scheduler = false;
        Erase(d.payload);
      }
    }
  }
  // In progress (Salesforce calls, DLQ acks, store commits): finish within the revoke deadline.
  const bool idle = WaitIdle(clock_.Now() + options_.revoke_deadline, &revoked);
  std::vector<flow::PartitionId> ids(revoked.begin(), revoked.end());
  MaybeCommit(true, &ids);
  size_t abandoned = 0;
  for (auto& [seq, p] : pending_) {
    if (revoked.count(p->pid) > 0) {
      p->abandoned = true;
      ++abandoned;
    }
  }
  for (const auto& tp : parts) {
    auto it = partitions_.find(tp);
    if (it == partitions_.end()) continue;
    tracker_.Reset(it->second.id);
    by_id_.erase(it->second.id);
    partitions_.erase(it);
  }
  log_->info(
      "revoked {} partitions (now {}){}", parts.size(), partitions_.size(),
      idle ? std::string()
           : fmt::format("; {} events still in progress were abandoned uncommitted", abandoned));
  RecomputeShare();
}

void Relay::Impl::RecomputeShare() {
  int64_t assigned = static_cast<int64_t>(partitions_.size());
  int64_t total = 0;
  std::set<std::string> counted;
  auto count_topic = [&](const std::string& topic) {
    if (!counted.insert(topic).second) return;
    auto it = topic_partitions_.find(topic);
    if (it == topic_partitions_.end()) {
      auto n = admin_->PartitionCount(topic, kAdminTimeout);
      if (!n.ok()) return;
      it = topic_partitions_.emplace(topic, *n).first;
    }
    total += it->second;
  };
  for (const auto& t : options_.topics) {
    if (!t.empty() && t[0] == '^') {
      auto topics = admin_->ListTopics(kAdminTimeout);
      if (!topics.ok()) continue;
      try {
        std::regex re(t.substr(1));
        for (const auto& info : *topics) {
          if (std::regex_search(info.name, re) &&
              info.name.find(options_.dlq_suffix) == std::string::npos) {
            topic_partitions_[info.name] = info.partitions;
            count_topic(info.name);
          }
        }
      } catch (const std::regex_error&) {
      }
    } else {
      count_topic(t);
    }
  }
  for (const auto& [tp, ps] : partitions_) count_topic(tp.topic);
  if (assigned == 0 || total < assigned) total = std::max<int64_t>(assigned, 1);
  const double rps = flow::ScaleForShare(options_.requests_per_second, assigned, total)
                         .value_or(options_.requests_per_second);
  const double recs = flow::ScaleForShare(options_.records_per_second, assigned, total)
                          .value_or(options_.records_per_second);
  const int64_t inflight = flow::ScaleCountForShare(options_.max_in_flight, assigned, total)
                               .value_or(options_.max_in_flight);
  if (assigned > 0) {
    (void)aimd_->SetCeiling(rps);
    (void)request_bucket_->SetRate(aimd_->value(), std::max(1.0, rps / 20.0));
    (void)record_bucket_->SetRate(
        recs, std::max<double>(static_cast<double>(options_.max_records), recs / 20.0));
    (void)gate_->SetLimit(std::max<int64_t>(inflight, 1));
  }
  log_->info("share: {}/{} partitions -> {:.1f} requests/s, {:.0f} records/s, {} in flight",
             assigned, total, rps, recs, inflight);
}

void Relay::Impl::ParseAll(const std::vector<Pending*>& taken, std::vector<Status>* statuses) {
  statuses->assign(taken.size(), Status::Ok());
  envelope::EnvelopeOptions envelope_options;
  envelope_options.max_bytes = options_.envelope_max_bytes;
  auto parse_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Pending& p = *taken[i];
      if (p.msg.value_is_null) {
        (*statuses)[i] =
            InvalidArgumentError("invalid_envelope/not_json: : the record has no value");
        continue;
      }
      Result<envelope::Event> event =
          envelope::ParseEvent(p.msg.value, p.msg.headers, envelope_options);
      if (event.ok()) {
        p.event = std::move(event).value();
      } else {
        (*statuses)[i] = event.status();
      }
    }
  };
  // Below this many records a hand-off to the pool costs more than it saves.
  constexpr size_t kMinParallel = 64;
  const size_t workers = parse_pool_ ? static_cast<size_t>(options_.parse_threads) : 0;
  if (workers == 0 || taken.size() < kMinParallel) {
    parse_range(0, taken.size());
    return;
  }
  // Contiguous shares, the engine thread taking the first; each Pending is touched by one thread.
  const size_t shares = std::min(workers + 1, taken.size() / (kMinParallel / 2));
  const size_t per = (taken.size() + shares - 1) / shares;
  std::latch done(static_cast<std::ptrdiff_t>(shares - 1));
  for (size_t s = 1; s < shares; ++s) {
    const size_t begin = std::min(taken.size(), s * per);
    const size_t end = std::min(taken.size(), begin + per);
    boost::asio::post(*parse_pool_, [&parse_range, &done, begin, end] {
      parse_range(begin, end);
      done.count_down();
    });
  }
  parse_range(0, std::min(taken.size(), per));
  done.wait();
}

void Relay::Impl::Intake(std::vector<kafka::Message>& messages) {
  std::vector<Pending*> taken;
  taken.reserve(messages.size());
  for (auto& msg : messages) {
    if (msg.is_error()) {
      metrics_.kafka_errors->Increment();
      log_->warn("kafka: {}", msg.error.ToString());
      continue;
    }
    auto ps_it = partitions_.find(kafka::TopicPartition{msg.topic, msg.partition});
    if (ps_it == partitions_.end() || ps_it->second.revoking) continue;  // not ours (any more)
    metrics_.consumed->Increment();
    auto p = std::make_unique<Pending>();
    p->seq = next_seq_++;
    p->pid = ps_it->second.id;
    p->msg = std::move(msg);
    if (Status s = tracker_.Track(p->pid, p->msg.offset); !s.ok()) {
      // A rewind (seek after an error): the first occurrence is still being handled.
      log_->warn("skipping {}[{}]@{}: {}", p->msg.topic, p->msg.partition, p->msg.offset,
                 s.ToString());
      continue;
    }
    taken.push_back(p.get());
    pending_.emplace(p->seq, std::move(p));
  }

  std::vector<Status> parsed;
  ParseAll(taken, &parsed);
  std::vector<Pending*> to_check;
  std::vector<std::string> ids;
  for (size_t i = 0; i < taken.size(); ++i) {
    Pending& ref = *taken[i];
    if (!parsed[i].ok()) {
      auto err = envelope::GetEnvelopeError(parsed[i]);
      DeadLetter(ref, envelope::kInvalidEnvelope, err ? err->code : envelope::kCodeSchema,
                 err ? err->message : parsed[i].message());
      continue;
    }
    ref.valid = true;
    to_check.push_back(&ref);
    ids.push_back(ref.event.event_id);
  }
  if (to_check.empty()) return;

  std::vector<std::optional<idempotency::Resolution>> seen(to_check.size());
  if (store_) {
    auto checked = store_->CheckBatch(ids);
    if (checked.ok()) {
      seen = std::move(checked).value();
    } else {
      // Cannot tell: send anyway. Salesforce upserts keep a resend harmless.
      log_->warn("idempotency check failed: {}", checked.status().ToString());
    }
  }
  const auto now = clock_.Now();
  for (size_t i = 0; i < to_check.size(); ++i) {
    Pending& p = *to_check[i];
    if (seen[i] && (seen[i]->outcome == idempotency::Outcome::kDelivered ||
                    !HasHeader(p.msg.headers, envelope::kHeaderReplayCount))) {
      metrics_.skipped->Increment();
      Resolve(p);
      continue;
    }
    const envelope::Event& e = p.event;
    switch (e.operation) {
      case envelope::Operation::kUpsert:
        p.batch_key = {e.sobject, "upsert", e.external_id_field};
        p.send_external = e.external_id;
        break;
      case envelope::Operation::kCreate:
        if (!options_.event_id_field.empty()) {
          // A create becomes an upsert on the event id: Salesforce applies it once.
          p.batch_key = {e.sobject, "upsert", options_.event_id_field};
          p.send_external = e.event_id;
        } else {
          p.batch_key = {e.sobject, "create", ""};
        }
        break;
      case envelope::Operation::kPublish:
        // Platform events go one per call through their own endpoint.
        p.batch_key = {e.sobject, "publish", e.event_id};
        break;
    }
    // One copy of the fields per event: memory per buffered event is what bounds the relay.
    if (options_.event_id_field.empty() || e.operation == envelope::Operation::kPublish) {
      p.send_fields = std::move(p.event.fields_json);
    } else {
      p.send_fields = WithField(e.fields_json, options_.event_id_field, e.event_id);
    }
    std::string().swap(p.event.fields_json);
    std::optional<std::string_view> key;
    if (!p.msg.key_is_null) key = p.msg.key;
    auto id = scheduler_->Add(p.pid, p.msg.offset, key, p.seq);
    if (!id.ok()) {
      DeadLetter(p, envelope::kInvalidEnvelope, "key_too_long", id.status().message());
      continue;
    }
    p.sched_id = *id;
    p.in_scheduler = true;
  }
  (void)now;
}

void Relay::Impl::Dispatch(Clock::TimePoint now) {
  if (shutting_down_) return;
  // Feed the batcher with what the scheduler says is ready, but only about as much as the gates
  // could send soon: events taken here hold their key until sent.
  const size_t room_records =
      static_cast<size_t>(std::max<int64_t>(gate_->limit(), 1)) * options_.max_records * 2;
  size_t queued = batcher_->pending();
  for (const auto& b : ready_) queued += b.seqs.size();
  if (queued < room_records) {
    for (const auto& d : scheduler_->NextReady(now, room_records - queued)) {
      auto it = pending_.find(d.payload);
      if (it == pending_.end()) continue;
      it->second->dispatch = d;
      batcher_->Add(it->second->batch_key, d.payload, now);
    }
  }
  for (auto& batch : batcher_->TakeDue(now)) {
    ready_.push_back(OutBatch{batch.key, std::move(batch.items)});
  }
  while (!ready_.empty()) {
    if (!TrySend(ready_.front())) break;
    ready_.pop_front();
  }
}

bool Relay::Impl::TrySend(OutBatch& batch) {
  if (unstored_ >= gate_->limit() * static_cast<int64_t>(options_.max_records)) return false;
  if (!budget_->Allow()) {
    ProbeBudget();
    return false;
  }
  if (breaker_->state() == flow::BreakerState::kOpen &&
      breaker_->RemainingOpen() > Clock::Duration::zero()) {
    return false;
  }
  if (!gate_->TryAcquire()) return false;
  if (!request_bucket_->TryAcquire(1)) {
    (void)gate_->Release();
    return false;
  }
  const int64_t n = static_cast<int64_t>(batch.seqs.size());
  if (!record_bucket_->TryAcquire(n)) {
    request_bucket_->Refund(1);
    (void)gate_->Release();
    return false;
  }
  const flow::Admission admission = breaker_->Admit();
  if (admission == flow::Admission::kRejected) {
    record_bucket_->Refund(n);
    request_bucket_->Refund(1);
    (void)gate_->Release();
    return false;
  }
  if (admission == flow::Admission::kProbe) log_->info("circuit half-open: sending one probe");
  Send(std::move(batch), admission);
  return true;
}

void Relay::Impl::Send(OutBatch batch, flow::Admission admission) {
  const int64_t wall = clock_.WallMillis();
  std::vector<salesforce::RecordInput> inputs;
  inputs.reserve(batch.seqs.size());
  for (uint64_t seq : batch.seqs) {
    Pending& p = *pending_.at(seq);
    ++p.sends;
    if (p.first_attempt_ms < 0) p.first_attempt_ms = wall;
    p.last_attempt_ms = wall;
    Busy(p.pid, 1);
    inputs.push_back(salesforce::RecordInput{p.send_fields, p.send_external});
  }
  ++in_flight_calls_;
  metrics_.requests_sent->Increment();
  const auto sent_at = clock_.Now();
  auto shared = std::make_shared<OutBatch>(std::move(batch));
  auto done = [this, shared, admission, sent_at](salesforce::WriteResult result) {
    Post([this, shared, admission, sent_at, r = std::move(result)] {
      OnWriteResult(*shared, admission, r, sent_at);
    });
  };
  const flow::BatchKey& key = shared->key;
  if (key.operation == "upsert") {
    sf_->UpsertCollection(key.sobject, key.external_id_field, inputs, std::move(done));
  } else if (key.operation == "create") {
    sf_->CreateCollection(key.sobject, inputs, std::move(done));
  } else {
    sf_->Publish(key.sobject, inputs.front().fields_json, std::move(done));
  }
}

void Relay::Impl::OnWriteResult(const OutBatch& batch, flow::Admission admission,
                                const salesforce::WriteResult& result, Clock::TimePoint sent_at) {
  --in_flight_calls_;
  (void)gate_->Release();
  const auto now = clock_.Now();
  metrics_.call_latency->Record(
      static_cast<uint64_t>(std::chrono::duration_cast<Ms>(now - sent_at).count()));
  if (result.limit_info) {
    known_api_max_ = result.limit_info->api_max;
    (void)budget_->Observe(result.limit_info->api_used, result.limit_info->api_max);
  }
  for (uint64_t seq : batch.seqs) {
    if (auto it = pending_.find(seq); it != pending_.end()) Busy(it->second->pid, -1);
  }
  // Every record goes back to its key without an attempt charged.
  auto requeue_all = [&] {
    for (uint64_t seq : batch.seqs) {
      auto it = pending_.find(seq);
      if (it == pending_.end() || !it->second->in_scheduler) continue;
      Pending& p = *it->second;
      if (p.abandoned) {
        (void)scheduler_->Complete(p.sched_id);
        p.in_scheduler = false;
        Erase(seq);
      } else {
        (void)scheduler_->Requeue(p.sched_id, now);
      }
    }
  };
  if (result.request_error) {
    const salesforce::SfError& err = *result.request_error;
    metrics_.CountRequest(err.error_class);
    switch (err.error_class) {
      case ErrorClass::kRetryableOrg:
        breaker_->OnFailure(admission, flow::FailureKind::kOrgWide);
        if (aimd_->OnPressure()) (void)request_bucket_->SetRate(aimd_->value());
        log_->debug("org-wide failure {}: {}", err.code, err.message);
        requeue_all();
        return;
      case ErrorClass::kBudgetExhausted:
        if (!result.limit_info) {
          const int64_t max = std::max<int64_t>(known_api_max_, 1);
          (void)budget_->Observe(max, max);
        }
        breaker_->OnSuccess(admission);  // the org answered; the budget guard pauses us
        log_->warn("daily API allocation exhausted ({}): pausing until it returns", err.message);
        requeue_all();
        return;
      case ErrorClass::kAuth:
        breaker_->OnFailure(admission, flow::FailureKind::kHard);
        log_->error("authentication failed after a token refresh: {} {}", err.code, err.message);
        requeue_all();
        return;
      default:
        breaker_->OnSuccess(admission);
        break;  // per record below (the records carry the error)
    }
  } else {
    breaker_->OnSuccess(admission);
    metrics_.CountRequest(ErrorClass::kNone);
    if (aimd_->OnSuccess()) (void)request_bucket_->SetRate(aimd_->value());
  }

  std::vector<uint64_t> delivered;
  std::vector<idempotency::Entry> entries;
  for (size_t i = 0; i < batch.seqs.size(); ++i) {
    auto it = pending_.find(batch.seqs[i]);
    if (it == pending_.end()) continue;
    Pending& p = *it->second;
    const salesforce::RecordResult* r = i < result.records.size() ? &result.records[i] : nullptr;
    if (r != nullptr && r->success) {
      if (p.in_scheduler) {
        (void)scheduler_->Complete(p.sched_id);
        p.in_scheduler = false;
      }
      metrics_.delivered->Increment();
      if (p.msg.timestamp_ms > 0) {
        metrics_.delivery_latency->Record(
            static_cast<uint64_t>(std::max<int64_t>(0, clock_.WallMillis() - p.msg.timestamp_ms)));
      }
      delivered.push_back(p.seq);
      entries.push_back(idempotency::Entry{p.event.event_id, idempotency::Outcome::kDelivered,
                                           r->id.substr(0, 64), 0});
      continue;
    }
    const salesforce::SfError err = r != nullptr ? r->error
                                                 : salesforce::SfError{ErrorClass::kRetryableRecord,
                                                                       "RESULT_MISSING",
                                                                       "no result for this record",
                                                                       {},
                                                                       result.http_status};
    if (p.abandoned) {
      if (p.in_scheduler) (void)scheduler_->Complete(p.sched_id);
      p.in_scheduler = false;
      Erase(p.seq);
      continue;
    }
    switch (err.error_class) {
      case ErrorClass::kPermanent:
        DeadLetter(p, envelope::kClassPermanent, err.code, err.message);
        break;
      case ErrorClass::kRetryableRecord: {
        auto decision = backoff_->Next(p.dispatch.attempt, p.dispatch.first_attempt, now);
        if (decision.retry()) {
          metrics_.retries->Increment();
          (void)scheduler_->Retry(p.sched_id, now + decision.delay);
        } else {
          DeadLetter(p, envelope::kClassRetryExhausted, err.code,
                     fmt::format("{} (after {} attempts)", err.message, p.sends));
        }
        break;
      }
      default:  // org-wide classes on a single record: not the record's fault
        (void)scheduler_->Requeue(p.sched_id, now);
        break;
    }
  }
  if (!delivered.empty()) OnDelivered(std::move(delivered), std::move(entries));
}

void Relay::Impl::OnDelivered(std::vector<uint64_t> seqs, std::vector<idempotency::Entry> entries) {
  if (!committer_) {
    for (uint64_t seq : seqs) {
      if (auto it = pending_.find(seq); it != pending_.end()) Resolve(*it->second);
    }
    return;
  }
  for (uint64_t seq : seqs) {
    if (auto it = pending_.find(seq); it != pending_.end()) Busy(it->second->pid, 1);
  }
  ++other_ops_;
  unstored_ += static_cast<int64_t>(seqs.size());
  auto shared_seqs = std::make_shared<std::vector<uint64_t>>(std::move(seqs));
  auto shared_entries = std::make_shared<std::vector<idempotency::Entry>>(entries);
  committer_->Enqueue(std::move(entries), [this, shared_seqs, shared_entries](const Status& s) {
    Post([this, shared_seqs, shared_entries, s] {
      --other_ops_;
      unstored_ -= static_cast<int64_t>(shared_seqs->size());
      for (uint64_t seq : *shared_seqs) {
        if (auto it = pending_.find(seq); it != pending_.end()) Busy(it->second->pid, -1);
      }
      if (!s.ok()) {
        // Delivered but not yet recorded: the offset must not pass it. Record again shortly.
        metrics_.store_errors->Increment();
        log_->error("idempotency store write failed ({}); retrying", s.ToString());
        ++other_ops_;
        PostAfter(kStoreRetryDelay, [this, shared_seqs, shared_entries] {
          --other_ops_;
          OnDelivered(*shared_seqs, *shared_entries);
        });
        return;
      }
      for (uint64_t seq : *shared_seqs) {
        if (auto it = pending_.find(seq); it != pending_.end()) Resolve(*it->second);
      }
    });
  });
}

void Relay::Impl::DeadLetter(Pending& p, const std::string& error_class, const std::string& code,
                             const std::string& message) {
  envelope::DlqInfo info;
  info.error_class = error_class;
  info.error_code = code;
  info.error_message = message;
  info.attempts = p.sends;
  info.first_attempt_ms = p.first_attempt_ms;
  info.last_attempt_ms = p.last_attempt_ms;
  info.source_topic = p.msg.topic;
  info.source_partition = p.msg.partition;
  info.source_offset = p.msg.offset;
  info.source_timestamp_ms = p.msg.timestamp_ms;
  info.relay_instance = options_.instance_id;
  log_->debug("dead-lettering {}[{}]@{}: {}/{}", p.msg.topic, p.msg.partition, p.msg.offset,
              error_class, code);
  ProduceDlq(p.seq, std::move(info));
}

void Relay::Impl::ProduceDlq(uint64_t seq, envelope::DlqInfo info, bool omit_value) {
  auto it = pending_.find(seq);
  if (it == pending_.end()) return;
  Pending& p = *it->second;
  if (p.abandoned) {
    if (p.in_scheduler) (void)scheduler_->Complete(p.sched_id);
    p.in_scheduler = false;
    Erase(seq);
    return;
  }
  const std::string topic = DlqTopicFor(p.msg.topic);
  if (dlq_ready_.count(topic) == 0) EnsureDlqTopic(p.msg.topic);
  kafka::Headers headers = envelope::MakeDlqHeaders(p.msg.headers, info);
  if (omit_value) {
    headers.emplace_back(
        envelope::kHeaderValueOmitted,
        fmt::format("the original value ({} bytes) is too large for the DLQ "
                    "topic; it is still at {}[{}]@{}",
                    p.msg.value.size(), p.msg.topic, p.msg.partition, p.msg.offset));
  }
  kafka::ProducerRecord record(
      topic, p.msg.key_is_null ? std::nullopt : std::optional(p.msg.key),
      p.msg.value_is_null || omit_value ? std::nullopt : std::optional(p.msg.value),
      std::move(headers));
  ++other_ops_;
  Busy(p.pid, 1);
  auto shared_info = std::make_shared<envelope::DlqInfo>(std::move(info));
  auto retry_later = [this, seq, shared_info, omit_value](const Status& why) {
    // A record the DLQ can never take as it is (too large) would block its partition forever:
    // send it again without its value. Anything else (broker down) is retried as it is.
    const bool too_large = why.code() == StatusCode::kInvalidArgument && !omit_value;
    log_->warn("DLQ produce failed ({}); {}", why.ToString(),
               too_large ? "sending it again without its value" : "retrying in a second");
    PostAfter(too_large ? Ms(0) : kDlqRetryDelay, [this, seq, shared_info, omit_value, too_large] {
      --other_ops_;
      if (auto it = pending_.find(seq); it != pending_.end()) Busy(it->second->pid, -1);
      ProduceDlq(seq, *shared_info, omit_value || too_large);
    });
  };
  Status s = producer_->Produce(
      record, [this, seq, shared_info, retry_later](const kafka::DeliveryReport& report) {
        Post([this, seq, shared_info, retry_later, report] {
          if (!report.status.ok()) {
            retry_later(report.status);
            return;
          }
          --other_ops_;
          auto it = pending_.find(seq);
          if (it == pending_.end()) return;
          Pending& p = *it->second;
          Busy(p.pid, -1);
          metrics_.CountDeadLetter(shared_info->error_class, shared_info->error_code);
          if (p.in_scheduler) {
            (void)scheduler_->Complete(p.sched_id);
            p.in_scheduler = false;
          }
          if (committer_ && p.valid) {
            // Remembered so that a redelivery after a crash does not dead-letter it twice; not
            // waited for (the DLQ ack is what makes the outcome durable).
            committer_->Enqueue(
                {idempotency::Entry{p.event.event_id, idempotency::Outcome::kDeadLettered, "", 0}},
                [](const Status&) {});
          }
          Resolve(p);
        });
      });
  if (!s.ok()) retry_later(s);
}

void Relay::Impl::Resolve(Pending& p) {
  if (!p.abandoned) {
    Status s = tracker_.Resolve(p.pid, p.msg.offset);
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      log_->warn("offset {}[{}]@{}: {}", p.msg.topic, p.msg.partition, p.msg.offset, s.ToString());
    }
  }
  if (!p.in_scheduler) Erase(p.seq);
}

void Relay::Impl::Erase(uint64_t seq) { pending_.erase(seq); }

void Relay::Impl::MaybeCommit(bool force, const std::vector<flow::PartitionId>* only) {
  const auto now = clock_.Now();
  if (!force && now - last_commit_ < options_.commit_interval) return;
  last_commit_ = now;
  std::vector<kafka::PartitionOffset> offsets;
  std::vector<PartitionState*> states;
  for (auto& [tp, ps] : partitions_) {
    if (only != nullptr && std::find(only->begin(), only->end(), ps.id) == only->end()) continue;
    auto c = tracker_.Committable(ps.id);
    if (c && *c > ps.committed) {
      offsets.push_back(kafka::PartitionOffset{tp.topic, tp.partition, *c});
      states.push_back(&ps);
    }
  }
  if (offsets.empty()) return;
  Status s = consumer_->CommitOffsets(offsets, /*sync=*/force);
  if (!s.ok()) {
    log_->warn("offset commit failed: {}", s.ToString());
    return;
  }
  for (size_t i = 0; i < offsets.size(); ++i) states[i]->committed = offsets[i].offset;
  metrics_.commits->Increment();
}

void Relay::Impl::UpdatePause() {
  const bool want = shutting_down_ || scheduler_->ShouldPause() ||
                    breaker_->state() != flow::BreakerState::kClosed || !budget_->Allow();
  if (want == paused_) return;
  auto assignment = consumer_->Assignment();
  if (!assignment.ok()) return;
  Status s = want ? consumer_->Pause(*assignment) : consumer_->Resume(*assignment);
  if (!s.ok()) {
    log_->warn("{} failed: {}", want ? "pause" : "resume", s.ToString());
    return;
  }
  paused_ = want;
  metrics_.paused->Set(want ? 1 : 0);
  log_->info("consumption {} ({})", want ? "paused" : "resumed",
             shutting_down_                                     ? "shutting down"
             : scheduler_->ShouldPause()                        ? "buffer full"
             : !budget_->Allow()                                ? "daily API budget reserve reached"
             : breaker_->state() != flow::BreakerState::kClosed ? "circuit not closed"
                                                                : "flowing");
}

void Relay::Impl::ProbeBudget() {
  if (budget_probe_out_ || !budget_->TryProbe()) return;
  budget_probe_out_ = true;
  ++other_ops_;
  sf_->GetLimits([this](salesforce::LimitsResult r) {
    Post([this, r = std::move(r)] {
      --other_ops_;
      budget_probe_out_ = false;
      if (r.limit_info) {
        (void)budget_->Observe(r.limit_info->api_used, r.limit_info->api_max);
      } else if (auto it = r.limits.find("DailyApiRequests"); it != r.limits.end()) {
        (void)budget_->Observe(it->second.max - it->second.remaining, it->second.max);
      }
      log_->info("budget probe: {}",
                 budget_->Allow() ? "allocation available again" : "still at the reserve");
    });
  });
}

Ms Relay::Impl::PollTimeout(Clock::TimePoint now) {
  {
    std::lock_guard lock(cq_mu_);
    if (!cq_.empty()) return Ms(0);
  }
  Clock::TimePoint wake = now + Ms(100);
  auto consider = [&](std::optional<Clock::TimePoint> t) {
    if (t && *t < wake) wake = *t;
  };
  consider(batcher_->NextDeadline());
  consider(scheduler_->NextHoldExpiry());
  if (!timers_.empty()) consider(timers_.begin()->first);
  if (!ready_.empty()) consider(now + Ms(1));  // a gate will open soon
  if (in_flight_calls_ > 0 || other_ops_ > 0) consider(now + Ms(2));
  auto d = std::chrono::duration_cast<Ms>(wake - now);
  return std::clamp(d, Ms(0), Ms(100));
}

bool Relay::Impl::WaitIdle(Clock::TimePoint deadline, const std::set<flow::PartitionId>* only) {
  auto busy = [&] {
    if (only == nullptr) return in_flight_calls_ > 0 || other_ops_ > 0;
    for (flow::PartitionId pid : *only) {
      if (auto* ps = PartitionOf(pid); ps != nullptr && ps->busy > 0) return true;
    }
    return false;
  };
  while (busy()) {
    if (clock_.Now() >= deadline) return false;
    {
      std::unique_lock lock(cq_mu_);
      cq_cv_.wait_for(lock, Ms(5), [this] { return !cq_.empty(); });
    }
    DrainCompletions();
  }
  return true;
}

Status Relay::Impl::Run(const ShutdownToken& shutdown) {
  RETURN_IF_ERROR(consumer_->Subscribe(options_.topics));
  log_->info("relay {} started: group {}, topics [{}], metrics on {}:{}", options_.instance_id,
             options_.group_id, fmt::join(options_.topics, ", "), options_.http_host,
             server_->port());
  // Fetch a token up front so that a credentials problem shows at start, not at the first event.
  tokens_->GetTokenAsync([this](Result<salesforce::TokenPtr> token) {
    if (!token.ok()) {
      log_->warn("no Salesforce token yet: {}", token.status().ToString());
    } else {
      ready_flag_ = true;
    }
  });
  last_commit_ = clock_.Now();
  while (!shutdown.requested()) {
    last_loop_ms_ = clock_.WallMillis();
    DrainCompletions();
    const auto now = clock_.Now();
    Dispatch(now);
    MaybeCommit(false);
    UpdatePause();
    metrics_.buffered->Set(static_cast<double>(scheduler_->buffered()));
    metrics_.in_flight_calls->Set(static_cast<double>(in_flight_calls_));
    if (sf_stats_.api_usage_max.load() > 0)
      ready_flag_ = breaker_->state() == flow::BreakerState::kClosed;
    auto polled = consumer_->Poll(options_.poll_batch, PollTimeout(clock_.Now()));
    if (!polled.ok()) {
      if (polled.status().code() == StatusCode::kFailedPrecondition) return polled.status();
      log_->warn("poll: {}", polled.status().ToString());
      continue;
    }
    Intake(*polled);
  }

  // Shutdown: stop fetching and dispatching, finish what is in flight, commit, close.
  log_->info("shutting down: {} calls, {} other operations in flight", in_flight_calls_,
             other_ops_);
  shutting_down_ = true;
  ready_flag_ = false;
  UpdatePause();
  const bool idle = WaitIdle(clock_.Now() + options_.shutdown_deadline, nullptr);
  MaybeCommit(true);
  if (!idle) {
    log_->warn(
        "shutdown deadline passed with {} calls and {} operations in flight: abandoned "
        "uncommitted (they will be redelivered)",
        in_flight_calls_, other_ops_);
  }
  Status closed = consumer_->Close();
  if (!closed.ok()) log_->warn("consumer close: {}", closed.ToString());
  StopServices();
  log_->info("relay stopped");
  return Status::Ok();
}

void Relay::Impl::StopServices() {
  if (stopped_) return;
  stopped_ = true;
  {
    std::lock_guard lock(lag_mu_);
    lag_stop_ = true;
  }
  lag_cv_.notify_all();
  if (lag_thread_.joinable()) lag_thread_.join();
  if (parse_pool_) parse_pool_->join();
  if (committer_) committer_->Stop();
  if (purger_) purger_->Stop();
  if (producer_) (void)producer_->Flush(Ms(5'000));
  if (http_) http_->Shutdown();
  if (server_) server_->Stop();
}

Result<std::unique_ptr<Relay>> Relay::Create(const RelayOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>(options);
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Relay>(new Relay(std::move(impl)));
}

Relay::Relay(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Relay::~Relay() = default;
Status Relay::Run(const ShutdownToken& shutdown) { return impl_->Run(shutdown); }
uint16_t Relay::http_port() const { return impl_->http_port(); }

}  // namespace sluice::relay

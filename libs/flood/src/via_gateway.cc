// sluice-flood --via: a kafka::Producer that sends through sluice-gateway (via_gateway.h).
#include "sluice/flood/via_gateway.h"

#include <fmt/format.h>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <thread>

#include "sluice/http/client.h"
#include "sluice/kafka/producer.h"

namespace sluice::flood {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Requests gathered and not yet answered 202 (or given up), per connection.
constexpr int kBatchesPerConnection = 2;

// A request's worth of events.
struct Batch {
  std::string body;
  std::vector<uint64_t> tags;
  SteadyClock::time_point ready;  // when its last event was handed over
};

// Thread-safety: every method may be called from any thread; reports are delivered one at a time.
class ViaGatewayProducer final : public kafka::Producer {
 public:
  ViaGatewayProducer(ViaGatewayOptions options, const kafka::ProducerOptions& po,
                     std::shared_ptr<ViaGatewayStats> stats,
                     std::unique_ptr<http::HttpClient> client)
      : options_(std::move(options)),
        on_delivery_(po.on_tagged_delivery),
        close_timeout_(po.close_timeout),
        stats_(std::move(stats)),
        client_(std::move(client)) {
    while (!options_.url.empty() && options_.url.back() == '/') options_.url.pop_back();
    retry_thread_ = std::thread([this] { RetryLoop(); });
  }

  ~ViaGatewayProducer() override {
    (void)Flush(close_timeout_);
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (retry_thread_.joinable()) retry_thread_.join();
    client_->Shutdown();  // answers every request still in flight (as errors)
    std::deque<std::shared_ptr<Batch>> left;
    {
      std::lock_guard lock(mu_);
      left.swap(retry_queue_);
    }
    for (auto& b : left) Fail(*b, UnavailableError("purged: the flood ended first"), true);
    // The gateway's side of the run, for the person reading the output (the report files hold
    // it too, with the time to 202 counted from the intended send times).
    std::fprintf(stderr, "sluice-flood: via sluice-gateway %s: %s\n", options_.url.c_str(),
                 stats_->Summary().c_str());
  }

  Status Produce(const kafka::ProducerRecord&, kafka::DeliveryCallback) override {
    return FailedPreconditionError("through sluice-gateway only tagged records are produced");
  }
  Status Produce(std::string_view, std::string_view, std::string_view, const kafka::Headers&,
                 kafka::DeliveryCallback, int32_t) override {
    return FailedPreconditionError("through sluice-gateway only tagged records are produced");
  }

  Status ProduceTagged(std::string_view topic, std::string_view, std::string_view value,
                       const kafka::Headers&, uint64_t tag, int32_t) override {
    if (!on_delivery_) return FailedPreconditionError("no on_tagged_delivery handler");
    std::shared_ptr<Batch> full;
    {
      std::unique_lock lock(mu_);
      if (topic_.empty()) topic_ = std::string(topic);
      if (!current_) current_ = std::make_shared<Batch>();
      current_->body += current_->tags.empty() ? '[' : ',';
      current_->body += value;
      current_->tags.push_back(tag);
      ++in_flight_;
      if (static_cast<int>(current_->tags.size()) >= options_.batch) full = std::move(current_);
    }
    if (full) Dispatch(std::move(full));
    return Status::Ok();
  }

  Status Flush(std::chrono::milliseconds timeout) override {
    std::shared_ptr<Batch> partial;
    {
      std::lock_guard lock(mu_);
      partial = std::move(current_);
    }
    if (partial && !partial->tags.empty()) Dispatch(std::move(partial));
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [this] { return in_flight_ == 0; })) {
      return DeadlineExceededError(
          fmt::format("{} events not answered 202 by the gateway yet", in_flight_));
    }
    return Status::Ok();
  }

  int64_t InFlight() const override {
    std::lock_guard lock(mu_);
    return in_flight_;
  }

  Status InitTransactions(std::chrono::milliseconds) override { return NoTransactions(); }
  Status BeginTransaction() override { return NoTransactions(); }
  Status SendOffsetsToTransaction(const std::vector<kafka::PartitionOffset>&,
                                  const kafka::GroupMetadata&, std::chrono::milliseconds) override {
    return NoTransactions();
  }
  Status CommitTransaction(std::chrono::milliseconds) override { return NoTransactions(); }
  Status AbortTransaction(std::chrono::milliseconds) override { return NoTransactions(); }

 private:
  static Status NoTransactions() {
    return FailedPreconditionError("no transactions through sluice-gateway");
  }

  // Waits for room (at most kBatchesPerConnection batches per connection unanswered), then sends.
  void Dispatch(std::shared_ptr<Batch> batch) {
    batch->body += ']';
    batch->ready = SteadyClock::now();
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] {
        return stopping_ || outstanding_ < options_.connections * kBatchesPerConnection;
      });
      ++outstanding_;
    }
    Send(std::move(batch));
  }

  void Send(std::shared_ptr<Batch> batch) {
    http::HttpRequest req;
    req.method = "POST";
    req.url = options_.url + "/v1/events";
    req.headers.Set("Content-Type", "application/json");
    if (!options_.token.empty()) req.headers.Set("Authorization", "Bearer " + options_.token);
    req.body = batch->body;
    req.timeout = milliseconds(120'000);
    client_->Send(std::move(req),
                  [this, batch](Result<http::HttpResponse> r) { OnAnswer(batch, std::move(r)); });
  }

  void OnAnswer(const std::shared_ptr<Batch>& batch, Result<http::HttpResponse> r) {
    const int status = r.ok() ? r->status : 0;
    {
      std::lock_guard lock(stats_->mu);
      ++stats_->requests;
      ++stats_->statuses[status];
      if (status == 202) {
        stats_->events_accepted += batch->tags.size();
        stats_->answers_202.push_back(
            ViaGatewayAnswer{batch->tags.back(), batch->ready, SteadyClock::now()});
      }
    }
    if (status == 202) {
      Deliver(*batch, r->body);
      Done();
      return;
    }
    if (status == 0 || status == 429 || status == 503) {
      // Retry the same events (the same event ids) after Retry-After; a transport error after 1 s.
      milliseconds delay(1000);
      if (r.ok()) {
        if (auto ra = r->headers.Get("Retry-After")) {
          delay = milliseconds(1000 * std::clamp(std::atoi(std::string(*ra).c_str()), 0, 30));
        }
      }
      std::lock_guard lock(mu_);
      if (!stopping_) {
        ++retries_due_;
        retry_at_.emplace(SteadyClock::now() + std::max(delay, milliseconds(100)), batch);
        cv_.notify_all();
        std::lock_guard s(stats_->mu);
        ++stats_->retries;
        return;
      }
    }
    // Refused for good (400, 401, 403, 413, ...), or the run is ending.
    std::string why =
        r.ok() ? fmt::format("sluice-gateway answered {}: {}", status, r->body.substr(0, 300))
               : r.status().ToString();
    Fail(*batch, status == 0 || status >= 500 ? UnavailableError(why) : InvalidArgumentError(why),
         status == 0 || status == 503);
    Done();
  }

  // One batch fewer outstanding.
  void Done() {
    std::lock_guard lock(mu_);
    --outstanding_;
    cv_.notify_all();
  }

  void Deliver(const Batch& batch, const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str());
    const bool ok = !d.HasParseError() && d.IsObject() && d.HasMember("events") &&
                    d["events"].IsArray() && d["events"].Size() == batch.tags.size();
    std::lock_guard report(report_mu_);
    for (size_t i = 0; i < batch.tags.size(); ++i) {
      kafka::TaggedReport t;
      t.tag = batch.tags[i];
      std::string topic = topic_;
      if (ok) {
        const auto& e = d["events"][static_cast<rapidjson::SizeType>(i)];
        if (e.HasMember("partition") && e["partition"].IsInt())
          t.partition = e["partition"].GetInt();
        if (e.HasMember("offset") && e["offset"].IsInt64()) t.offset = e["offset"].GetInt64();
        if (e.HasMember("topic") && e["topic"].IsString()) topic = e["topic"].GetString();
      }
      t.topic = topic;
      t.possibly_persisted = true;
      on_delivery_(t);
    }
    Settled(batch.tags.size());
  }

  void Fail(const Batch& batch, const Status& status, bool possibly_persisted) {
    std::lock_guard report(report_mu_);
    for (uint64_t tag : batch.tags) {
      kafka::TaggedReport t;
      t.tag = tag;
      t.status = status;
      t.topic = topic_;
      t.possibly_persisted = possibly_persisted;
      on_delivery_(t);
    }
    Settled(batch.tags.size());
  }

  void Settled(size_t n) {
    std::lock_guard lock(mu_);
    in_flight_ -= static_cast<int64_t>(n);
    cv_.notify_all();
  }

  void RetryLoop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      if (retry_at_.empty()) {
        cv_.wait(lock);
        continue;
      }
      auto first = retry_at_.begin();
      if (SteadyClock::now() < first->first) {
        cv_.wait_until(lock, first->first);
        continue;
      }
      std::shared_ptr<Batch> b = first->second;
      retry_at_.erase(first);
      --retries_due_;
      lock.unlock();
      Send(std::move(b));
      lock.lock();
    }
    for (auto& [at, b] : retry_at_) retry_queue_.push_back(b);
    retry_at_.clear();
  }

  ViaGatewayOptions options_;
  const std::function<void(const kafka::TaggedReport&)> on_delivery_;
  const milliseconds close_timeout_;
  std::shared_ptr<ViaGatewayStats> stats_;
  std::unique_ptr<http::HttpClient> client_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<Batch> current_;  // guarded by mu_
  std::string topic_;               // the run's topic; set by the first ProduceTagged
  int64_t in_flight_ = 0;           // events handed over and not yet reported
  int outstanding_ = 0;             // batches sent or waiting for a retry
  int64_t retries_due_ = 0;
  bool stopping_ = false;
  std::multimap<SteadyClock::time_point, std::shared_ptr<Batch>> retry_at_;
  std::deque<std::shared_ptr<Batch>> retry_queue_;  // left over at the end
  std::mutex report_mu_;                            // one report at a time
  std::thread retry_thread_;
};

}  // namespace

std::string ViaGatewayStats::Summary() const {
  std::lock_guard lock(mu);
  std::string s = fmt::format("requests {} (", requests);
  bool first = true;
  for (auto [status, n] : statuses) {
    s += fmt::format("{}{}: {}", first ? "" : ", ",
                     status == 0 ? "no answer" : std::to_string(status), n);
    first = false;
  }
  s += fmt::format("), retries {}", retries);
  if (!answers_202.empty()) {
    std::vector<double> v;
    v.reserve(answers_202.size());
    for (const ViaGatewayAnswer& a : answers_202) {
      v.push_back(std::chrono::duration<double, std::milli>(a.answered - a.handed_over).count());
    }
    std::sort(v.begin(), v.end());
    auto q = [&](double p) {
      return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
    };
    s += fmt::format(", time to 202 from hand-over p50 {:.1f} ms, p99 {:.1f} ms, max {:.1f} ms",
                     q(0.5), q(0.99), v.back());
  }
  return s;
}

std::function<Result<std::unique_ptr<kafka::Producer>>(const kafka::ProducerOptions&)>
MakeViaGatewayProducerFactory(const ViaGatewayOptions& options,
                              std::shared_ptr<ViaGatewayStats> stats) {
  return [options,
          stats](const kafka::ProducerOptions& po) -> Result<std::unique_ptr<kafka::Producer>> {
    if (options.url.rfind("http://", 0) != 0 && options.url.rfind("https://", 0) != 0) {
      return InvalidArgumentError("--via must be an http:// URL, got '" + options.url + "'");
    }
    if (options.connections < 1 || options.batch < 1) {
      return InvalidArgumentError("--via-connections and --via-batch must be at least 1");
    }
    http::HttpClientOptions ho;
    ho.max_host_connections = options.connections;
    ho.max_idle_connections = options.connections;
    ASSIGN_OR_RETURN(auto client, http::HttpClient::Create(ho));
    return std::unique_ptr<kafka::Producer>(
        new ViaGatewayProducer(options, po, stats, std::move(client)));
  };
}

}  // namespace sluice::flood

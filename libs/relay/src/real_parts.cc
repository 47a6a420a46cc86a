#include "sluice/relay/real_parts.h"

#include <fmt/format.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <latch>
#include <random>

#include "sluice/build_info/build_info.h"
#include "sluice/http/client.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"
#include "sluice/metrics/process.h"
#include "sluice/salesforce/auth.h"
#include "sluice/salesforce/client.h"
#include "sluice/salesforce/stats.h"
#include "store_part.h"

namespace sluice::relay {
namespace {

using Ms = std::chrono::milliseconds;
constexpr Ms kAdminTimeout{10'000};

class RealSalesforce final : public SalesforcePort {
 public:
  ~RealSalesforce() override {
    if (http_) http_->Shutdown();  // completes what is in flight before the client goes
    stats_handles_.clear();
  }
  void Write(const WriteCall& call, std::span<const salesforce::RecordInput> records,
             WriteCallback done) override {
    switch (call.operation) {
      case Operation::kUpsert:
        client_->UpsertCollection(call.sobject, call.external_id_field, records, std::move(done));
        return;
      case Operation::kCreate:
        client_->CreateCollection(call.sobject, records, std::move(done));
        return;
      default:
        client_->Publish(call.sobject, records.front().fields_json, std::move(done));
        return;
    }
  }
  void GetLimits(LimitsCallback done) override { client_->GetLimits(std::move(done)); }
  void Authenticate(AuthCallback done) override {
    tokens_->GetTokenAsync([done = std::move(done)](Result<salesforce::TokenPtr> token) {
      done(token.ok() ? Status::Ok() : token.status());
    });
  }

  salesforce::SalesforceStats stats_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<salesforce::TokenProvider> tokens_;
  std::unique_ptr<salesforce::SalesforceClient> client_;
  std::vector<metrics::CallbackHandle> stats_handles_;
};

class RealDlq final : public DlqSink {
 public:
  explicit RealDlq(std::unique_ptr<kafka::Producer> producer) : producer_(std::move(producer)) {}
  ~RealDlq() override { (void)producer_->Flush(Ms(5'000)); }
  Status Produce(const kafka::ProducerRecord& record, kafka::DeliveryCallback done) override {
    return producer_->Produce(record, std::move(done));
  }
  void Flush(Ms timeout) override { (void)producer_->Flush(timeout); }

 private:
  std::unique_ptr<kafka::Producer> producer_;
};

class RealAdmin final : public TopicAdmin {
 public:
  explicit RealAdmin(std::unique_ptr<kafka::Admin> admin) : admin_(std::move(admin)) {}
  Result<int> PartitionCount(std::string_view topic) override {
    return admin_->PartitionCount(topic, kAdminTimeout);
  }
  Status CreateTopic(const std::string& topic, int partitions) override {
    return admin_->CreateTopic(kafka::TopicSpec(topic, partitions), kAdminTimeout);
  }
  Result<std::vector<kafka::TopicInfo>> ListTopics() override {
    return admin_->ListTopics(kAdminTimeout);
  }

 private:
  std::unique_ptr<kafka::Admin> admin_;
};

class PoolExecutor final : public ParseExecutor {
 public:
  explicit PoolExecutor(size_t threads) : threads_(threads), pool_(threads) {}
  ~PoolExecutor() override { pool_.join(); }
  size_t workers() const override { return threads_; }
  void RunShares(size_t shares, const std::function<void(size_t)>& fn) override {
    std::latch done(static_cast<std::ptrdiff_t>(shares - 1));
    for (size_t s = 1; s < shares; ++s) {
      boost::asio::post(pool_, [&fn, &done, s] {
        fn(s);
        done.count_down();
      });
    }
    fn(0);
    done.wait();
  }

 private:
  size_t threads_;
  boost::asio::thread_pool pool_;
};

Result<std::unique_ptr<RealSalesforce>> MakeSalesforce(const RelayOptions& options, Clock& clock,
                                                       metrics::Registry& registry) {
  auto sf = std::make_unique<RealSalesforce>();
  http::HttpClientOptions http_options;
  http_options.request_timeout = options.salesforce.client.request_timeout;
  http_options.max_host_connections = static_cast<int>(std::max<int64_t>(options.max_in_flight, 4));
  http_options.ca_file = options.salesforce.ca_file;
  ASSIGN_OR_RETURN(sf->http_, http::HttpClient::Create(http_options));
  ASSIGN_OR_RETURN(sf->tokens_, salesforce::TokenProvider::Create(options.salesforce.auth,
                                                                  *sf->http_, clock, &sf->stats_));
  salesforce::SalesforceClientOptions sf_options = options.salesforce.client;
  sf_options.max_batch_records = options.max_records;
  ASSIGN_OR_RETURN(sf->client_, salesforce::SalesforceClient::Create(sf_options, *sf->http_,
                                                                     *sf->tokens_, &sf->stats_));
  const salesforce::SalesforceStats* st = &sf->stats_;
  auto add = [&](const char* name, const char* help, metrics::MetricType type,
                 std::function<std::optional<double>()> read) -> Status {
    ASSIGN_OR_RETURN(auto handle,
                     metrics::AddOptionalValue(registry, name, help, type, std::move(read)));
    sf->stats_handles_.push_back(std::move(handle));
    return Status::Ok();
  };
  // The API usage is absent until an answer has carried Sforce-Limit-Info (not -1, which a
  // dashboard would draw as a ratio).
  auto known = [](const std::atomic<int64_t>& v) -> std::optional<double> {
    const int64_t n = v.load();
    if (n < 0) return std::nullopt;
    return static_cast<double>(n);
  };
  RETURN_IF_ERROR(add("sluice_relay_api_usage_used", "Daily API calls used (Sforce-Limit-Info).",
                      metrics::MetricType::kGauge,
                      [st, known] { return known(st->api_usage_used); }));
  RETURN_IF_ERROR(add("sluice_relay_api_usage_max", "Daily API allocation (Sforce-Limit-Info).",
                      metrics::MetricType::kGauge,
                      [st, known] { return known(st->api_usage_max); }));
  RETURN_IF_ERROR(
      add("sluice_relay_token_requests_total", "OAuth token requests made.",
          metrics::MetricType::kCounter,
          [st] { return std::optional<double>(static_cast<double>(st->token_requests.load())); }));
  return sf;
}

}  // namespace

Result<RelayParts> MakeRealParts(const RelayOptions& options, Clock& clock) {
  RelayParts parts;
  parts.clock = &clock;
  parts.registry = std::make_shared<metrics::Registry>();
  ASSIGN_OR_RETURN(parts.registered_with_relay, metrics::AddProcessMetrics(*parts.registry));
  const build_info::RuntimeVersions versions = build_info::GetRuntimeVersions();
  RETURN_IF_ERROR(metrics::AddInfoMetric(
      *parts.registry, "sluice_build_info",
      "Always 1: the sluice version this relay was built from and the libraries it runs with.",
      {{"program", "sluice-relay"},
       {"version", std::string(build_info::SluiceVersion())},
       {"librdkafka", versions.librdkafka},
       {"libcurl", versions.libcurl},
       {"openssl", versions.openssl},
       {"sqlite", versions.sqlite}}));
  // The delivery settings, so a load test (sluice-flood) can record what it measured against.
  const auto number = [](double v) { return fmt::format("{}", v); };
  RETURN_IF_ERROR(metrics::AddInfoMetric(
      *parts.registry, "sluice_relay_settings_info",
      "Always 1: the relay's delivery settings (mode, batch size, linger, in-flight and rate "
      "ceilings summed over all instances).",
      {{"mode", std::string("idempotency store ") + (options.idempotency.enabled ? "on" : "off") +
                    (options.salesforce.event_id_field.empty()
                         ? ", no event id field"
                         : ", event id field " + options.salesforce.event_id_field)},
       {"max_records", std::to_string(options.max_records)},
       {"linger_ms", std::to_string(options.linger.count())},
       {"max_in_flight", std::to_string(options.max_in_flight)},
       {"requests_per_second", number(options.requests_per_second)},
       {"records_per_second", number(options.records_per_second)}}));
  ASSIGN_OR_RETURN(parts.salesforce, MakeSalesforce(options, clock, *parts.registry));

  parts.make_consumer = [options](kafka::RebalanceListener* listener) {
    kafka::ConsumerOptions consumer_options;
    consumer_options.bootstrap = options.kafka.bootstrap;
    consumer_options.group_id = options.kafka.group_id;
    consumer_options.properties = options.kafka.properties;
    // Bound librdkafka's prefetch so memory follows max_buffered_events, not the backlog.
    consumer_options.properties.emplace("queued.max.messages.kbytes",
                                        std::to_string(options.kafka.consumer_queue_kbytes));
    consumer_options.listener = listener;
    return kafka::Consumer::Create(consumer_options);
  };
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap = options.kafka.bootstrap;
  producer_options.properties = options.kafka.properties;
  // Whatever the source topic took must fit into the DLQ (the broker's own cap still applies).
  producer_options.properties.emplace("message.max.bytes",
                                      std::to_string(options.dlq_max_message_bytes));
  ASSIGN_OR_RETURN(auto producer, kafka::Producer::Create(producer_options));
  parts.dlq = std::make_unique<RealDlq>(std::move(producer));
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(
                                   kafka::AdminOptions{.bootstrap = options.kafka.bootstrap,
                                                       .properties = options.kafka.properties}));
  parts.admin = std::make_unique<RealAdmin>(std::move(admin));

  if (options.idempotency.enabled) {
    ASSIGN_OR_RETURN(parts.store, OpenStorePart(options, clock, parts.registry));
  }
  if (options.parse_threads > 0) {
    parts.parser = std::make_unique<PoolExecutor>(static_cast<size_t>(options.parse_threads));
  }
  std::random_device rd;
  parts.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return parts;
}

}  // namespace sluice::relay

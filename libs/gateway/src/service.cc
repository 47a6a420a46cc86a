#include "sluice/gateway/service.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "sluice/build_info/build_info.h"
#include "sluice/core/logging.h"
#include "sluice/gateway/auth.h"
#include "sluice/gateway/gateway.h"
#include "sluice/http/server.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/producer.h"
#include "sluice/metrics/process.h"
#include "sluice/metrics/registry.h"

namespace sluice::gateway {
namespace {

// The HTTP server's TLS settings from the gateway's (validated) options.
void SetTls(const GatewayOptions& o, http::ServerOptions* so) {
  so->tls_cert_file = o.tls_cert_file;
  so->tls_key_file = o.tls_key_file;
  so->tls_client_ca_file = o.tls_client_ca_file;
  // "required" is enforced per request by Gateway (a 401 problem naming the missing certificate
  // is clearer to a client than a failed handshake); the TLS layer asks for a certificate and
  // refuses an invalid one in both modes.
  so->tls_client_certs =
      o.tls_client_certs == "off" ? http::ClientCertMode::kOff : http::ClientCertMode::kOptional;
}

}  // namespace

Status CheckTlsFiles(const GatewayOptions& options) {
  http::ServerOptions so;
  SetTls(options, &so);
  return http::CheckServerTls(so).WithContext("http");
}

class GatewayService::Impl {
 public:
  ~Impl() {
    StopProbe();
    if (server) server->Stop();
    // The producer before the gateway: its destructor still delivers (or purges) what is in
    // flight, and every delivery report completes a request inside the gateway.
    producer.reset();
    gateway.reset();
  }

  void ProbeLoop() {
    std::unique_lock lock(mu);
    while (!stop) {
      lock.unlock();
      // Two failed probes in a row (2 s timeout each) make the broker unreachable, so one slow
      // answer on a loaded machine does not turn requests away; one success makes it reachable.
      failures = admin->ListTopics(std::chrono::milliseconds(2000)).ok() ? 0 : failures + 1;
      const bool ok = failures < 2;
      if (ok != gateway->broker_reachable()) {
        gateway->SetBrokerReachable(ok);
        if (ok) {
          log->info("broker reachable: ready");
        } else {
          log->warn("broker unreachable: not ready; POST /v1/events answers 503");
        }
      }
      lock.lock();
      cv.wait_for(lock, std::chrono::seconds(1), [this] { return stop; });
    }
  }

  void StopProbe() {
    {
      std::lock_guard lock(mu);
      stop = true;
    }
    cv.notify_all();
    if (probe.joinable()) probe.join();
  }

  GatewayOptions options;
  std::shared_ptr<spdlog::logger> log = GetLogger("gateway");
  metrics::Registry registry;
  std::vector<metrics::CallbackHandle> handles;
  std::unique_ptr<TokenStore> tokens;
  std::unique_ptr<kafka::Producer> producer;
  std::unique_ptr<kafka::Admin> admin;
  std::unique_ptr<Gateway> gateway;
  std::unique_ptr<http::Server> server;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  int failures = 0;  // consecutive failed probes; the probe thread's
  std::thread probe;
};

Result<std::unique_ptr<GatewayService>> GatewayService::Start(const GatewayOptions& options) {
  RETURN_IF_ERROR(options.Validate());
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (!options.tokens_file.empty()) {
    ASSIGN_OR_RETURN(TokenStore store, TokenStore::LoadFile(options.tokens_file));
    impl->tokens = std::make_unique<TokenStore>(std::move(store));
  }
  ASSIGN_OR_RETURN(impl->handles, metrics::AddProcessMetrics(impl->registry));
  const build_info::RuntimeVersions versions = build_info::GetRuntimeVersions();
  RETURN_IF_ERROR(metrics::AddInfoMetric(
      impl->registry, "sluice_build_info",
      "Always 1: the sluice version this gateway was built from and the libraries it runs with.",
      {{"program", "sluice-gateway"},
       {"version", std::string(build_info::SluiceVersion())},
       {"librdkafka", versions.librdkafka},
       {"openssl", versions.openssl}}));

  kafka::ProducerOptions po;
  po.bootstrap = options.bootstrap;
  po.properties = options.kafka_properties;
  // The ack deadline: a record not acknowledged within it fails, and its request answers 503.
  po.properties.emplace("message.timeout.ms", std::to_string(options.ack_timeout.count()));
  // Latency matters more than batch size: a request waits for its acks.
  po.properties.emplace("linger.ms", "2");
  // No Nagle on the broker connections: with it, a small produce request at a low rate can wait
  // for the previous one's TCP ACK (tools/bench/gateway measured p99 time-to-202 of 258 ms with it
  // and 17 ms without, at 200 requests/s of 100 events, on the same loaded machine).
  po.properties.emplace("socket.nagle.disable", "true");
  po.idempotence = true;
  po.acks = "all";
  po.enqueue_timeout = std::chrono::milliseconds(0);  // never block an I/O thread: 429 instead
  po.close_timeout = options.shutdown_deadline;
  po.on_tagged_delivery = &OnTaggedDelivery;
  ASSIGN_OR_RETURN(impl->producer, kafka::Producer::Create(po));
  ASSIGN_OR_RETURN(impl->admin,
                   kafka::Admin::Create(kafka::AdminOptions{
                       .bootstrap = options.bootstrap, .properties = options.kafka_properties}));

  GatewayDeps deps;
  deps.producer = impl->producer.get();
  deps.tokens = impl->tokens.get();
  deps.registry = &impl->registry;
  deps.openapi_yaml = std::string(OpenApiYaml());
  ASSIGN_OR_RETURN(impl->gateway, Gateway::Create(options, std::move(deps)));

  http::ServerOptions so;
  so.host = options.http.host;
  so.port = options.http.port;
  so.io_threads = options.io_threads;
  so.max_header_bytes = options.max_header_bytes;
  so.max_body_bytes = options.max_body_bytes;
  so.read_timeout = options.read_timeout;
  so.idle_timeout = options.idle_timeout;
  so.max_connections = options.max_connections;
  SetTls(options, &so);
  so.error_responder = &ServerErrorAsProblem;
  Gateway* gw = impl->gateway.get();
  ASSIGN_OR_RETURN(impl->server,
                   http::Server::Start(so, [gw](http::ServerRequest&& req, http::Responder r) {
                     auto responder = std::make_shared<http::Responder>(std::move(r));
                     gw->Handle(req, [responder](http::ServerResponse response) {
                       responder->Send(std::move(response));
                     });
                   }));
  http::Server* server = impl->server.get();
  ASSIGN_OR_RETURN(impl->handles.emplace_back(),
                   impl->registry.AddCallbackGauge(
                       "sluice_gateway_connections_open", "Open HTTP connections.",
                       [server] { return static_cast<double>(server->stats().connections_open); }));
  ASSIGN_OR_RETURN(impl->handles.emplace_back(),
                   impl->registry.AddCallbackFamily(
                       "sluice_gateway_http_server_total",
                       "HTTP server events: connections accepted and rejected (over "
                       "max_connections), requests answered by the server itself (malformed, "
                       "too large), connections closed by timeouts, TLS handshakes that failed "
                       "(among them client certificates refused).",
                       metrics::MetricType::kCounter, {"event"}, [server] {
                         const http::ServerStats s = server->stats();
                         return std::vector<metrics::Sample>{
                             {{"connections_accepted"}, double(s.connections_accepted)},
                             {{"connections_rejected"}, double(s.connections_rejected)},
                             {{"bad_requests"}, double(s.bad_requests)},
                             {{"tls_handshake_failures"}, double(s.tls_handshake_failures)},
                             {{"timeouts"}, double(s.timeouts)}};
                       }));
  // One probe before serving, so that a gateway started beside a healthy broker is ready at once
  // (the probe thread keeps it up to date from here on).
  impl->gateway->SetBrokerReachable(impl->admin->ListTopics(std::chrono::seconds(5)).ok());
  if (!impl->gateway->broker_reachable()) {
    impl->log->warn("broker unreachable at start: not ready; POST /v1/events answers 503");
  }
  Impl* raw = impl.get();
  impl->probe = std::thread([raw] { raw->ProbeLoop(); });
  return std::unique_ptr<GatewayService>(new GatewayService(std::move(impl)));
}

GatewayService::GatewayService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GatewayService::~GatewayService() = default;
uint16_t GatewayService::port() const { return impl_->server->port(); }
std::string GatewayService::BaseUrl() const { return impl_->server->BaseUrl(); }

Status GatewayService::Run(const ShutdownToken& shutdown) {
  Impl& s = *impl_;
  s.log->info("sluice-gateway serving on {}", s.server->BaseUrl());
  while (!shutdown.WaitFor(std::chrono::seconds(1))) {
  }
  s.log->info("shutting down: draining requests in flight");
  s.gateway->BeginDrain();
  // New connections are refused; open ones get 503 with Connection: close for new requests.
  s.server->StopAccepting();
  const auto deadline = std::chrono::steady_clock::now() + s.options.shutdown_deadline;
  while (s.gateway->requests_in_flight() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Status result = Status::Ok();
  if (s.gateway->requests_in_flight() > 0) {
    result = DeadlineExceededError(std::to_string(s.gateway->requests_in_flight()) +
                                   " requests still unanswered at the shutdown deadline");
  }
  Status flushed = s.producer->Flush(std::chrono::milliseconds(5000));
  if (result.ok() && !flushed.ok()) result = flushed;
  s.StopProbe();
  s.server->Stop();
  s.log->info("stopped");
  return result;
}

}  // namespace sluice::gateway

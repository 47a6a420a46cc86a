// The service's surfaces around the engine: HttpSurface and LagSampler (real_parts.h).
#include <condition_variable>
#include <mutex>
#include <thread>

#include "sluice/http/server.h"
#include "sluice/kafka/admin.h"
#include "sluice/relay/real_parts.h"

namespace sluice::relay {

class HttpSurface::Impl {
 public:
  Impl(const Relay& relay, Clock& clock) : relay_(relay), clock_(clock) {}

  void Handle(const http::ServerRequest& request, http::Responder responder) {
    http::ServerResponse response;
    response.headers.Set("Content-Type", "text/plain; charset=utf-8");
    if (request.path == "/metrics") {
      response.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      response.body = relay_.RenderMetrics();
    } else if (request.path == "/healthz") {
      // Alive while the engine loop turns (it turns at least every 100 ms unless blocked).
      const RelayHealth h = relay_.health();
      const int64_t now_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
              .count();
      const bool alive = now_ms - h.last_loop_ms < 30'000;
      response.status = alive ? 200 : 503;
      response.body = alive ? "ok\n" : "engine loop stalled\n";
    } else if (request.path == "/readyz") {
      const RelayHealth h = relay_.health();
      response.status = h.ready ? 200 : 503;
      response.body = h.ready ? "ready\n" : "not ready: " + h.reason + "\n";
    } else {
      response.status = 404;
      response.body = "not found\n";
    }
    responder.Send(std::move(response));
  }

  const Relay& relay_;
  Clock& clock_;
  std::unique_ptr<http::Server> server_;
};

Result<std::unique_ptr<HttpSurface>> HttpSurface::Start(const RelayOptions& options,
                                                        const Relay& relay, Clock& clock) {
  auto impl = std::make_unique<Impl>(relay, clock);
  http::ServerOptions server_options;
  server_options.host = options.http.host;
  server_options.port = options.http.port;
  Impl* raw = impl.get();
  ASSIGN_OR_RETURN(impl->server_,
                   http::Server::Start(server_options, [raw](const http::ServerRequest& request,
                                                             http::Responder responder) {
                     raw->Handle(request, std::move(responder));
                   }));
  return std::unique_ptr<HttpSurface>(new HttpSurface(std::move(impl)));
}

HttpSurface::HttpSurface(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpSurface::~HttpSurface() {
  if (impl_ && impl_->server_) impl_->server_->Stop();
}
uint16_t HttpSurface::port() const { return impl_->server_->port(); }

class LagSampler::Impl {
 public:
  Impl(const RelayOptions& options, Relay& relay, std::unique_ptr<kafka::Admin> admin)
      : group_(options.kafka.group_id), relay_(relay), admin_(std::move(admin)) {}

  void Loop() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      lock.unlock();
      for (const auto& topic : relay_.assigned_topics()) {
        auto lag = admin_->Lag(group_, topic, std::chrono::milliseconds(5'000));
        if (lag.ok()) relay_.ReportLag(topic, *lag);
      }
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(5), [this] { return stop_; });
    }
  }

  std::string group_;
  Relay& relay_;
  std::unique_ptr<kafka::Admin> admin_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

Result<std::unique_ptr<LagSampler>> LagSampler::Start(const RelayOptions& options, Relay& relay) {
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(
                                   kafka::AdminOptions{.bootstrap = options.kafka.bootstrap,
                                                       .properties = options.kafka.properties}));
  auto impl = std::make_unique<Impl>(options, relay, std::move(admin));
  Impl* raw = impl.get();
  impl->thread_ = std::thread([raw] { raw->Loop(); });
  return std::unique_ptr<LagSampler>(new LagSampler(std::move(impl)));
}

LagSampler::LagSampler(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LagSampler::~LagSampler() {
  {
    std::lock_guard lock(impl_->mu_);
    impl_->stop_ = true;
  }
  impl_->cv_.notify_all();
  if (impl_->thread_.joinable()) impl_->thread_.join();
}

}  // namespace sluice::relay

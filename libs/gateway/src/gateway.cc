#include "sluice/gateway/gateway.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <mutex>

#include "pending.h"
#include "sluice/envelope/event.h"
#include "sluice/flow/token_bucket.h"
#include "sluice/gateway/body.h"
#include "sluice/gateway/problem.h"
#include "sluice/gateway/routing.h"
#include "sluice/kafka/producer.h"
#include "sluice/metrics/registry.h"

namespace sluice::gateway {
namespace {

using Micros = std::chrono::microseconds;

http::ServerResponse ProblemResponse(const Problem& p) {
  http::ServerResponse r;
  r.status = p.status;
  r.headers.Set("Content-Type", kProblemContentType);
  if (p.retry_after_seconds > 0)
    r.headers.Set("Retry-After", std::to_string(p.retry_after_seconds));
  r.body = p.ToJson();
  return r;
}

int64_t CeilSeconds(Clock::Duration d) {
  const int64_t s = std::chrono::duration_cast<std::chrono::seconds>(d + std::chrono::seconds(1) -
                                                                     Clock::Duration(1))
                        .count();
  return std::max<int64_t>(1, s);
}

}  // namespace

http::ServerResponse ServerErrorAsProblem(int status, std::string_view message) {
  std::string slug = "bad-request";
  std::string title = "Malformed request";
  if (status == 413) {
    slug = "body-too-large";
    title = "Request body too large";
  } else if (status == 431) {
    slug = "headers-too-large";
    title = "Request headers too large";
  } else if (status == 414) {
    slug = "uri-too-long";
    title = "Request target too long";
  } else if (status >= 500) {
    slug = "internal";
    title = "Internal error";
  }
  return ProblemResponse(MakeProblem(status, slug, title, std::string(message)));
}

class Gateway::Impl {
 public:
  Impl(const GatewayOptions& options, GatewayDeps deps)
      : options_(options),
        deps_(std::move(deps)),
        clock_(deps_.clock != nullptr ? *deps_.clock : RealClock()),
        router_(options.topics, options.default_topic) {
    limits_.max_events = options.max_events;
    limits_.max_event_bytes = options.max_event_bytes;
    limits_.max_depth = options.max_depth;
  }

  Status Init() {
    if (deps_.producer == nullptr) return InvalidArgumentError("gateway: no producer");
    if (deps_.registry == nullptr) return InvalidArgumentError("gateway: no metrics registry");
    if (deps_.tokens == nullptr && !options_.allow_anonymous) {
      return InvalidArgumentError("gateway: no token store and allow_anonymous is false");
    }
    if (deps_.tokens != nullptr) {
      for (const TokenEntry& e : deps_.tokens->entries()) {
        if (e.events_per_second <= 0) continue;
        flow::TokenBucketOptions o;
        o.rate_per_second = e.events_per_second;
        o.burst = std::max(1.0, e.events_per_second);
        ASSIGN_OR_RETURN(buckets_[&e], flow::TokenBucket::Create(o, clock_));
      }
    }
    metrics::Registry& r = *deps_.registry;
    ASSIGN_OR_RETURN(requests_,
                     r.AddCounterFamily("sluice_gateway_requests_total",
                                        "HTTP requests answered, by status code.", {"code"}));
    ASSIGN_OR_RETURN(
        rejected_, r.AddCounterFamily("sluice_gateway_rejected_requests_total",
                                      "POST /v1/events requests refused, by reason.", {"reason"}));
    ASSIGN_OR_RETURN(accepted_,
                     r.AddCounter("sluice_gateway_events_accepted_total",
                                  "Events acknowledged by the broker and answered 202."));
    ASSIGN_OR_RETURN(rejected_events_,
                     r.AddCounter("sluice_gateway_events_rejected_total",
                                  "Events in requests that were not answered 202."));
    metrics::HistogramOptions h;
    h.divisor = 1e6;
    ASSIGN_OR_RETURN(request_seconds_,
                     r.AddHistogram("sluice_gateway_request_seconds",
                                    "Time from a POST's arrival to its answer, any status.", h));
    ASSIGN_OR_RETURN(ack_seconds_,
                     r.AddHistogram("sluice_gateway_ack_seconds",
                                    "Time from a request's first produce to its last broker "
                                    "acknowledgement (or failure).",
                                    h));
    ASSIGN_OR_RETURN(handles_.emplace_back(),
                     r.AddCallbackGauge("sluice_gateway_unacked_events",
                                        "Events produced and not yet acknowledged.",
                                        [this] { return static_cast<double>(unacked_.load()); }));
    ASSIGN_OR_RETURN(handles_.emplace_back(),
                     r.AddCallbackGauge("sluice_gateway_requests_in_flight",
                                        "POST requests producing, not yet answered.",
                                        [this] { return static_cast<double>(in_flight_.load()); }));
    ASSIGN_OR_RETURN(
        handles_.emplace_back(),
        r.AddCallbackGauge("sluice_gateway_producer_queue",
                           "Records in the producer awaiting their delivery report.",
                           [this] { return static_cast<double>(deps_.producer->InFlight()); }));
    ASSIGN_OR_RETURN(handles_.emplace_back(),
                     r.AddCallbackGauge("sluice_gateway_broker_reachable",
                                        "1 while the readiness probe reaches the broker.",
                                        [this] { return reachable_.load() ? 1.0 : 0.0; }));
    return Status::Ok();
  }

  void Answer(const Reply& reply, http::ServerResponse response) {
    requests_->WithLabels({std::to_string(response.status)}).Increment();
    reply(std::move(response));
  }

  void Refuse(const Reply& reply, Clock::TimePoint t0, std::string_view reason, const Problem& p,
              size_t events, bool close = false) {
    rejected_->WithLabels({reason}).Increment();
    rejected_events_->Increment(events);
    request_seconds_->Record(ElapsedMicros(t0));
    http::ServerResponse r = ProblemResponse(p);
    r.close_connection = close;
    Answer(reply, std::move(r));
  }

  uint64_t ElapsedMicros(Clock::TimePoint t0) const {
    return static_cast<uint64_t>(
        std::max<int64_t>(0, std::chrono::duration_cast<Micros>(clock_.Now() - t0).count()));
  }

  void Handle(const http::ServerRequest& req, Reply reply) {
    if (req.path == "/v1/events") {
      if (req.method != "POST") return MethodNotAllowed(reply, "POST");
      return PostEvents(req, std::move(reply));
    }
    http::ServerResponse r;
    r.headers.Set("Content-Type", "text/plain; charset=utf-8");
    if (req.method != "GET" && req.method != "HEAD") return MethodNotAllowed(reply, "GET");
    if (req.path == "/healthz") {
      r.body = "ok\n";
    } else if (req.path == "/readyz") {
      const bool ready = reachable_.load() && !draining_.load();
      r.status = ready ? 200 : 503;
      r.body =
          ready ? "ready\n"
                : (draining_.load() ? "not ready: draining\n" : "not ready: broker unreachable\n");
    } else if (req.path == "/metrics") {
      r.headers.Set("Content-Type", std::string(metrics::kPrometheusContentType));
      r.body = deps_.registry->RenderPrometheus();
    } else if (req.path == "/v1/openapi.yaml") {
      r.headers.Set("Content-Type", "application/yaml");
      r.body = deps_.openapi_yaml;
    } else {
      return Answer(reply, ProblemResponse(MakeProblem(404, "not-found", "Not found",
                                                       "no resource at this path")));
    }
    Answer(reply, std::move(r));
  }

  void MethodNotAllowed(const Reply& reply, const char* allow) {
    http::ServerResponse r =
        ProblemResponse(MakeProblem(405, "method-not-allowed", "Method not allowed",
                                    std::string("this resource takes ") + allow));
    r.headers.Set("Allow", allow);
    Answer(reply, std::move(r));
  }

  void PostEvents(const http::ServerRequest& req, Reply reply) {
    const Clock::TimePoint t0 = clock_.Now();
    if (draining_.load()) {
      Problem p = MakeProblem(503, "shutting-down", "Shutting down",
                              "this gateway is shutting down; retry on another instance");
      p.retry_after_seconds = CeilSeconds(options_.retry_after);
      return Refuse(reply, t0, "draining", p, 0, /*close=*/true);
    }
    // Auth: a bearer token when one is sent (a wrong one is refused even beside a valid client
    // certificate), else a verified client certificate named in the token file, else anonymous
    // when allowed.
    const TokenEntry* token = nullptr;
    const http::ClientCertificate* cert = req.client_certificate.get();
    if (cert == nullptr && options_.tls_client_certs == "required") {
      // Also without a token file (allow_anonymous): required means every request.
      http::ServerResponse r = ProblemResponse(
          MakeProblem(401, "unauthorized", "Unauthorized",
                      "a client certificate is required (http.tls_client_certs: required)"));
      rejected_->WithLabels({"unauthorized"}).Increment();
      request_seconds_->Record(ElapsedMicros(t0));
      return Answer(reply, std::move(r));
    }
    if (deps_.tokens != nullptr) {
      auto authz = req.headers.Get("Authorization");
      if (authz) {
        std::optional<std::string_view> bearer = TokenStore::BearerToken(*authz);
        if (bearer) token = deps_.tokens->Find(*bearer);
      } else if (cert != nullptr) {
        std::vector<std::string> alt_names = cert->dns_names;
        alt_names.insert(alt_names.end(), cert->uris.begin(), cert->uris.end());
        token = deps_.tokens->FindByCertificate(cert->common_name, alt_names);
        if (token == nullptr && !options_.allow_anonymous) {
          // Authenticated by the TLS layer, but not authorized to write anything.
          return Refuse(reply, t0, "forbidden",
                        MakeProblem(403, "forbidden", "Forbidden",
                                    "the client certificate (subject " + cert->subject +
                                        ") is not named by any entry of the token file"),
                        0);
        }
      }
      if (token == nullptr && !(options_.allow_anonymous && !authz)) {
        http::ServerResponse r = ProblemResponse(MakeProblem(
            401, "unauthorized", "Unauthorized",
            authz ? "the bearer token is not valid"
                  : (options_.tls_client_certs != "off"
                         ? "an Authorization: Bearer token or a client certificate is required"
                         : "an Authorization: Bearer token is required")));
        r.headers.Set("WWW-Authenticate", "Bearer realm=\"sluice-gateway\"");
        rejected_->WithLabels({"unauthorized"}).Increment();
        request_seconds_->Record(ElapsedMicros(t0));
        return Answer(reply, std::move(r));
      }
    }
    // Content type and body.
    auto ct = req.headers.Get("Content-Type");
    std::optional<BodyForm> form = ct ? FormOf(*ct) : std::nullopt;
    if (!form) {
      return Refuse(reply, t0, "content_type",
                    MakeProblem(415, "unsupported-media-type", "Unsupported media type",
                                "send application/json (one event or an array) or "
                                "application/x-ndjson, in UTF-8"),
                    0);
    }
    ParsedBody body = ParseBody(*form, req.body, req.headers.Get("Idempotency-Key"), limits_);
    if (!body.ok()) {
      const int s = body.problem->status;
      return Refuse(reply, t0, s == 413 ? "too_large" : (s == 400 ? "invalid" : "internal"),
                    *body.problem, 0);
    }
    const size_t n = body.events.size();
    // Scopes.
    auto pending = std::make_unique<Pending>();
    pending->impl = this;
    pending->slots.resize(n);
    std::vector<EventProblem> forbidden;
    for (size_t i = 0; i < n; ++i) {
      Slot& s = pending->slots[i];
      s.pending = pending.get();
      s.topic = router_.TopicFor(body.events[i].sobject);
      s.event_id = body.events[i].event_id;
      if (token != nullptr && !token->Allows(body.events[i].sobject, s.topic)) {
        forbidden.push_back({i, "/sobject", "forbidden",
                             "'" + token->name + "' may not write sObject " +
                                 body.events[i].sobject + " (topic " + s.topic + ")"});
      }
    }
    if (!forbidden.empty()) {
      Problem p = MakeProblem(
          403, "forbidden", "Forbidden",
          "the token or certificate may not write every event of this request; nothing of "
          "it was produced");
      p.error_count = forbidden.size();
      p.errors = std::move(forbidden);
      return Refuse(reply, t0, "forbidden", p, n);
    }
    if (!reachable_.load()) {
      Problem p = MakeProblem(503, "broker-unavailable", "Kafka unavailable",
                              "the broker cannot be reached; nothing of this request was "
                              "produced");
      p.retry_after_seconds = CeilSeconds(options_.retry_after);
      return Refuse(reply, t0, "broker_unavailable", p, n);
    }
    flow::TokenBucket* bucket = nullptr;
    if (token != nullptr) {
      if (auto it = buckets_.find(token); it != buckets_.end()) bucket = it->second.get();
    }
    if (bucket != nullptr) {
      flow::Acquisition a = bucket->TryAcquire(static_cast<int64_t>(n));
      if (!a) {
        Problem p = MakeProblem(429, "rate-limited", "Too many events",
                                "this token's rate limit is reached; nothing of this request "
                                "was produced");
        p.retry_after_seconds = CeilSeconds(a.wait);
        return Refuse(reply, t0, "rate_limited", p, n);
      }
    }
    const int64_t after = unacked_.fetch_add(static_cast<int64_t>(n)) + static_cast<int64_t>(n);
    if (after > options_.max_unacked_events) {
      unacked_.fetch_sub(static_cast<int64_t>(n));
      if (bucket != nullptr) bucket->Refund(static_cast<int64_t>(n));
      Problem p = MakeProblem(429, "backpressure", "Too many events in flight",
                              "the gateway holds as many unacknowledged events as it may; "
                              "nothing of this request was produced");
      p.retry_after_seconds = 1;
      return Refuse(reply, t0, "backpressure", p, n);
    }
    // Produce. `remaining` counts one per event plus one for this thread, so the answer cannot go
    // out before the loop is done.
    pending->reply = std::move(reply);
    pending->t0 = t0;
    pending->produce_t0 = clock_.Now();
    pending->remaining.store(static_cast<int64_t>(n) + 1);
    in_flight_.fetch_add(1);
    Pending* raw = pending.release();
    size_t produced = 0;
    for (; produced < n; ++produced) {
      const envelope::Event& e = body.events[produced];
      Slot& s = raw->slots[produced];
      Status st =
          deps_.producer->ProduceTagged(s.topic, Router::KeyFor(e), envelope::SerializeEvent(e), {},
                                        reinterpret_cast<uint64_t>(&s));
      if (!st.ok()) {
        std::lock_guard lock(raw->mu);
        raw->enqueue_error = st;
        break;
      }
    }
    const int64_t unproduced = static_cast<int64_t>(n - produced);
    if (unproduced > 0) unacked_.fetch_sub(unproduced);
    raw->produced = produced;
    if (raw->remaining.fetch_sub(unproduced + 1) == unproduced + 1) Complete(raw);
  }

  // Called once per produced event, on the delivery thread.
  void OnDelivery(Slot& s, const kafka::TaggedReport& report) {
    unacked_.fetch_sub(1);
    s.acked = report.status.ok();
    s.partition = report.partition;
    s.offset = report.offset;
    if (!report.status.ok()) {
      std::lock_guard lock(s.pending->mu);
      if (s.pending->delivery_error.ok()) s.pending->delivery_error = report.status;
    }
    if (s.pending->remaining.fetch_sub(1) == 1) Complete(s.pending);
  }

  void Complete(Pending* raw) {
    std::unique_ptr<Pending> p(raw);
    const size_t n = p->slots.size();
    ack_seconds_->Record(ElapsedMicros(p->produce_t0));
    bool all = p->produced == n;
    for (size_t i = 0; all && i < p->produced; ++i) all = p->slots[i].acked;
    if (all) {
      std::string body;
      body.reserve(64 + n * 120);
      body += "{\"accepted\":";
      body += std::to_string(n);
      body += ",\"events\":[";
      for (size_t i = 0; i < n; ++i) {
        const Slot& s = p->slots[i];
        if (i > 0) body += ',';
        body += "{\"index\":";
        body += std::to_string(i);
        body += ",\"event_id\":\"";
        body += s.event_id;  // a validated UUID: nothing to escape
        body += "\",\"topic\":\"";
        body += s.topic;  // a configured topic or sf.<API name>.events
        body += "\",\"partition\":";
        body += std::to_string(s.partition);
        body += ",\"offset\":";
        body += std::to_string(s.offset);
        body += '}';
      }
      body += "]}";
      http::ServerResponse r;
      r.status = 202;
      r.headers.Set("Content-Type", "application/json");
      r.body = std::move(body);
      accepted_->Increment(n);
      request_seconds_->Record(ElapsedMicros(p->t0));
      in_flight_.fetch_sub(1);
      Answer(p->reply, std::move(r));
      return;
    }
    Status cause;
    {
      std::lock_guard lock(p->mu);
      cause = !p->delivery_error.ok() ? p->delivery_error : p->enqueue_error;
    }
    Problem problem;
    const bool queue_full = p->produced == 0 && cause.code() == StatusCode::kResourceExhausted;
    if (queue_full) {
      problem = MakeProblem(429, "backpressure", "Producer queue full",
                            "the producer's queue is full; nothing of this request was produced");
      problem.retry_after_seconds = 1;
    } else {
      problem = MakeProblem(
          503, "broker-timeout", "Not acknowledged by Kafka",
          "the broker did not acknowledge every event in time (" + cause.ToString() +
              "). Retry the whole request with the same event ids: events listed as acked are "
              "in Kafka, and the relay delivers each event id at most once, so a retry is safe");
      problem.retry_after_seconds = CeilSeconds(options_.retry_after);
      problem.outcomes.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        const Slot& s = p->slots[i];
        problem.outcomes.push_back(
            {i, s.event_id, i < p->produced && s.acked, s.topic, s.partition, s.offset});
      }
    }
    rejected_->WithLabels({queue_full ? "producer_queue_full" : "not_acked"}).Increment();
    rejected_events_->Increment(n);
    request_seconds_->Record(ElapsedMicros(p->t0));
    in_flight_.fetch_sub(1);
    Answer(p->reply, ProblemResponse(problem));
  }

  const GatewayOptions options_;
  const GatewayDeps deps_;
  Clock& clock_;
  const Router router_;
  BodyLimits limits_;
  std::map<const TokenEntry*, std::unique_ptr<flow::TokenBucket>> buckets_;
  std::atomic<bool> reachable_{false};
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> unacked_{0};
  std::atomic<int64_t> in_flight_{0};
  metrics::Family<metrics::Counter>* requests_ = nullptr;
  metrics::Family<metrics::Counter>* rejected_ = nullptr;
  metrics::Counter* accepted_ = nullptr;
  metrics::Counter* rejected_events_ = nullptr;
  metrics::Histogram* request_seconds_ = nullptr;
  metrics::Histogram* ack_seconds_ = nullptr;
  std::vector<metrics::CallbackHandle> handles_;
};

void OnTaggedDelivery(const kafka::TaggedReport& report) {
  Slot* s = reinterpret_cast<Slot*>(report.tag);
  s->pending->impl->OnDelivery(*s, report);
}

Result<std::unique_ptr<Gateway>> Gateway::Create(const GatewayOptions& options, GatewayDeps deps) {
  auto impl = std::make_unique<Impl>(options, std::move(deps));
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<Gateway>(new Gateway(std::move(impl)));
}

Gateway::Gateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Gateway::~Gateway() = default;

void Gateway::Handle(const http::ServerRequest& request, Reply reply) {
  impl_->Handle(request, std::move(reply));
}
void Gateway::SetBrokerReachable(bool reachable) { impl_->reachable_.store(reachable); }
bool Gateway::broker_reachable() const { return impl_->reachable_.load(); }
void Gateway::BeginDrain() { impl_->draining_.store(true); }
int64_t Gateway::requests_in_flight() const { return impl_->in_flight_.load(); }
int64_t Gateway::unacked_events() const { return impl_->unacked_.load(); }

}  // namespace sluice::gateway

// HTTP client for sluice: an abstract transport (so callers can be unit-tested against a fake)
// and its libcurl-multi implementation, driven by one I/O thread.
//
// No libcurl header leaks from here: HttpClient is a pimpl over CURLM/CURL handles in src/.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::http {

// ASCII case-insensitive equality, as header field names compare (RFC 9110 §5.1).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Header fields in arrival (or insertion) order, with case-insensitive lookup. Repeated fields
// are kept as separate entries; Get returns the first.
// Thread-safety: a value type; distinct objects may be used from distinct threads freely.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  HttpHeaders() = default;
  HttpHeaders(std::initializer_list<Field> fields) : fields_(fields) {}

  // Appends a field, keeping any earlier field of the same name.
  void Add(std::string name, std::string value);
  // Replaces every field named `name` (any case) with one field.
  void Set(std::string name, std::string value);
  // Removes every field named `name` (any case).
  void Remove(std::string_view name);
  // The first field named `name` (any case), or nullopt.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

struct HttpRequest {
  // Any token method; GET, HEAD, POST, PUT, PATCH and DELETE are the usual ones.
  std::string method = "GET";
  // Absolute http:// or https:// URL; the path and query must already be percent-encoded.
  std::string url;
  // Sent as given. The client adds Host and Content-Length itself, and suppresses
  // `Expect: 100-continue`.
  HttpHeaders headers;
  std::string body;
  // Deadline for the whole exchange (connect, send, wait, receive). Zero means the client's
  // HttpClientOptions::request_timeout.
  std::chrono::milliseconds timeout{0};
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
};

// Called exactly once with the response (any HTTP status, including 4xx/5xx) or a transport error.
using HttpCallback = std::function<void(Result<HttpResponse>)>;

// Sends HTTP requests asynchronously.
//
// Transport errors are Status codes: Unavailable (connection refused or reset, DNS failure,
// TLS handshake failure, malformed reply, client shut down), DeadlineExceeded (connect or total
// timeout), ResourceExhausted (response over the configured size), InvalidArgument (a request
// that cannot be sent, e.g. a malformed URL), FailedPrecondition (TLS peer verification failed).
// The message carries the underlying library's text.
//
// Thread-safety: implementations are safe to call from any number of threads at once.
class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Starts `request`; `done` runs exactly once, usually on the transport's own thread (so it
  // must not block for long), or on the calling thread before Send returns when the request is
  // rejected at once (e.g. after shutdown). `done` may call Send again.
  virtual void Send(HttpRequest request, HttpCallback done) = 0;

  // Sends and waits. Must not be called from inside an HttpCallback of the same transport (that
  // would wait on the thread that has to deliver the answer).
  Result<HttpResponse> SendSync(HttpRequest request);
};

struct HttpClientOptions {
  // Deadline for establishing a connection (TCP + TLS). Default 10 s.
  std::chrono::milliseconds connect_timeout{10'000};
  // Default deadline for a whole exchange when HttpRequest::timeout is zero. Default 120 s.
  std::chrono::milliseconds request_timeout{120'000};
  // Connections open at once to one host (CURLMOPT_MAX_HOST_CONNECTIONS); further requests to
  // that host queue until one is free. Default 32.
  int max_host_connections = 32;
  // Idle connections kept for reuse (CURLMOPT_MAXCONNECTS). 0 means 4 × max_host_connections.
  int max_idle_connections = 0;
  // Verify the server's TLS certificate and host name. Default true; turn off only for tests.
  bool verify_tls = true;
  // PEM bundle of trusted CAs; empty means the system default.
  std::string ca_file;
  // Responses whose body exceeds this fail with ResourceExhausted. Default 64 MiB.
  size_t max_response_bytes = 64u << 20;
  // Responses whose header section exceeds this fail with ResourceExhausted. Default 256 KiB.
  size_t max_response_header_bytes = 256u << 10;
  // Sent when the request has no User-Agent. Default "sluice/0.1".
  std::string user_agent = "sluice/0.1";
};

// Counters kept by HttpClient. Thread-safety: atomics; read from any thread.
struct HttpClientStats {
  std::atomic<uint64_t> requests{0};          // accepted by Send
  std::atomic<uint64_t> responses{0};         // completed with an HTTP status
  std::atomic<uint64_t> transport_errors{0};  // completed with a transport error
  std::atomic<uint64_t> connections_opened{0};
  std::atomic<int64_t> in_flight{0};
};

// HttpTransport over libcurl's multi interface: HTTP/1.1, keep-alive connection reuse, a cap on
// connections per host, connect and total timeouts, TLS verification on by default. One I/O
// thread (started by Create) runs every transfer and every callback.
// Shutdown (or destruction) completes every queued and in-flight request with Unavailable and
// joins the thread; later Sends complete at once with Unavailable.
// Thread-safety: Send and stats are safe from any thread; Shutdown from any thread except the I/O
// thread (i.e. not from inside a callback).
class HttpClient final : public HttpTransport {
 public:
  static Result<std::unique_ptr<HttpClient>> Create(HttpClientOptions options = {});
  ~HttpClient() override;

  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  void Send(HttpRequest request, HttpCallback done) override;
  void Shutdown();

  const HttpClientStats& stats() const;

 private:
  class Impl;
  explicit HttpClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Percent-encodes everything outside RFC 3986's unreserved set, for a path segment or a query or
// form value.
std::string EscapeUrlComponent(std::string_view s);

// `application/x-www-form-urlencoded` body from name/value pairs.
std::string FormEncode(std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

}  // namespace sluice::http

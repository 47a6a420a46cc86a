// A small, reusable HTTP/1.1 server (keep-alive, optional TLS, limits, asynchronous answers).
//
// Used by sluice-sfsim, the relay's /metrics and /healthz, and the HTTP gateway. Boost.Beast and
// Boost.Asio do the work behind a pimpl; no Boost header is visible here.
//
//   auto server = sluice::http::Server::Start(options, [](ServerRequest&& req, Responder r) {
//     ServerResponse res;
//     res.body = "hello";
//     std::move(r).Send(std::move(res));      // now, or later from a timer:
//   });                                       //   server->RunAfter(200ms, [r = ...] {...});
//   std::cout << (*server)->BaseUrl();         // "http://127.0.0.1:PORT"
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::http {

// An ordered list of header fields with case-insensitive name lookup. Names keep the spelling
// they were added with.
// Thread-safety: a value type; distinct objects may be used from distinct threads freely.
class ServerHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  // Appends a field (a name may repeat).
  void Add(std::string name, std::string value);
  // Replaces every field named `name` with one field.
  void Set(std::string name, std::string value);
  // Removes every field named `name`.
  void Remove(std::string_view name);
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> Get(std::string_view name) const;
  bool Has(std::string_view name) const { return Get(name).has_value(); }

  const std::vector<Field>& fields() const { return fields_; }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

// The identity in a client certificate that the server verified (mutual TLS). Only a certificate
// whose chain led to ServerOptions::tls_client_ca_file and that was within its validity period
// gets this far: the handshake fails for any other.
// Thread-safety: a value type.
struct ClientCertificate {
  std::string subject;                 // the subject in one line, RFC 2253 ("CN=a,O=b")
  std::string common_name;             // the subject's (last) CN; empty when it has none
  std::vector<std::string> dns_names;  // subjectAltName DNS entries
  std::vector<std::string> uris;       // subjectAltName URI entries (e.g. spiffe://...)
  std::string sha256_fingerprint;      // of the DER certificate, 64 lower-case hex digits
};

// Whether the server asks TLS clients for a certificate (mutual TLS).
enum class ClientCertMode {
  kOff,       // never asks
  kOptional,  // asks; a client may send none, but one that does must send a valid one
  kRequired,  // asks; the handshake fails without a valid certificate
};

// One parsed request, handed to the handler by value (the handler owns it; it may parse the body
// in place).
// Thread-safety: a value type.
struct ServerRequest {
  std::string method;  // "GET", "POST", ... as sent (case preserved)
  std::string target;  // raw request-target, e.g. "/a/b%20c?x=1"
  std::string path;    // target before '?', not percent-decoded
  std::string query;   // target after '?', not decoded; empty when there is none
  ServerHeaders headers;
  std::string body;
  std::string remote;          // peer "address:port"
  int version = 11;            // 10 for HTTP/1.0, 11 for HTTP/1.1
  uint64_t connection_id = 0;  // distinct per connection for the server's lifetime
  // The client's verified certificate (mutual TLS); null without one.
  std::shared_ptr<const ClientCertificate> client_certificate;

  // The first value of query parameter `name`, percent-decoded ('+' as space), or nullopt.
  std::optional<std::string> QueryParam(std::string_view name) const;
};

// A response. Content-Length is set by the server; Connection follows the request unless
// `close_connection` asks to close after this response.
// Thread-safety: a value type.
struct ServerResponse {
  int status = 200;
  ServerHeaders headers;
  std::string body;
  bool close_connection = false;
};

namespace internal {
class ResponderTarget;
}

// The one-shot way to answer a request. Move-only. Call exactly one of Send() or Reset(), from any
// thread, now or later (e.g. from Server::RunAfter). If a Responder is destroyed unanswered, the
// server answers 500 (unless the server is stopping).
// Thread-safety: one Responder is used by one thread at a time; distinct Responders are
// independent.
class Responder {
 public:
  Responder() = default;
  explicit Responder(std::shared_ptr<internal::ResponderTarget> target);
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  // Writes `response`, then reads the connection's next request (keep-alive) or closes it.
  void Send(ServerResponse response);
  // Resets the connection abruptly (TCP RST, no response), as a failing server would.
  void Reset();
  // True until Send or Reset was called (or for a default-constructed Responder, never).
  bool pending() const { return target_ != nullptr; }

 private:
  std::shared_ptr<internal::ResponderTarget> target_;
};

// Called on an I/O thread for every complete request. It must not block for long: answer at once
// or keep the Responder and answer later.
using RequestHandler = std::function<void(ServerRequest&& request, Responder responder)>;

// Builds the body of responses the server itself produces (400 malformed request, 413, 414, 431,
// 500 for an abandoned responder). Gets the status and a short English reason.
using ErrorResponder = std::function<ServerResponse(int status, std::string_view message)>;

struct ServerOptions {
  // Address to bind. Default 127.0.0.1 (sluice only listens on loopback unless told otherwise).
  std::string host = "127.0.0.1";
  // Port; 0 (default) picks a free one, see Server::port().
  uint16_t port = 0;
  // I/O threads running the event loop. Default 1.
  int io_threads = 1;
  // Request line plus header fields, in bytes; more answers 431. Default 16 KiB.
  size_t max_header_bytes = 16 * 1024;
  // The request-target alone, in bytes; longer answers 414. Default 16 KiB.
  size_t max_uri_bytes = 16 * 1024;
  // Request body, in bytes; more answers 413 and closes. Default 50 MB.
  size_t max_body_bytes = 50 * 1000 * 1000;
  // Time allowed for one request to arrive completely once its first byte came (slowloris
  // defence); on expiry the connection is closed. Default 30 s.
  std::chrono::milliseconds read_timeout{30000};
  // Time a keep-alive connection may sit idle between requests. Default 120 s.
  std::chrono::milliseconds idle_timeout{120000};
  // Time allowed to write one response. Default 60 s.
  std::chrono::milliseconds write_timeout{60000};
  // Open connections at most; further ones are accepted and closed at once. Default 20,000.
  size_t max_connections = 20000;
  // TLS: PEM certificate chain and private key. Both empty (default): plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Mutual TLS: whether clients are asked for a certificate (default off), and the PEM file of
  // the CA certificates a client certificate must chain to (required unless off). The chain and
  // the validity dates are verified in the handshake, which fails for an invalid certificate.
  ClientCertMode tls_client_certs = ClientCertMode::kOff;
  std::string tls_client_ca_file;
  // Bodies for the server's own error answers. Default: text/plain with the reason.
  ErrorResponder error_responder;
};

// Counters since start. Thread-safety: a value type (a snapshot).
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t connections_rejected = 0;  // over max_connections
  uint64_t connections_open = 0;
  uint64_t requests = 0;      // handed to the handler
  uint64_t bad_requests = 0;  // answered by the server itself (400/413/414/431)
  uint64_t timeouts = 0;      // connections closed by read/idle/write timeouts
  uint64_t resets = 0;        // Responder::Reset
  // TLS handshakes that failed (not timed out): no TLS, an unknown protocol, or a client
  // certificate that is missing (required), from another CA, expired or not yet valid.
  uint64_t tls_handshake_failures = 0;
};

// The server: binds in Start, serves on its I/O threads until Stop or destruction.
// Thread-safety: all methods are safe from any thread, including handler and timer callbacks,
// except Stop/destruction, which must not be called from an I/O thread.
class Server {
 public:
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                               RequestHandler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port (the chosen one when options.port was 0).
  uint16_t port() const;
  // "http://127.0.0.1:PORT" or "https://...".
  std::string BaseUrl() const;
  bool tls() const;

  // Runs `fn` on an I/O thread after `delay` (a timer on the event loop, no thread per call).
  // Dropped (not run) when the server stops first.
  void RunAfter(std::chrono::nanoseconds delay, std::function<void()> fn);
  // Runs `fn` on an I/O thread soon.
  void Post(std::function<void()> fn);

  // Closes the listening socket: connections attempted from now on are refused, while open
  // connections are served as before (the first step of a graceful drain). Idempotent; a no-op
  // after Stop. Must not be called from an I/O thread (it waits for one).
  void StopAccepting();

  // Stops accepting, closes every connection, drops pending timers, joins the I/O threads.
  // Idempotent.
  void Stop();

  ServerStats stats() const;

  // "OK", "Not Found", ... for a status code ("" when unknown).
  static std::string_view ReasonPhrase(int status);

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Loads the TLS files of `options` (certificate, key, client CA file) as Start would, without
// binding: InvalidArgument naming the file and what is wrong with it. Ok when TLS is off.
Status CheckServerTls(const ServerOptions& options);

// Decodes %XX escapes (and '+' as space when `plus_as_space`). Malformed escapes are kept as they
// are.
std::string ServerPercentDecode(std::string_view in, bool plus_as_space);

}  // namespace sluice::http

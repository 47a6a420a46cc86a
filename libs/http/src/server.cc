// Boost.Beast/Asio implementation of sluice::http::Server.
//
// Shape: one io_context run by options.io_threads threads; an acceptor; one Session per
// connection, bound to its own strand. A Session reads one request at a time (idle wait for the
// first byte, then header and body under the read timeout), hands it to the handler with a
// Responder (which holds the session alive), and after the answer is written reads the next one.
// Stop() joins the threads, then closes every socket and cancels every timer and runs the loop
// dry on the calling thread, so no handler (and no Session) is left inside the io_context.

#include "sluice/http/server.h"

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "server_parts.h"

namespace sluice::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

ServerResponse DefaultErrorResponse(int status, std::string_view message) {
  ServerResponse res;
  res.status = status;
  res.headers.Set("Content-Type", "text/plain; charset=utf-8");
  res.body = std::string(message) + "\n";
  return res;
}

// Bytes drained from a connection after a final error answer, so the client can read the answer
// instead of getting a reset for its unread upload.
constexpr size_t kMaxDrainBytes = 64 * 1024 * 1024;
constexpr std::chrono::seconds kDrainTime{2};
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

// ---- Server internals ----

namespace {

class SessionBase;

// State shared by the server object, its sessions and its timers. Sessions keep it (and through
// it the io_context) alive, so a Responder held past Stop() never touches a destroyed loop.
struct Shared {
  ServerOptions options;
  RequestHandler handler;
  std::shared_ptr<net::io_context> ioc;
  std::atomic<bool> stopping{false};

  std::atomic<uint64_t> accepted{0}, rejected{0}, open{0}, requests{0}, bad{0}, timeouts{0},
      resets{0}, handshake_failures{0};
  std::atomic<uint64_t> next_id{1};

  std::mutex mu;  // guards the two registries
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;
  std::unordered_map<uint64_t, std::weak_ptr<net::steady_timer>> timers;

  ServerResponse ErrorResponse(int status, std::string_view message) const {
    ServerResponse res = options.error_responder ? options.error_responder(status, message)
                                                 : DefaultErrorResponse(status, message);
    res.status = status;
    res.close_connection = true;
    return res;
  }
};

class SessionBase : public internal::ResponderTarget,
                    public std::enable_shared_from_this<SessionBase> {
 public:
  // Closes the socket; only called from Stop() once the I/O threads have been joined.
  virtual void CloseNow() = 0;
};

template <typename Stream>
class Session final : public SessionBase {
 public:
  Session(std::shared_ptr<Shared> shared, Stream stream, uint64_t id)
      : shared_(std::move(shared)), stream_(std::move(stream)), id_(id) {
    beast::error_code ec;
    auto ep = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Session() override {
    shared_->open.fetch_sub(1);
    std::lock_guard lock(shared_->mu);
    shared_->sessions.erase(id_);
  }

  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(shared_->options.read_timeout);
      stream_.async_handshake(ssl::stream_base::server, [self = Self()](beast::error_code ec) {
        if (ec) {
          if (ec == beast::error::timeout) {
            self->shared_->timeouts++;
          } else {
            self->shared_->handshake_failures++;
          }
          return self->CloseHard();
        }
        if (self->shared_->options.tls_client_certs != ClientCertMode::kOff) {
          self->client_cert_ = internal::VerifiedClientCertificate(self->stream_.native_handle());
        }
        self->WaitForRequest();
      });
    } else {
      WaitForRequest();
    }
  }

  // ResponderTarget: called from any thread.
  void Send(ServerResponse response) override {
    if (shared_->stopping) return;
    net::post(stream_.get_executor(),
              [self = Self(), r = std::move(response)]() mutable { self->Write(std::move(r)); });
  }

  void Reset() override {
    if (shared_->stopping) return;
    shared_->resets++;
    net::post(stream_.get_executor(), [self = Self()] { self->ResetNow(); });
  }

  void Abandon() override {
    if (shared_->stopping) return;
    Send(shared_->ErrorResponse(500, "the request was not answered"));
  }

  void CloseNow() override {
    beast::error_code ec;
    Lowest().socket().close(ec);
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  // Waits (up to the idle timeout) for the first byte of the next request.
  void WaitForRequest() {
    if (shared_->stopping) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
        std::min<size_t>(shared_->options.max_header_bytes + 1024, UINT32_MAX)));
    parser_->body_limit(shared_->options.max_body_bytes);
    if (buffer_.size() > 0) return ReadHeader();
    Lowest().expires_after(shared_->options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = Self()](beast::error_code ec, size_t n) {
                              if (ec) {
                                if (ec == beast::error::timeout) self->shared_->timeouts++;
                                return self->CloseHard();
                              }
                              self->buffer_.commit(n);
                              self->ReadHeader();
                            });
  }

  // Reads until the blank line that ends the header (at most max_header_bytes), then parses it in
  // one go. Beast 1.74's header_limit bounds only the unparsed part of a header, so the total is
  // bounded here.
  void ReadHeader() {
    Lowest().expires_after(shared_->options.read_timeout);
    scan_pos_ = 0;
    ContinueHeader();
  }

  void ContinueHeader() {
    auto data = buffer_.data();
    std::string_view buffered(static_cast<const char*>(data.data()), data.size());
    size_t from = scan_pos_ > 3 ? scan_pos_ - 3 : 0;
    size_t eom = buffered.find("\r\n\r\n", from);
    const size_t limit = shared_->options.max_header_bytes;
    if (eom != std::string_view::npos) {
      if (eom + 4 > limit) return Fail(HeaderLimitStatus(buffered), "Header Too Large");
      beast::error_code ec;
      parser_->eager(false);
      size_t used = parser_->put(net::buffer(data.data(), eom + 4), ec);
      buffer_.consume(used);
      if (ec) return OnReadError(ec);
      if (!parser_->is_header_done()) return Fail(400, "Bad Request: incomplete header");
      return OnHeader();
    }
    scan_pos_ = buffered.size();
    if (buffered.size() >= limit) return Fail(HeaderLimitStatus(buffered), "Header Too Large");
    stream_.async_read_some(buffer_.prepare(16 * 1024),
                            [self = Self()](beast::error_code ec, size_t n) {
                              if (ec) return self->OnReadError(ec);
                              self->buffer_.commit(n);
                              self->ContinueHeader();
                            });
  }

  // 414 when the request-target alone is over the URI limit (or the request line has no end
  // within the header limit), else 431.
  int HeaderLimitStatus(std::string_view buffered) {
    size_t eol = buffered.find("\r\n");
    if (eol == std::string_view::npos) return 414;
    std::string_view line = buffered.substr(0, eol);
    size_t first = line.find(' ');
    size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    if (second == std::string_view::npos) return 431;
    return second - first - 1 > shared_->options.max_uri_bytes ? 414 : 431;
  }

  void OnHeader() {
    const auto& msg = parser_->get();
    keep_alive_ = msg.keep_alive();
    version_ = msg.version();
    if (msg.target().size() > shared_->options.max_uri_bytes) {
      return Fail(414, "URI Too Long");
    }
    auto expect = msg[bhttp::field::expect];
    if (!parser_->is_done() &&
        internal::IEquals(std::string_view(expect.data(), expect.size()), "100-continue")) {
      net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                       [self = Self()](beast::error_code ec, size_t) {
                         if (ec) return self->CloseHard();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    if (parser_->is_done()) return Dispatch();
    bhttp::async_read(stream_, buffer_, *parser_, [self = Self()](beast::error_code ec, size_t) {
      if (ec) return self->OnReadError(ec);
      self->Dispatch();
    });
  }

  void OnReadError(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof) return CloseHard();
    if (ec == beast::error::timeout) {
      shared_->timeouts++;
      return CloseHard();
    }
    if (ec == bhttp::error::header_limit) return Fail(431, "Header Too Large");
    if (ec == bhttp::error::body_limit) return Fail(413, "Payload Too Large");
    if (ec == bhttp::error::partial_message) return CloseHard();
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category()) {
      return Fail(400, std::string("Bad Request: ") + ec.message());
    }
    CloseHard();  // socket errors (reset by peer, ...)
  }

  void Fail(int status, std::string_view reason) {
    shared_->bad++;
    keep_alive_ = false;
    Write(shared_->ErrorResponse(status, reason));
  }

  void Dispatch() {
    Lowest().expires_never();
    auto msg = parser_->release();
    parser_.reset();
    ServerRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    size_t q = req.target.find('?');
    if (q == std::string::npos) {
      req.path = req.target;
    } else {
      req.path = req.target.substr(0, q);
      req.query = req.target.substr(q + 1);
    }
    for (const auto& f : msg) {
      req.headers.Add(std::string(f.name_string()), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.remote = remote_;
    req.version = static_cast<int>(msg.version());
    req.connection_id = id_;
    req.client_certificate = client_cert_;
    shared_->requests++;
    try {
      shared_->handler(std::move(req), Responder(shared_from_this()));
    } catch (...) {
      // The Responder was destroyed during unwinding and answered 500.
    }
  }

  void Write(ServerResponse r) {
    if (shared_->stopping) return;
    res_.emplace();
    res_->version(version_);
    res_->result(static_cast<unsigned>(r.status));
    for (auto& [name, value] : r.headers.fields()) res_->insert(name, value);
    res_->body() = std::move(r.body);
    if (r.close_connection) keep_alive_ = false;
    res_->keep_alive(keep_alive_);
    res_->prepare_payload();
    Lowest().expires_after(shared_->options.write_timeout);
    bhttp::async_write(stream_, *res_, [self = Self()](beast::error_code ec, size_t) {
      self->res_.reset();
      if (ec) {
        if (ec == beast::error::timeout) self->shared_->timeouts++;
        return self->CloseHard();
      }
      if (!self->keep_alive_) return self->CloseGracefully();
      self->WaitForRequest();
    });
  }

  void ResetNow() {
    beast::error_code ec;
    Lowest().socket().set_option(net::socket_base::linger(true, 0), ec);
    Lowest().socket().close(ec);
  }

  void CloseHard() {
    beast::error_code ec;
    Lowest().socket().close(ec);
  }

  // Half-closes, then drains what the client still sends (bounded in bytes and time) so that our
  // final answer is not destroyed by a reset for unread data.
  void CloseGracefully() {
    beast::error_code ec;
    if constexpr (kTls) {
      return CloseHard();
    } else {
      Lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      Lowest().expires_after(kDrainTime);
      Drain();
    }
  }

  void Drain() {
    drain_.resize(64 * 1024);
    Lowest().async_read_some(net::buffer(drain_), [self = Self()](beast::error_code ec, size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > kMaxDrainBytes) return self->CloseHard();
      self->Drain();
    });
  }

  std::shared_ptr<Shared> shared_;
  Stream stream_;
  uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
  std::vector<char> drain_;
  size_t drained_ = 0;
  size_t scan_pos_ = 0;
  std::shared_ptr<const ClientCertificate> client_cert_;  // verified in the handshake, or null
};

}  // namespace

class Server::Impl {
 public:
  std::shared_ptr<Shared> shared;
  std::optional<ssl::context> tls_ctx;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  std::mutex stop_mu;
  bool stopped = false;

  void Accept() {
    acceptor->async_accept(net::make_strand(*shared->ioc),
                           [this](beast::error_code ec, tcp::socket socket) {
                             if (ec == net::error::operation_aborted || shared->stopping) return;
                             if (!ec) OnAccept(std::move(socket));
                             Accept();
                           });
  }

  void OnAccept(tcp::socket socket) {
    if (shared->open.load() >= shared->options.max_connections) {
      shared->rejected++;
      beast::error_code ec;
      socket.close(ec);
      return;
    }
    shared->accepted++;
    shared->open++;
    beast::error_code ec;
    socket.set_option(tcp::no_delay(true), ec);  // answers are written whole; don't hold them
    uint64_t id = shared->next_id++;
    std::shared_ptr<SessionBase> session;
    if (tls_ctx) {
      auto s = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          shared, beast::ssl_stream<beast::tcp_stream>(std::move(socket), *tls_ctx), id);
      session = s;
      Register(id, session);
      s->Start();
    } else {
      auto s = std::make_shared<Session<beast::tcp_stream>>(
          shared, beast::tcp_stream(std::move(socket)), id);
      session = s;
      Register(id, session);
      s->Start();
    }
  }

  void Register(uint64_t id, const std::shared_ptr<SessionBase>& s) {
    std::lock_guard lock(shared->mu);
    shared->sessions.emplace(id, s);
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { Stop(); }

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options,
                                              RequestHandler handler) {
  if (!handler) return InvalidArgumentError("http server: no handler");
  if (options.io_threads < 1) return InvalidArgumentError("http server: io_threads must be >= 1");
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgumentError("http server: TLS needs both a certificate and a key file");
  }
  if (options.tls_cert_file.empty() && options.tls_client_certs != ClientCertMode::kOff) {
    return InvalidArgumentError("http server: client certificates need TLS");
  }
  auto impl = std::make_unique<Impl>();
  impl->shared = std::make_shared<Shared>();
  impl->shared->options = options;
  impl->shared->handler = std::move(handler);
  impl->shared->ioc = std::make_shared<net::io_context>(options.io_threads);
  try {
    if (!options.tls_cert_file.empty()) {
      impl->tls_ctx.emplace(ssl::context::tls_server);
      impl->tls_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                 ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                 ssl::context::no_tlsv1_1);
      Status st = internal::ConfigureServerTls(*impl->tls_ctx, options);
      if (!st.ok()) return st.WithContext("http server");
    }
    boost::system::error_code ec;
    auto address = net::ip::make_address(options.host, ec);
    if (ec) return InvalidArgumentError("http server: bad host '" + options.host + "'");
    tcp::endpoint endpoint(address, options.port);
    impl->acceptor = std::make_unique<tcp::acceptor>(*impl->shared->ioc);
    impl->acceptor->open(endpoint.protocol());
    impl->acceptor->set_option(net::socket_base::reuse_address(true));
    impl->acceptor->bind(endpoint, ec);
    if (ec) {
      return UnavailableError("http server: bind " + options.host + ":" +
                              std::to_string(options.port) + ": " + ec.message());
    }
    impl->acceptor->listen(net::socket_base::max_listen_connections);
    impl->port = impl->acceptor->local_endpoint().port();
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("http server: ") + e.what());
  }
  impl->work.emplace(net::make_work_guard(*impl->shared->ioc));
  impl->Accept();
  for (int i = 0; i < options.io_threads; ++i) {
    impl->threads.emplace_back([ioc = impl->shared->ioc] {
      for (;;) {
        try {
          ioc->run();
          return;
        } catch (...) {
          // A handler threw; keep serving.
        }
      }
    });
  }
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port; }

bool Server::tls() const { return impl_->tls_ctx.has_value(); }

std::string Server::BaseUrl() const {
  std::string host = impl_->shared->options.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(tls() ? "https://" : "http://") + host + ":" + std::to_string(port());
}

void Server::RunAfter(std::chrono::nanoseconds delay, std::function<void()> fn) {
  auto shared = impl_->shared;
  if (shared->stopping) return;
  auto timer = std::make_shared<net::steady_timer>(*shared->ioc);
  timer->expires_after(delay);
  uint64_t id = shared->next_id++;
  {
    std::lock_guard lock(shared->mu);
    shared->timers.emplace(id, timer);
  }
  timer->async_wait([shared, timer, id, fn = std::move(fn)](beast::error_code ec) {
    {
      std::lock_guard lock(shared->mu);
      shared->timers.erase(id);
    }
    if (ec || shared->stopping) return;
    fn();
  });
}

void Server::Post(std::function<void()> fn) {
  auto shared = impl_->shared;
  if (shared->stopping) return;
  net::post(*shared->ioc, [shared, fn = std::move(fn)] {
    if (!shared->stopping) fn();
  });
}

void Server::StopAccepting() {
  std::lock_guard stop_lock(impl_->stop_mu);
  if (impl_->stopped) return;
  std::promise<void> closed;
  std::future<void> done = closed.get_future();
  // The acceptor belongs to the I/O threads: close it on one of them.
  net::post(*impl_->shared->ioc, [this, &closed] {
    beast::error_code ec;
    impl_->acceptor->close(ec);
    closed.set_value();
  });
  done.wait();
}

void Server::Stop() {
  std::lock_guard stop_lock(impl_->stop_mu);
  if (impl_->stopped) return;
  impl_->stopped = true;
  auto shared = impl_->shared;
  shared->stopping = true;
  shared->ioc->stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
  // No I/O thread runs now: close everything, then run the loop dry so that every pending
  // handler completes (as aborted) and releases what it holds.
  beast::error_code ec;
  impl_->acceptor->close(ec);
  std::vector<std::shared_ptr<SessionBase>> sessions;
  std::vector<std::shared_ptr<net::steady_timer>> timers;
  {
    std::lock_guard lock(shared->mu);
    for (auto& [id, w] : shared->sessions) {
      if (auto s = w.lock()) sessions.push_back(std::move(s));
    }
    for (auto& [id, w] : shared->timers) {
      if (auto t = w.lock()) timers.push_back(std::move(t));
    }
  }
  for (auto& s : sessions) s->CloseNow();
  for (auto& t : timers) t->cancel();
  sessions.clear();
  timers.clear();
  impl_->work.reset();
  shared->ioc->restart();
  try {
    shared->ioc->run();
  } catch (...) {
  }
}

ServerStats Server::stats() const {
  const auto& s = *impl_->shared;
  ServerStats out;
  out.connections_accepted = s.accepted;
  out.connections_rejected = s.rejected;
  out.connections_open = s.open;
  out.requests = s.requests;
  out.bad_requests = s.bad;
  out.timeouts = s.timeouts;
  out.resets = s.resets;
  out.tls_handshake_failures = s.handshake_failures;
  return out;
}

}  // namespace sluice::http

// HttpClient against a tiny raw-socket HTTP/1.1 server on 127.0.0.1, so every byte on the wire is
// under the test's control (malformed replies, resets, silence, oversized answers).
#include "sluice/http/client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <list>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace sluice::http {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = std::chrono::seconds(20);  // safety deadline for condition waits

struct RawRequest {
  std::string method;
  std::string target;
  std::string head;  // request line and header lines, as received
  std::string body;
  std::optional<std::string> Header(std::string_view name) const {
    size_t pos = 0;
    while (true) {
      size_t end = head.find("\r\n", pos);
      if (end == std::string::npos) return std::nullopt;
      std::string_view line(head.data() + pos, end - pos);
      size_t colon = line.find(':');
      if (colon != std::string_view::npos && EqualsIgnoreCase(line.substr(0, colon), name)) {
        std::string_view v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
        return std::string(v);
      }
      pos = end + 2;
    }
  }
};

struct Action {
  enum Kind { kReply, kReset, kHold, kClose } kind = kReply;
  std::string bytes;  // written for kReply (and before closing for kClose)
};

Action Reply(int status, std::string body, std::string extra_headers = "") {
  return {Action::kReply, "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: " +
                              std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body};
}

// A thread-per-connection HTTP/1.1 server with keep-alive. The handler decides each answer.
class RawServer {
 public:
  using Handler = std::function<Action(const RawRequest&)>;

  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    EXPECT_EQ(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listen_fd_, 128), 0);
    socklen_t len = sizeof(addr);
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    EXPECT_EQ(pipe(wake_), 0);
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  ~RawServer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
      for (int fd : conn_fds_) shutdown(fd, SHUT_RDWR);
    }
    cv_.notify_all();
    ssize_t ignored = write(wake_[1], "x", 1);
    (void)ignored;
    accept_thread_.join();
    for (auto& t : conn_threads_) t.join();
    close(listen_fd_);
    close(wake_[0]);
    close(wake_[1]);
  }

  std::string Url(const std::string& path = "/") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int accepted() const { return accepted_.load(); }
  int requests() const { return requests_.load(); }
  int peak_in_handler() const { return peak_in_handler_.load(); }
  int in_handler() const { return in_handler_.load(); }

  // Waits (on a condition, bounded by kWait) until `pred` holds.
  bool WaitFor(const std::function<bool()>& pred) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kWait, pred);
  }
  // Lets kHold actions go (they then close the connection without an answer).
  void ReleaseHeld() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
    }
    cv_.notify_all();
  }
  void Notify() { cv_.notify_all(); }

 private:
  void AcceptLoop() {
    while (true) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_[0], POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) continue;
      if (fds[1].revents != 0) return;
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) {
        close(fd);
        return;
      }
      accepted_++;
      conn_fds_.insert(fd);
      conn_threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  bool ReadRequest(int fd, std::string& buffer, RawRequest& out) {
    size_t head_end;
    while ((head_end = buffer.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadMore(fd, buffer)) return false;
    }
    out.head = buffer.substr(0, head_end + 2);
    size_t sp1 = out.head.find(' ');
    size_t sp2 = out.head.find(' ', sp1 + 1);
    out.method = out.head.substr(0, sp1);
    out.target = out.head.substr(sp1 + 1, sp2 - sp1 - 1);
    size_t length = 0;
    if (auto cl = out.Header("Content-Length")) length = std::stoul(*cl);
    size_t body_start = head_end + 4;
    while (buffer.size() < body_start + length) {
      if (!ReadMore(fd, buffer)) return false;
    }
    out.body = buffer.substr(body_start, length);
    buffer.erase(0, body_start + length);
    return true;
  }

  static bool ReadMore(int fd, std::string& buffer) {
    char chunk[65536];
    ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer.append(chunk, static_cast<size_t>(n));
    return true;
  }

  static void WriteAll(int fd, const std::string& bytes) {
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  void Serve(int fd) {
    std::string buffer;
    bool reset = false;
    while (true) {
      RawRequest request;
      if (!ReadRequest(fd, buffer, request)) break;
      int now = ++in_handler_;
      int peak = peak_in_handler_.load();
      while (now > peak && !peak_in_handler_.compare_exchange_weak(peak, now)) {
      }
      requests_++;
      cv_.notify_all();
      Action action = handler_(request);
      if (action.kind == Action::kHold) {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stopping_ || released_; });
        --in_handler_;
        break;
      }
      --in_handler_;
      cv_.notify_all();
      if (action.kind == Action::kReset) {
        linger l{1, 0};  // RST instead of FIN
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
        reset = true;
        break;
      }
      WriteAll(fd, action.bytes);
      if (action.kind == Action::kClose) break;
    }
    (void)reset;
    std::lock_guard<std::mutex> lock(mu_);
    conn_fds_.erase(fd);
    close(fd);
  }

  Handler handler_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  int port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool released_ = false;
  std::set<int> conn_fds_;
  std::list<std::thread> conn_threads_;
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  std::atomic<int> in_handler_{0};
  std::atomic<int> peak_in_handler_{0};
};

std::unique_ptr<HttpClient> MakeClient(HttpClientOptions options = {}) {
  auto client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return std::move(client).value();
}

HttpRequest Get(const std::string& url) {
  HttpRequest r;
  r.url = url;
  return r;
}

TEST(HttpHeadersTest, LookupIsCaseInsensitiveAndKeepsOrder) {
  HttpHeaders h{{"Content-Type", "application/json"}};
  h.Add("Set-Cookie", "a=1");
  h.Add("set-cookie", "b=2");
  EXPECT_EQ(h.Get("content-type"), "application/json");
  EXPECT_EQ(h.Get("CONTENT-TYPE"), "application/json");
  EXPECT_EQ(h.Get("SET-COOKIE"), "a=1");
  EXPECT_FALSE(h.Get("Content-Length").has_value());
  EXPECT_EQ(h.size(), 3u);
  h.Set("SET-cookie", "c=3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.Get("set-cookie"), "c=3");
  h.Remove("CONTENT-type");
  EXPECT_FALSE(h.Has("Content-Type"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abcd"));
  EXPECT_TRUE(EqualsIgnoreCase("Sforce-Limit-Info", "sforce-limit-info"));
}

TEST(EscapeTest, EncodesReservedAndNonAscii) {
  EXPECT_EQ(EscapeUrlComponent("abc-._~XYZ09"), "abc-._~XYZ09");
  EXPECT_EQ(EscapeUrlComponent("a b/c?d&e=f#g"), "a%20b%2Fc%3Fd%26e%3Df%23g");
  EXPECT_EQ(EscapeUrlComponent("\xc3\xa9"), "%C3%A9");
  EXPECT_EQ(EscapeUrlComponent(std::string("a\0b", 3)), "a%00b");
  EXPECT_EQ(EscapeUrlComponent(""), "");
  EXPECT_EQ(FormEncode({{"grant_type", "client_credentials"}, {"client_secret", "p+w&d="}}),
            "grant_type=client_credentials&client_secret=p%2Bw%26d%3D");
}

TEST(HttpClientTest, GetReturnsStatusHeadersAndBody) {
  RawServer server([](const RawRequest& r) {
    if (r.target != "/services/data") return Reply(404, "nope");
    return Reply(200, "hello", "X-Thing: a\r\nSforce-Limit-Info: api-usage=1/2\r\n");
  });
  auto client = MakeClient();
  HttpRequest request = Get(server.Url("/services/data"));
  request.headers.Add("Authorization", "Bearer tok");
  auto response = client->SendSync(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello");
  EXPECT_EQ(response->headers.Get("x-thing"), "a");
  EXPECT_EQ(response->headers.Get("SFORCE-LIMIT-INFO"), "api-usage=1/2");
  auto missing = client->SendSync(Get(server.Url("/other")));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);  // HTTP errors are responses, not transport errors
  EXPECT_EQ(missing->body, "nope");
}

TEST(HttpClientTest, SendsMethodBodyAndHeadersVerbatim) {
  std::mutex mu;
  std::vector<RawRequest> seen;
  RawServer server([&](const RawRequest& r) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(r);
    return Reply(201, "{}");
  });
  auto client = MakeClient();
  std::string body = R"({"allOrNone":false,"records":[)" + std::string(5000, 'x') + "]}";
  for (const char* method : {"PATCH", "POST", "PUT", "DELETE"}) {
    HttpRequest request;
    request.method = method;
    request.url = server.Url("/composite/sobjects");
    request.headers.Add("Content-Type", "application/json");
    request.headers.Add("Authorization", "Bearer 00D!x");
    request.body = body;
    auto response = client->SendSync(request);
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 201);
  }
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen[0].method, "PATCH");
  EXPECT_EQ(seen[1].method, "POST");
  EXPECT_EQ(seen[2].method, "PUT");
  EXPECT_EQ(seen[3].method, "DELETE");
  for (const auto& r : seen) {
    EXPECT_EQ(r.body, body);
    EXPECT_EQ(r.Header("content-type"), "application/json");
    EXPECT_EQ(r.Header("authorization"), "Bearer 00D!x");
    EXPECT_FALSE(r.Header("Expect").has_value()) << "100-continue must be suppressed";
    EXPECT_EQ(r.head.substr(r.head.find(' ', r.method.size() + 1) + 1, 8), "HTTP/1.1");
  }
}

TEST(HttpClientTest, ReusesOneKeepAliveConnection) {
  RawServer server([](const RawRequest&) { return Reply(200, "ok"); });
  auto client = MakeClient();
  for (int i = 0; i < 20; ++i) {
    auto response = client->SendSync(Get(server.Url()));
    ASSERT_TRUE(response.ok()) << response.status();
  }
  EXPECT_EQ(server.requests(), 20);
  EXPECT_EQ(server.accepted(), 1);
  EXPECT_EQ(client->stats().connections_opened.load(), 1u);
  EXPECT_EQ(client->stats().responses.load(), 20u);
  EXPECT_EQ(client->stats().in_flight.load(), 0);
}

TEST(HttpClientTest, CapsConnectionsPerHost) {
  RawServer* self = nullptr;
  std::atomic<bool> gate_open{false};
  // Holds each request until two are in the handler at once (or the gate opens), so the client
  // really has two busy connections while the other requests wait.
  RawServer server([&](const RawRequest&) {
    self->WaitFor([&] { return gate_open.load() || self->in_handler() >= 2; });
    return Reply(200, "ok");
  });
  self = &server;
  HttpClientOptions options;
  options.max_host_connections = 2;
  auto client = MakeClient(options);
  constexpr int kRequests = 12;
  std::vector<std::future<Result<HttpResponse>>> futures;
  for (int i = 0; i < kRequests; ++i) {
    futures.push_back(
        std::async(std::launch::async, [&] { return client->SendSync(Get(server.Url())); }));
  }
  // The last request may be alone: let it through once the others are done.
  ASSERT_TRUE(server.WaitFor([&] { return server.requests() >= kRequests - 1; }));
  gate_open = true;
  server.Notify();
  for (auto& f : futures) {
    auto r = f.get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server.requests(), kRequests);
  EXPECT_LE(server.accepted(), 2);
  EXPECT_LE(server.peak_in_handler(), 2);
  EXPECT_EQ(server.peak_in_handler(), 2);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  // A bound socket that never listens: connecting to its port is refused.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto client = MakeClient();
  auto response =
      client->SendSync(Get("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/"));
  close(fd);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status();
  EXPECT_FALSE(response.status().message().empty());
  EXPECT_EQ(client->stats().transport_errors.load(), 1u);
}

TEST(HttpClientTest, SilentServerTimesOutWithDeadlineExceeded) {
  RawServer server([](const RawRequest&) { return Action{Action::kHold, ""}; });
  auto client = MakeClient();
  HttpRequest request = Get(server.Url());
  request.timeout = 200ms;
  auto response = client->SendSync(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded) << response.status();
  server.ReleaseHeld();
}

TEST(HttpClientTest, ConnectionResetIsUnavailable) {
  RawServer server([](const RawRequest&) { return Action{Action::kReset, ""}; });
  auto client = MakeClient();
  auto response = client->SendSync(Get(server.Url()));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status();
}

TEST(HttpClientTest, MalformedRepliesAreUnavailable) {
  const std::vector<std::string> replies = {
      "NOT HTTP AT ALL\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort",  // body cut off
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nbad\r\n",
      std::string("\x00\xff\xfe garbage", 11),
  };
  for (const auto& reply : replies) {
    RawServer server([&](const RawRequest&) { return Action{Action::kClose, reply}; });
    auto client = MakeClient();
    auto response = client->SendSync(Get(server.Url()));
    ASSERT_FALSE(response.ok()) << "reply: " << reply;
    EXPECT_EQ(response.status().code(), StatusCode::kUnavailable) << response.status();
  }
}

TEST(HttpClientTest, OversizedResponsesAreRefused) {
  RawServer big_body([](const RawRequest&) { return Reply(200, std::string(1 << 20, 'x')); });
  HttpClientOptions options;
  options.max_response_bytes = 64 << 10;
  auto client = MakeClient(options);
  auto response = client->SendSync(Get(big_body.Url()));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kResourceExhausted) << response.status();

  std::string many_headers;
  for (int i = 0; i < 400; ++i)
    many_headers += "X-Pad-" + std::to_string(i) + ": " + std::string(1000, 'p') + "\r\n";
  RawServer big_head([&](const RawRequest&) { return Reply(200, "ok", many_headers); });
  auto client2 = MakeClient();
  auto response2 = client2->SendSync(Get(big_head.Url()));
  ASSERT_FALSE(response2.ok());
  EXPECT_EQ(response2.status().code(), StatusCode::kResourceExhausted) << response2.status();
}

TEST(HttpClientTest, RejectsRequestsThatCannotBeSent) {
  RawServer server([](const RawRequest&) { return Reply(200, "ok"); });
  auto client = MakeClient();
  auto bad_scheme = client->SendSync(Get("ftp://127.0.0.1/x"));
  EXPECT_EQ(bad_scheme.status().code(), StatusCode::kInvalidArgument);
  HttpRequest injected = Get(server.Url());
  injected.headers.Add("X-Evil", "a\r\nX-Injected: 1");
  EXPECT_EQ(client->SendSync(injected).status().code(), StatusCode::kInvalidArgument);
  HttpRequest bad_name = Get(server.Url());
  bad_name.headers.Add("Bad Name", "v");
  EXPECT_EQ(client->SendSync(bad_name).status().code(), StatusCode::kInvalidArgument);
  HttpRequest bad_method = Get(server.Url());
  bad_method.method = "GET /x HTTP/1.1\r\n";
  EXPECT_EQ(client->SendSync(bad_method).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(server.requests(), 0);
  // The client is still fine afterwards.
  auto good = client->SendSync(Get(server.Url()));
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->status, 200);
}

TEST(HttpClientTest, ShutdownCancelsInFlightAndRejectsLaterSends) {
  RawServer server([](const RawRequest&) { return Action{Action::kHold, ""}; });
  auto client = MakeClient();
  std::promise<Result<HttpResponse>> done;
  client->Send(Get(server.Url()), [&](Result<HttpResponse> r) { done.set_value(std::move(r)); });
  ASSERT_TRUE(server.WaitFor([&] { return server.requests() == 1; }));
  client->Shutdown();
  auto result = done.get_future().get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  bool called_inline = false;
  client->Send(Get(server.Url()), [&](Result<HttpResponse> r) {
    called_inline = true;
    EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  });
  EXPECT_TRUE(called_inline);
  client->Shutdown();  // idempotent
  server.ReleaseHeld();
}

TEST(HttpClientTest, CallbackMaySendAgain) {
  RawServer server([](const RawRequest& r) { return Reply(200, r.target); });
  auto client = MakeClient();
  std::promise<std::string> second;
  client->Send(Get(server.Url("/first")), [&](Result<HttpResponse> r) {
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->body, "/first");
    client->Send(Get(server.Url("/second")), [&](Result<HttpResponse> r2) {
      second.set_value(r2.ok() ? r2->body : r2.status().ToString());
    });
  });
  EXPECT_EQ(second.get_future().get(), "/second");
}

TEST(HttpClientTest, ManyConcurrentRequestsFromManyThreads) {
  RawServer server([](const RawRequest& r) { return Reply(200, r.body); });
  auto client = MakeClient();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 50;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<Result<HttpResponse>>> pending;
      for (int i = 0; i < kPerThread; ++i) {
        auto p = std::make_shared<std::promise<Result<HttpResponse>>>();
        pending.push_back(p->get_future());
        HttpRequest r;
        r.method = "POST";
        r.url = server.Url();
        r.body = std::to_string(t) + ":" + std::to_string(i);
        client->Send(r, [p](Result<HttpResponse> res) { p->set_value(std::move(res)); });
      }
      for (int i = 0; i < kPerThread; ++i) {
        auto res = pending[i].get();
        if (res.ok() && res->body == std::to_string(t) + ":" + std::to_string(i)) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_LE(server.accepted(), 32);
  EXPECT_EQ(client->stats().in_flight.load(), 0);
}

}  // namespace
}  // namespace sluice::http

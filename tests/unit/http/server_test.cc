// sluice::http::Server over real loopback sockets: keep-alive, asynchronous answers, limits,
// hostile input, resets, TLS and shutdown. Waits are by condition with deadlines.
#include "sluice/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>

#include "sluice/http/client.h"
#include "sluice/testing/process.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::http {
namespace {

using sluice::testing::HttpCall;
using sluice::testing::RawConnection;
using namespace std::chrono_literals;

// Echoes method, path, query and a header; /delay?ms=N answers after N ms from a timer;
// /reset resets the connection; /drop abandons the responder; /throw throws.
class EchoServer {
 public:
  explicit EchoServer(ServerOptions options = {}) {
    auto s = Server::Start(options, [this](ServerRequest&& req, Responder r) {
      Handle(std::move(req), std::move(r));
    });
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) server = std::move(*s);
  }

  void Handle(ServerRequest&& req, Responder r) {
    handled++;
    ServerResponse res;
    res.headers.Set("Content-Type", "text/plain");
    res.headers.Set("X-Connection", std::to_string(req.connection_id));
    if (req.path == "/delay") {
      int ms = std::atoi(req.QueryParam("ms").value_or("0").c_str());
      auto shared = std::make_shared<Responder>(std::move(r));
      server->RunAfter(std::chrono::milliseconds(ms), [shared] {
        ServerResponse late;
        late.body = "late";
        shared->Send(std::move(late));
      });
      return;
    }
    if (req.path == "/reset") return r.Reset();
    if (req.path == "/drop") return;  // the Responder's destructor answers 500
    if (req.path == "/throw") throw std::runtime_error("handler failure");
    if (req.path == "/hold") {
      std::lock_guard lock(mu);
      held.push_back(std::move(r));
      cv.notify_all();
      return;
    }
    res.body = req.method + " " + req.path + " " + req.query + " " +
               std::string(req.headers.Get("x-TEST").value_or("-")) + " " +
               std::to_string(req.body.size());
    r.Send(std::move(res));
  }

  std::unique_ptr<Server> server;
  std::atomic<int> handled{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Responder> held;
};

TEST(ServerTest, AnswersAndKeepsConnectionAlive) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  EXPECT_NE(echo.server->port(), 0);
  EXPECT_EQ(echo.server->BaseUrl(), "http://127.0.0.1:" + std::to_string(echo.server->port()));
  auto conn = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(conn.ok());
  auto a = (*conn)->Request("GET", "/a/b?x=1&y=%20z", {{"X-Test", "hello"}});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->status, 200);
  EXPECT_EQ(a->body, "GET /a/b x=1&y=%20z hello 0");
  auto b = (*conn)->Request("POST", "/c", {}, "12345");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->body, "POST /c  - 5");
  // Same connection both times.
  EXPECT_EQ(a->Header("X-Connection"), b->Header("X-Connection"));
  EXPECT_EQ(echo.server->stats().connections_accepted, 1u);
}

TEST(ServerTest, StopAcceptingRefusesNewConnectionsButServesOpenOnes) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  auto open = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(open.ok());
  ASSERT_TRUE((*open)->Request("GET", "/before").ok());
  echo.server->StopAccepting();
  echo.server->StopAccepting();  // idempotent
  EXPECT_FALSE(RawConnection::Connect(echo.server->port(), 2s).ok());
  auto after = (*open)->Request("GET", "/after");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->status, 200);
  echo.server->Stop();
  echo.server->StopAccepting();  // a no-op after Stop
}

TEST(ServerTest, QueryParamDecodes) {
  ServerRequest req;
  req.query = "a=1&since=12&name=x%2By+z&flag&a=2";
  EXPECT_EQ(req.QueryParam("a"), "1");
  EXPECT_EQ(req.QueryParam("name"), "x+y z");
  EXPECT_EQ(req.QueryParam("flag"), "");
  EXPECT_EQ(req.QueryParam("missing"), std::nullopt);
  EXPECT_EQ(ServerPercentDecode("%zz%4", false), "%zz%4");
  EXPECT_EQ(ServerPercentDecode("%41%62", false), "Ab");
}

TEST(ServerTest, HeadersAreCaseInsensitive) {
  ServerHeaders h;
  h.Add("Content-Type", "a");
  h.Add("content-type", "b");
  EXPECT_EQ(h.Get("CONTENT-TYPE"), "a");
  h.Set("CONTENT-type", "c");
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(h.Get("content-type"), "c");
  h.Remove("Content-Type");
  EXPECT_TRUE(h.empty());
}

TEST(ServerTest, AnswersLaterFromTimers) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  // Many delayed requests at once over separate connections, all held by timers on one thread.
  constexpr int kConnections = 200;
  std::vector<std::unique_ptr<RawConnection>> conns;
  for (int i = 0; i < kConnections; ++i) {
    auto c = RawConnection::Connect(echo.server->port());
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE((*c)->Send("GET /delay?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n").ok());
    conns.push_back(std::move(*c));
  }
  for (auto& c : conns) {
    auto r = c->ReadResponse();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "late");
  }
}

TEST(ServerTest, AbandonedResponderAnswers500AndThrowingHandlerToo) {
  ServerOptions options;
  options.error_responder = [](int status, std::string_view msg) {
    ServerResponse res;
    res.headers.Set("Content-Type", "application/json");
    res.body =
        "[{\"status\":" + std::to_string(status) + ",\"message\":\"" + std::string(msg) + "\"}]";
    return res;
  };
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  auto r = HttpCall(echo.server->port(), "GET", "/drop");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("\"status\":500"), std::string::npos);
  auto t = HttpCall(echo.server->port(), "GET", "/throw");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->status, 500);
  // Still serving.
  auto ok = HttpCall(echo.server->port(), "GET", "/fine");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST(ServerTest, ResetClosesTheConnectionWithoutAnswer) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  auto conn = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Send("GET /reset HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  auto r = (*conn)->ReadResponse(10s);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status();
  EXPECT_EQ(echo.server->stats().resets, 1u);
}

TEST(ServerTest, OversizedHeadersAnswer431) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  auto conn = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(conn.ok());
  auto r = (*conn)->Request("GET", "/x", {{"X-Big", std::string(17 * 1024, 'a')}});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 431);
  // Many small headers adding up over the limit too.
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 400; ++i) many.emplace_back("X-H" + std::to_string(i), std::string(50, 'b'));
  auto m = HttpCall(echo.server->port(), "GET", "/x", many);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->status, 431);
  EXPECT_GE(echo.server->stats().bad_requests, 2u);
}

TEST(ServerTest, LongUriAnswers414) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  auto r = HttpCall(echo.server->port(), "GET", "/" + std::string(20 * 1024, 'u'));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 414);
  // Shorter URI limit than header limit: checked after the header is read.
  ServerOptions options;
  options.max_uri_bytes = 100;
  EchoServer small(options);
  auto s = HttpCall(small.server->port(), "GET", "/" + std::string(200, 'u'));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->status, 414);
}

TEST(ServerTest, OversizedBodyAnswers413) {
  ServerOptions options;
  options.max_body_bytes = 1000;
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  auto r = HttpCall(echo.server->port(), "POST", "/x", {}, std::string(5000, 'x'));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  // Chunked bodies are counted as they arrive.
  auto conn = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(conn.ok());
  std::string chunked = "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) chunked += "190\r\n" + std::string(400, 'c') + "\r\n";
  chunked += "0\r\n\r\n";
  ASSERT_TRUE((*conn)->Send(chunked).ok());
  auto c = (*conn)->ReadResponse();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->status, 413);
  // Under the limit is fine.
  auto ok = HttpCall(echo.server->port(), "POST", "/x", {}, std::string(1000, 'x'));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST(ServerTest, ExpectContinueGetsInterimAnswer) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  auto conn = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)
                  ->Send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: "
                         "100-continue\r\n\r\n")
                  .ok());
  // The interim 100 arrives before we send the body; ReadResponse would skip it, so read raw.
  ASSERT_TRUE((*conn)->Send("abc").ok());
  auto r = (*conn)->ReadResponse();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /x  - 3");
}

TEST(ServerTest, MalformedRequestsAnswer400AndServerKeepsServing) {
  EchoServer echo;
  ASSERT_NE(echo.server, nullptr);
  const char* bad[] = {
      "GARBAGE\r\n\r\n",
      "GET / HTTP/9.9\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
      "\x01\x02\x03\xff\xfe\r\n\r\n",
  };
  for (const char* b : bad) {
    auto conn = RawConnection::Connect(echo.server->port());
    ASSERT_TRUE(conn.ok());
    ASSERT_TRUE((*conn)->Send(b).ok());
    auto r = (*conn)->ReadResponse(10s);
    ASSERT_TRUE(r.ok()) << r.status() << " for " << b;
    EXPECT_EQ(r->status, 400) << b;
  }
  auto ok = HttpCall(echo.server->port(), "GET", "/fine");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST(ServerTest, SlowlorisIsCutByReadTimeoutWhileOthersAreServed) {
  ServerOptions options;
  options.read_timeout = 300ms;
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  auto slow = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE((*slow)->Send("GET /x HTTP/1.1\r\nHost: x\r\nX-Slow: aaa").ok());
  // Others are answered meanwhile.
  auto ok = HttpCall(echo.server->port(), "GET", "/fine");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  // Trickle a byte now and then; the server closes within its read timeout regardless.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() < deadline) {
    (void)(*slow)->Send("a", 1s);
    closed = (*slow)->WaitClosed(100ms);
  }
  EXPECT_TRUE(closed);
  // The timer closes the socket before the aborted read is accounted: wait for the counter.
  auto counted = std::chrono::steady_clock::now() + 20s;
  while (echo.server->stats().timeouts < 1 && std::chrono::steady_clock::now() < counted) {
    std::this_thread::sleep_for(5ms);  // polling a counter, not waiting on timing
  }
  EXPECT_GE(echo.server->stats().timeouts, 1u);
  EXPECT_EQ(echo.handled.load(), 1);
}

TEST(ServerTest, IdleKeepAliveConnectionsAreClosed) {
  ServerOptions options;
  options.idle_timeout = 200ms;
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  auto conn = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(conn.ok());
  auto r = (*conn)->Request("GET", "/x");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE((*conn)->WaitClosed(20s));
}

TEST(ServerTest, ConnectionsOverTheLimitAreClosed) {
  ServerOptions options;
  options.max_connections = 2;
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  auto a = RawConnection::Connect(echo.server->port());
  auto b = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Request("GET", "/x").ok());
  ASSERT_TRUE((*b)->Request("GET", "/x").ok());
  auto c = RawConnection::Connect(echo.server->port());
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE((*c)->WaitClosed(20s));
  EXPECT_EQ(echo.server->stats().connections_rejected, 1u);
  // Closing one makes room again.
  a->reset();
  auto deadline = std::chrono::steady_clock::now() + 20s;
  bool served = false;
  while (!served && std::chrono::steady_clock::now() < deadline) {
    auto d = HttpCall(echo.server->port(), "GET", "/x", {}, "", 2s);
    served = d.ok() && d->status == 200;
  }
  EXPECT_TRUE(served);
}

TEST(ServerTest, StopWithHeldResponderIsClean) {
  auto echo = std::make_unique<EchoServer>();
  ASSERT_NE(echo->server, nullptr);
  auto conn = RawConnection::Connect(echo->server->port());
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE((*conn)->Send("GET /hold HTTP/1.1\r\nHost: x\r\n\r\n").ok());
  ASSERT_TRUE((*conn)->Send("").ok());
  {
    std::unique_lock lock(echo->mu);
    ASSERT_TRUE(echo->cv.wait_for(lock, 20s, [&] { return !echo->held.empty(); }));
  }
  // Pending timers are dropped too.
  echo->server->RunAfter(1h, [] { FAIL() << "timer ran after Stop"; });
  echo->server->Stop();
  echo->server->Stop();  // idempotent
  EXPECT_TRUE((*conn)->WaitClosed(20s));
  // Answering after Stop is a no-op.
  echo->held[0].Send(ServerResponse{});
  echo.reset();
}

TEST(ServerTest, MultipleIoThreads) {
  ServerOptions options;
  options.io_threads = 4;
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto conn = RawConnection::Connect(echo.server->port());
      if (!conn.ok()) return;
      for (int i = 0; i < 50; ++i) {
        auto r = (*conn)->Request("GET", "/delay?ms=1");
        if (r.ok() && r->status == 200) ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
}

TEST(ServerTest, BindErrorsAreStatuses) {
  EchoServer first;
  ASSERT_NE(first.server, nullptr);
  ServerOptions options;
  options.port = first.server->port();
  auto again = Server::Start(options, [](ServerRequest&&, Responder) {});
  EXPECT_FALSE(again.ok());
  options.port = 0;
  options.host = "not an address";
  EXPECT_FALSE(Server::Start(options, [](ServerRequest&&, Responder) {}).ok());
  options.host = "127.0.0.1";
  options.tls_cert_file = "/nonexistent/cert.pem";
  EXPECT_FALSE(Server::Start(options, [](ServerRequest&&, Responder) {}).ok());
  options.tls_key_file = "/nonexistent/key.pem";
  EXPECT_FALSE(Server::Start(options, [](ServerRequest&&, Responder) {}).ok());
  EXPECT_FALSE(Server::Start(ServerOptions{}, nullptr).ok());
}

TEST(ServerTest, ServesTls) {
  auto dir =
      std::filesystem::temp_directory_path() / ("sluice-server-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  auto gen = sluice::testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
       "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
      60s);
  ASSERT_TRUE(gen.ok() && gen->exit_code == 0);
  ServerOptions options;
  options.tls_cert_file = cert;
  options.tls_key_file = key;
  EchoServer echo(options);
  ASSERT_NE(echo.server, nullptr);
  EXPECT_TRUE(echo.server->tls());
  EXPECT_EQ(echo.server->BaseUrl().rfind("https://", 0), 0u);
  HttpClientOptions copts;
  copts.ca_file = cert;
  auto client = HttpClient::Create(copts);
  ASSERT_TRUE(client.ok()) << client.status();
  HttpRequest req;
  req.url = echo.server->BaseUrl() + "/secure?q=1";
  auto r = (*client)->SendSync(req);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /secure q=1 - 0");
  // Plain HTTP to a TLS port does not get served.
  auto plain = HttpCall(echo.server->port(), "GET", "/x", {}, "", 10s);
  EXPECT_FALSE(plain.ok() && plain->status == 200);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sluice::http

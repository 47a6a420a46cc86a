// sluice-bench-gateway: a load generator for sluice-gateway. Run through tools/bench/gateway.
//
// One thread, non-blocking keep-alive connections on epoll (as sluice-bench-sfsim), so the
// generator costs little CPU on a 2-core machine it shares with the gateway and the broker.
//
// Modes:
//   closed  every connection sends its next POST /v1/events as soon as the last was answered:
//           the maximum rate.
//   rate    POSTs are scheduled at --rate requests/s, independent of answers; the time to 202 is
//           measured from the scheduled start, so a request that waited for a free connection
//           counts its wait (no coordinated omission).
//   hold    opens --connections connections, sends one GET /healthz on each, then holds them
//           idle for --seconds.
// Prints one JSON object: requests, events, statuses, seconds, rates, time-to-answer quantiles.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "direct.h"
#include "sluice/build_info/build_info.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool busy = false;
  Clock::time_point started;  // the scheduled (rate) or actual (closed) start
  int events = 0;
};

int Connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

std::string EventJson(uint32_t run, uint64_t n, uint64_t keys) {
  char id[64];
  std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012llu", run,
                static_cast<unsigned long long>(n % 1000000000000ULL));
  return std::string("{\"event_id\":\"") + id +
         "\",\"operation\":\"upsert\",\"sobject\":\"Contact\",\"external_id_field\":"
         "\"Sluice_Key__c\",\"external_id\":\"K-" +
         std::to_string(n % keys) + "\",\"fields\":{\"LastName\":\"Bench\"},\"occurred_at\":" +
         "\"2026-11-21T05:52:18.123Z\"}";
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string mode = "closed";
  int connections = 16;
  double seconds = 10;
  int batch = 100;
  double rate = 0;
  uint64_t keys = 100000;
  std::string token;
  std::string slow_log;
  double slow_ms = 20;
  uint32_t run = static_cast<uint32_t>(getpid());
  CLI::App app{"Load generator for sluice-gateway"};
  std::string bootstrap, topic = "sf.contact.events";
  app.add_option("--port", port, "sluice-gateway port (not with --mode direct)");
  app.add_option("--mode", mode,
                 "closed, rate, hold, or direct (the rate schedule straight to Kafka with the "
                 "gateway's producer settings, no gateway)")
      ->capture_default_str();
  app.add_option("--bootstrap", bootstrap, "with --mode direct: the broker");
  app.add_option("--topic", topic, "with --mode direct: the topic")->capture_default_str();
  app.add_option("--connections", connections, "keep-alive connections")->capture_default_str();
  app.add_option("--seconds", seconds, "run time")->capture_default_str();
  app.add_option("--batch", batch, "events per request (1: a single envelope)")
      ->capture_default_str();
  app.add_option("--rate", rate, "requests per second (mode rate)");
  app.add_option("--keys", keys, "distinct ordering keys")->capture_default_str();
  app.add_option("--token", token, "bearer token");
  app.add_option("--slow-log", slow_log,
                 "write one line per request slower than --slow-ms to this file: its start as "
                 "Unix time in ms and its time to answer in ms (to lay beside a GC log)");
  app.add_option("--slow-ms", slow_ms, "threshold of --slow-log")->capture_default_str();
  sluice::build_info::AddVersionFlag(app, "sluice-bench-gateway");
  CLI11_PARSE(app, argc, argv);
  if (mode == "direct") {
    return sluice::bench::RunDirect({.bootstrap = bootstrap,
                                     .topic = topic,
                                     .rate = rate,
                                     .batch = batch,
                                     .seconds = seconds,
                                     .keys = keys});
  }
  if (port == 0) {
    std::fprintf(stderr, "--port is required\n");
    return 2;
  }
  if (mode != "closed" && mode != "rate" && mode != "hold") {
    std::fprintf(stderr, "unknown --mode %s\n", mode.c_str());
    return 2;
  }
  if (mode == "rate" && rate <= 0) {
    std::fprintf(stderr, "--mode rate needs --rate\n");
    return 2;
  }

  FILE* slow = nullptr;
  if (!slow_log.empty() && (slow = std::fopen(slow_log.c_str(), "w")) == nullptr) {
    std::fprintf(stderr, "cannot write %s: %s\n", slow_log.c_str(), std::strerror(errno));
    return 2;
  }
  // Steady-clock starts are turned into wall-clock time by one offset taken now.
  const auto wall_offset = std::chrono::system_clock::now().time_since_epoch() -
                           std::chrono::duration_cast<std::chrono::system_clock::duration>(
                               Clock::now().time_since_epoch());
  uint64_t next_event = 0;
  const std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  auto make_request = [&](Conn& c) {
    std::string body;
    if (batch == 1) {
      body = EventJson(run, next_event++, keys);
    } else {
      body.reserve(static_cast<size_t>(batch) * 230);
      body = "[";
      for (int i = 0; i < batch; ++i) {
        if (i) body += ',';
        body += EventJson(run, next_event++, keys);
      }
      body += ']';
    }
    c.out = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
            "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
            "\r\n\r\n" + body;
    c.sent = 0;
    c.events = batch;
    c.busy = true;
  };

  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(static_cast<uint16_t>(port));
    if (conns[i].fd < 0) {
      std::fprintf(stderr, "connect %zu failed: %s\n", i, std::strerror(errno));
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  std::map<int, uint64_t> statuses;
  uint64_t requests = 0, events_ok = 0, closed = 0;
  std::vector<double> latency_ms;
  latency_ms.reserve(1 << 20);
  const auto start = Clock::now();
  const auto stop_sending =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  const auto hard_stop = stop_sending + std::chrono::seconds(30);
  std::deque<Clock::time_point> due;  // rate mode: scheduled starts not yet sent
  uint64_t scheduled = 0;
  std::vector<size_t> idle;
  auto try_send = [&](size_t i) {
    Conn& c = conns[i];
    while (c.sent < c.out.size()) {
      ssize_t w = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (w > 0) {
        c.sent += static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EAGAIN) return;
      close(c.fd);
      c.fd = -1;
      ++closed;
      return;
    }
  };
  auto start_on = [&](size_t i, Clock::time_point at) {
    Conn& c = conns[i];
    if (mode == "hold") {
      c.out = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
      c.sent = 0;
      c.events = 0;
      c.busy = true;
    } else {
      make_request(c);
    }
    c.started = at;
    try_send(i);
  };
  if (mode == "closed" || mode == "hold") {
    for (size_t i = 0; i < conns.size(); ++i) start_on(i, Clock::now());
  } else {
    for (size_t i = 0; i < conns.size(); ++i) idle.push_back(i);
  }
  std::vector<epoll_event> events(4096);
  char buf[65536];
  size_t held = 0;
  for (;;) {
    const auto now = Clock::now();
    if (now >= hard_stop) break;
    if (mode == "hold") {
      if (now >= stop_sending) break;
    } else if (now >= stop_sending) {
      bool any_busy = false;
      for (auto& c : conns) any_busy |= (c.fd >= 0 && c.busy);
      if (!any_busy) break;
    }
    if (mode == "rate" && now < stop_sending) {
      const uint64_t should =
          static_cast<uint64_t>(std::chrono::duration<double>(now - start).count() * rate);
      while (scheduled < should) {
        due.push_back(start + std::chrono::duration_cast<Clock::duration>(
                                  std::chrono::duration<double>(scheduled / rate)));
        ++scheduled;
      }
      while (!due.empty() && !idle.empty()) {
        size_t i = idle.back();
        idle.pop_back();
        if (conns[i].fd < 0) continue;
        start_on(i, due.front());
        due.pop_front();
      }
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), mode == "rate" ? 1 : 50);
    for (int e = 0; e < n; ++e) {
      size_t i = events[static_cast<size_t>(e)].data.u64;
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      if (c.busy) try_send(i);
      if (c.fd < 0) continue;
      for (;;) {
        ssize_t r = recv(c.fd, buf, sizeof(buf), 0);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          close(c.fd);
          c.fd = -1;
          ++closed;
        }
        break;
      }
      if (c.fd < 0) continue;
      size_t head = c.in.find("\r\n\r\n");
      if (head == std::string::npos) continue;
      size_t cl = c.in.find("Content-Length: ");
      size_t length = 0;
      if (cl != std::string::npos && cl < head) {
        length = std::strtoull(c.in.c_str() + cl + 16, nullptr, 10);
      }
      if (c.in.size() < head + 4 + length) continue;
      const int status = std::atoi(c.in.c_str() + 9);
      c.in.erase(0, head + 4 + length);
      c.busy = false;
      if (mode == "hold") {
        ++held;
        continue;
      }
      ++requests;
      ++statuses[status];
      latency_ms.push_back(
          std::chrono::duration<double, std::milli>(Clock::now() - c.started).count());
      if (slow != nullptr && latency_ms.back() > slow_ms) {
        const auto wall = std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              c.started.time_since_epoch()) +
                          wall_offset;
        std::fprintf(slow, "%.3f %.2f %d\n",
                     std::chrono::duration<double, std::milli>(wall).count(), latency_ms.back(),
                     status);
      }
      if (status == 202) events_ok += static_cast<uint64_t>(c.events);
      if (Clock::now() < stop_sending) {
        if (mode == "closed") {
          start_on(i, Clock::now());
        } else {
          idle.push_back(i);
        }
      }
    }
  }
  const double elapsed =
      std::chrono::duration<double>(
          std::min(Clock::now(), mode == "hold" ? Clock::now() : Clock::now()) - start)
          .count();
  std::sort(latency_ms.begin(), latency_ms.end());
  auto q = [&](double p) {
    if (latency_ms.empty()) return 0.0;
    size_t k = static_cast<size_t>(p * static_cast<double>(latency_ms.size() - 1));
    return latency_ms[k];
  };
  std::string st;
  for (auto [s, count] : statuses) {
    st += (st.empty() ? "" : ",") + ("\"" + std::to_string(s) + "\":" + std::to_string(count));
  }
  std::printf(
      "{\"mode\":\"%s\",\"connections\":%d,\"batch\":%d,\"rate\":%.0f,\"seconds\":%.2f,"
      "\"requests\":%llu,\"events\":%llu,\"statuses\":{%s},\"closed_by_server\":%llu,"
      "\"held\":%zu,\"requests_per_s\":%.0f,\"events_per_s\":%.0f,\"p50_ms\":%.2f,"
      "\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
      mode.c_str(), connections, batch, rate, elapsed, static_cast<unsigned long long>(requests),
      static_cast<unsigned long long>(events_ok), st.c_str(),
      static_cast<unsigned long long>(closed), held, static_cast<double>(requests) / elapsed,
      static_cast<double>(events_ok) / elapsed, q(0.5), q(0.99),
      latency_ms.empty() ? 0.0 : latency_ms.back());
  if (slow != nullptr) std::fclose(slow);
  close(ep);
  for (auto& c : conns) {
    if (c.fd >= 0) close(c.fd);
  }
  return closed == 0 ? 0 : 1;
}

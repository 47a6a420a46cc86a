// sluice-bench-sfsim: a load generator for sluice-sfsim. Run through tools/bench/sfsim.
//
// One thread, non-blocking keep-alive connections on epoll, each sending its next request as soon
// as the previous answer arrived. Hand-written on epoll rather than on the project's libcurl
// client so that the generator costs as little CPU as possible on a 2-core machine where it shares
// the cores with the server it measures.
//
// Modes:
//   collections  PATCH /composite/sobjects/Contact/Sluice_Key__c with --records records each
//   single       PATCH /sobjects/Contact/Sluice_Key__c/{key}
//   hold         GET /limits (pair with sfsim --latency-base-ms to hold requests in flight)
// Prints one JSON object with requests, records, errors, seconds and rates.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sluice/build_info/build_info.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  bool waiting = false;
  uint64_t n = 0;  // requests sent on this connection
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

// Blocking one-shot request for the login.
std::string Login(uint16_t port, const std::string& id, const std::string& secret) {
  int fd = Connect(port);
  if (fd < 0) return "";
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string body = "grant_type=client_credentials&client_id=" + id + "&client_secret=" + secret;
  std::string req =
      "POST /services/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  if (write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return "";
  }
  std::string res;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) res.append(buf, static_cast<size_t>(n));
  close(fd);
  size_t p = res.find("\"access_token\":\"");
  if (p == std::string::npos) return "";
  p += 16;
  return res.substr(p, res.find('"', p) - p);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  std::string mode = "collections";
  int connections = 16;
  double seconds = 10;
  int records = 200;
  uint64_t key_space = 1000000;
  std::string client_id = "sluice-sfsim-client";
  std::string client_secret = "sluice-sfsim-secret";
  std::string version = "62.0";
  CLI::App app{"Load generator for sluice-sfsim"};
  app.add_option("--port", port, "sluice-sfsim port")->required();
  app.add_option("--mode", mode, "collections, single or hold")->capture_default_str();
  app.add_option("--connections", connections, "keep-alive connections")->capture_default_str();
  app.add_option("--seconds", seconds, "run time")->capture_default_str();
  app.add_option("--records", records, "records per collections request")->capture_default_str();
  app.add_option("--key-space", key_space, "distinct external ids cycled through")
      ->capture_default_str();
  app.add_option("--client-id", client_id)->capture_default_str();
  app.add_option("--client-secret", client_secret)->capture_default_str();
  sluice::build_info::AddVersionFlag(app, "sluice-bench-sfsim");
  CLI11_PARSE(app, argc, argv);
  if (mode != "collections" && mode != "single" && mode != "hold") {
    std::fprintf(stderr, "unknown --mode %s\n", mode.c_str());
    return 2;
  }

  std::string token = Login(static_cast<uint16_t>(port), client_id, client_secret);
  if (token.empty()) {
    std::fprintf(stderr, "login failed\n");
    return 1;
  }
  const std::string base = "/services/data/v" + version;
  const std::string auth = "Authorization: Bearer " + token + "\r\n";
  uint64_t next_key = 0;
  auto make_request = [&](std::string* out) {
    out->clear();
    if (mode == "hold") {
      *out = "GET " + base + "/limits HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "\r\n";
      return 0;
    }
    std::string body;
    std::string target;
    int n = 0;
    if (mode == "collections") {
      body.reserve(static_cast<size_t>(records) * 120);
      body = "{\"allOrNone\":false,\"records\":[";
      for (int i = 0; i < records; ++i) {
        uint64_t k = next_key++ % key_space;
        if (i) body += ',';
        body +=
            "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"Bench\",\"Sluice_Key__c\":\"b";
        body += std::to_string(k);
        body += "\",\"Sluice_Event_Id__c\":\"e";
        body += std::to_string(next_key);
        body += "\"}";
      }
      body += "]}";
      target = base + "/composite/sobjects/Contact/Sluice_Key__c";
      n = records;
    } else {
      uint64_t k = next_key++ % key_space;
      body =
          "{\"LastName\":\"Bench\",\"Sluice_Event_Id__c\":\"e" + std::to_string(next_key) + "\"}";
      target = base + "/sobjects/Contact/Sluice_Key__c/b" + std::to_string(k);
      n = 1;
    }
    *out = "PATCH " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
           "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\n\r\n" + body;
    return n;
  };

  int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(static_cast<size_t>(connections));
  std::vector<int> pending_records(conns.size(), 0);
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = Connect(static_cast<uint16_t>(port));
    if (conns[i].fd < 0) {
      std::fprintf(stderr, "connect %zu failed: %s\n", i, std::strerror(errno));
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  uint64_t requests = 0, records_ok = 0, errors = 0, closed = 0;
  auto start = Clock::now();
  auto stop_sending =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  auto hard_stop = stop_sending + std::chrono::seconds(30);
  size_t active = conns.size();
  std::vector<epoll_event> events(1024);
  char buf[65536];
  // Prime: every connection starts with a request.
  for (size_t i = 0; i < conns.size(); ++i) {
    pending_records[i] = make_request(&conns[i].out);
    conns[i].sent = 0;
    conns[i].waiting = true;
  }
  while (active > 0 && Clock::now() < hard_stop) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 100);
    for (int e = 0; e < n; ++e) {
      size_t i = events[static_cast<size_t>(e)].data.u64;
      Conn& c = conns[i];
      if (c.fd < 0) continue;
      if (c.sent < c.out.size()) {
        ssize_t w = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
        if (w > 0) c.sent += static_cast<size_t>(w);
        if (w < 0 && errno != EAGAIN) {
          close(c.fd);
          c.fd = -1;
          --active;
          ++closed;
          continue;
        }
      }
      for (;;) {
        ssize_t r = recv(c.fd, buf, sizeof(buf), 0);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
          close(c.fd);
          c.fd = -1;
          --active;
          ++closed;
        }
        break;
      }
      if (c.fd < 0) continue;
      // Complete responses.
      for (;;) {
        size_t head = c.in.find("\r\n\r\n");
        if (head == std::string::npos) break;
        size_t cl = c.in.find("Content-Length: ");
        size_t length = 0;
        if (cl != std::string::npos && cl < head)
          length = std::strtoull(c.in.c_str() + cl + 16, nullptr, 10);
        if (c.in.size() < head + 4 + length) break;
        int status = std::atoi(c.in.c_str() + 9);
        ++requests;
        if (status / 100 == 2) {
          // Count failed records inside collection answers as errors.
          if (mode == "collections") {
            std::string_view body(c.in.data() + head + 4, length);
            size_t failed = 0;
            for (size_t p = body.find("\"success\":false"); p != std::string_view::npos;
                 p = body.find("\"success\":false", p + 1)) {
              ++failed;
            }
            records_ok += static_cast<uint64_t>(pending_records[i]) - failed;
            errors += failed;
          } else {
            records_ok += static_cast<uint64_t>(pending_records[i]);
          }
        } else {
          ++errors;
        }
        c.in.erase(0, head + 4 + length);
        if (Clock::now() < stop_sending) {
          pending_records[i] = make_request(&c.out);
          c.sent = 0;
          ssize_t w = send(c.fd, c.out.data(), c.out.size(), MSG_NOSIGNAL);
          if (w > 0) c.sent = static_cast<size_t>(w);
        } else {
          close(c.fd);
          c.fd = -1;
          --active;
        }
      }
    }
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "{\"mode\":\"%s\",\"connections\":%d,\"records_per_request\":%d,\"seconds\":%.2f,"
      "\"requests\":%llu,\"records\":%llu,\"errors\":%llu,\"closed_by_server\":%llu,"
      "\"requests_per_s\":%.0f,\"records_per_s\":%.0f}\n",
      mode.c_str(), connections, mode == "collections" ? records : 1, elapsed,
      static_cast<unsigned long long>(requests), static_cast<unsigned long long>(records_ok),
      static_cast<unsigned long long>(errors), static_cast<unsigned long long>(closed),
      static_cast<double>(requests) / elapsed, static_cast<double>(records_ok) / elapsed);
  close(ep);
  return errors == 0 && closed == 0 ? 0 : 1;
}

#include "sluice/testing/sfsim_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

bool IEq(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

int MillisLeft(SteadyTime deadline) {
  auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(std::min<int64_t>(left, 1 << 30));
}

// The value of "key":"value" in a flat JSON object; enough for an access token.
std::optional<std::string> JsonStringField(const std::string& json, const std::string& key) {
  std::string needle = "\"" + key + "\":\"";
  size_t p = json.find(needle);
  if (p == std::string::npos) return std::nullopt;
  p += needle.size();
  size_t e = json.find('"', p);
  if (e == std::string::npos) return std::nullopt;
  return json.substr(p, e - p);
}

}  // namespace

std::optional<std::string> RawResponse::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (IEq(k, name)) return v;
  }
  return std::nullopt;
}

Result<std::unique_ptr<RawConnection>> RawConnection::Connect(uint16_t port, Ms timeout) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return InternalError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // A blocking connect to loopback either succeeds or is refused at once; the timeout bounds
  // later reads and writes through poll.
  (void)timeout;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    close(fd);
    return UnavailableError(std::string("connect: ") + std::strerror(err));
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return std::unique_ptr<RawConnection>(new RawConnection(fd));
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) close(fd_);
}

Status RawConnection::Send(std::string_view bytes, Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  size_t off = 0;
  while (off < bytes.size()) {
    pollfd pfd{fd_, POLLOUT, 0};
    int r = poll(&pfd, 1, MillisLeft(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return DeadlineExceededError("send timed out");
    ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return UnavailableError(std::string("send: ") + std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status RawConnection::Fill(SteadyTime deadline) {
  for (;;) {
    pollfd pfd{fd_, POLLIN, 0};
    int r = poll(&pfd, 1, MillisLeft(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return DeadlineExceededError("no data in time");
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      if (errno == ECONNRESET) reset_ = true;
      return UnavailableError(std::string("recv: ") + std::strerror(errno));
    }
    if (n == 0) return UnavailableError("connection closed by peer");
    in_.append(buf, static_cast<size_t>(n));
    return Status::Ok();
  }
}

Result<RawResponse> RawConnection::ReadResponse(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    size_t end = in_.find("\r\n\r\n");
    while (end == std::string::npos) {
      RETURN_IF_ERROR(Fill(deadline));
      end = in_.find("\r\n\r\n");
    }
    RawResponse res;
    std::string head = in_.substr(0, end);
    size_t pos = head.find("\r\n");
    std::string status_line = head.substr(0, pos);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) {
      return InternalError("bad status line: " + status_line.substr(0, 100));
    }
    res.status = std::atoi(status_line.c_str() + 9);
    while (pos != std::string::npos) {
      size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string v = line.substr(colon + 1);
        v.erase(0, v.find_first_not_of(' '));
        res.headers.emplace_back(line.substr(0, colon), v);
      }
      pos = next;
    }
    in_.erase(0, end + 4);
    if (res.status == 100) continue;  // interim answer
    auto te = res.Header("Transfer-Encoding");
    if (te && te->find("chunked") != std::string::npos) {
      for (;;) {
        size_t nl = in_.find("\r\n");
        while (nl == std::string::npos) {
          RETURN_IF_ERROR(Fill(deadline));
          nl = in_.find("\r\n");
        }
        size_t size = std::strtoul(in_.substr(0, nl).c_str(), nullptr, 16);
        while (in_.size() < nl + 2 + size + 2) RETURN_IF_ERROR(Fill(deadline));
        res.body.append(in_, nl + 2, size);
        in_.erase(0, nl + 2 + size + 2);
        if (size == 0) break;
      }
      return res;
    }
    size_t length = 0;
    if (auto cl = res.Header("Content-Length")) length = std::strtoull(cl->c_str(), nullptr, 10);
    while (in_.size() < length) RETURN_IF_ERROR(Fill(deadline));
    res.body = in_.substr(0, length);
    in_.erase(0, length);
    return res;
  }
}

Result<RawResponse> RawConnection::Request(
    const std::string& method, const std::string& target,
    const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body,
    Ms timeout) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n";
  req += body;
  RETURN_IF_ERROR(Send(req, timeout));
  return ReadResponse(timeout);
}

bool RawConnection::WaitClosed(Ms timeout, bool* was_reset) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Status s = Fill(deadline);
    if (s.code() == StatusCode::kDeadlineExceeded) return false;
    if (!s.ok()) {
      if (was_reset) *was_reset = reset_;
      return true;
    }
    in_.clear();  // discard whatever still arrives
  }
}

Result<RawResponse> HttpCall(uint16_t port, const std::string& method, const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             const std::string& body, Ms timeout) {
  ASSIGN_OR_RETURN(auto conn, RawConnection::Connect(port, timeout));
  return conn->Request(method, target, headers, body, timeout);
}

// ---- SfsimProcess ----

Result<std::unique_ptr<SfsimProcess>> SfsimProcess::Start(const std::vector<std::string>& flags,
                                                          const ChildOptions& options) {
  std::vector<std::string> argv = {BinPath("sluice-sfsim"), "--port", "0"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  ASSIGN_OR_RETURN(auto child, ChildProcess::Start(argv, options));
  ASSIGN_OR_RETURN(std::string line, child->WaitForLine("listening on", Ms(20000)));
  size_t colon = line.rfind(':');
  if (colon == std::string::npos) return InternalError("no port in: " + line);
  int port = std::atoi(line.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return InternalError("bad port in: " + line);
  return std::unique_ptr<SfsimProcess>(
      new SfsimProcess(std::move(child), static_cast<uint16_t>(port)));
}

SfsimProcess::~SfsimProcess() {
  if (child_ && child_->running()) child_->Stop(Ms(10000));
}

Result<std::string> SfsimProcess::Login() {
  std::string body = std::string("grant_type=client_credentials&client_id=") + kClientId +
                     "&client_secret=" + kClientSecret;
  ASSIGN_OR_RETURN(auto res,
                   HttpCall(port_, "POST", "/services/oauth2/token",
                            {{"Content-Type", "application/x-www-form-urlencoded"}}, body));
  if (res.status != 200) {
    return UnauthenticatedError("login answered " + std::to_string(res.status) + ": " + res.body);
  }
  auto token = JsonStringField(res.body, "access_token");
  if (!token) return InternalError("no access_token in: " + res.body);
  return *token;
}

Result<std::string> SfsimProcess::GetStats() {
  ASSIGN_OR_RETURN(auto res, HttpCall(port_, "GET", "/sim/stats"));
  if (res.status != 200)
    return InternalError("GET /sim/stats answered " + std::to_string(res.status));
  return res.body;
}

Result<std::string> SfsimProcess::GetLedger(uint64_t since) {
  ASSIGN_OR_RETURN(auto res, HttpCall(port_, "GET", "/sim/ledger?since=" + std::to_string(since)));
  if (res.status != 200) {
    return InternalError("GET /sim/ledger answered " + std::to_string(res.status));
  }
  return res.body;
}

Status SfsimProcess::ScheduleFault(const std::string& json) {
  ASSIGN_OR_RETURN(auto res, HttpCall(port_, "POST", "/sim/faults",
                                      {{"Content-Type", "application/json"}}, json));
  if (res.status / 100 != 2) {
    return InvalidArgumentError("POST /sim/faults answered " + std::to_string(res.status) + ": " +
                                res.body);
  }
  return Status::Ok();
}

Result<RawResponse> SfsimProcess::Call(const std::string& method, const std::string& target,
                                       const std::string& token, const std::string& body) {
  std::vector<std::pair<std::string, std::string>> headers = {{"Authorization", "Bearer " + token},
                                                              {"Content-Type", "application/json"}};
  return HttpCall(port_, method, target, headers, body);
}

int SfsimProcess::Stop() { return child_->Stop(Ms(10000)); }

}  // namespace sluice::testing

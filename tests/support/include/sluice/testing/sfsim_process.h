// Test fixtures for talking to loopback HTTP servers and for running a real sluice-sfsim.
//
//   auto sim = sluice::testing::SfsimProcess::Start({"--session-timeout", "5s"});
//   ASSERT_TRUE(sim.ok()) << sim.status();
//   auto token = (*sim)->Login();                  // client-credentials access token
//   auto stats = (*sim)->GetStats();               // GET /sim/stats body
//   (*sim)->ScheduleFault(R"({"kind":"unavailable","duration_ms":30000})");
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/testing/process.h"

namespace sluice::testing {

// A parsed HTTP/1.1 response read off a raw connection.
struct RawResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header named `name` (case-insensitive), or nullopt.
  std::optional<std::string> Header(const std::string& name) const;
};

// One blocking TCP connection to 127.0.0.1, for sending exact (also malformed) bytes and reading
// responses with deadlines. Understands Content-Length and chunked bodies.
// Thread-safety: not thread-safe; one test thread owns it.
class RawConnection {
 public:
  static Result<std::unique_ptr<RawConnection>> Connect(
      uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all of `bytes` (bounded by `timeout`); Unavailable when the peer closed.
  Status Send(std::string_view bytes, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Reads one response. DeadlineExceeded on timeout, Unavailable when the peer closed (or reset)
  // before a full response.
  Result<RawResponse> ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Sends a request (Host and Content-Length added) and reads the response.
  Result<RawResponse> Request(const std::string& method, const std::string& target,
                              const std::vector<std::pair<std::string, std::string>>& headers = {},
                              const std::string& body = "",
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Waits until the peer closes the connection; true if it did within `timeout`. Sets
  // `was_reset` (when given) when the close was a reset (ECONNRESET).
  bool WaitClosed(std::chrono::milliseconds timeout, bool* was_reset = nullptr);

  int fd() const { return fd_; }

 private:
  explicit RawConnection(int fd) : fd_(fd) {}
  Status Fill(std::chrono::steady_clock::time_point deadline);
  int fd_;
  std::string in_;
  bool reset_ = false;
};

// One request on a fresh connection.
Result<RawResponse> HttpCall(uint16_t port, const std::string& method, const std::string& target,
                             const std::vector<std::pair<std::string, std::string>>& headers = {},
                             const std::string& body = "",
                             std::chrono::milliseconds timeout = std::chrono::seconds(30));

// A running sluice-sfsim (build/bin/sluice-sfsim --port 0 <flags>), stopped (SIGTERM) when
// destroyed.
// Thread-safety: not thread-safe; one test thread owns it.
class SfsimProcess {
 public:
  // Default client credentials of the default org (also printed by `sluice-sfsim --help`).
  static constexpr const char* kClientId = "sluice-sfsim-client";
  static constexpr const char* kClientSecret = "sluice-sfsim-secret";

  // Starts the binary with `--port 0` and `flags`, waits for its "listening on" line.
  static Result<std::unique_ptr<SfsimProcess>> Start(const std::vector<std::string>& flags = {},
                                                     const ChildOptions& options = {});
  ~SfsimProcess();

  uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *child_; }

  // Client-credentials login with the default credentials; returns the access token.
  Result<std::string> Login();
  // GET /sim/stats: the JSON body.
  Result<std::string> GetStats();
  // GET /sim/ledger?since=N: the JSON-lines body.
  Result<std::string> GetLedger(uint64_t since = 0);
  // POST /sim/faults with a JSON body such as {"kind":"unavailable","duration_ms":30000}.
  Status ScheduleFault(const std::string& json);
  // A request with "Authorization: Bearer <token>".
  Result<RawResponse> Call(const std::string& method, const std::string& target,
                           const std::string& token, const std::string& body = "");
  // SIGTERM and wait; returns the exit code.
  int Stop();

 private:
  SfsimProcess(std::unique_ptr<ChildProcess> child, uint16_t port)
      : child_(std::move(child)), port_(port) {}
  std::unique_ptr<ChildProcess> child_;
  uint16_t port_;
};

}  // namespace sluice::testing

// Load against a gateway for the integration tests: C keep-alive connections, each sending
// requests of B events back to back, recording every answer; and a reader that takes a whole topic
// back out of Kafka to compare.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::testing {

// One request's answer. status 0: no answer (the connection broke; the outcome is unknown).
struct Outcome {
  int status = 0;
  std::vector<std::string> ids;
  std::vector<std::pair<int32_t, int64_t>> where;  // per event, from a 202's body
  std::chrono::steady_clock::time_point at;
};

// Thread-safety: Start/Stop/outcomes from the test thread only.
class LoadRunner {
 public:
  struct Options {
    uint16_t port = 0;
    int connections = 4;
    int batch = 100;  // events per request (1: a single envelope, not an array)
    bool ndjson = false;
    uint32_t run = 1;         // goes into the event ids
    uint64_t max_events = 0;  // 0: until Stop
    std::string token;
  };
  explicit LoadRunner(Options options) : options_(std::move(options)) {}
  ~LoadRunner() { Stop(); }

  void Start();
  // Waits for the threads (they stop by themselves after max_events).
  void Stop();
  void Join();

  std::vector<Outcome> outcomes();
  std::map<int, int> StatusCounts();
  // Event ids that were answered 202, with where the gateway said they are.
  std::map<std::string, std::pair<int32_t, int64_t>> Accepted();

 private:
  void Loop();
  Options options_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> next_{0};
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<Outcome> outcomes_;  // guarded by mu_
};

// Every record of `topic`: event id -> (partition, offset) of each copy. Reads until the
// partitions' high watermarks are reached.
Result<std::map<std::string, std::vector<std::pair<int32_t, int64_t>>>> ReadTopic(
    const std::string& bootstrap, const std::string& topic, std::chrono::milliseconds timeout);

}  // namespace sluice::testing

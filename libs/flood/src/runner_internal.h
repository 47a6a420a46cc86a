// Private to libs/flood: one flood run (FloodRun) and what it works with — the counters shared by
// the producing and delivery-report threads, and the HTTP reads of sfsim and the relay. runner.cc
// sets up, produces, samples and waits for the drain; runner_results.cc verifies the ledger and
// the DLQ and fills in the report.
#pragma once

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

#include "sluice/build_info/build_info.h"
#include "sluice/flood/monitor.h"
#include "sluice/flood/runner.h"
#include "sluice/flood/settings.h"
#include "sluice/flood/sources.h"
#include "sluice/http/client.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"

namespace sluice::flood::internal {

using std::chrono::milliseconds;
using std::chrono::seconds;

inline constexpr milliseconds kAdminTimeout{5000};
inline constexpr milliseconds kHttpTimeout{10000};
// Ledger entries requested per page of /sim/ledger.
inline constexpr uint64_t kLedgerPage = 50000;

inline double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

inline std::string Rfc3339Now() { return FormatRfc3339Millis(RealClock().WallMillis()); }

inline std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// Producer defaults for throughput; any -X property overrides them. The local queue keeps
// librdkafka's default of 100,000 records: a deeper one (1,000,000 was tried) only grows the heap
// (page faults cost ~35% more system time per run) without sending any faster.
inline std::map<std::string, std::string> ProducerProperties(const RunOptions& o) {
  std::map<std::string, std::string> p = {
      {"linger.ms", "5"},
      {"batch.num.messages", "10000"},
      {"queue.buffering.max.messages", "100000"},
      {"queue.buffering.max.kbytes", "1048576"},
  };
  for (const auto& [k, v] : o.kafka_properties) p[k] = v;
  return p;
}

// Properties that only make sense for a producer would make the admin client or consumer refuse
// to start; pass those only the shared ones.
inline std::map<std::string, std::string> ClientProperties(const RunOptions& o) {
  static const char* kProducerOnly[] = {"linger.ms",
                                        "queue.buffering.max.ms",
                                        "batch.num.messages",
                                        "batch.size",
                                        "queue.buffering.max.messages",
                                        "queue.buffering.max.kbytes",
                                        "compression.type",
                                        "compression.codec",
                                        "acks",
                                        "request.required.acks",
                                        "enable.idempotence",
                                        "message.timeout.ms",
                                        "delivery.timeout.ms",
                                        "retries",
                                        "message.send.max.retries",
                                        "retry.backoff.ms",
                                        "max.in.flight.requests.per.connection",
                                        "max.in.flight",
                                        "partitioner",
                                        "sticky.partitioning.linger.ms",
                                        "compression.level",
                                        "transactional.id",
                                        "transaction.timeout.ms",
                                        "queuing.strategy",
                                        "dr_msg_cb",
                                        "delivery.report.only.error"};
  std::map<std::string, std::string> p;
  for (const auto& [k, v] : o.kafka_properties) {
    if (std::find(std::begin(kProducerOnly), std::end(kProducerOnly), k) ==
        std::end(kProducerOnly)) {
      p[k] = v;
    }
  }
  return p;
}

// Written per record by two threads: the producing thread's counters and the delivery-report
// thread's counters live on separate cache lines so they do not bounce between cores.
struct Counters {
  // Producing thread.
  alignas(64) std::atomic<int64_t> produced{0};
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> invalid{0};
  std::atomic<int64_t> behind_ns{0};
  // Delivery-report thread.
  alignas(64) std::atomic<int64_t> acked{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> uncertain{0};
  std::atomic<int64_t> last_ack_ns{0};  // steady ns since run start of the latest report
  alignas(64) std::mutex errors_mu;
  std::map<std::string, int64_t> produce_errors;  // by status code name
};

// Adds to a counter that only one thread writes (others only read it): a plain load and store,
// not a locked read-modify-write, on the per-record path.
inline void Bump(std::atomic<int64_t>& counter, int64_t n = 1) {
  counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Reads sfsim and the relay over HTTP.
class Sources {
 public:
  Sources(const RunOptions& o, http::HttpTransport* http) : o_(o), http_(http) {}

  std::optional<SimStats> Stats(std::string* error = nullptr) {
    if (o_.sfsim_url.empty() || !http_) return std::nullopt;
    auto r = Get(o_.sfsim_url + "/sim/stats");
    if (!r.ok()) {
      if (error) *error = r.status().ToString();
      return std::nullopt;
    }
    auto s = ParseSimStats(*r);
    if (!s.ok()) {
      if (error) *error = s.status().ToString();
      return std::nullopt;
    }
    return *s;
  }

  // The body of GET `url`, or nullopt.
  std::optional<std::string> Text(const std::string& url) {
    if (url.empty() || !http_) return std::nullopt;
    auto r = Get(url);
    if (!r.ok()) return std::nullopt;
    return std::move(*r);
  }

  std::optional<RelayFigures> Relay() {
    if (o_.relay_metrics_url.empty() || !http_) return std::nullopt;
    auto r = Get(o_.relay_metrics_url);
    if (!r.ok()) return std::nullopt;
    return RelayFiguresFrom(ParsePrometheusText(*r));
  }

  // One page of the ledger after `since`; total/first from sfsim's headers.
  struct Page {
    LedgerPage page;
    uint64_t first_in_memory = 0;
    uint64_t total = 0;
  };
  Result<Page> Ledger(uint64_t since) {
    http::HttpRequest req;
    req.url = fmt::format("{}/sim/ledger?since={}&limit={}", o_.sfsim_url, since, kLedgerPage);
    req.timeout = milliseconds(60000);
    ASSIGN_OR_RETURN(http::HttpResponse res, http_->SendSync(std::move(req)));
    if (res.status != 200) {
      return UnavailableError(fmt::format("GET /sim/ledger answered {}", res.status));
    }
    Page p;
    p.page = ParseLedgerLines(res.body);
    const auto header = [&](std::string_view name) -> uint64_t {
      auto v = res.headers.Get(name);
      uint64_t n = 0;
      if (v) std::from_chars(v->data(), v->data() + v->size(), n);
      return n;
    };
    p.first_in_memory = header("X-Sfsim-Ledger-First");
    p.total = header("X-Sfsim-Ledger-Total");
    return p;
  }

 private:
  Result<std::string> Get(const std::string& url) {
    http::HttpRequest req;
    req.url = url;
    req.timeout = kHttpTimeout;
    ASSIGN_OR_RETURN(http::HttpResponse res, http_->SendSync(std::move(req)));
    if (res.status != 200)
      return UnavailableError(fmt::format("GET {} answered {}", url, res.status));
    return std::move(res.body);
  }

  const RunOptions& o_;
  http::HttpTransport* http_;
};

inline int64_t SumHigh(const std::vector<kafka::PartitionWatermarks>& w) {
  int64_t s = 0;
  for (const auto& p : w) s += p.high;
  return s;
}

class FloodRun {
 public:
  FloodRun(const RunOptions& o, ProgressSink& progress, const ShutdownToken* shutdown)
      : o_(o), progress_(progress), shutdown_(shutdown) {}

  Result<Report> Go();

 private:
  bool Stopping() const { return shutdown_ && shutdown_->requested(); }
  // `unpaced`: every event is due at the start (a burst without a window).
  Status Setup(bool unpaced);
  void Produce(const Schedule& schedule);
  // The delivery report of the event at log index r.tag.
  void OnDelivery(const kafka::TaggedReport& r);
  void MonitorLoop();
  Sample TakeSample();
  // sfsim, the relay, the DLQ and the group's lag, into `s` (see ReadSample).
  void ReadRemote(Sample& s);
  void WaitForDrain();
  void Verify(Report* report);
  void ReadDlq(Verifier* verifier, Report* report);
  void Finish(const Schedule& schedule, Report* report);
  // The report's gateway section, from o_.via_stats (set).
  GatewayFigures GatewayFiguresOf(const Schedule& schedule) const;
  void SetPhase(const std::string& phase) {
    std::lock_guard lock(mu_);
    phase_ = phase;
  }
  double Elapsed() const { return Seconds(RealClock().Now() - start_); }

  const RunOptions& o_;
  ProgressSink& progress_;
  const ShutdownToken* shutdown_;

  uint64_t run_id_ = 0;
  std::string dlq_topic_;
  std::unique_ptr<kafka::Admin> admin_;
  std::unique_ptr<kafka::Producer> producer_;
  std::unique_ptr<http::HttpClient> http_client_;
  std::unique_ptr<Sources> sources_;
  std::unique_ptr<ProducedLog> log_;
  Counters counters_;

  Clock::TimePoint start_{};
  int64_t wall_start_ns_ = 0;
  std::optional<SimStats> sim_start_;
  std::optional<RelayFigures> relay_start_;
  std::optional<int64_t> dlq_high_start_;
  std::vector<kafka::PartitionWatermarks> dlq_start_marks_;
  std::optional<RelaySettings> relay_settings_;
  std::optional<SfsimLatencyModel> sfsim_latency_;

  std::mutex mu_;  // guards the fields below
  std::condition_variable cv_;
  std::string phase_ = "producing";
  bool monitor_stop_ = false;
  std::vector<Sample> samples_;
  std::optional<SimStats> sim_last_;
  std::optional<RelayFigures> relay_last_;
  std::vector<std::string> notes_;
  bool sim_error_noted_ = false;
  bool lag_error_noted_ = false;
  std::optional<double> burst_end_s_;
  std::optional<double> consumer_start_s_;
  std::optional<double> drain_end_s_;
  int64_t peak_backlog_ = 0;
  bool produce_done_ = false;
  Clock::Duration max_behind_{0};
  int64_t late_events_ = 0;
  int64_t planned_ = 0;
};

}  // namespace sluice::flood::internal

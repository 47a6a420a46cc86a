#include "sluice/flood/runner.h"

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
#include "sluice/flood/settings.h"
#include "sluice/flood/sources.h"
#include "sluice/http/client.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"

namespace sluice::flood {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr milliseconds kAdminTimeout{5000};
constexpr milliseconds kHttpTimeout{10000};
// Ledger entries requested per page of /sim/ledger.
constexpr uint64_t kLedgerPage = 50000;

double Seconds(Clock::Duration d) { return std::chrono::duration<double>(d).count(); }

std::string Rfc3339Now() { return FormatRfc3339Millis(RealClock().WallMillis()); }

std::string Hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// Producer defaults for throughput; any -X property overrides them. The local queue keeps
// librdkafka's default of 100,000 records: a deeper one (1,000,000 was tried) only grows the heap
// (page faults cost ~35% more system time per run) without sending any faster.
std::map<std::string, std::string> ProducerProperties(const RunOptions& o) {
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
std::map<std::string, std::string> ClientProperties(const RunOptions& o) {
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
void Bump(std::atomic<int64_t>& counter, int64_t n = 1) {
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

int64_t SumHigh(const std::vector<kafka::PartitionWatermarks>& w) {
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

Status FloodRun::Setup(bool unpaced) {
  std::random_device rd;
  run_id_ = ((static_cast<uint64_t>(rd()) << 32) ^ rd()) & EventIdCodec::kRunMask;
  dlq_topic_ = o_.dlq_topic.empty() ? o_.topic + ".dlq" : o_.dlq_topic;

  // The producer first: it connects and obtains its producer id while the admin client looks the
  // topics up.
  kafka::ProducerOptions po;
  po.bootstrap = o_.bootstrap;
  po.properties = ProducerProperties(o_);
  po.acks = "all";
  po.idempotence = true;
  po.close_timeout = milliseconds(10000);
  // An unpaced burst produces in one tight loop, like kcat: serving delivery reports on that
  // thread keeps each record's allocation and free on one thread and wakes no other thread per
  // record (a third less CPU per record). Paced runs sleep between records, so a background
  // thread serves their reports on time.
  po.deliver_on_caller_thread = unpaced;
  po.on_tagged_delivery = [this](const kafka::TaggedReport& r) { OnDelivery(r); };
  ASSIGN_OR_RETURN(producer_,
                   o_.make_producer ? o_.make_producer(po) : kafka::Producer::Create(po));

  kafka::AdminOptions ao;
  ao.bootstrap = o_.bootstrap;
  ao.properties = ClientProperties(o_);
  ASSIGN_OR_RETURN(admin_, kafka::Admin::Create(ao));
  auto partitions = admin_->PartitionCount(o_.topic, kAdminTimeout);
  if (!partitions.ok() && partitions.status().code() == StatusCode::kNotFound) {
    progress_.OnMessage(
        fmt::format("creating topic {} with {} partitions", o_.topic, o_.partitions));
    kafka::TopicSpec spec;
    spec.name = o_.topic;
    spec.partitions = o_.partitions;
    Status st = admin_->CreateTopic(spec, seconds(30));
    if (!st.ok() && st.code() != StatusCode::kAlreadyExists) {
      return st.WithContext("create topic " + o_.topic);
    }
  } else if (!partitions.ok()) {
    return partitions.status().WithContext("look up topic " + o_.topic);
  }
  if (auto marks = admin_->Watermarks(dlq_topic_, kAdminTimeout); marks.ok()) {
    dlq_start_marks_ = *marks;
    dlq_high_start_ = SumHigh(*marks);
  } else if (marks.status().code() == StatusCode::kNotFound) {
    dlq_high_start_ = 0;
  }

  if (!o_.sfsim_url.empty() || !o_.relay_metrics_url.empty()) {
    http::HttpClientOptions ho;
    ho.max_response_bytes = 512u << 20;  // ledger pages
    ASSIGN_OR_RETURN(http_client_, http::HttpClient::Create(ho));
  }
  sources_ = std::make_unique<Sources>(o_, http_client_.get());
  std::string error;
  sim_start_ = sources_->Stats(&error);
  if (!o_.sfsim_url.empty() && !sim_start_) {
    return UnavailableError("sluice-sfsim at " + o_.sfsim_url +
                            " did not answer /sim/stats: " + error);
  }
  relay_start_ = sources_->Relay();
  if (!o_.sfsim_url.empty()) {
    if (auto text = sources_->Text(o_.sfsim_url + "/sim/stats")) {
      sfsim_latency_ = SfsimLatencyFromStats(*text);
    }
  }
  if (auto text = sources_->Text(o_.relay_metrics_url)) {
    relay_settings_ = RelaySettingsFrom(ParsePrometheusText(*text));
  }
  if (!o_.relay_metrics_url.empty() && !relay_start_) {
    notes_.push_back("the relay's /metrics at " + o_.relay_metrics_url +
                     " did not answer at the start");
  }
  return Status::Ok();
}

void FloodRun::OnDelivery(const kafka::TaggedReport& r) {
  const auto index = static_cast<int64_t>(r.tag);
  if (r.status.ok()) {
    log_->SetState(index, ProducedEvent::kAcked);
    Bump(counters_.acked);
  } else {
    log_->SetState(index,
                   r.possibly_persisted ? ProducedEvent::kUncertain : ProducedEvent::kFailed);
    (r.possibly_persisted ? counters_.uncertain : counters_.failed)
        .fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(counters_.errors_mu);
    ++counters_.produce_errors[std::string(StatusCodeName(r.status.code()))];
  }
  // The time of the last report is the end of the burst. Reading the clock only when every event
  // produced so far has its outcome (so always for the last report, whichever thread counts
  // `produced` first) spares a clock read per record in a burst, where hundreds are in flight.
  const int64_t done = counters_.acked.load(std::memory_order_relaxed) +
                       counters_.failed.load(std::memory_order_relaxed) +
                       counters_.uncertain.load(std::memory_order_relaxed);
  if (done >= counters_.produced.load(std::memory_order_relaxed)) {
    counters_.last_ack_ns.store((RealClock().Now() - start_).count(), std::memory_order_relaxed);
  }
}

void FloodRun::Produce(const Schedule& schedule) {
  auto gen = EventGenerator::Create(o_.generator, run_id_);  // validated by the caller
  Pacer pacer(schedule, RealClock());
  pacer.StartAt(start_);
  GeneratedRecord rec;
  const kafka::Headers no_headers;
  kafka::Headers headers = {{kEventIdHeader, ""}};
  for (int64_t i = 0; i < schedule.count(); ++i) {
    if (Stopping()) {
      std::lock_guard lock(mu_);
      notes_.push_back(fmt::format("interrupted after {} of {} events", i, schedule.count()));
      break;
    }
    const Clock::TimePoint due = pacer.WaitTurn(i);
    if ((i & 1023) == 0) {
      counters_.behind_ns.store(pacer.last_behind().count(), std::memory_order_relaxed);
    }
    const int64_t intended_ns = (due - start_).count();
    gen->Next(i, (wall_start_ns_ + intended_ns) / 1'000'000, &rec);
    ProducedEvent e;
    e.intended_ns = intended_ns;
    e.key = rec.key_rank;
    e.key_seq = rec.key_seq;
    e.valid = rec.valid;
    const int64_t index = log_->Append(e);
    if (!rec.valid) headers[0].second = rec.event_id;
    Status st =
        producer_->ProduceTagged(o_.topic, rec.key, rec.value, rec.valid ? no_headers : headers,
                                 static_cast<uint64_t>(index));
    Bump(counters_.produced);
    if (!rec.valid) Bump(counters_.invalid);
    Bump(counters_.bytes, static_cast<int64_t>(rec.value.size()));
    if (!st.ok()) {
      log_->SetState(index, ProducedEvent::kFailed);
      counters_.failed.fetch_add(1, std::memory_order_relaxed);
      {
        std::lock_guard lock(counters_.errors_mu);
        ++counters_.produce_errors[std::string(StatusCodeName(st.code()))];
      }
      if (st.code() == StatusCode::kFailedPrecondition) {
        std::lock_guard lock(mu_);
        notes_.push_back("the producer failed fatally: " + st.ToString());
        break;
      }
    }
  }
  max_behind_ = pacer.max_behind();
  late_events_ = pacer.late_events();
}

Sample FloodRun::TakeSample() {
  return ReadSample([this] { return Elapsed(); }, [this](Sample& s) { ReadRemote(s); },
                    [this](Sample& s) {
                      s.generator_behind_s = static_cast<double>(counters_.behind_ns.load()) / 1e9;
                      s.acked = counters_.acked.load(std::memory_order_relaxed);
                      s.produced = counters_.produced.load(std::memory_order_relaxed);
                    });
}

void FloodRun::ReadRemote(Sample& s) {
  std::string error;
  if (auto stats = sources_->Stats(&error)) {
    s.delivered = stats->records_written - sim_start_->records_written;
    s.api_calls = stats->api_used - sim_start_->api_used;
    int64_t errors = stats->records_failed - sim_start_->records_failed;
    s.errors = errors;
    std::lock_guard lock(mu_);
    sim_last_ = stats;
  } else if (sim_start_) {
    std::lock_guard lock(mu_);
    if (!sim_error_noted_) {
      notes_.push_back("sfsim /sim/stats failed during the run: " + error);
      sim_error_noted_ = true;
    }
  }
  if (auto relay = sources_->Relay()) {
    if (!s.delivered && relay->delivered && relay_start_ && relay_start_->delivered) {
      s.delivered = static_cast<int64_t>(*relay->delivered - *relay_start_->delivered);
    }
    std::lock_guard lock(mu_);
    relay_last_ = relay;
  }
  if (dlq_high_start_) {
    if (auto marks = admin_->Watermarks(dlq_topic_, kAdminTimeout); marks.ok()) {
      s.dlq_records = SumHigh(*marks) - *dlq_high_start_;
    } else if (marks.status().code() == StatusCode::kNotFound) {
      s.dlq_records = 0;
    }
  }
  if (auto lag = admin_->Lag(o_.group, o_.topic, kAdminTimeout); lag.ok()) {
    int64_t total = 0;
    for (const auto& p : *lag) {
      if (static_cast<size_t>(p.partition) >= s.lag.size()) {
        s.lag.resize(static_cast<size_t>(p.partition) + 1, 0);
      }
      s.lag[static_cast<size_t>(p.partition)] = p.lag;
      total += p.lag;
    }
    s.backlog = total;
  } else {
    std::lock_guard lock(mu_);
    if (!lag_error_noted_) {
      notes_.push_back("consumer-group lag unavailable: " + lag.status().ToString());
      lag_error_noted_ = true;
    }
  }
}

void FloodRun::MonitorLoop() {
  std::unique_lock lock(mu_);
  auto next = std::chrono::steady_clock::now();
  for (;;) {
    // Only a sample begun after the last acknowledgement can show the drain's end: one begun
    // while producing may read a lag of zero (the relay had caught up with what was acked so far)
    // and used to end the drain early, while the relay still had thousands of events to deliver.
    const bool after_burst = produce_done_;
    lock.unlock();
    Sample s = TakeSample();
    lock.lock();
    samples_.push_back(s);
    if (s.backlog) {
      peak_backlog_ = std::max(peak_backlog_, *s.backlog);
      // The consumer has started once the backlog falls below its peak.
      if (!consumer_start_s_ && after_burst && *s.backlog < peak_backlog_) {
        consumer_start_s_ = s.t_s;
      }
      if (burst_end_s_ && !drain_end_s_ && ShowsDrainEnd(s, after_burst)) {
        drain_end_s_ = s.t_s;
        cv_.notify_all();
      }
    }
    RunProgress p{phase_, planned_, s.t_s};
    lock.unlock();
    progress_.OnSample(p, s);
    lock.lock();
    // A steady cadence: the next sample is due one interval after this one began, or at once when
    // reading took longer than that.
    next = std::max(next + o_.sample_interval,
                    std::chrono::steady_clock::now() - std::chrono::milliseconds(1));
    if (cv_.wait_until(lock, next, [&] { return monitor_stop_; })) return;
  }
}

void FloodRun::WaitForDrain() {
  std::unique_lock lock(mu_);
  if (o_.mode == "backlog") {
    phase_ = "waiting for the consumer";
    lock.unlock();
    progress_.OnMessage(
        fmt::format("backlog of {} events is on {}; start the relay (group {}) to drain it",
                    counters_.acked.load(), o_.topic, o_.group));
    lock.lock();
    const auto deadline = std::chrono::steady_clock::now() + o_.consumer_start_timeout;
    while (!consumer_start_s_ && !drain_end_s_ && !Stopping()) {
      if (cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + seconds(1))) ==
              std::cv_status::timeout &&
          std::chrono::steady_clock::now() >= deadline) {
        notes_.push_back("the group never started consuming the backlog");
        return;
      }
    }
  }
  phase_ = "draining";
  const auto deadline = std::chrono::steady_clock::now() + o_.drain_timeout;
  while (!drain_end_s_ && !Stopping()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      notes_.push_back(
          fmt::format("the backlog did not reach zero within {:.0f} s", Seconds(o_.drain_timeout)));
      return;
    }
    cv_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() + seconds(1)));
  }
}

void FloodRun::ReadDlq(Verifier* verifier, Report* report) {
  auto marks = admin_->Watermarks(dlq_topic_, kAdminTimeout);
  if (!marks.ok()) return;  // no DLQ topic: nothing was dead-lettered
  report->dlq_records = SumHigh(*marks) - dlq_high_start_.value_or(0);
  std::map<int32_t, int64_t> want;  // partition -> end offset
  for (const auto& m : *marks) {
    if (m.high > m.low) want[m.partition] = m.high;
  }
  if (want.empty()) return;
  kafka::ConsumerOptions co;
  co.bootstrap = o_.bootstrap;
  co.properties = ClientProperties(o_);
  co.group_id = fmt::format("sluice-flood-dlq-{:012x}", run_id_);
  co.auto_offset_reset = "earliest";
  auto consumer = kafka::Consumer::Create(co);
  if (!consumer.ok() || !(*consumer)->Subscribe({dlq_topic_}).ok()) {
    notes_.push_back("could not read the DLQ topic " + dlq_topic_);
    return;
  }
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (!want.empty() && std::chrono::steady_clock::now() < deadline && !Stopping()) {
    auto batch = (*consumer)->Poll(10000, milliseconds(500));
    if (!batch.ok()) break;
    for (const kafka::Message& m : *batch) {
      if (m.is_error()) continue;
      // The id header of an invalid record, else the event_id of the envelope it kept.
      bool found = false;
      for (const auto& [name, value] : m.headers) {
        if (name == kEventIdHeader) {
          verifier->AddDlqEventId(value);
          found = true;
        }
      }
      if (!found && m.value.size() < (16u << 20)) {
        rapidjson::Document doc;
        doc.Parse<rapidjson::kParseIterativeFlag>(m.value.data(), m.value.size());
        if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("event_id") &&
            doc["event_id"].IsString()) {
          verifier->AddDlqEventId(
              std::string_view(doc["event_id"].GetString(), doc["event_id"].GetStringLength()));
        }
      }
      auto it = want.find(m.partition);
      if (it != want.end() && m.offset + 1 >= it->second) want.erase(it);
    }
  }
  if (!want.empty()) notes_.push_back("the DLQ topic was not read to its end within 60 s");
  (void)(*consumer)->Close();
}

void FloodRun::Verify(Report* report) {
  VerifierOptions vo;
  vo.run_start_unix_ns = wall_start_ns_;
  vo.max_listed = o_.max_listed;
  vo.bin_ns = std::max<int64_t>(o_.sample_interval.count(), 1'000'000);
  // Latency over time in at most ~400 bins: the sample interval, or a multiple of it for long runs.
  const int64_t elapsed_ns = (RealClock().Now() - start_).count();
  vo.latency_bin_ns = vo.bin_ns * std::max<int64_t>(1, elapsed_ns / (400 * vo.bin_ns) + 1);
  Verifier verifier(*log_, vo);
  bool ledger_ok = false;
  if (sim_start_) {
    uint64_t since = static_cast<uint64_t>(std::max<int64_t>(sim_start_->ledger_entries, 0));
    int64_t bad = 0;
    ledger_ok = true;
    for (int pages = 0; pages < 100000; ++pages) {
      auto page = sources_->Ledger(since);
      if (!page.ok()) {
        notes_.push_back("reading the sfsim ledger failed: " + page.status().ToString());
        ledger_ok = false;
        break;
      }
      if (pages == 0 && page->first_in_memory > since + 1) {
        notes_.push_back(
            "sfsim dropped ledger entries of this run from memory (ledger.max_memory_entries): "
            "verification is incomplete");
      }
      bad += page->page.bad_lines;
      for (const LedgerEntry& e : page->page.entries) verifier.AddLedgerEntry(e);
      if (page->page.entries.empty() || page->page.last_seq <= since) break;
      since = page->page.last_seq;
      if (since >= page->total) break;
    }
    if (bad > 0) notes_.push_back(fmt::format("{} malformed ledger lines skipped", bad));
  }
  ReadDlq(&verifier, report);
  Verification v = verifier.Finish();
  report->latency = LatencyFromHistogram(v.latency_us);
  report->delivered_per_s = v.delivered_per_second;
  report->delivered_bin_s = static_cast<double>(vo.bin_ns) / 1e9;
  report->delivered_per_bin = v.delivered_per_bin;
  report->latency_series =
      LatencySeriesFromBins(v.latency_us_per_bin, static_cast<double>(vo.latency_bin_ns) / 1e9);
  if (v.first_delivery_ns) {
    report->drain.time_to_first_delivery_s = static_cast<double>(*v.first_delivery_ns) / 1e9;
  }
  if (v.first_delivery_ns && v.last_delivery_ns && *v.last_delivery_ns > *v.first_delivery_ns) {
    report->drain.delivered_per_s =
        static_cast<double>(v.delivered) /
        (static_cast<double>(*v.last_delivery_ns - *v.first_delivery_ns) / 1e9);
  }
  if (ledger_ok) report->verification = std::move(v);
}

void FloodRun::Finish(const Schedule& schedule, Report* r) {
  r->inputs.mode = o_.mode;
  r->inputs.topic = o_.topic;
  r->inputs.sobject = o_.generator.sobject;
  r->inputs.events = schedule.count();
  r->inputs.planned_duration_s = Seconds(schedule.duration());
  r->inputs.schedule = o_.schedule_text;
  r->inputs.keys = o_.generator.keys.keys;
  r->inputs.key_distribution = o_.generator.keys.shape == KeySpace::Shape::kUniform
                                   ? "uniform"
                                   : fmt::format("zipf:{}", o_.generator.keys.exponent);
  r->inputs.payload_sizes = o_.payload_text;
  r->inputs.invalid_fraction = o_.generator.invalid_fraction;
  r->inputs.seed = o_.generator.seed;
  r->inputs.run_id = run_id_;
  r->inputs.bootstrap = o_.bootstrap;
  r->inputs.group = o_.group;
  r->inputs.dlq_topic = dlq_topic_;
  r->inputs.sfsim_url = RedactUrlCredentials(o_.sfsim_url);
  r->inputs.relay_metrics_url = RedactUrlCredentials(o_.relay_metrics_url);
  r->inputs.assertions = o_.threshold_texts;

  r->environment.tool_version = o_.tool_version;
  r->environment.librdkafka_version = build_info::GetRuntimeVersions().librdkafka;
  r->relay_settings = relay_settings_;
  r->sfsim_latency = sfsim_latency_;
  r->environment.hostname = Hostname();
  r->environment.cpus = static_cast<int>(std::thread::hardware_concurrency());
  // -X secrets are redacted by the caller (cli::RedactedCommandLine); URL passwords here.
  r->environment.command_line = RedactUrlCredentials(o_.command_line);

  GeneratorFigures& g = r->generator;
  g.produced = counters_.produced.load();
  g.acked = counters_.acked.load();
  g.failed = counters_.failed.load();
  g.uncertain = counters_.uncertain.load();
  g.invalid = counters_.invalid.load();
  g.bytes = counters_.bytes.load();
  g.produce_time_s = static_cast<double>(counters_.last_ack_ns.load()) / 1e9;
  if (g.produce_time_s > 0) {
    g.events_per_s = static_cast<double>(g.acked) / g.produce_time_s;
    g.mb_per_s = static_cast<double>(g.bytes) / 1e6 / g.produce_time_s;
  }
  g.max_behind_s = Seconds(max_behind_);
  g.late_events = late_events_;
  // A paced schedule the generator could not keep: the run measured the generator.
  const double planned = Seconds(schedule.duration());
  g.bottleneck = planned > 0 && g.max_behind_s > std::max(1.0, 0.1 * planned);

  std::lock_guard lock(mu_);
  r->samples = samples_;
  for (const std::string& n : notes_) r->notes.push_back(RedactUrlCredentials(n));
  DrainFigures& d = r->drain;
  d.burst_end_s = burst_end_s_;
  d.drain_end_s = drain_end_s_;
  d.drained = drain_end_s_.has_value();
  const std::optional<double> drain_start = o_.mode == "backlog" ? consumer_start_s_ : burst_end_s_;
  if (drain_end_s_ && drain_start) d.drain_time_s = std::max(0.0, *drain_end_s_ - *drain_start);
  if (!samples_.empty() && samples_.front().backlog) d.peak_backlog = peak_backlog_;

  if (sim_start_ && sim_last_) {
    const int64_t calls = sim_last_->api_used - sim_start_->api_used;
    r->api.api_calls = calls;
    r->api.daily_used = sim_last_->api_used;
    r->api.daily_max = sim_last_->api_max;
    const int64_t written = sim_last_->records_written - sim_start_->records_written;
    if (calls > 0) r->api.records_per_call = static_cast<double>(written) / calls;
    for (const auto& [status, n] : sim_last_->responses_by_status) {
      auto before = sim_start_->responses_by_status.find(status);
      const int64_t delta =
          n - (before == sim_start_->responses_by_status.end() ? 0 : before->second);
      if (delta > 0 && !status.empty() && status[0] != '2')
        r->api.errors_by_code["HTTP " + status] = delta;
    }
    if (sim_last_->lock_rows > sim_start_->lock_rows) {
      r->api.errors_by_code["UNABLE_TO_LOCK_ROW"] = sim_last_->lock_rows - sim_start_->lock_rows;
    }
  }
  if (relay_last_) {
    const RelayFigures& a = *relay_last_;
    const RelayFigures b = relay_start_.value_or(RelayFigures{});
    if (a.call_latency_count && a.call_latency_sum_s) {
      const double n = *a.call_latency_count - b.call_latency_count.value_or(0);
      const double sum = *a.call_latency_sum_s - b.call_latency_sum_s.value_or(0);
      if (n > 0) r->api.call_latency_s = sum / n;
    }
    if (!r->api.records_per_call && a.requests_sent && a.delivered) {
      const double calls = *a.requests_sent - b.requests_sent.value_or(0);
      if (calls > 0) r->api.records_per_call = (*a.delivered - b.delivered.value_or(0)) / calls;
    }
    for (const auto& [code, n] : a.dead_lettered_by_code) {
      auto before = b.dead_lettered_by_code.find(code);
      const double delta = n - (before == b.dead_lettered_by_code.end() ? 0 : before->second);
      if (delta > 0) r->api.errors_by_code["dlq " + code] = static_cast<int64_t>(delta);
    }
  }
  {
    std::lock_guard elock(counters_.errors_mu);
    for (const auto& [code, n] : counters_.produce_errors) {
      r->api.errors_by_code["produce " + code] = n;
    }
  }
}

Result<Report> FloodRun::Go() {
  ASSIGN_OR_RETURN(Schedule schedule, Schedule::FromStages(o_.stages));
  RETURN_IF_ERROR(ValidateGeneratorOptions(o_.generator));
  RETURN_IF_ERROR(Setup(schedule.duration() == Clock::Duration{0}));
  log_ = std::make_unique<ProducedLog>(run_id_);
  log_->Reserve(schedule.count());
  planned_ = schedule.count();

  Report report;
  report.environment.started_at = Rfc3339Now();
  start_ = RealClock().Now();
  wall_start_ns_ = RealClock().WallNow().time_since_epoch().count();
  std::thread monitor([this] { MonitorLoop(); });

  Produce(schedule);
  SetPhase("flushing");
  if (Status st = producer_->Flush(std::chrono::duration_cast<milliseconds>(o_.flush_timeout));
      !st.ok()) {
    std::lock_guard lock(mu_);
    notes_.push_back("not every delivery report arrived: " + st.ToString());
  }
  {
    std::lock_guard lock(mu_);
    burst_end_s_ = static_cast<double>(counters_.last_ack_ns.load()) / 1e9;
    produce_done_ = true;
  }
  if (o_.drain_timeout.count() > 0 && !Stopping()) WaitForDrain();
  {
    std::lock_guard lock(mu_);
    monitor_stop_ = true;
    cv_.notify_all();
  }
  monitor.join();
  {
    // One last sample so the series ends with the run's final state.
    Sample last = TakeSample();
    std::lock_guard lock(mu_);
    if (last.backlog) peak_backlog_ = std::max(peak_backlog_, *last.backlog);
    samples_.push_back(std::move(last));
  }
  progress_.OnMessage("verifying");
  Verify(&report);
  report.environment.finished_at = Rfc3339Now();
  Finish(schedule, &report);
  report.thresholds = EvaluateThresholds(o_.thresholds, Figures(report));
  producer_.reset();
  return report;
}

}  // namespace

Result<Report> Run(const RunOptions& options, ProgressSink& progress,
                   const ShutdownToken* shutdown) {
  FloodRun run(options, progress, shutdown);
  return run.Go();
}

Result<std::vector<std::string>> WriteReports(const Report& report, const std::string& prefix) {
  std::vector<std::string> paths = {prefix + ".json", prefix + ".csv", prefix + ".html"};
  RETURN_IF_ERROR(WriteFile(paths[0], ReportToJson(report)));
  RETURN_IF_ERROR(WriteFile(paths[1], ReportToCsv(report)));
  RETURN_IF_ERROR(WriteFile(paths[2], ReportToHtml(report)));
  return paths;
}

}  // namespace sluice::flood

#include "sluice/flood/runner.h"

#include "runner_internal.h"

namespace sluice::flood {
namespace internal {

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
                      if (o_.via_stats) {
                        const ViaGatewayStats& v = *o_.via_stats;
                        std::lock_guard lock(v.mu);
                        const auto count = [&v](int status) {
                          auto it = v.statuses.find(status);
                          return static_cast<int64_t>(it == v.statuses.end() ? 0 : it->second);
                        };
                        s.gateway_requests = static_cast<int64_t>(v.requests);
                        s.gateway_202 = count(202);
                        s.gateway_429 = count(429);
                        s.gateway_503 = count(503);
                      }
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

}  // namespace internal

Result<Report> Run(const RunOptions& options, ProgressSink& progress,
                   const ShutdownToken* shutdown) {
  internal::FloodRun run(options, progress, shutdown);
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

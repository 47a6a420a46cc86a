// FloodRun's results: the DLQ read back, the ledger verified against what was produced, and the
// report filled in. Setup, producing and sampling are in runner.cc.
#include "runner_internal.h"

namespace sluice::flood::internal {

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

GatewayFigures FloodRun::GatewayFiguresOf(const Schedule& schedule) const {
  const ViaGatewayStats& v = *o_.via_stats;
  GatewayFigures g;
  g.url = RedactUrlCredentials(o_.via_url);
  // A paced run has intended send times; counting from them leaves no coordinated omission. An
  // unpaced one sends as fast as it can, so its requests start when they are complete.
  const bool paced = schedule.duration() > Clock::Duration{0};
  g.time_to_202_from = paced ? "intended" : "handed_over";
  std::vector<GatewayAnswerTimes> times;
  std::lock_guard lock(v.mu);
  g.requests = static_cast<int64_t>(v.requests);
  g.retries = static_cast<int64_t>(v.retries);
  g.events_accepted = static_cast<int64_t>(v.events_accepted);
  for (const auto& [status, n] : v.statuses) g.statuses[status] = static_cast<int64_t>(n);
  times.reserve(v.answers_202.size());
  const auto ns = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  };
  const int64_t start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(start_.time_since_epoch()).count();
  for (const ViaGatewayAnswer& a : v.answers_202) {
    int64_t from = ns(a.handed_over);
    if (paced && static_cast<int64_t>(a.last_tag) < log_->size()) {
      from = start_ns + log_->at(static_cast<int64_t>(a.last_tag)).intended_ns;
    }
    times.push_back(GatewayAnswerTimes{from, ns(a.answered)});
  }
  g.time_to_202 = GatewayTimeTo202(times);
  return g;
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

  if (o_.via_stats) r->gateway = GatewayFiguresOf(schedule);

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

}  // namespace sluice::flood::internal

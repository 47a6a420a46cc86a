// The admin API under /sim/: stats, ledger, faults, reset.
#include <openssl/hmac.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "simulator_impl.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {

http::ServerResponse Simulator::Impl::AdminJson(int status, std::string body) {
  http::ServerResponse res;
  res.status = status;
  res.headers.Add("Content-Type", "application/json");
  res.body = std::move(body);
  return res;
}

http::ServerResponse Simulator::Impl::AdminError(int status, const std::string& message) {
  return AdminJson(status, "{\"error\":\"" + JsonEscape(message) + "\"}");
}

http::ServerResponse Simulator::Impl::HandleAdmin(http::ServerRequest& req, TimePoint now) {
  ctx_ = RequestContext{};
  ctx_.now = now;
  const std::string& p = req.path;
  const std::string& m = req.method;
  if (p == "/sim/stats" || p == "/sim/stats/") {
    if (m != "GET") return AdminError(405, "use GET");
    return AdminJson(200, StatsJsonLocked());
  }
  if (p == "/sim/healthz") return AdminJson(200, "{\"ok\":true}");
  if (p == "/sim/ledger" || p == "/sim/ledger/") {
    if (m != "GET") return AdminError(405, "use GET");
    uint64_t since = 0, limit = kDefaultLedgerPage;
    auto num = [](const std::optional<std::string>& s, uint64_t* out) {
      if (!s) return true;
      if (s->empty() || s->size() > 19 || !Digits(*s, 0, s->size())) return false;
      *out = std::stoull(*s);
      return true;
    };
    if (!num(req.QueryParam("since"), &since) || !num(req.QueryParam("limit"), &limit)) {
      return AdminError(400, "since and limit must be non-negative integers");
    }
    limit = std::min(limit, kMaxLedgerPage);
    http::ServerResponse res;
    res.headers.Add("Content-Type", "application/x-ndjson");
    uint64_t last = since;
    ledger_->ForEachSince(since, limit, [&](const LedgerEntry& e) {
      res.body += e.ToJsonLine();
      res.body += '\n';
      last = e.seq;
    });
    res.headers.Add("X-Sfsim-Ledger-Last", std::to_string(last));
    res.headers.Add("X-Sfsim-Ledger-Total", std::to_string(ledger_->total()));
    res.headers.Add("X-Sfsim-Ledger-First", std::to_string(ledger_->first_in_memory()));
    return res;
  }
  if (p == "/sim/faults" || p == "/sim/faults/") {
    if (m == "GET") return AdminJson(200, FaultsJson());
    if (m == "DELETE") {
      scheduled_.clear();
      return AdminJson(200, FaultsJson());
    }
    if (m != "POST") return AdminError(405, "use GET, POST or DELETE");
    return ScheduleFault(req.body, now);
  }
  if (p == "/sim/reset" || p == "/sim/reset/") {
    if (m != "POST") return AdminError(405, "use POST");
    ResetData(now);
    return AdminJson(200, "{\"ok\":true}");
  }
  return AdminError(404, "no such admin resource; see docs/SFSIM.md");
}

http::ServerResponse Simulator::Impl::ScheduleFault(std::string& body, TimePoint now) {
  rapidjson::Document d;
  if (body.empty()) return AdminError(400, "a JSON body is required");
  d.ParseInsitu<kParseFlags>(body.data());
  if (d.HasParseError() || !d.IsObject()) return AdminError(400, "body must be a JSON object");
  auto str = [&](const char* k) -> std::string {
    auto it = d.FindMember(k);
    return it != d.MemberEnd() && it->value.IsString() ? std::string(Str(it->value)) : "";
  };
  auto num = [&](const char* k, double fallback, double lo, double hi, bool* bad) -> double {
    auto it = d.FindMember(k);
    if (it == d.MemberEnd()) return fallback;
    if (!it->value.IsNumber() || !(it->value.GetDouble() >= lo && it->value.GetDouble() <= hi)) {
      *bad = true;
      return fallback;
    }
    return it->value.GetDouble();
  };
  std::string kind = str("kind");
  bool bad = false;
  double duration_ms = num("duration_ms", -1, 0, 365.0 * 86400000, &bad);
  if (duration_ms < 0 && d.HasMember("duration")) {
    auto dur = ParseDuration(str("duration"));
    if (!dur.ok()) return AdminError(400, "duration: " + dur.status().message());
    duration_ms = static_cast<double>(dur->count());
  }
  if (kind == "expire_tokens") {
    tokens_.ExpireAll();
  } else if (kind == "exhaust_daily") {
    int64_t used = usage_.Used(now);
    usage_.Add(now, std::max<int64_t>(0, options_.limits.daily_api_requests - used));
  } else if (kind == "reset_usage") {
    usage_.Clear();
  } else if (kind == "unavailable" || kind == "reset" || kind == "slow" || kind == "lock_rows" ||
             kind == "refuse_auth") {
    if (duration_ms < 0) return AdminError(400, "duration_ms (or duration) is required");
    ScheduledFault f;
    f.kind = kind;
    f.until = now + std::chrono::duration_cast<Duration>(
                        std::chrono::duration<double, std::milli>(duration_ms));
    f.rate = num("rate", 1.0, 0, 1, &bad);
    auto html = d.FindMember("html");
    f.html = html != d.MemberEnd() && html->value.IsBool() && html->value.GetBool();
    f.slow_ms = num("slow_ms", options_.faults.slow_ms, 0, 3600000, &bad);
    if (bad) return AdminError(400, "a number is out of range");
    scheduled_.erase(std::remove_if(scheduled_.begin(), scheduled_.end(),
                                    [&](const ScheduledFault& s) { return s.until <= now; }),
                     scheduled_.end());
    scheduled_.push_back(f);
  } else if (kind == "rates") {
    FaultOptions& fo = options_.faults;
    fo.unavailable_rate = num("unavailable_rate", fo.unavailable_rate, 0, 1, &bad);
    fo.unavailable_html_fraction =
        num("unavailable_html_fraction", fo.unavailable_html_fraction, 0, 1, &bad);
    fo.reset_rate = num("reset_rate", fo.reset_rate, 0, 1, &bad);
    fo.reset_after_write_rate =
        num("reset_after_write_rate", fo.reset_after_write_rate, 0, 1, &bad);
    fo.slow_rate = num("slow_rate", fo.slow_rate, 0, 1, &bad);
    fo.slow_ms = num("slow_ms", fo.slow_ms, 0, 3600000, &bad);
    fo.lock_row_rate = num("lock_row_rate", fo.lock_row_rate, 0, 1, &bad);
    if (bad) return AdminError(400, "a rate is out of range");
  } else if (kind == "latency") {
    LatencyOptions& lo = options_.latency;
    lo.base_ms = num("base_ms", lo.base_ms, 0, 1e9, &bad);
    lo.per_record_ms = num("per_record_ms", lo.per_record_ms, 0, 1e9, &bad);
    lo.tail_median_ms = num("tail_median_ms", lo.tail_median_ms, 0, 1e9, &bad);
    lo.tail_sigma = num("tail_sigma", lo.tail_sigma, 0, 100, &bad);
    lo.max_ms = num("max_ms", lo.max_ms, 0, 1e9, &bad);
    if (bad) return AdminError(400, "a latency value is out of range");
    latency_.set_options(lo);
  } else {
    return AdminError(400,
                      "kind must be one of unavailable, reset, slow, lock_rows, expire_tokens, "
                      "exhaust_daily, reset_usage, rates, latency");
  }
  faults_scheduled_++;
  return AdminJson(200, FaultsJson());
}

std::string Simulator::Impl::FaultsJson() {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("active");
  w.StartArray();
  for (const auto& f : scheduled_) {
    if (f.until <= ctx_.now) continue;
    w.StartObject();
    w.Key("kind");
    w.String(f.kind.c_str());
    w.Key("remaining_ms");
    w.Int64(std::chrono::duration_cast<std::chrono::milliseconds>(f.until - ctx_.now).count());
    w.Key("rate");
    w.Double(f.rate);
    if (f.kind == "unavailable") {
      w.Key("html");
      w.Bool(f.html);
    }
    if (f.kind == "slow") {
      w.Key("slow_ms");
      w.Double(f.slow_ms);
    }
    w.EndObject();
  }
  w.EndArray();
  const FaultOptions& fo = options_.faults;
  w.Key("rates");
  w.StartObject();
  w.Key("unavailable_rate");
  w.Double(fo.unavailable_rate);
  w.Key("unavailable_html_fraction");
  w.Double(fo.unavailable_html_fraction);
  w.Key("reset_rate");
  w.Double(fo.reset_rate);
  w.Key("reset_after_write_rate");
  w.Double(fo.reset_after_write_rate);
  w.Key("slow_rate");
  w.Double(fo.slow_rate);
  w.Key("slow_ms");
  w.Double(fo.slow_ms);
  w.Key("lock_row_rate");
  w.Double(fo.lock_row_rate);
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

void Simulator::Impl::ResetData(TimePoint now) {
  for (auto& o : objects_) {
    o->records.clear();
    for (auto& idx : o->index) idx.clear();
    o->events_published = 0;
  }
  ledger_->Clear();
  usage_.Clear();
  event_ids_.clear();
  requests_.clear();
  records_written_ = records_created_ = records_updated_ = records_failed_ = 0;
  duplicate_keys_ = duplicate_writes_ = duplicate_event_ids_ = 0;
  peak_in_flight_ = in_flight_.size();
  peak_long_running_ = 0;
  locks_waited_ = locks_timed_out_ = 0;
  jobs_.clear();
  bulk_records_.Clear();
  bulk_batches_.Clear();
  bulk_jobs_created_ = bulk_records_processed_ = bulk_records_failed_ = bulk_batches_run_ = 0;
  parent_lock_waits_ = parent_lock_timeouts_ = 0;
  faults_reset_ = faults_reset_after_write_ = faults_unavailable_ = faults_slow_ =
      faults_lock_rows_ = 0;
  (void)now;
}

void Simulator::Impl::CountRequest(const std::string& route, int status) {
  requests_[route][status]++;
  requests_total_++;
}

std::string Simulator::Impl::StatsJsonLocked() {
  TimePoint now = clock_.Now();
  int64_t long_running = LongRunning(now);
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("requests_total");
  w.Uint64(requests_total_);
  w.Key("requests");
  w.StartObject();
  for (const auto& [route, by_status] : requests_) {
    w.Key(route.c_str());
    w.StartObject();
    for (const auto& [status, n] : by_status) {
      std::string s = status == 0 ? "reset" : std::to_string(status);
      w.Key(s.c_str());
      w.Uint64(n);
    }
    w.EndObject();
  }
  w.EndObject();
  auto u64 = [&](const char* k, uint64_t v) {
    w.Key(k);
    w.Uint64(v);
  };
  u64("records_written", records_written_);
  u64("records_created", records_created_);
  u64("records_updated", records_updated_);
  u64("records_failed", records_failed_);
  u64("duplicate_external_ids", duplicate_keys_);
  u64("duplicate_writes", duplicate_writes_);
  u64("duplicate_event_ids", duplicate_event_ids_);
  u64("in_flight", in_flight_.size());
  u64("peak_concurrent_requests", peak_in_flight_);
  u64("long_running", static_cast<uint64_t>(long_running));
  u64("peak_long_running_requests", static_cast<uint64_t>(peak_long_running_));
  u64("lock_waits", locks_waited_);
  u64("lock_timeouts", locks_timed_out_);
  u64("parent_lock_waits", parent_lock_waits_);
  u64("parent_lock_timeouts", parent_lock_timeouts_);
  w.Key("bulk");
  w.StartObject();
  u64("jobs_created", bulk_jobs_created_);
  u64("jobs", jobs_.size());
  u64("batches", bulk_batches_run_);
  u64("records_processed", bulk_records_processed_);
  u64("records_failed", bulk_records_failed_);
  u64("daily_records_used", static_cast<uint64_t>(bulk_records_.Used(now)));
  u64("daily_batches_used", static_cast<uint64_t>(bulk_batches_.Used(now)));
  w.EndObject();
  u64("tokens_issued", tokens_.issued());
  u64("ledger_entries", ledger_->total());
  // The latency model in force (sluice-flood records it in its report).
  w.Key("latency_model");
  w.StartObject();
  const LatencyOptions& lo = options_.latency;
  for (const auto& [name, value] : {std::pair<const char*, double>{"base_ms", lo.base_ms},
                                    {"per_record_ms", lo.per_record_ms},
                                    {"tail_median_ms", lo.tail_median_ms},
                                    {"tail_sigma", lo.tail_sigma},
                                    {"max_ms", lo.max_ms}}) {
    w.Key(name);
    w.Double(value);
  }
  w.EndObject();
  w.Key("api_usage");
  w.StartObject();
  u64("used", static_cast<uint64_t>(usage_.Used(now)));
  u64("max", static_cast<uint64_t>(options_.limits.daily_api_requests));
  w.EndObject();
  w.Key("faults");
  w.StartObject();
  u64("unavailable", faults_unavailable_);
  u64("reset", faults_reset_);
  u64("reset_after_write", faults_reset_after_write_);
  u64("slow", faults_slow_);
  u64("lock_rows", faults_lock_rows_);
  u64("scheduled", faults_scheduled_);
  w.EndObject();
  w.Key("objects");
  w.StartObject();
  for (const auto& o : objects_) {
    w.Key(o->def.name.c_str());
    w.Uint64(o->def.platform_event ? o->events_published : o->records.size());
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace sluice::sfsim

#include "scenario.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

namespace sluice::sim {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Wall time of the SimulatedClock's start (its default).
constexpr int64_t kWallStartMs = 1767225600000;

// The scenario's own random stream, apart from the world's, so that drawing a scenario never
// shifts the run's draws.
class Draw {
 public:
  explicit Draw(uint64_t seed) : rng_(seed * 0x9E3779B97F4A7C15ull + 0x5157) {}
  double U() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_); }
  int64_t Int(int64_t lo, int64_t hi) {
    return hi <= lo ? lo : std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  bool Chance(double p) { return U() < p; }
  Clock::Duration Ms(int64_t lo, int64_t hi) { return milliseconds(Int(lo, hi)); }
  TimePoint AtMs(int64_t lo, int64_t hi) { return TimePoint(Ms(lo, hi)); }
  std::string Uuid() {
    const uint64_t a = rng_();
    const uint64_t b = rng_();
    return fmt::format("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", a >> 32, (a >> 16) & 0xffff,
                       a & 0xfff, b >> 52, b & 0xffffffffffffull);
  }

 private:
  std::mt19937_64 rng_;
};

// `parent`: the Contact's AccountId ("": none).
std::string EnvelopeValue(EventKind kind, const std::string& event_id, const std::string& key,
                          int seq, bool poison, const std::string& parent) {
  std::string fields = fmt::format(R"({{"{}":"{}","{}":"{}","Sim_Seq__c":{},"Name":"n{}")",
                                   kEventIdField, event_id, kKeyField, key, seq, seq);
  if (!parent.empty()) fields += fmt::format(R"(,"{}":"{}")", kParentField, parent);
  if (poison) fields += fmt::format(R"(,"{}":true)", kPoisonField);
  fields += "}";
  switch (kind) {
    case EventKind::kUpsert:
      return fmt::format(R"({{"event_id":"{}","operation":"upsert","sobject":"Contact",)"
                         R"("external_id_field":"Sluice_Key__c","external_id":"{}","fields":{},)"
                         R"("occurred_at":"2026-01-01T00:00:00Z"}})",
                         event_id, key, fields);
    case EventKind::kCreate:
      return fmt::format(
          R"({{"event_id":"{}","operation":"create","sobject":"Order__c","fields":{},)"
          R"("occurred_at":"2026-01-01T00:00:00Z"}})",
          event_id, fields);
    case EventKind::kPublish:
      return fmt::format(
          R"({{"event_id":"{}","operation":"publish","sobject":"Sim_Burst__e","fields":{},)"
          R"("occurred_at":"2026-01-01T00:00:00Z"}})",
          event_id, fields);
    case EventKind::kInvalid:
      return "{not json " + key;
  }
  return "";
}

std::vector<std::pair<TimePoint, TimePoint>> Windows(Draw& d, int max_count, int64_t start_hi_ms,
                                                     int64_t len_lo_ms, int64_t len_hi_ms) {
  std::vector<std::pair<TimePoint, TimePoint>> out;
  const int64_t n = d.Int(1, max_count);
  for (int64_t i = 0; i < n; ++i) {
    const TimePoint s = d.AtMs(0, start_hi_ms);
    out.emplace_back(s, s + d.Ms(len_lo_ms, len_hi_ms));
  }
  return out;
}

}  // namespace

int32_t PartitionFor(const std::string& key, int partitions) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int32_t>(h % static_cast<uint64_t>(std::max(partitions, 1)));
}

Scenario MakeScenario(uint64_t seed, const ScenarioOptions& so) {
  Draw d(seed);
  Scenario s;
  s.seed = seed;
  s.slots = d.Chance(0.4) ? 1 : static_cast<int>(d.Int(2, 3));
  if (d.Chance(0.3)) {
    s.topics = {{"sim.a.events", static_cast<int>(d.Int(1, 4))},
                {"sim.b.events", static_cast<int>(d.Int(1, 4))}};
  } else {
    s.topics = {{"sim.events", static_cast<int>(d.Int(1, 8))}};
  }
  s.dlq_topics_exist = d.Chance(0.5);

  relay::RelayOptions& o = s.options;
  o.kafka.bootstrap = "sim:9092";
  o.kafka.group_id = "sim-group";
  for (const auto& [t, n] : s.topics) o.kafka.topics.push_back(t);
  static constexpr size_t kBatchSizes[] = {1, 5, 20, 50, 200};
  o.max_records = kBatchSizes[d.Int(0, 4)];
  o.linger = std::chrono::duration_cast<milliseconds>(d.Ms(0, 50));
  o.max_in_flight = d.Int(s.slots, 8);
  o.requests_per_second = static_cast<double>(std::max<int64_t>(s.slots, d.Int(5, 60)));
  o.records_per_second = static_cast<double>(std::max<int64_t>(s.slots, d.Int(50, 3000)));
  o.max_buffered_events = static_cast<size_t>(d.Int(10, 400));
  o.kafka.poll_batch = static_cast<size_t>(d.Int(1, std::min<int64_t>(200, o.max_buffered_events)));
  o.kafka.commit_interval = std::chrono::duration_cast<milliseconds>(d.Ms(50, 1000));
  o.revoke_deadline = std::chrono::duration_cast<milliseconds>(d.Ms(500, 5000));
  o.shutdown_deadline = milliseconds(5000);
  o.salesforce.client.request_timeout = std::chrono::duration_cast<milliseconds>(d.Ms(1000, 3000));
  o.retry.initial = d.Ms(20, 200);
  o.retry.multiplier = 2.0;
  o.retry.cap = d.Ms(500, 3000);
  o.retry.max_attempts = static_cast<int>(d.Int(3, 8));
  o.retry.max_elapsed = seconds(120);
  o.circuit.failure_threshold = static_cast<int>(d.Int(1, 5));
  o.circuit.open_initial = d.Ms(100, 1000);
  o.circuit.open_cap = d.Ms(2000, 5000);
  o.salesforce.event_id_field = d.Chance(0.8) ? kEventIdField : "";
  o.salesforce.accept_duplicates_on_crash = o.salesforce.event_id_field.empty();
  o.idempotency.enabled = d.Chance(0.9);
  o.idempotency.store.path = "sim-relay.db";
  o.budget_reserve = d.Chance(0.5) ? 0.0 : 0.05 + 0.05 * d.U();
  o.parse_threads = 0;
  o.http.port = 0;
  o.logging.level = "off";

  // Events: a drain without faults takes about ten simulated seconds at most.
  const double drain_rate =
      std::min(o.requests_per_second * static_cast<double>(o.max_records), o.records_per_second);
  int n = static_cast<int>(d.Int(so.min_events, so.max_events));
  n = std::max(10, std::min(n, static_cast<int>(drain_rate * 10)));
  const int keys = static_cast<int>(d.Int(3, 30));
  const bool backlog = d.Chance(0.5);
  const int64_t span_ms = backlog ? 0 : d.Int(1000, 8000);
  int dups = 0, poison = 0;
  // Parent locks, drawn from a stream of their own so that every other draw of a seed stays what
  // it was. On: Contacts name an Account parent shared by the keys of one partition (two parents
  // per partition, some Contacts none), so a relay that writes them in parallel contends; the org
  // locks parents and the relay is told to (delivery.lock_fields). Parents are per partition, so
  // relays owning different partitions never share one.
  Draw lock_draw(seed ^ 0x9a7e471dull);
  const bool parent_locks = lock_draw.Chance(0.35);
  auto parent_of = [&](const std::string& topic, const std::string& key) -> std::string {
    if (!parent_locks) return "";
    int partitions = 1;
    for (const auto& [t, count] : s.topics) {
      if (t == topic) partitions = count;
    }
    const int32_t p = PartitionFor(key, partitions);
    const int32_t which = PartitionFor(key + "#parent", 5);
    if (which == 4) return "";
    return fmt::format("001{}P{}x{}", topic == s.topics.front().first ? "a" : "b", p, which % 2);
  };
  for (int i = 0; i < n; ++i) {
    ProducedRecord r;
    const double u = d.U();
    r.key = fmt::format("K-{}", static_cast<int>(keys * u * u));
    const double k = d.U();
    r.kind = k < 0.55   ? EventKind::kUpsert
             : k < 0.85 ? EventKind::kCreate
             : k < 0.99 ? EventKind::kPublish
                        : EventKind::kInvalid;
    r.poison = r.kind != EventKind::kInvalid && d.Chance(0.03);
    poison += r.poison ? 1 : 0;
    r.topic =
        s.topics[static_cast<size_t>(d.Int(0, static_cast<int64_t>(s.topics.size()) - 1))].first;
    r.event_id = d.Uuid();
    r.value = EnvelopeValue(r.kind, r.event_id, r.key, i, r.poison,
                            r.kind == EventKind::kUpsert ? parent_of(r.topic, r.key) : "");
    r.headers = {{"sim-origin", "scenario"}};
    if (r.kind != EventKind::kInvalid && d.Chance(0.3)) {
      r.headers.emplace_back("idempotency-key", r.event_id);
    }
    r.visible_at = TimePoint(milliseconds(span_ms > 0 ? d.Int(0, span_ms) : 0));
    r.timestamp_ms =
        kWallStartMs +
        std::chrono::duration_cast<milliseconds>(r.visible_at.time_since_epoch()).count();
    s.events.push_back(r);
    if (r.kind != EventKind::kInvalid && d.Chance(0.03)) {
      // A producer retry: the same record again, right behind the first.
      r.upstream_duplicate = true;
      s.events.push_back(r);
      ++dups;
    }
  }
  std::stable_sort(s.events.begin(), s.events.end(),
                   [](const auto& a, const auto& b) { return a.visible_at < b.visible_at; });

  if (parent_locks) {
    o.lock_fields = {{"Contact", kParentField}};
    s.org.parent_lock_fields = o.lock_fields;
  }

  // Faults.
  TimePoint faults_end{milliseconds(span_ms)};
  std::string faults;
  SimOrgOptions& org = s.org;
  org.latency_min = d.Ms(2, 20);
  org.latency_max = org.latency_min + d.Ms(5, 100);
  org.timeout_after = o.salesforce.client.request_timeout;
  auto note = [&](const std::string& what) { faults += (faults.empty() ? "" : ",") + what; };
  auto extend = [&](const std::vector<std::pair<TimePoint, TimePoint>>& w) {
    for (const auto& [a, b] : w) faults_end = std::max(faults_end, b);
  };
  if (so.faults) {
    if (d.Chance(0.2)) {
      org.slow_probability = 0.05;
      note("slow");
    }
    if (d.Chance(0.3)) {
      org.unavailable = Windows(d, 2, 12000, 500, 5000);
      extend(org.unavailable);
      note("503");
    }
    if (d.Chance(0.15)) {
      org.auth_failing = Windows(d, 1, 12000, 500, 4000);
      extend(org.auth_failing);
      note("auth");
    }
    if (d.Chance(0.2)) {
      for (int64_t i = d.Int(1, 3); i > 0; --i) org.session_expiry.push_back(d.AtMs(100, 12000));
      for (auto t : org.session_expiry) faults_end = std::max(faults_end, t);
      note("expiry");
    }
    if (d.Chance(0.2)) {
      org.timeout_probability = 0.02 + 0.08 * d.U();
      note("timeouts");
    }
    if (d.Chance(0.3)) {
      org.lock_probability = 0.02 + 0.18 * d.U();
      note("locks");
    }
    if (o.max_in_flight > 1 && d.Chance(0.15)) {
      org.concurrent_limit = static_cast<int>(d.Int(1, o.max_in_flight - 1));
      note("concurrency");
    }
    if (d.Chance(0.15)) {
      org.api_max = 2000;
      org.api_used =
          static_cast<int64_t>(static_cast<double>(org.api_max) * (1.0 - o.budget_reserve)) -
          d.Int(0, 30);
      org.budget_reset_at = d.AtMs(2000, 10000);
      faults_end = std::max(faults_end, *org.budget_reset_at);
      note("budget");
    }
    if (d.Chance(0.15)) {
      s.store.failure_probability = 0.05 + 0.15 * d.U();
      note("store-failures");
    }
    if (d.Chance(0.2)) {
      s.broker_unavailable = Windows(d, 1, 10000, 500, 3000);
      extend(s.broker_unavailable);
      note("broker");
    }
  }
  s.kafka.session_timeout = d.Ms(1000, 4000);
  s.kafka.rebalance_delay = d.Ms(10, 200);

  // Relays: slot 0 starts at once, the others at once or later (a join mid-drain).
  std::vector<TimePoint> start(static_cast<size_t>(s.slots));
  for (int i = 0; i < s.slots; ++i) {
    start[static_cast<size_t>(i)] = i == 0 || d.Chance(0.5) ? TimePoint{} : d.AtMs(100, 8000);
    s.actions.push_back({Action::Kind::kStart, start[static_cast<size_t>(i)], i, true});
  }
  if (so.faults) {
    const int64_t crashes = d.Chance(0.35) ? d.Int(1, 2) : 0;
    for (int64_t i = 0; i < crashes; ++i) {
      const int slot = static_cast<int>(d.Int(0, s.slots - 1));
      const TimePoint at =
          std::max(start[static_cast<size_t>(slot)] + milliseconds(100), d.AtMs(200, 10000));
      const bool kept = d.Chance(0.6);
      s.actions.push_back({Action::Kind::kCrash, at, slot, kept});
      if (slot == 0 || d.Chance(0.8)) {
        s.actions.push_back({Action::Kind::kStart, at + d.Ms(100, 3000), slot, true});
      }
      note(fmt::format("crash{}{}", slot, kept ? "" : "-store-lost"));
    }
    if (d.Chance(0.15)) {
      const int slot = static_cast<int>(d.Int(0, s.slots - 1));
      const TimePoint at =
          std::max(start[static_cast<size_t>(slot)] + milliseconds(100), d.AtMs(200, 10000));
      s.actions.push_back({Action::Kind::kStop, at, slot, true});
      s.actions.push_back({Action::Kind::kStart, at + d.Ms(100, 3000), slot, true});
      note(fmt::format("stop{}", slot));
    }
  }
  std::stable_sort(s.actions.begin(), s.actions.end(),
                   [](const Action& a, const Action& b) { return a.at < b.at; });
  for (const auto& a : s.actions) faults_end = std::max(faults_end, a.at);

  s.faults_end = faults_end;
  // A call carries at most one event per key (the engine serialises each key), and calls in
  // flight are bounded, each taking the latency (or the timeout, when its answer is lost).
  const double per_call =
      static_cast<double>(std::min<int64_t>(static_cast<int64_t>(o.max_records), keys));
  const double latency_s =
      std::chrono::duration<double>(org.latency_max).count() *
          (1 + org.slow_probability * org.slow_factor) +
      org.timeout_probability * std::chrono::duration<double>(org.timeout_after).count();
  const double call_rate =
      std::min(o.requests_per_second, static_cast<double>(o.max_in_flight) / latency_s);
  const double drain_s = static_cast<double>(s.events.size()) /
                         std::min(drain_rate, call_rate * per_call * (1 - org.lock_probability));
  const auto retry_s = std::chrono::duration<double>(o.retry.cap).count() * o.retry.max_attempts;
  // Generous: the engine probes a daily budget held at the reserve only every 60 s.
  s.time_limit =
      faults_end + seconds(90) + milliseconds(static_cast<int64_t>(1000 * (3 * drain_s + retry_s)));
  s.summary = fmt::format(
      "seed {}: {} relay(s), {} topic(s), {} events ({} upstream dups, {} poison), {} keys, {}, "
      "max_records {}, {:.0f} req/s, {:.0f} rec/s, in-flight {}, buffer {}, poll {}, "
      "event_id_field {}, store {}, parent locks {}, faults [{}]",
      seed, s.slots, s.topics.size(), s.events.size(), dups, poison, keys,
      backlog ? "backlog" : fmt::format("produced over {} ms", span_ms), o.max_records,
      o.requests_per_second, o.records_per_second, o.max_in_flight, o.max_buffered_events,
      o.kafka.poll_batch, o.salesforce.event_id_field.empty() ? "off" : "on",
      o.idempotency.enabled ? "on" : "off", o.lock_fields.empty() ? "off" : "on", faults);
  return s;
}

}  // namespace sluice::sim

#include "driver.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <utility>

#include "sim_consumer.h"
#include "sim_dlq.h"
#include "sim_kafka.h"
#include "sim_salesforce.h"
#include "sim_store.h"
#include "sim_waiter.h"
#include "sluice/core/logging.h"
#include "sluice/relay/relay.h"

namespace sluice::sim {

namespace {

constexpr char kBufferedGauge[] = "sluice_relay_buffered_events";
// A relay whose NextWake() is this close is stepped now, and the clock never moves by less for a
// relay's sake: token-bucket arithmetic can name a wake-up a few nanoseconds short of the
// instant the bucket actually grants, which would otherwise advance the world a nanosecond at a
// time.
constexpr Clock::Duration kWakeSlack = std::chrono::microseconds(50);
// How far the driver moves the clock itself when relays keep asking for "now" without progress.
constexpr Clock::Duration kBusyAdvance = std::chrono::milliseconds(5);

// The value of an unlabelled gauge in Prometheus text, if present.
std::optional<double> GaugeValue(const std::string& text, std::string_view name) {
  size_t at = 0;
  while ((at = text.find(name, at)) != std::string::npos) {
    const bool line_start = at == 0 || text[at - 1] == '\n';
    const size_t after = at + name.size();
    if (line_start && after < text.size() && text[after] == ' ') {
      return std::strtod(text.c_str() + after + 1, nullptr);
    }
    at = after;
  }
  return std::nullopt;
}

class Driver {
 public:
  Driver(const Scenario& scenario, const DriverOptions& options)
      : s_(scenario),
        options_(options),
        world_(WorldOptions{.seed = scenario.seed, .trace_capacity = options.trace_capacity}),
        kafka_(world_, facts_, scenario.kafka),
        org_(world_, facts_, scenario.org),
        slots_(static_cast<size_t>(scenario.slots)) {
    for (auto& slot : slots_) slot.file = std::make_shared<StoreFile>();
  }

  RunResult Run();

 private:
  // The delivered-set changelog: in the simulated Kafka, shared by every slot.
  std::shared_ptr<SimChangelog> changelog_ = std::make_shared<SimChangelog>();
  struct Slot {
    std::shared_ptr<StoreFile> file;
    std::unique_ptr<relay::Relay> relay;
    Owner incarnation = kWorld;
    SimConsumer* consumer = nullptr;  // owned by the relay
    int incarnations = 0;
    size_t buffered_index = 0;   // into facts_.buffered
    int64_t buffered_bound = 0;  // the gauge at its last reading plus records handed out since
    std::shared_ptr<uint64_t> notifications;  // the engine's SimWaiter's
    uint64_t seen_notifications = 0;
    bool must_step = true;  // after a start
  };

  void Setup();
  void RunAction(const Action& a);
  void StartSlot(int slot);
  void CrashSlot(int slot, bool store_kept);
  void StopSlot(int slot);
  void StepSlot(int slot);
  void SampleBuffered(Slot& s);
  void MaybeSampleBuffered(Slot& s, size_t handed);
  void DescribeRelays();
  std::string DescribeRelay(int slot);
  bool Done() const;
  std::string Name(int slot) const {
    return facts_.instance_ids.at(slots_[static_cast<size_t>(slot)].incarnation);
  }

  const Scenario& s_;
  DriverOptions options_;
  Facts facts_;
  World world_;
  SimKafka kafka_;
  SimOrg org_;
  std::vector<Slot> slots_;
  size_t next_action_ = 0;
  uint64_t steps_ = 0;
};

void Driver::Setup() {
  const relay::RelayOptions& o = s_.options;
  facts_.limits = Limits{.requests_per_second = o.requests_per_second,
                         .records_per_second = o.records_per_second,
                         .max_in_flight = o.max_in_flight,
                         .max_records = o.max_records,
                         .max_buffered_events = o.max_buffered_events,
                         .poll_batch = o.kafka.poll_batch,
                         .slots = s_.slots,
                         .store_enabled = o.idempotency.enabled,
                         .event_id_field = o.salesforce.event_id_field,
                         .lock_fields = o.lock_fields};
  facts_.wall_start_ms = world_.clock().WallMillis();
  for (const auto& [topic, n] : s_.topics) {
    (void)kafka_.CreateTopic(topic, n);
    if (s_.dlq_topics_exist) (void)kafka_.CreateTopic(topic + o.dlq_suffix, n);
  }
  for (const auto& [a, b] : s_.broker_unavailable) kafka_.AddUnavailableWindow(a, b);
  for (ProducedRecord r : s_.events) {
    r.partition = PartitionFor(r.key, kafka_.PartitionCount(r.topic).value_or(1));
    kafka::Message m;
    m.key = r.key;
    m.value = r.value;
    m.headers = r.headers;
    m.timestamp_ms = r.timestamp_ms;
    r.offset = kafka_.Append(r.topic, r.partition, std::move(m), r.visible_at);
    facts_.produced.push_back(std::move(r));
  }
  world_.Trace(s_.summary);
}

void Driver::StartSlot(int slot) {
  Slot& sl = slots_[static_cast<size_t>(slot)];
  if (sl.relay) return;
  const Owner inc = world_.NewIncarnation();
  sl.incarnation = inc;
  sl.consumer = nullptr;
  relay::RelayOptions o = s_.options;
  o.instance_id = fmt::format("r{}.{}", slot, ++sl.incarnations);
  facts_.instance_ids[inc] = o.instance_id;
  facts_.slots[inc] = slot;
  sl.buffered_index = facts_.buffered.size();
  sl.buffered_bound = 0;
  facts_.buffered.push_back({inc, 0, world_.Now(), false});

  relay::RelayParts parts;
  parts.clock = &world_.clock();
  parts.make_consumer =
      [this, inc,
       slot](kafka::RebalanceListener* listener) -> Result<std::unique_ptr<kafka::Consumer>> {
    auto c = std::make_unique<SimConsumer>(world_, kafka_, inc, listener);
    slots_[static_cast<size_t>(slot)].consumer = c.get();
    return std::unique_ptr<kafka::Consumer>(std::move(c));
  };
  parts.dlq = std::make_unique<SimDlqSink>(world_, kafka_, facts_, inc, s_.dlq);
  parts.admin = std::make_unique<SimTopicAdmin>(kafka_);
  parts.salesforce = std::make_unique<SimSalesforce>(world_, org_, inc);
  if (o.idempotency.enabled) {
    parts.store =
        std::make_unique<SimStore>(world_, facts_, sl.file, inc, slot, s_.store, changelog_);
  }
  auto waiter = std::make_unique<SimWaiter>(world_);
  sl.notifications = waiter->notifications();
  sl.seen_notifications = 0;
  sl.must_step = true;
  parts.waiter = std::move(waiter);
  parts.seed = world_.rng()();
  if (options_.decorate) options_.decorate(slot, inc, parts);

  world_.Trace(fmt::format("start {} (incarnation {})", o.instance_id, inc));
  auto created = relay::Relay::Create(o, std::move(parts));
  if (!created.ok()) {
    facts_.engine_errors.push_back(o.instance_id + " Create: " + created.status().ToString());
    world_.Kill(inc);
    return;
  }
  sl.relay = std::move(*created);
  Status started = sl.relay->Start();
  if (!started.ok()) {
    facts_.engine_errors.push_back(o.instance_id + " Start: " + started.ToString());
  }
}

void Driver::CrashSlot(int slot, bool store_kept) {
  Slot& sl = slots_[static_cast<size_t>(slot)];
  if (!sl.relay) return;
  world_.Trace(fmt::format("CRASH {} (store {})", Name(slot), store_kept ? "kept" : "lost"));
  SampleBuffered(sl);
  world_.Kill(sl.incarnation);
  kafka_.Crash(sl.incarnation);
  org_.OnCrash(sl.incarnation);
  facts_.crashes.push_back({world_.Now(), slot, sl.incarnation, store_kept});
  if (!store_kept) sl.file->rows.clear();
  sl.relay.reset();  // memory dropped: no Finish
  sl.consumer = nullptr;
}

void Driver::StopSlot(int slot) {
  Slot& sl = slots_[static_cast<size_t>(slot)];
  if (!sl.relay) return;
  world_.Trace(fmt::format("stop {}", Name(slot)));
  Status s = sl.relay->Finish();
  if (!s.ok()) facts_.engine_errors.push_back(Name(slot) + " Finish: " + s.ToString());
  SampleBuffered(sl);
  sl.relay.reset();
  sl.consumer = nullptr;
  world_.Kill(sl.incarnation);
  org_.OnCrash(sl.incarnation);
}

void Driver::RunAction(const Action& a) {
  switch (a.kind) {
    case Action::Kind::kStart:
      StartSlot(a.slot);
      break;
    case Action::Kind::kCrash:
      CrashSlot(a.slot, a.store_kept);
      break;
    case Action::Kind::kStop:
      StopSlot(a.slot);
      break;
  }
}

void Driver::MaybeSampleBuffered(Slot& sl, size_t handed) {
  if (handed == 0) return;
  // Rendering the metrics is the sim's largest cost, so the gauge is read only when it could be
  // over the memory bound: it grows only by what the consumer hands out.
  sl.buffered_bound += static_cast<int64_t>(handed);
  const BufferedFact& f = facts_.buffered[sl.buffered_index];
  const auto bound =
      static_cast<int64_t>(s_.options.max_buffered_events + s_.options.kafka.poll_batch);
  if (f.measured && sl.buffered_bound <= bound) return;
  SampleBuffered(sl);
}

void Driver::SampleBuffered(Slot& sl) {
  if (!sl.relay) return;
  const auto v = GaugeValue(sl.relay->RenderMetrics(), kBufferedGauge);
  BufferedFact& f = facts_.buffered[sl.buffered_index];
  if (!v) return;
  f.measured = true;
  const auto value = static_cast<int64_t>(*v);
  sl.buffered_bound = value;
  if (value > f.peak) {
    f.peak = value;
    f.peak_at = world_.Now();
  }
}

void Driver::StepSlot(int slot) {
  Slot& sl = slots_[static_cast<size_t>(slot)];
  if (!sl.relay) return;
  // A relay steps when it has something to do: a timer due, a completion posted, or its
  // consumer with a rebalance step or records ready.
  const bool due = sl.must_step || sl.relay->NextWake() <= world_.Now() + kWakeSlack ||
                   *sl.notifications != sl.seen_notifications ||
                   (sl.consumer != nullptr && kafka_.HasWork(sl.consumer->member_id()));
  if (!due) return;
  sl.must_step = false;
  for (int i = 0; i < options_.max_restep && sl.relay; ++i) {
    sl.seen_notifications = *sl.notifications;
    const size_t handed = facts_.hand_outs.size();
    Status s = sl.relay->Step(Clock::Duration::zero());
    ++steps_;
    if (!s.ok()) {
      facts_.engine_errors.push_back(
          fmt::format("{} Step at {}: {}", Name(slot), FormatTime(world_.Now()), s.ToString()));
      world_.Trace(facts_.engine_errors.back());
      return;
    }
    MaybeSampleBuffered(sl, facts_.hand_outs.size() - handed);
    if (sl.consumer == nullptr || !kafka_.HasWork(sl.consumer->member_id())) return;
  }
}

void Driver::DescribeRelays() {
  for (int i = 0; i < s_.slots; ++i) {
    if (slots_[static_cast<size_t>(i)].relay) facts_.relay_state.push_back(DescribeRelay(i));
  }
}

std::string Driver::DescribeRelay(int i) {
  static constexpr std::string_view kGauges[] = {"sluice_relay_buffered_events",
                                                 "sluice_relay_in_flight_requests",
                                                 "sluice_relay_paused",
                                                 "sluice_relay_stalled_partitions",
                                                 "sluice_relay_circuit_state",
                                                 "sluice_relay_request_rate_limit",
                                                 "sluice_relay_in_flight_limit",
                                                 "sluice_relay_requests_sent_total",
                                                 "sluice_relay_budget_probes_total"};
  {
    Slot& sl = slots_[static_cast<size_t>(i)];
    const auto health = sl.relay->health();
    const std::string text = sl.relay->RenderMetrics();
    std::string line = fmt::format("{}: {}{}", Name(i), health.ready ? "ready" : "not ready",
                                   health.reason.empty() ? "" : " (" + health.reason + ")");
    for (auto g : kGauges) {
      if (auto v = GaugeValue(text, g)) line += fmt::format(", {} {}", g.substr(13), *v);
    }
    return line;
  }
}

bool Driver::Done() const {
  if (next_action_ < s_.actions.size()) return false;
  return kafka_.AllCommitted();
}

RunResult Driver::Run() {
  Setup();
  int stuck_rounds = 0;
  while (true) {
    while (next_action_ < s_.actions.size() && s_.actions[next_action_].at <= world_.Now()) {
      RunAction(s_.actions[next_action_++]);
    }
    if (Done()) break;
    if (world_.Now() >= s_.time_limit) {
      facts_.timed_out = true;
      world_.Trace("time limit reached");
      DescribeRelays();
      break;
    }
    for (int i = 0; i < s_.slots; ++i) StepSlot(i);
    TimePoint next = s_.time_limit;
    if (auto t = world_.NextEventTime()) next = std::min(next, *t);
    if (next_action_ < s_.actions.size()) next = std::min(next, s_.actions[next_action_].at);
    // A relay that just stepped and still asks for "now" a few rounds in a row, with nothing else
    // happening, is busy-waiting: the driver moves the clock on by itself (counted in the facts).
    TimePoint relays = s_.time_limit;
    int asks_now = -1;
    for (int i = 0; i < s_.slots; ++i) {
      const Slot& sl = slots_[static_cast<size_t>(i)];
      if (!sl.relay) continue;
      const TimePoint w = sl.relay->NextWake();
      if (w <= world_.Now() + kWakeSlack) asks_now = i;
      relays = std::min(relays, std::max(w, world_.Now() + kWakeSlack));
    }
    if (asks_now >= 0 && next > world_.Now() && ++stuck_rounds > 3) {
      if (facts_.busy_waits++ < 3) {
        world_.Trace("busy-waiting: " + DescribeRelay(asks_now));
        if (facts_.busy_waits == 1) facts_.first_busy_wait = world_.Now();
      }
      relays = world_.Now() + kBusyAdvance;
      stuck_rounds = 0;
    } else if (asks_now < 0) {
      stuck_rounds = 0;
    }
    next = std::min(next, relays);
    world_.AdvanceTo(std::max(next, world_.Now()));
  }
  for (int i = 0; i < s_.slots; ++i) StopSlot(i);
  facts_.end = world_.Now();
  kafka_.FillFinalOffsets(facts_);
  facts_.group_state = kafka_.DescribeGroup();
  RunResult r;
  r.trace_tail = world_.TraceTail();
  r.trace_hash = world_.trace_hash();
  r.steps = steps_;
  r.forced_advances = facts_.busy_waits;
  r.simulated_seconds = World::Seconds(world_.Now());
  r.facts = std::move(facts_);
  return r;
}

}  // namespace

RunResult RunScenario(const Scenario& scenario, const DriverOptions& options) {
  // The engines log through the process's default logger: quiet unless SLUICE_SIM_LOG names a
  // level, before any engine creates its logger.
  static const bool logging = [] {
    const char* level = std::getenv("SLUICE_SIM_LOG");
    return SetupLogging(
        "sluice-sim",
        LoggingOptions{.level = level != nullptr ? level : "off", .json = false, .sink = "stderr"});
  }();
  (void)logging;
  Driver driver(scenario, options);
  return driver.Run();
}

}  // namespace sluice::sim

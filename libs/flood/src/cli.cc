#include "sluice/flood/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/config/config.h"
#include "sluice/core/duration.h"
#include "sluice/flood/planner.h"
#include "sluice/flood/runner.h"
#include "sluice/flood/sampling.h"
#include "sluice/flood/via_gateway.h"
#include "sluice/schemas/schemas.h"

namespace sluice::flood {
namespace {

constexpr char kHelpHint[] = "run 'sluice-flood --help' (or 'sluice-flood COMMAND --help')";
// SLUICE_FLOOD_TOPIC=t, SLUICE_FLOOD_PLAN__CONCURRENCY=20, SLUICE_FLOOD_KAFKA__LINGER_MS=5 override
// the config file's keys (flags override both).
constexpr char kEnvPrefix[] = "SLUICE_FLOOD_";

// The library's defaults, each stated once in RunOptions, GeneratorOptions, KeySpace and
// PlanInput; the flags, the config file and --help take them from there.
const RunOptions& RunDefaults() {
  static const auto* o = new RunOptions();
  return *o;
}
const GeneratorOptions& GeneratorDefaults() { return RunDefaults().generator; }
std::string DurationText(Clock::Duration d) {
  return FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// Every setting, as flags and the config file give them (strings where flood parses them itself).
struct Flags {
  cli::KafkaFlags kafka;
  std::string topic = RunDefaults().topic;
  int partitions = RunDefaults().partitions;
  std::string dlq_topic;
  std::string group = RunDefaults().group;
  std::string sfsim;
  std::string relay_metrics;
  int64_t events = 0;
  std::string window = "0";
  double rate = 0;
  std::string duration;
  std::string stages;
  std::string sobject = GeneratorDefaults().sobject;
  std::string operation = GeneratorDefaults().operation;
  std::string external_id_field = GeneratorDefaults().external_id_field;
  std::string event_id_field = GeneratorDefaults().event_id_field;
  std::string name_field = GeneratorDefaults().name_field;
  std::string pad_field = GeneratorDefaults().pad_field;
  std::string key_prefix = GeneratorDefaults().key_prefix;
  int64_t keys = KeySpace{}.keys;
  std::string key_distribution = "uniform";  // KeySpace's default shape
  std::string payload_size = RunDefaults().payload_text;
  double invalid_fraction = GeneratorDefaults().invalid_fraction;
  uint64_t seed = GeneratorDefaults().seed;
  std::string sample_interval = DurationText(RunDefaults().sample_interval);
  std::string drain_timeout = DurationText(RunDefaults().drain_timeout);
  std::string consumer_start_timeout = DurationText(RunDefaults().consumer_start_timeout);
  bool no_drain = false;
  std::string report = RunDefaults().report_prefix;
  bool no_report = false;
  std::vector<std::string> asserts;
  std::string progress = "auto";
  PlanInput plan;
  std::string call_latency = FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(PlanInput{}.call_latency_s)));
  std::string bulk_poll_interval =
      FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::duration<double>(PlanInput{}.bulk_poll_interval_s)));
  std::string calibrate;
  bool json = false;
  // Plan inputs given on the command line (PlanInput field names): a calibration leaves them.
  std::vector<std::string> plan_given;
  // --via: through sluice-gateway (via_gateway.h).
  std::string via;
  int via_connections = 16;
  int via_batch = 100;
  std::string via_token_file;
  bool same_second = false;
};

// The config file at `path` (none when empty) and the SLUICE_FLOOD_ environment overrides.
Status LoadConfig(const std::string& path, Flags* f) {
  config::LoadOptions options;
  options.schema_name = "flood.config.schema.json";
  options.env_prefix = kEnvPrefix;
  options.env_dotted_maps = {"/kafka"};
  options.env_ignore = {"SLUICE_FLOOD_LOG_LEVEL"};  // read by tools/flood/main.cc
  ASSIGN_OR_RETURN(config::Config cfg, cli::LoadConfigFile(path, FloodConfigSchema(), options));
  const auto str = [&](const char* key, std::string* out) {
    if (cfg.Has(std::string("/") + key)) *out = cfg.GetString(std::string("/") + key, *out);
  };
  const auto num = [&](const char* key, double* out) {
    if (cfg.Has(std::string("/") + key)) *out = cfg.GetDouble(std::string("/") + key, *out);
  };
  const auto i64 = [&](const char* key, int64_t* out) {
    if (cfg.Has(std::string("/") + key)) *out = cfg.GetInt(std::string("/") + key, *out);
  };
  // Durations stay text (Build parses flags and file alike); the schema checked the grammar.
  const auto dur = [&](const char* key, std::string* out) -> Status {
    if (!cfg.Has(std::string("/") + key)) return Status::Ok();
    ASSIGN_OR_RETURN(auto d, cfg.GetDuration(std::string("/") + key));
    *out = FormatDuration(d);
    return Status::Ok();
  };
  str("bootstrap", &f->kafka.bootstrap);
  ASSIGN_OR_RETURN(f->kafka.config_properties, cfg.GetPropertyMap("/kafka"));
  str("topic", &f->topic);
  int64_t partitions = f->partitions;
  i64("partitions", &partitions);
  f->partitions = static_cast<int>(partitions);
  str("dlq_topic", &f->dlq_topic);
  str("group", &f->group);
  str("sfsim", &f->sfsim);
  str("relay_metrics", &f->relay_metrics);
  i64("events", &f->events);
  RETURN_IF_ERROR(dur("window", &f->window));
  num("rate", &f->rate);
  RETURN_IF_ERROR(dur("duration", &f->duration));
  str("stages", &f->stages);
  str("sobject", &f->sobject);
  str("operation", &f->operation);
  str("external_id_field", &f->external_id_field);
  str("event_id_field", &f->event_id_field);
  str("name_field", &f->name_field);
  str("pad_field", &f->pad_field);
  str("key_prefix", &f->key_prefix);
  i64("keys", &f->keys);
  str("key_distribution", &f->key_distribution);
  str("payload_size", &f->payload_size);
  num("invalid_fraction", &f->invalid_fraction);
  int64_t seed = static_cast<int64_t>(f->seed);
  i64("seed", &seed);
  f->seed = static_cast<uint64_t>(seed);
  RETURN_IF_ERROR(dur("sample_interval", &f->sample_interval));
  RETURN_IF_ERROR(dur("drain_timeout", &f->drain_timeout));
  RETURN_IF_ERROR(dur("consumer_start_timeout", &f->consumer_start_timeout));
  str("report", &f->report);
  str("progress", &f->progress);
  for (size_t i = 0; i < cfg.Size("/assert"); ++i) {
    f->asserts.push_back(cfg.GetString(fmt::format("/assert/{}", i), ""));
  }
  PlanInput& p = f->plan;
  num("plan/records_per_call", &p.records_per_call);
  i64("plan/concurrency", &p.concurrency);
  RETURN_IF_ERROR(dur("plan/call_latency", &f->call_latency));
  num("plan/max_requests_per_s", &p.max_requests_per_s);
  num("plan/max_records_per_s", &p.max_records_per_s);
  i64("plan/daily_allocation", &p.daily_allocation);
  i64("plan/daily_used", &p.daily_used);
  num("plan/daily_reserve", &p.daily_reserve);
  i64("plan/instances", &p.instances);
  num("plan/relay_events_per_s", &p.relay_events_per_s);
  i64("plan/parents", &p.parents);
  num("plan/parent_zipf", &p.parent_zipf);
  i64("plan/bulk_records_per_job", &p.bulk_records_per_job);
  i64("plan/bulk_concurrent_jobs", &p.bulk_concurrent_jobs);
  num("plan/bulk_records_per_s", &p.bulk_records_per_s);
  RETURN_IF_ERROR(dur("plan/bulk_poll_interval", &f->bulk_poll_interval));
  i64("plan/bulk_daily_records", &p.bulk_daily_records);
  i64("plan/bulk_daily_batches", &p.bulk_daily_batches);
  return Status::Ok();
}

void AddRunOptions(CLI::App* sub, Flags* f) {
  const Flags d;  // the defaults, for --help
  sub->add_option("--topic", f->topic, fmt::format("topic to flood (default {})", d.topic));
  sub->add_option("--partitions", f->partitions,
                  fmt::format("partitions when flood creates the topic (default {})", d.partitions))
      ->check(CLI::Range(1, 10000));
  sub->add_option("--dlq-topic", f->dlq_topic, "DLQ topic (default TOPIC.dlq)");
  sub->add_option("--group", f->group,
                  fmt::format("consumer group whose lag is the backlog (default {})", d.group));
  sub->add_option("--sfsim", f->sfsim, "sluice-sfsim base URL, e.g. http://127.0.0.1:8080");
  sub->add_option("--relay-metrics", f->relay_metrics,
                  "the relay's /metrics URL, e.g. http://127.0.0.1:9464/metrics");
  sub->add_option("--sobject", f->sobject,
                  fmt::format("sObject the events write (default {})", d.sobject));
  sub->add_option("--operation", f->operation,
                  fmt::format("upsert or create (default {})", d.operation))
      ->check(CLI::IsMember({"upsert", "create"}));
  sub->add_option("--external-id-field", f->external_id_field,
                  fmt::format("external id field for upserts (default {})", d.external_id_field));
  sub->add_option("--event-id-field", f->event_id_field,
                  fmt::format("field carrying the event id, as sfsim's ledger reads it (default "
                              "{}; '' for none)",
                              d.event_id_field));
  sub->add_option("--name-field", f->name_field,
                  fmt::format("required text field filled in (default {})", d.name_field));
  sub->add_option("--pad-field", f->pad_field,
                  fmt::format("text field padded to the payload size (default {})", d.pad_field));
  sub->add_option("--key-prefix", f->key_prefix,
                  fmt::format("prefix of every key (default {})", d.key_prefix));
  sub->add_option("--keys", f->keys, fmt::format("distinct keys (default {})", d.keys));
  sub->add_option("--key-distribution", f->key_distribution,
                  "uniform (default), zipf or zipf:EXPONENT");
  sub->add_option("--payload-size", f->payload_size,
                  "bytes per record value: N, fixed:N, uniform:MIN-MAX or weighted:N=W,... "
                  "(default " +
                      d.payload_size + ")");
  sub->add_option(
         "--invalid-fraction", f->invalid_fraction,
         fmt::format("share of deliberately invalid events, 0..1 (default {})", d.invalid_fraction))
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--seed", f->seed,
                  fmt::format("seed of keys, sizes and invalid picks (default {})", d.seed));
  sub->add_option("--sample-interval", f->sample_interval,
                  fmt::format("between samples (default {})", d.sample_interval));
  sub->add_option(
      "--drain-timeout", f->drain_timeout,
      fmt::format("wait this long for the backlog to reach zero (default {})", d.drain_timeout));
  sub->add_flag("--no-drain", f->no_drain, "produce and report; do not wait for the drain");
  sub->add_option(
      "--report", f->report,
      fmt::format("report files PREFIX.json, PREFIX.csv, PREFIX.html (default {})", d.report));
  sub->add_flag("--no-report", f->no_report, "write no report files");
  sub->add_option("--assert", f->asserts,
                  "threshold METRIC OP NUMBER, e.g. 'drain_time_s<120'; repeatable; a failed "
                  "one exits 1")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cli::AddProgressFlag(*sub, &f->progress);
  sub->add_option("--via", f->via,
                  "send through sluice-gateway at this URL (http://127.0.0.1:PORT) instead of "
                  "producing to Kafka");
  sub->add_option("--via-connections", f->via_connections,
                  "with --via: keep-alive connections (default 16)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--via-batch", f->via_batch, "with --via: events per request (default 100)")
      ->check(CLI::Range(1, 100000));
  sub->add_option("--via-token-file", f->via_token_file,
                  "with --via: file holding the gateway's bearer token");
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// Every duration flag and config key, in the one grammar (sluice/core/duration.h).
Result<Clock::Duration> Duration(const std::string& flag, const std::string& text) {
  auto d = ParseDuration(text);
  if (!d.ok()) return d.status().WithContext(flag);
  return Clock::Duration(*d);
}

Result<Command> Build(const std::string& mode, Flags& f) {
  Command c;
  if (mode == "plan") {
    c.kind = Command::Kind::kPlan;
    c.plan = f.plan;
    c.plan.events = f.events;
    ASSIGN_OR_RETURN(Clock::Duration latency, Duration("--call-latency", f.call_latency));
    c.plan.call_latency_s = std::chrono::duration<double>(latency).count();
    ASSIGN_OR_RETURN(Clock::Duration poll, Duration("--bulk-poll-interval", f.bulk_poll_interval));
    c.plan.bulk_poll_interval_s = std::chrono::duration<double>(poll).count();
    c.plan_given = f.plan_given;
    c.plan_json = f.json;
    c.calibrate_path = f.calibrate;
    if (c.calibrate_path.empty()) RETURN_IF_ERROR(ValidatePlanInput(c.plan));
    return c;
  }
  c.kind = Command::Kind::kRun;
  RunOptions& r = c.run;
  r.mode = mode;
  r.bootstrap = f.kafka.bootstrap;
  ASSIGN_OR_RETURN(r.kafka_properties, cli::KafkaProperties(f.kafka));
  if (f.topic.empty()) return InvalidArgumentError("--topic must not be empty");
  r.topic = f.topic;
  r.partitions = f.partitions;
  r.dlq_topic = f.dlq_topic;
  r.group = f.group;
  for (const auto& [flag, url] :
       {std::pair{"--sfsim", &f.sfsim}, std::pair{"--relay-metrics", &f.relay_metrics}}) {
    if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      return InvalidArgumentError(std::string(flag) + " must be an http:// URL, got " +
                                  Quote(*url));
    }
  }
  while (!f.sfsim.empty() && f.sfsim.back() == '/') f.sfsim.pop_back();
  r.sfsim_url = f.sfsim;
  r.relay_metrics_url = f.relay_metrics;

  // The schedule.
  if (mode == "burst" || mode == "backlog") {
    if (f.events <= 0) return InvalidArgumentError("--events N (> 0) is required for " + mode);
    Clock::Duration window{0};
    if (mode == "burst") {
      if (f.same_second) f.window = "1s";
      ASSIGN_OR_RETURN(window, Duration("--window", f.window));
    }
    ASSIGN_OR_RETURN(Schedule s, Schedule::Burst(f.events, window));
    r.stages = s.stages();
    r.schedule_text = window.count() > 0
                          ? fmt::format("{} events spread over {}", f.events, f.window)
                          : fmt::format("{} events as fast as possible", f.events);
  } else if (mode == "rate") {
    if (f.duration.empty()) return InvalidArgumentError("--duration is required for rate");
    ASSIGN_OR_RETURN(Clock::Duration d, Duration("--duration", f.duration));
    auto s = Schedule::Rate(f.rate, d);
    if (!s.ok()) return s.status().WithContext("--rate/--duration");
    r.stages = s->stages();
    r.schedule_text = fmt::format("{}/s for {}", f.rate, f.duration);
  } else if (mode == "ramp") {
    if (f.stages.empty())
      return InvalidArgumentError("--stages RATE:DURATION,... is required for ramp");
    auto stages = ParseRampStages(f.stages);
    if (!stages.ok()) return stages.status().WithContext("--stages");
    auto s = Schedule::Ramp(*stages);
    if (!s.ok()) return s.status().WithContext("--stages");
    r.stages = s->stages();
    r.schedule_text = f.stages;
  }

  GeneratorOptions& g = r.generator;
  g.sobject = f.sobject;
  g.operation = f.operation;
  g.external_id_field = f.external_id_field;
  g.event_id_field = f.event_id_field;
  g.name_field = f.name_field;
  g.pad_field = f.pad_field;
  g.key_prefix = f.key_prefix;
  g.keys.keys = f.keys;
  Status st = ParseKeyShape(f.key_distribution, &g.keys);
  if (!st.ok()) return st.WithContext("--key-distribution");
  auto sizes = ParsePayloadSizes(f.payload_size);
  if (!sizes.ok()) return sizes.status().WithContext("--payload-size");
  g.sizes = *sizes;
  r.payload_text = f.payload_size;
  g.invalid_fraction = f.invalid_fraction;
  g.seed = f.seed;
  RETURN_IF_ERROR(ValidateGeneratorOptions(g));

  ASSIGN_OR_RETURN(r.sample_interval, Duration("--sample-interval", f.sample_interval));
  if (r.sample_interval < std::chrono::milliseconds(10)) {
    return InvalidArgumentError("--sample-interval must be at least 10ms");
  }
  ASSIGN_OR_RETURN(r.drain_timeout, Duration("--drain-timeout", f.drain_timeout));
  if (f.no_drain) r.drain_timeout = Clock::Duration{0};
  ASSIGN_OR_RETURN(r.consumer_start_timeout,
                   Duration("--consumer-start-timeout", f.consumer_start_timeout));
  r.report_prefix = f.no_report ? "" : f.report;
  for (const std::string& a : f.asserts) {
    auto t = ParseThreshold(a, FigureNames());
    if (!t.ok()) return t.status().WithContext("--assert");
    r.thresholds.push_back(*t);
    r.threshold_texts.push_back(a);
  }
  if (!f.via.empty()) {
    if (f.invalid_fraction > 0) {
      return InvalidArgumentError(
          "--invalid-fraction needs the direct path: sluice-gateway refuses invalid events "
          "before Kafka, so they would never reach the DLQ");
    }
    if (f.via.rfind("http://", 0) != 0 && f.via.rfind("https://", 0) != 0) {
      return InvalidArgumentError("--via must be an http:// URL, got " + Quote(f.via));
    }
    ViaGatewayOptions via;
    via.url = f.via;
    while (!via.url.empty() && via.url.back() == '/') via.url.pop_back();
    via.connections = f.via_connections;
    via.batch = f.via_batch;
    if (!f.via_token_file.empty()) {
      std::ifstream in(f.via_token_file);
      if (!in) return InvalidArgumentError("--via-token-file: cannot read " + f.via_token_file);
      std::getline(in, via.token);
      while (!via.token.empty() && (via.token.back() == '\r' || via.token.back() == ' ')) {
        via.token.pop_back();
      }
    }
    r.via_stats = std::make_shared<ViaGatewayStats>();
    r.via_url = via.url;
    r.make_producer = MakeViaGatewayProducerFactory(via, r.via_stats);
    r.schedule_text += " via " + via.url;
  }
  c.progress = cli::ParseProgressMode(f.progress);
  return c;
}

}  // namespace

std::string_view FloodConfigSchema() {
  // schemas/ always holds it (tests/unit/schemas checks the list), so value() cannot throw.
  return schemas::Get("flood.config.schema.json").value();
}

Result<Command> ParseCommandLine(const std::vector<std::string>& argv) {
  if (argv.size() >= 2 && argv[1] == "compare") {
    // compare reads reports only: no Kafka flags, no config file (compare.cc).
    Command c;
    ASSIGN_OR_RETURN(c.compare, ParseCompareCommandLine(argv, &c.help));
    c.kind = c.help.empty() ? Command::Kind::kCompare : Command::Kind::kHelp;
    return c;
  }
  Flags f;
  const std::string config_path = cli::ConfigPath(argv);
  Status st = LoadConfig(config_path, &f);
  if (!st.ok()) {
    return InvalidArgumentError((config_path.empty() ? "" : "--config: ") + st.message() + "; " +
                                kHelpHint);
  }

  CLI::App app{
      "sluice-flood: burst Kafka topics, measure how sluice-relay drains them into Salesforce "
      "(or sluice-sfsim), and prove nothing was lost or duplicated.",
      "sluice-flood"};
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Examples:\n"
      "  sluice-flood --bootstrap 127.0.0.1:9092 burst --events 100000 --sfsim "
      "http://127.0.0.1:8080\n"
      "  sluice-flood --bootstrap 127.0.0.1:9092 rate --rate 500 --duration 2m "
      "--drain-timeout 10m\n"
      "  sluice-flood --config flood.yaml ramp --stages 100:30s,1000:1m,0:10s\n"
      "  sluice-flood plan --events 2000000 --concurrency 12 --call-latency 800ms\n"
      "  sluice-flood compare run1.json run2.json -o compare.html   (runs side by side)\n"
      "Durations take their unit: 250ms, 30s, 5m, 1h30m. SLUICE_FLOOD_<KEY> variables override "
      "the config file; flags override both. Exit status: 0 ok, 1 an --assert failed, 2 a bad "
      "command line or config, 3 the run could not start or report. See docs/FLOOD.md.");
  std::string unused_config;
  cli::AddKafkaFlags(app, &f.kafka, &unused_config,
                     "YAML config file (schemas/flood.config.schema.json)");

  CLI::App* burst = app.add_subcommand(
      "burst", "N events as fast as the producer can, or spread evenly over --window");
  burst->add_option("--events", f.events, "events to produce");
  burst->add_option("--window", f.window, "spread the events evenly over this long (default 0)");
  burst->add_flag("--same-second", f.same_second,
                  "fire the whole burst within one second (--window 1s), as a campaign does");
  AddRunOptions(burst, &f);

  CLI::App* rate = app.add_subcommand("rate", "a constant arrival rate for a duration");
  rate->add_option("--rate", f.rate, "events per second");
  rate->add_option("--duration", f.duration, "how long, e.g. 60s");
  AddRunOptions(rate, &f);

  CLI::App* ramp = app.add_subcommand("ramp", "stages of rate and duration");
  ramp->add_option("--stages", f.stages, "RATE:DURATION[,RATE:DURATION...], e.g. 100:30s,1000:1m");
  AddRunOptions(ramp, &f);

  CLI::App* backlog = app.add_subcommand(
      "backlog", "fill N events while the group is not consuming, then measure the drain");
  backlog->add_option("--events", f.events, "events to produce");
  backlog->add_option("--consumer-start-timeout", f.consumer_start_timeout,
                      fmt::format("wait this long for the group to start consuming (default {})",
                                  Flags{}.consumer_start_timeout));
  AddRunOptions(backlog, &f);

  CLI::App* plan = app.add_subcommand("plan", "capacity projection without running anything");
  plan->add_option("--events", f.events, "events in the burst");
  // The defaults in the help text come from PlanInput, where they are stated once.
  const PlanInput d;
  const auto given = [&f](CLI::Option* o, const char* field) {
    o->each([&f, field](const std::string&) { f.plan_given.push_back(field); });
  };
  given(plan->add_option("--records-per-call", f.plan.records_per_call,
                         fmt::format("records per call (default {})", d.records_per_call)),
        "records_per_call");
  given(plan->add_option(
            "--concurrency", f.plan.concurrency,
            fmt::format("calls in flight over all instances (default {})", d.concurrency)),
        "concurrency");
  given(plan->add_option("--call-latency", f.call_latency,
                         fmt::format("mean time per call (default {})", Flags{}.call_latency)),
        "call_latency_s");
  given(plan->add_option(
            "--max-requests-per-s", f.plan.max_requests_per_s,
            fmt::format("requests/second ceiling, 0: none (default {})", d.max_requests_per_s)),
        "max_requests_per_s");
  given(plan->add_option(
            "--max-records-per-s", f.plan.max_records_per_s,
            fmt::format("records/second ceiling, 0: none (default {})", d.max_records_per_s)),
        "max_records_per_s");
  given(
      plan->add_option("--daily-allocation", f.plan.daily_allocation,
                       fmt::format("rolling 24 h API allocation (default {})", d.daily_allocation)),
      "daily_allocation");
  given(plan->add_option("--daily-used", f.plan.daily_used,
                         fmt::format("calls already used (default {})", d.daily_used)),
        "daily_used");
  plan->add_option("--daily-reserve", f.plan.daily_reserve,
                   fmt::format("fraction kept in reserve (default {})", d.daily_reserve));
  plan->add_option("--instances", f.plan.instances, "relay instances (default 1)");
  plan->add_option("--relay-events-per-s", f.plan.relay_events_per_s,
                   "events/s one relay instance processes, 0: not modelled (default 0)");
  plan->add_option("--parents", f.plan.parents,
                   "distinct parent records the children lock, 0: none (default 0)");
  plan->add_option("--parent-zipf", f.plan.parent_zipf,
                   "children over parents: 0 even, s > 0 Zipf exponent (default 0)");
  plan->add_option("--bulk-records-per-job", f.plan.bulk_records_per_job,
                   fmt::format("records per Bulk API job (default {})", d.bulk_records_per_job));
  plan->add_option("--bulk-concurrent-jobs", f.plan.bulk_concurrent_jobs,
                   fmt::format("jobs processed at once (default {})", d.bulk_concurrent_jobs));
  plan->add_option(
      "--bulk-records-per-s", f.plan.bulk_records_per_s,
      fmt::format("records/s the org processes one job at (default {})", d.bulk_records_per_s));
  plan->add_option("--bulk-poll-interval", f.bulk_poll_interval,
                   "how often a running job is polled (default 5s)");
  plan->add_option("--bulk-daily-records", f.plan.bulk_daily_records,
                   fmt::format("Bulk API records per 24 h (default {})", d.bulk_daily_records));
  plan->add_option("--bulk-daily-batches", f.plan.bulk_daily_batches,
                   fmt::format("Bulk API batches per 24 h (default {})", d.bulk_daily_batches));
  plan->add_option("--calibrate", f.calibrate,
                   "take latency, records/call, in-flight and rate ceilings and the org's "
                   "allocation from a sluice-flood report JSON (flags given here win)");
  plan->add_flag("--json", f.json, "print JSON instead of text");

  build_info::AddVersionFlag(app, "sluice-flood");

  std::vector<std::string> args(argv.begin() + (argv.empty() ? 0 : 1), argv.end());
  std::reverse(args.begin(), args.end());  // CLI11 takes them reversed
  try {
    app.parse(args);
  } catch (const CLI::CallForVersion& e) {
    Command c;
    c.kind = Command::Kind::kHelp;
    c.help = std::string(e.what()) + "\n";
    return c;
  } catch (const CLI::CallForHelp&) {
    Command c;
    c.kind = Command::Kind::kHelp;
    for (CLI::App* sub : {burst, rate, ramp, backlog, plan}) {
      if (sub->parsed()) c.help = sub->help();
    }
    if (c.help.empty()) c.help = app.help();
    return c;
  } catch (const CLI::ParseError& e) {
    return cli::UsageError(argv, e.what(), {"--bootstrap", "--config", "-X"},
                           {"burst", "rate", "ramp", "backlog", "plan"}, kHelpHint);
  }
  std::string mode;
  for (CLI::App* sub : {burst, rate, ramp, backlog, plan}) {
    if (sub->parsed()) mode = sub->get_name();
  }
  auto c = Build(mode, f);
  if (!c.ok()) return InvalidArgumentError(c.status().message() + "; " + kHelpHint);
  return c;
}

}  // namespace sluice::flood

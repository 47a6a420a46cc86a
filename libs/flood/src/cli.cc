#include "sluice/flood/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <fstream>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/config/config.h"
#include "sluice/core/duration.h"
#include "sluice/flood/via_gateway.h"
#include "sluice/schemas/schemas.h"

namespace sluice::flood {
namespace {

constexpr char kHelpHint[] = "run 'sluice-flood --help' (or 'sluice-flood COMMAND --help')";
// SLUICE_FLOOD_TOPIC=t, SLUICE_FLOOD_PLAN__CONCURRENCY=20, SLUICE_FLOOD_KAFKA__LINGER_MS=5 override
// the config file's keys (flags override both).
constexpr char kEnvPrefix[] = "SLUICE_FLOOD_";

// Every setting, as flags and the config file give them (strings where flood parses them itself).
struct Flags {
  cli::KafkaFlags kafka;
  std::string topic = "sf.contact.events";
  int partitions = 6;
  std::string dlq_topic;
  std::string group = "sluice-relay";
  std::string sfsim;
  std::string relay_metrics;
  int64_t events = 0;
  std::string window = "0";
  double rate = 0;
  std::string duration;
  std::string stages;
  std::string sobject = "Contact";
  std::string operation = "upsert";
  std::string external_id_field = "Sluice_Key__c";
  std::string event_id_field = "Sluice_Event_Id__c";
  std::string name_field = "LastName";
  std::string pad_field = "Description";
  std::string key_prefix = "flood-";
  int64_t keys = 10000;
  std::string key_distribution = "uniform";
  std::string payload_size = "fixed:512";
  double invalid_fraction = 0;
  uint64_t seed = 1;
  std::string sample_interval = "250ms";
  std::string drain_timeout = "10m";
  std::string consumer_start_timeout = "10m";
  bool no_drain = false;
  std::string report = "flood-report";
  bool no_report = false;
  std::vector<std::string> asserts;
  std::string progress = "auto";
  PlanInput plan;
  std::string call_latency = FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::duration<double>(PlanInput{}.call_latency_s)));
  std::string calibrate;
  bool json = false;
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
  return Status::Ok();
}

void AddRunOptions(CLI::App* sub, Flags* f) {
  sub->add_option("--topic", f->topic, "topic to flood (default sf.contact.events)");
  sub->add_option("--partitions", f->partitions,
                  "partitions when flood creates the topic (default 6)")
      ->check(CLI::Range(1, 10000));
  sub->add_option("--dlq-topic", f->dlq_topic, "DLQ topic (default TOPIC.dlq)");
  sub->add_option("--group", f->group,
                  "consumer group whose lag is the backlog (default sluice-relay)");
  sub->add_option("--sfsim", f->sfsim, "sluice-sfsim base URL, e.g. http://127.0.0.1:8080");
  sub->add_option("--relay-metrics", f->relay_metrics,
                  "the relay's /metrics URL, e.g. http://127.0.0.1:9464/metrics");
  sub->add_option("--sobject", f->sobject, "sObject the events write (default Contact)");
  sub->add_option("--operation", f->operation, "upsert (default) or create")
      ->check(CLI::IsMember({"upsert", "create"}));
  sub->add_option("--external-id-field", f->external_id_field,
                  "external id field for upserts (default Sluice_Key__c)");
  sub->add_option("--event-id-field", f->event_id_field,
                  "field carrying the event id, as sfsim's ledger reads it (default "
                  "Sluice_Event_Id__c; '' for none)");
  sub->add_option("--name-field", f->name_field,
                  "required text field filled in (default LastName)");
  sub->add_option("--pad-field", f->pad_field,
                  "text field padded to the payload size (default Description)");
  sub->add_option("--key-prefix", f->key_prefix, "prefix of every key (default flood-)");
  sub->add_option("--keys", f->keys, "distinct keys (default 10000)");
  sub->add_option("--key-distribution", f->key_distribution,
                  "uniform (default), zipf or zipf:EXPONENT");
  sub->add_option("--payload-size", f->payload_size,
                  "bytes per record value: N, fixed:N, uniform:MIN-MAX or weighted:N=W,... "
                  "(default fixed:512)");
  sub->add_option("--invalid-fraction", f->invalid_fraction,
                  "share of deliberately invalid events, 0..1 (default 0)")
      ->check(CLI::Range(0.0, 1.0));
  sub->add_option("--seed", f->seed, "seed of keys, sizes and invalid picks (default 1)");
  sub->add_option("--sample-interval", f->sample_interval, "between samples (default 250ms)");
  sub->add_option("--drain-timeout", f->drain_timeout,
                  "wait this long for the backlog to reach zero (default 10m)");
  sub->add_flag("--no-drain", f->no_drain, "produce and report; do not wait for the drain");
  sub->add_option("--report", f->report,
                  "report files PREFIX.json, PREFIX.csv, PREFIX.html (default flood-report)");
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
                      "wait this long for the group to start consuming (default 10m)");
  AddRunOptions(backlog, &f);

  CLI::App* plan = app.add_subcommand("plan", "capacity projection without running anything");
  plan->add_option("--events", f.events, "events in the burst");
  plan->add_option("--records-per-call", f.plan.records_per_call, "records per call (default 200)");
  plan->add_option("--concurrency", f.plan.concurrency, "calls in flight (default 10)");
  plan->add_option("--call-latency", f.call_latency, "mean time per call (default 500ms)");
  plan->add_option("--max-requests-per-s", f.plan.max_requests_per_s,
                   "requests/second ceiling (default 0: none)");
  plan->add_option("--max-records-per-s", f.plan.max_records_per_s,
                   "records/second ceiling (default 0: none)");
  plan->add_option("--daily-allocation", f.plan.daily_allocation,
                   "rolling 24 h API allocation (default 100000)");
  plan->add_option("--daily-used", f.plan.daily_used, "calls already used (default 0)");
  plan->add_option("--daily-reserve", f.plan.daily_reserve, "fraction kept in reserve (default 0)");
  plan->add_option("--calibrate", f.calibrate,
                   "take call latency and records/call from a sluice-flood report JSON");
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

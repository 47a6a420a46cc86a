#include "sluice/dlq/cli.h"

#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <algorithm>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/config/config.h"
#include "sluice/core/duration.h"
#include "sluice/dlq/kafka_io.h"
#include "sluice/dlq/replay.h"
#include "sluice/schemas/schemas.h"

namespace sluice::dlq {
namespace {

constexpr char kHelpHint[] = "run 'sluice-dlq --help' (or 'sluice-dlq COMMAND --help')";
// SLUICE_DLQ_TOPIC=t, SLUICE_DLQ_KAFKA__SASL_PASSWORD=... override the config file's keys (flags
// override both).
constexpr char kEnvPrefix[] = "SLUICE_DLQ_";

// The library's defaults (KafkaOptions, ReplayOptions), stated there once; the flags, the config
// file and --help take them from there.
std::string DurationText(std::chrono::milliseconds d) { return FormatDuration(d); }

struct Flags {
  cli::KafkaFlags kafka;
  std::string timeout = DurationText(KafkaOptions{}.timeout);
  std::string topic;
  std::vector<std::string> classes, codes, keys, sobjects, source_topics;
  std::string since, until;
  bool json = false;
  int64_t limit = 0;
  int64_t partition = -1;
  int64_t offset = -1;
  std::string to;
  std::string group;
  bool dry_run = false;
  double rate = 0;
  int64_t max_replays = ReplayOptions{}.max_replays;
  int64_t batch_size = static_cast<int64_t>(ReplayOptions{}.batch_size);
  std::string idle_timeout = DurationText(ReplayOptions{}.idle_timeout);
  std::string progress = "auto";
};

// The config file at `path` (none when empty) and the SLUICE_DLQ_ environment overrides.
Status LoadConfig(const std::string& path, Flags* f) {
  config::LoadOptions lo;
  lo.max_file_bytes = 1024 * 1024;
  lo.schema_name = "dlq.config.schema.json";
  lo.env_prefix = kEnvPrefix;
  lo.env_ignore = {"SLUICE_DLQ_LOG_LEVEL"};  // read by main.cc, not a config key
  lo.env_dotted_maps = {"/kafka"};
  ASSIGN_OR_RETURN(config::Config cfg, cli::LoadConfigFile(path, ConfigSchema(), lo));
  if (cfg.Has("/bootstrap")) f->kafka.bootstrap = cfg.GetString("/bootstrap", f->kafka.bootstrap);
  ASSIGN_OR_RETURN(f->kafka.config_properties, cfg.GetPropertyMap("/kafka"));
  if (cfg.Has("/topic")) f->topic = cfg.GetString("/topic", f->topic);
  for (const auto& [key, out] :
       {std::pair{"/timeout", &f->timeout}, std::pair{"/idle_timeout", &f->idle_timeout}}) {
    if (!cfg.Has(key)) continue;
    ASSIGN_OR_RETURN(auto d, cfg.GetDuration(key));
    *out = FormatDuration(d);
  }
  f->max_replays = cfg.GetInt("/max_replays", f->max_replays);
  f->batch_size = cfg.GetInt("/batch_size", f->batch_size);
  f->rate = cfg.GetDouble("/rate", f->rate);
  return Status::Ok();
}

void AddTopic(CLI::App* sub, Flags* f) {
  sub->add_option("--topic", f->topic, "the DLQ topic, e.g. sf.contact.events.dlq");
}

void AddFilters(CLI::App* sub, Flags* f) {
  sub->add_option("--error-class", f->classes,
                  "invalid_envelope, permanent or retry_exhausted (repeatable, or a,b)")
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--error-code", f->codes,
                  "e.g. REQUIRED_FIELD_MISSING, UNABLE_TO_LOCK_ROW, schema (repeatable, or a,b)")
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--key", f->keys, "record key, exact (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--sobject", f->sobjects, "the envelope's sObject (repeatable, or a,b)")
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--source-topic", f->source_topics, "sluice.source.topic (repeatable, or a,b)")
      ->delimiter(',')
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  sub->add_option("--since", f->since,
                  "failed at or after: RFC 3339 (2026-11-21T05:00:00Z), a duration ago (2h), or "
                  "epoch ms");
  sub->add_option("--until", f->until, "failed before (same forms as --since)");
}

Result<std::chrono::milliseconds> Duration(const char* flag, const std::string& text,
                                           bool allow_zero) {
  auto d = ParseDuration(text);
  if (!d.ok()) return InvalidArgumentError(fmt::format("{}: {}", flag, d.status().message()));
  if (!allow_zero && d->count() <= 0)
    return InvalidArgumentError(std::string(flag) + " must be > 0");
  if (*d > std::chrono::hours(24)) return InvalidArgumentError(std::string(flag) + " is over 24h");
  return *d;
}

Status CheckValues(const char* flag, const std::vector<std::string>& values) {
  for (const auto& v : values) {
    if (v.empty()) return InvalidArgumentError(std::string(flag) + " must not be empty");
    if (v.size() > 4096) return InvalidArgumentError(std::string(flag) + " is too long");
  }
  return Status::Ok();
}

Result<Command> Build(const std::string& mode, Flags& f, int64_t now_ms) {
  Command c;
  c.kind = mode == "stats"  ? Command::Kind::kStats
           : mode == "list" ? Command::Kind::kList
           : mode == "show" ? Command::Kind::kShow
                            : Command::Kind::kReplay;
  KafkaOptions& k = c.kafka;
  k.bootstrap = f.kafka.bootstrap;
  ASSIGN_OR_RETURN(k.properties, cli::KafkaProperties(f.kafka));
  ASSIGN_OR_RETURN(k.timeout, Duration("--timeout", f.timeout, false));
  if (f.topic.empty()) return InvalidArgumentError("--topic TOPIC (the DLQ topic) is required");
  if (f.topic.size() > 249) return InvalidArgumentError("--topic is longer than 249 characters");
  c.topic = f.topic;

  Filter& filter = c.filter;
  RETURN_IF_ERROR(CheckValues("--error-class", f.classes));
  RETURN_IF_ERROR(CheckValues("--error-code", f.codes));
  RETURN_IF_ERROR(CheckValues("--key", f.keys));
  RETURN_IF_ERROR(CheckValues("--sobject", f.sobjects));
  RETURN_IF_ERROR(CheckValues("--source-topic", f.source_topics));
  filter.error_classes = f.classes;
  filter.error_codes = f.codes;
  filter.keys = f.keys;
  filter.sobjects = f.sobjects;
  filter.source_topics = f.source_topics;
  if (!f.since.empty()) {
    auto t = ParseTimeBound(f.since, now_ms);
    if (!t.ok()) return t.status().WithContext("--since");
    filter.since_ms = *t;
  }
  if (!f.until.empty()) {
    auto t = ParseTimeBound(f.until, now_ms);
    if (!t.ok()) return t.status().WithContext("--until");
    filter.until_ms = *t;
  }
  if (filter.since_ms && filter.until_ms && *filter.since_ms >= *filter.until_ms) {
    return InvalidArgumentError("--since must be before --until");
  }
  c.json = f.json;
  if (f.limit < 0) return InvalidArgumentError("--limit must be >= 0");
  c.limit = f.limit;

  if (c.kind == Command::Kind::kShow) {
    if (f.partition < 0 || f.partition > INT32_MAX) {
      return InvalidArgumentError("show needs --partition P (>= 0)");
    }
    if (f.offset < 0) return InvalidArgumentError("show needs --offset O (>= 0)");
    c.partition = static_cast<int32_t>(f.partition);
    c.offset = f.offset;
  }
  if (c.kind == Command::Kind::kReplay) {
    ReplayOptions& r = c.replay;
    r.dlq_topic = c.topic;
    r.filter = filter;
    r.to_topic = f.to;
    if (!f.to.empty() && f.to == c.topic) {
      return InvalidArgumentError("--to must not be the DLQ topic itself");
    }
    if (f.max_replays < 1) return InvalidArgumentError("--max-replays must be >= 1");
    r.max_replays = f.max_replays;
    r.limit = f.limit;
    if (!(f.rate >= 0) || f.rate > 1e9) return InvalidArgumentError("--rate must be in 0..1e9");
    r.rate = f.rate;
    if (f.batch_size < 1 || f.batch_size > 100000) {
      return InvalidArgumentError("--batch-size must be in 1..100000");
    }
    r.batch_size = static_cast<size_t>(f.batch_size);
    r.dry_run = f.dry_run;
    ASSIGN_OR_RETURN(r.idle_timeout, Duration("--idle-timeout", f.idle_timeout, false));
    if (f.group.size() > 249) return InvalidArgumentError("--group is longer than 249 characters");
    c.group = f.group;
    c.progress = cli::ParseProgressMode(f.progress);
  }
  return c;
}

}  // namespace

std::string_view ConfigSchema() {
  // schemas/ always holds it (tests/unit/schemas checks the list), so value() cannot throw.
  return schemas::Get("dlq.config.schema.json").value();
}

Result<Command> ParseCommandLine(const std::vector<std::string>& argv, int64_t now_ms) {
  Flags f;
  const std::string config_path = cli::ConfigPath(argv);
  Status st = LoadConfig(config_path, &f);
  if (!st.ok()) {
    return InvalidArgumentError((config_path.empty() ? "" : "--config: ") + st.message() + "; " +
                                kHelpHint);
  }

  CLI::App app{
      "sluice-dlq: inspect a sluice dead-letter topic and replay chosen records to their source "
      "topic exactly once. Exit 0 done, 1 partial, 2 usage or connection error.",
      "sluice-dlq"};
  app.require_subcommand(1);
  app.fallthrough();
  app.footer(
      "Examples:\n"
      "  sluice-dlq --bootstrap 127.0.0.1:9092 stats --topic sf.contact.events.dlq\n"
      "  sluice-dlq --bootstrap 127.0.0.1:9092 list --topic sf.contact.events.dlq "
      "--error-class permanent --since 2h\n"
      "  sluice-dlq --config dlq.yaml show --topic sf.contact.events.dlq --partition 0 "
      "--offset 42\n"
      "  sluice-dlq --config dlq.yaml replay --topic sf.contact.events.dlq --error-code "
      "UNABLE_TO_LOCK_ROW --dry-run\n"
      "Durations take their unit: 250ms, 30s, 5m, 1h30m. SLUICE_DLQ_<KEY> variables override "
      "the config file; flags override both. See docs/DLQ.md.");
  std::string unused_config;
  cli::AddKafkaFlags(app, &f.kafka, &unused_config, "YAML config file (see docs/DLQ.md)");
  app.add_option("--timeout", f.timeout,
                 fmt::format("deadline for reaching Kafka and for each broker call (default {})",
                             Flags{}.timeout));

  CLI::App* stats =
      app.add_subcommand("stats", "counts by error class/code, source topic, sObject");
  AddTopic(stats, &f);
  AddFilters(stats, &f);
  stats->add_flag("--json", f.json, "one JSON object instead of tables");

  CLI::App* list = app.add_subcommand("list", "one line per record matching the filters");
  AddTopic(list, &f);
  AddFilters(list, &f);
  list->add_option("--limit", f.limit, "at most N records (default all)");
  list->add_flag("--json", f.json, "JSON lines");

  CLI::App* show = app.add_subcommand("show", "one record whole: headers, key, envelope");
  AddTopic(show, &f);
  show->add_option("--partition", f.partition, "partition of the DLQ topic");
  show->add_option("--offset", f.offset, "offset in that partition");
  show->add_flag("--json", f.json, "one JSON object");

  CLI::App* replay = app.add_subcommand(
      "replay", "re-publish matching records to their source topic, exactly once, resumably");
  AddTopic(replay, &f);
  AddFilters(replay, &f);
  replay->add_option("--to", f.to,
                     "send every record to this topic (default: sluice.source.topic)");
  replay->add_option("--group", f.group,
                     "consumer group keeping this replay's progress (default: derived from the "
                     "topic, --to and the filters)");
  replay->add_flag("--dry-run", f.dry_run, "show what would be sent; write nothing");
  replay->add_option("--rate", f.rate, "records per second at most (default unlimited)");
  replay->add_option("--max-replays", f.max_replays,
                     fmt::format("refuse records already replayed this many times (default {})",
                                 Flags{}.max_replays));
  replay->add_option("--limit", f.limit, "replay at most N records this run (default all)");
  replay->add_option("--batch-size", f.batch_size,
                     fmt::format("records per transaction (default {})", Flags{}.batch_size));
  replay->add_option(
      "--idle-timeout", f.idle_timeout,
      fmt::format("stop when no records arrive for this long (default {})", Flags{}.idle_timeout));
  cli::AddProgressFlag(*replay, &f.progress);
  replay->add_flag("--json", f.json, "the summary as one JSON object");

  build_info::AddVersionFlag(app, "sluice-dlq");

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
    for (CLI::App* sub : {stats, list, show, replay}) {
      if (sub->parsed()) c.help = sub->help();
    }
    if (c.help.empty()) c.help = app.help();
    return c;
  } catch (const CLI::ParseError& e) {
    return cli::UsageError(argv, e.what(), {"--bootstrap", "--config", "-X", "--timeout"},
                           {"stats", "list", "show", "replay"}, kHelpHint);
  }
  std::string mode;
  for (CLI::App* sub : {stats, list, show, replay}) {
    if (sub->parsed()) mode = sub->get_name();
  }
  auto c = Build(mode, f, now_ms);
  if (!c.ok()) return InvalidArgumentError(c.status().message() + "; " + kHelpHint);
  return c;
}

}  // namespace sluice::dlq

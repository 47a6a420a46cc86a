#include "sluice/flood/cli.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "sluice/flood/planner.h"
#include "sluice/flood/runner.h"
#include "sluice/flood/sampling.h"

namespace sluice::flood {
namespace {

Result<Command> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "sluice-flood");
  return ParseCommandLine(args);
}

std::string Error(std::vector<std::string> args) {
  auto c = Parse(std::move(args));
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    path_ = std::filesystem::temp_directory_path() /
            ("flood-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter_++) + ".yaml");
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(CliTest, BurstWithCommonFlagsAnywhere) {
  auto c = Parse({"--bootstrap",
                  "127.0.0.1:9092",
                  "-X",
                  "linger.ms=20",
                  "burst",
                  "--events",
                  "1000",
                  "--window",
                  "1s",
                  "-X",
                  "compression.type=lz4",
                  "--assert",
                  "missing==0",
                  "--assert",
                  "drain_time_s<120",
                  "--keys",
                  "77",
                  "--key-distribution",
                  "zipf:1.2",
                  "--payload-size",
                  "uniform:100-900",
                  "--invalid-fraction",
                  "0.05",
                  "--sfsim",
                  "http://127.0.0.1:8080/"});
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->kind, Command::Kind::kRun);
  const RunOptions& r = c->run;
  EXPECT_EQ(r.mode, "burst");
  EXPECT_EQ(r.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(r.kafka_properties.at("linger.ms"), "20");
  EXPECT_EQ(r.kafka_properties.at("compression.type"), "lz4");
  ASSERT_EQ(r.stages.size(), 1u);
  EXPECT_EQ(r.stages[0].count, 1000);
  EXPECT_EQ(r.stages[0].duration, std::chrono::seconds(1));
  ASSERT_EQ(r.thresholds.size(), 2u);
  EXPECT_EQ(r.thresholds[1].metric, "drain_time_s");
  EXPECT_EQ(r.generator.keys.keys, 77);
  EXPECT_EQ(r.generator.keys.shape, KeySpace::Shape::kZipf);
  EXPECT_DOUBLE_EQ(r.generator.keys.exponent, 1.2);
  EXPECT_EQ(r.generator.sizes.max, 900);
  EXPECT_DOUBLE_EQ(r.generator.invalid_fraction, 0.05);
  EXPECT_EQ(r.sfsim_url, "http://127.0.0.1:8080");
  EXPECT_EQ(r.group, "sluice-relay");
  EXPECT_EQ(r.report_prefix, "flood-report");
}

// The flags' defaults are the library's own (RunOptions, GeneratorOptions, KeySpace, PlanInput),
// not a second copy in the command line.
TEST(CliTest, ABareCommandRunsWithTheLibraryDefaults) {
  auto c = Parse({"--bootstrap", "b:1", "burst", "--events", "10"});
  ASSERT_TRUE(c.ok()) << c.status();
  const RunOptions d;
  const RunOptions& r = c->run;
  EXPECT_EQ(r.topic, d.topic);
  EXPECT_EQ(r.partitions, d.partitions);
  EXPECT_EQ(r.group, d.group);
  EXPECT_EQ(r.payload_text, d.payload_text);
  EXPECT_EQ(r.sample_interval, d.sample_interval);
  EXPECT_EQ(r.drain_timeout, d.drain_timeout);
  EXPECT_EQ(r.consumer_start_timeout, d.consumer_start_timeout);
  EXPECT_EQ(r.report_prefix, d.report_prefix);
  EXPECT_EQ(r.generator.sobject, d.generator.sobject);
  EXPECT_EQ(r.generator.operation, d.generator.operation);
  EXPECT_EQ(r.generator.external_id_field, d.generator.external_id_field);
  EXPECT_EQ(r.generator.event_id_field, d.generator.event_id_field);
  EXPECT_EQ(r.generator.name_field, d.generator.name_field);
  EXPECT_EQ(r.generator.pad_field, d.generator.pad_field);
  EXPECT_EQ(r.generator.key_prefix, d.generator.key_prefix);
  EXPECT_EQ(r.generator.invalid_fraction, d.generator.invalid_fraction);
  EXPECT_EQ(r.generator.seed, d.generator.seed);
  EXPECT_EQ(r.generator.keys.keys, KeySpace{}.keys);
  EXPECT_EQ(r.generator.keys.shape, KeySpace{}.shape);
  auto p = Parse({"plan", "--events", "1000"});
  ASSERT_TRUE(p.ok()) << p.status();
  const PlanInput pd;
  EXPECT_EQ(p->plan.records_per_call, pd.records_per_call);
  EXPECT_EQ(p->plan.concurrency, pd.concurrency);
  EXPECT_EQ(p->plan.call_latency_s, pd.call_latency_s);
  EXPECT_EQ(p->plan.daily_allocation, pd.daily_allocation);
}

TEST(CliTest, RateRampBacklog) {
  auto rate = Parse({"--bootstrap", "h:1", "rate", "--rate", "200", "--duration", "30s"});
  ASSERT_TRUE(rate.ok()) << rate.status();
  EXPECT_EQ(rate->run.stages[0].count, 6000);
  auto ramp = Parse(
      {"--bootstrap", "h:1", "ramp", "--stages", "10:1s,100:2s", "--no-drain", "--no-report"});
  ASSERT_TRUE(ramp.ok()) << ramp.status();
  EXPECT_EQ(ramp->run.stages.size(), 2u);
  EXPECT_EQ(ramp->run.drain_timeout.count(), 0);
  EXPECT_EQ(ramp->run.report_prefix, "");
  auto backlog = Parse({"--bootstrap", "h:1", "backlog", "--events", "50", "--group", "g2"});
  ASSERT_TRUE(backlog.ok()) << backlog.status();
  EXPECT_EQ(backlog->run.group, "g2");
  EXPECT_EQ(backlog->run.stages[0].duration.count(), 0);
}

TEST(CliTest, Plan) {
  auto c = Parse(
      {"plan", "--events", "6000000", "--concurrency", "25", "--call-latency", "300ms", "--json"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, Command::Kind::kPlan);
  EXPECT_EQ(c->plan.events, 6000000);
  EXPECT_EQ(c->plan.concurrency, 25);
  EXPECT_DOUBLE_EQ(c->plan.call_latency_s, 0.3);
  EXPECT_DOUBLE_EQ(Parse({"plan", "--events", "1"})->plan.call_latency_s, 0.5);  // the default
  EXPECT_NE(Error({"plan", "--events", "1", "--call-latency", "0.3"})
                .find("--call-latency: 0.3 needs a unit, e.g. 0.3ms or 0.3s"),
            std::string::npos);
  EXPECT_NE(Error({"plan", "--events", "1", "--call-latency", "11m"}).find("--call-latency"),
            std::string::npos);
  EXPECT_TRUE(c->plan_json);
  EXPECT_NE(
      Error({"plan", "--events", "10", "--records-per-call", "500"}).find("between 1 and 200"),
      std::string::npos);
}

TEST(CliTest, HelpIsNotAnError) {
  auto c = Parse({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, Command::Kind::kHelp);
  EXPECT_NE(c->help.find("burst"), std::string::npos);
  auto sub = Parse({"burst", "--help"});
  ASSERT_TRUE(sub.ok());
  EXPECT_NE(sub->help.find("--events"), std::string::npos) << sub->help;
}

TEST(CliTest, BadCommandLinesSayWhatIsWrong) {
  struct Case {
    std::vector<std::string> args;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {{}, "subcommand"},
           {{"explode"}, "explode"},
           {{"burst", "--events", "10"}, "--bootstrap HOST:PORT is required"},
           {{"--bootstrap", "h:1", "burst"}, "--events N (> 0) is required"},
           {{"--bootstrap", "h:1", "burst", "--events", "0"}, "--events N (> 0)"},
           {{"--bootstrap", "h:1", "burst", "--events", "ten"}, "--events"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--window", "-1s"}, "--window"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--bogus"}, "--bogus"},
           {{"--bootstrap", "h:1", "-X", "nokey", "burst", "--events", "5"},
            "-X expects key=value"},
           {{"--bootstrap", "h:1", "-X", "=v", "burst", "--events", "5"}, "-X expects key=value"},
           {{"--bootstrap", "h:1", "rate", "--rate", "10"}, "--duration is required"},
           {{"--bootstrap", "h:1", "rate", "--rate", "-3", "--duration", "1s"}, "--rate"},
           {{"--bootstrap", "h:1", "ramp"}, "--stages"},
           {{"--bootstrap", "h:1", "ramp", "--stages", "10"}, "malformed ramp stage"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--assert", "missing=0"}, "use '=='"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--assert", "nope<1"},
            "unknown metric 'nope'"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--assert", ""},
            "malformed threshold"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--key-distribution", "pareto"},
            "--key-distribution"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--payload-size", "huge"},
            "--payload-size"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--invalid-fraction", "2"},
            "--invalid-fraction"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--sobject", "Bad Name"}, "--sobject"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--sfsim", "127.0.0.1:8080"},
            "http:// URL"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--sample-interval", "1ms"},
            "at least 10ms"},
           {{"--bootstrap", "h:1", "burst", "--events", "5", "--progress", "fancy"}, "--progress"},
           {{"--config", "/nonexistent/flood.yaml", "burst", "--events", "5"}, "--config"},
       }) {
    std::vector<std::string> args = c.args;
    const std::string message = Error(args);
    EXPECT_NE(message.find(c.says), std::string::npos)
        << ::testing::PrintToString(c.args) << " -> " << message;
    EXPECT_NE(message.find("--help"), std::string::npos) << message;
  }
}

TEST(CliTest, ConfigFileSetsDefaultsAndFlagsWin) {
  TempFile f(
      "bootstrap: 127.0.0.1:1234\n"
      "kafka:\n  linger.ms: 7\n  acks: all\n"
      "topic: sf.lead.events\n"
      "keys: 99\n"
      "key_distribution: zipf:0.9\n"
      "assert: [\"missing==0\"]\n"
      "sample_interval: 300ms\n"
      "plan:\n  concurrency: 40\n");
  auto c = Parse({"--config", f.path(), "burst", "--events", "10", "--keys", "5"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.bootstrap, "127.0.0.1:1234");
  EXPECT_EQ(c->run.kafka_properties.at("linger.ms"), "7");
  EXPECT_EQ(c->run.topic, "sf.lead.events");
  EXPECT_EQ(c->run.generator.keys.keys, 5);  // the flag wins
  EXPECT_EQ(c->run.generator.keys.shape, KeySpace::Shape::kZipf);
  EXPECT_EQ(c->run.thresholds.size(), 1u);
  EXPECT_EQ(c->run.sample_interval, std::chrono::milliseconds(300));
  auto plan = Parse({"--config", f.path(), "plan", "--events", "10"});
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->plan.concurrency, 40);
}

TEST(CliTest, BadConfigFilesAreRefusedWithTheKey) {
  struct Case {
    const char* yaml;
    const char* says;
  };
  for (const Case& c : std::vector<Case>{
           {"bootstrapp: x:1\n", "bootstrapp"},
           {"keys: lots\n", "/keys"},
           {"partitions: 0\n", "/partitions"},
           {"sfsim: ftp://x\n", "/sfsim"},
           {"window: soon\n", "/window"},
           {"- a\n- b\n", "mapping"},
           {"key: [unclosed\n", "--config"},
           {"a: &a [1]\nb: *a\nc: *a\n", "--config"},
           {"plan:\n  concurrency: -1\n", "/plan/concurrency"},
       }) {
    TempFile f(c.yaml);
    const std::string message = Error({"--config", f.path(), "burst", "--events", "5"});
    EXPECT_NE(message.find(c.says), std::string::npos) << c.yaml << " -> " << message;
  }
}

TEST(CliTest, DurationsNeedTheirUnitOnFlagsAndInTheFile) {
  for (const char* flag : {"--window", "--sample-interval", "--drain-timeout"}) {
    const std::string message = Error({"--bootstrap", "h:1", "burst", "--events", "5", flag, "30"});
    EXPECT_NE(message.find(std::string(flag) + ": 30 needs a unit, e.g. 30ms or 30s"),
              std::string::npos)
        << message;
  }
  EXPECT_NE(Error({"--bootstrap", "h:1", "ramp", "--stages", "10:30"}).find("30 needs a unit"),
            std::string::npos);
  TempFile f("drain_timeout: 30\n");
  const std::string message = Error({"--config", f.path(), "burst", "--events", "5"});
  EXPECT_NE(message.find(f.path() + ":1:1: /drain_timeout: 30 needs a unit"), std::string::npos)
      << message;
  TempFile good("drain_timeout: 1h30m\nwindow: 0\n");
  auto c = Parse({"--config", good.path(), "--bootstrap", "h:1", "burst", "--events", "5"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.drain_timeout, std::chrono::minutes(90));
}

// Sets environment variables for one test and removes them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<std::string, std::string>> vars) : vars_(vars) {
    for (const auto& [k, v] : vars_) ::setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) ::unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

TEST(CliTest, EnvironmentOverridesTheFileAndFlagsOverrideBoth) {
  TempFile f("topic: from-file\nkeys: 10\nkafka:\n  linger.ms: 1\n");
  ScopedEnv env({{"SLUICE_FLOOD_TOPIC", "from-env"},
                 {"SLUICE_FLOOD_KEYS", "20"},
                 {"SLUICE_FLOOD_KAFKA__LINGER_MS", "7"},
                 {"SLUICE_FLOOD_KAFKA__SASL_PASSWORD", "007"},
                 {"SLUICE_FLOOD_DRAIN_TIMEOUT", "2m"}});
  auto c =
      Parse({"--config", f.path(), "--bootstrap", "h:1", "burst", "--events", "5", "--keys", "30"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->run.topic, "from-env");
  EXPECT_EQ(c->run.generator.keys.keys, 30);  // the flag wins
  EXPECT_EQ(c->run.kafka_properties.at("linger.ms"), "7");
  EXPECT_EQ(c->run.kafka_properties.at("sasl.password"), "007");  // dotted, and as written
  EXPECT_EQ(c->run.drain_timeout, std::chrono::minutes(2));
  // Without a file, too.
  auto no_file = Parse({"--bootstrap", "h:1", "burst", "--events", "5"});
  ASSERT_TRUE(no_file.ok()) << no_file.status();
  EXPECT_EQ(no_file->run.topic, "from-env");
}

TEST(CliTest, BadEnvironmentOverridesAreUsageErrorsNamingTheVariable) {
  ScopedEnv env({{"SLUICE_FLOOD_SAMPLE_INTERVAL", "250"}});
  const std::string message = Error({"--bootstrap", "h:1", "burst", "--events", "5"});
  EXPECT_NE(message.find("/sample_interval (env SLUICE_FLOOD_SAMPLE_INTERVAL): 250 needs a unit"),
            std::string::npos)
      << message;
}

TEST(CliTest, EmbeddedConfigSchemaIsTheSourceFile) {
  EXPECT_NE(FloodConfigSchema().find("sluice-flood configuration file"), std::string::npos);
}

}  // namespace
}  // namespace sluice::flood

// sluice-dlq's command line and config file, including malformed and hostile input.
#include "sluice/dlq/cli.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "sluice/dlq/tool.h"
#include "sluice/testing/temp_file.h"

namespace sluice::dlq {
namespace {

constexpr int64_t kNow = 1763700000000;

Result<Command> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "sluice-dlq");
  return ParseCommandLine(args, kNow);
}

std::string Error(std::vector<std::string> args) {
  auto c = Parse(std::move(args));
  EXPECT_FALSE(c.ok());
  return c.ok() ? "" : c.status().message();
}

using testing::TempFile;

TEST(CliTest, StatsWithCommonFlags) {
  auto c =
      Parse({"--bootstrap", "127.0.0.1:9092", "-X", "client.id=ops", "-X", "socket.timeout.ms=5000",
             "--timeout", "3s", "stats", "--topic", "sf.contact.events.dlq", "--json"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, Command::Kind::kStats);
  EXPECT_EQ(c->kafka.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(c->kafka.properties.at("client.id"), "ops");
  EXPECT_EQ(c->kafka.properties.at("socket.timeout.ms"), "5000");
  EXPECT_EQ(c->kafka.timeout, std::chrono::seconds(3));
  EXPECT_EQ(c->topic, "sf.contact.events.dlq");
  EXPECT_TRUE(c->json);
}

// The flags' defaults are the library's own (KafkaOptions, ReplayOptions), not a second copy.
TEST(CliTest, ABareReplayRunsWithTheLibraryDefaults) {
  auto c = Parse({"--bootstrap", "127.0.0.1:1", "replay", "--topic", "t.dlq"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.timeout, KafkaOptions{}.timeout);
  EXPECT_EQ(c->replay.max_replays, ReplayOptions{}.max_replays);
  EXPECT_EQ(c->replay.batch_size, ReplayOptions{}.batch_size);
  EXPECT_EQ(c->replay.idle_timeout, ReplayOptions{}.idle_timeout);
}

TEST(CliTest, GlobalFlagsMayFollowTheCommand) {
  auto c = Parse({"list", "--topic", "t.dlq", "--bootstrap", "127.0.0.1:1"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.bootstrap, "127.0.0.1:1");
}

TEST(CliTest, ListFilters) {
  auto c = Parse({"--bootstrap",
                  "h:1",
                  "list",
                  "--topic",
                  "t.dlq",
                  "--error-class",
                  "permanent,retry_exhausted",
                  "--error-code",
                  "A",
                  "--error-code",
                  "B",
                  "--key",
                  "k,with,commas",
                  "--sobject",
                  "Contact",
                  "--source-topic",
                  "sf.x",
                  "--since",
                  "2h",
                  "--until",
                  "2025-11-21T04:40:00Z",
                  "--limit",
                  "5"});
  ASSERT_TRUE(c.ok()) << c.status();
  const Filter& f = c->filter;
  EXPECT_EQ(f.error_classes, (std::vector<std::string>{"permanent", "retry_exhausted"}));
  EXPECT_EQ(f.error_codes, (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(f.keys, (std::vector<std::string>{"k,with,commas"}));
  EXPECT_EQ(*f.since_ms, kNow - 7200000);
  EXPECT_EQ(*f.until_ms, kNow);
  EXPECT_EQ(c->limit, 5);
}

TEST(CliTest, Show) {
  auto c = Parse(
      {"--bootstrap", "h:1", "show", "--topic", "t.dlq", "--partition", "3", "--offset", "99"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->partition, 3);
  EXPECT_EQ(c->offset, 99);
  EXPECT_NE(Error({"--bootstrap", "h:1", "show", "--topic", "t"}).find("--partition"),
            std::string::npos);
  EXPECT_NE(
      Error({"--bootstrap", "h:1", "show", "--topic", "t", "--partition", "0"}).find("--offset"),
      std::string::npos);
  EXPECT_FALSE(
      Parse({"--bootstrap", "h:1", "show", "--topic", "t", "--partition", "-1", "--offset", "0"})
          .ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "show", "--topic", "t", "--partition", "99999999999",
                      "--offset", "0"})
                   .ok());
}

TEST(CliTest, ReplayOptions) {
  auto c = Parse({"--bootstrap",
                  "h:1",
                  "replay",
                  "--topic",
                  "t.dlq",
                  "--error-code",
                  "UNABLE_TO_LOCK_ROW",
                  "--dry-run",
                  "--rate",
                  "100",
                  "--max-replays",
                  "5",
                  "--limit",
                  "10",
                  "--to",
                  "other",
                  "--group",
                  "mine",
                  "--batch-size",
                  "50",
                  "--idle-timeout",
                  "5s",
                  "--progress",
                  "lines"});
  ASSERT_TRUE(c.ok()) << c.status();
  const ReplayOptions& r = c->replay;
  EXPECT_EQ(r.dlq_topic, "t.dlq");
  EXPECT_EQ(r.filter.error_codes, std::vector<std::string>{"UNABLE_TO_LOCK_ROW"});
  EXPECT_TRUE(r.dry_run);
  EXPECT_EQ(r.rate, 100);
  EXPECT_EQ(r.max_replays, 5);
  EXPECT_EQ(r.limit, 10);
  EXPECT_EQ(r.to_topic, "other");
  EXPECT_EQ(r.batch_size, 50u);
  EXPECT_EQ(r.idle_timeout, std::chrono::seconds(5));
  EXPECT_EQ(c->group, "mine");
  EXPECT_EQ(c->progress, ProgressMode::kLines);
}

TEST(CliTest, ReplayDefaults) {
  auto c = Parse({"--bootstrap", "h:1", "replay", "--topic", "t.dlq"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->replay.max_replays, 3);
  EXPECT_FALSE(c->replay.dry_run);
  EXPECT_EQ(c->replay.rate, 0);
  EXPECT_EQ(c->kafka.timeout, std::chrono::seconds(10));
  EXPECT_EQ(c->progress, ProgressMode::kAuto);
}

TEST(CliTest, HelpIsNotAnError) {
  auto c = Parse({"--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kind, Command::Kind::kHelp);
  EXPECT_NE(c->help.find("replay"), std::string::npos);
  c = Parse({"replay", "--help"});
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->help.find("--max-replays"), std::string::npos);
}

TEST(CliTest, UsageErrorsSayWhatIsWrong) {
  EXPECT_NE(Error({}).find("help"), std::string::npos);
  EXPECT_NE(Error({"frobnicate"}).find("unknown command 'frobnicate'"), std::string::npos);
  EXPECT_NE(Error({"stats", "--topic", "t"}).find("--bootstrap"), std::string::npos);
  EXPECT_NE(Error({"--bootstrap", "h:1", "stats"}).find("--topic"), std::string::npos);
  EXPECT_NE(Error({"--bootstrap", "h:1", "-X", "novalue", "stats", "--topic", "t"}).find("-X"),
            std::string::npos);
  EXPECT_NE(Error({"--bootstrap", "h:1", "-X", "=v", "stats", "--topic", "t"}).find("-X"),
            std::string::npos);
  EXPECT_NE(Error({"--bootstrap", "h:1", "stats", "--topic", "t", "--since", "yesterday"})
                .find("--since"),
            std::string::npos);
  EXPECT_NE(Error({"--bootstrap", "h:1", "stats", "--topic", "t", "--since", "1h", "--until", "2h"})
                .find("before"),
            std::string::npos);
  EXPECT_NE(
      Error({"--bootstrap", "h:1", "--timeout", "0s", "stats", "--topic", "t"}).find("--timeout"),
      std::string::npos);
  EXPECT_NE(
      Error({"--bootstrap", "h:1", "--timeout", "soon", "stats", "--topic", "t"}).find("--timeout"),
      std::string::npos);
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "list", "--topic", "t", "--limit", "-1"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "list", "--topic", "t", "--limit", "ten"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--max-replays", "0"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--rate", "-5"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--rate", "nan"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--batch-size", "0"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--to", "t"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--progress", "x"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "replay", "--topic", "t", "--error-code", ""}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "stats", "--topic", std::string(300, 't')}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "stats", "--topic", "t", "--dry-run"}).ok());
  EXPECT_FALSE(Parse({"--bootstrap", "h:1", "list", "--topic"}).ok());
}

TEST(CliTest, HostileArgumentsAreRefusedOrCarriedVerbatim) {
  const std::string esc = "\x1b[2J\xff\xfe";
  auto c = Parse({"--bootstrap", "h:1", "list", "--topic", "t", "--key", esc});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->filter.keys, std::vector<std::string>{esc});
  EXPECT_FALSE(
      Parse({"--bootstrap", "h:1", "list", "--topic", "t", "--key", std::string(5000, 'k')}).ok());
  EXPECT_FALSE(Parse({std::string(100000, '-')}).ok());
}

TEST(CliTest, ConfigFileSuppliesDefaultsAndFlagsWin) {
  TempFile f(
      "bootstrap: 127.0.0.1:9092\n"
      "topic: sf.contact.events.dlq\n"
      "timeout: 4s\n"
      "max_replays: 7\n"
      "kafka:\n"
      "  client.id: from-config\n"
      "  socket.timeout.ms: 3000\n");
  auto c = Parse({"--config", f.path(), "replay", "-X", "client.id=from-flag"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.bootstrap, "127.0.0.1:9092");
  EXPECT_EQ(c->topic, "sf.contact.events.dlq");
  EXPECT_EQ(c->kafka.timeout, std::chrono::seconds(4));
  EXPECT_EQ(c->replay.max_replays, 7);
  EXPECT_EQ(c->kafka.properties.at("client.id"), "from-flag");
  EXPECT_EQ(c->kafka.properties.at("socket.timeout.ms"), "3000");
  c = Parse({"--config", f.path(), "--bootstrap", "127.0.0.1:1", "stats", "--topic", "x"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->kafka.bootstrap, "127.0.0.1:1");
  EXPECT_EQ(c->topic, "x");
}

TEST(CliTest, BadConfigFilesAreUsageErrors) {
  for (const std::string& bad : std::vector<std::string>{
           "bootstrap: [1, 2]\n",              // wrong type
           "unknown_key: 1\n",                 // not in the schema
           "max_replays: -1\n",                // out of range
           "timeout: soon\n",                  // not a duration
           "a: &a [*a]\n",                     // alias loop
           "- just\n- a list\n",               // not a mapping
           "bootstrap: \"\x1b[2J\xff\"\n",     // invalid UTF-8
           "kafka: {a: {b: c}}\n",             // nested properties
           std::string(2 * 1024 * 1024, '#'),  // oversized
       }) {
    TempFile f(bad);
    auto c = Parse({"--config", f.path(), "stats", "--topic", "t", "--bootstrap", "h:1"});
    ASSERT_FALSE(c.ok()) << bad.substr(0, 40);
    EXPECT_NE(c.status().message().find("--config"), std::string::npos);
  }
  auto missing = Parse({"--config", "/nonexistent/dlq.yaml", "stats"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--config"), std::string::npos);
}

TEST(CliTest, DurationsNeedTheirUnit) {
  EXPECT_NE(Error({"--bootstrap", "h:1", "--timeout", "10", "stats", "--topic", "t"})
                .find("--timeout: 10 needs a unit, e.g. 10ms or 10s"),
            std::string::npos);
  EXPECT_NE(Error({"--bootstrap", "h:1", "replay", "--topic", "t", "--idle-timeout", "-5s"})
                .find("--idle-timeout"),
            std::string::npos);
  TempFile f("idle_timeout: 30\n");
  auto c = Parse({"--config", f.path(), "stats", "--topic", "t", "--bootstrap", "h:1"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(":1:1: /idle_timeout: 30 needs a unit"), std::string::npos)
      << c.status();
}

TEST(CliTest, EnvironmentOverridesTheFile) {
  TempFile f("topic: from-file\ntimeout: 4s\n");
  ::setenv("SLUICE_DLQ_TOPIC", "from-env", 1);
  ::setenv("SLUICE_DLQ_TIMEOUT", "1m30s", 1);
  ::setenv("SLUICE_DLQ_KAFKA__SSL_CA_LOCATION", "/etc/ca.pem", 1);
  ::setenv("SLUICE_DLQ_LOG_LEVEL", "debug", 1);  // main.cc's, not a config key
  auto c = Parse({"--config", f.path(), "stats", "--bootstrap", "h:1"});
  auto no_file = Parse({"stats", "--bootstrap", "h:1", "--topic", "flag"});
  ::setenv("SLUICE_DLQ_TIMEOUT", "90", 1);
  auto bad = Parse({"stats", "--bootstrap", "h:1"});
  for (const char* v : {"SLUICE_DLQ_TOPIC", "SLUICE_DLQ_TIMEOUT",
                        "SLUICE_DLQ_KAFKA__SSL_CA_LOCATION", "SLUICE_DLQ_LOG_LEVEL"}) {
    ::unsetenv(v);
  }
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->topic, "from-env");
  EXPECT_EQ(c->kafka.timeout, std::chrono::seconds(90));
  EXPECT_EQ(c->kafka.properties.at("ssl.ca.location"), "/etc/ca.pem");
  ASSERT_TRUE(no_file.ok()) << no_file.status();
  EXPECT_EQ(no_file->topic, "flag");  // the flag wins over the environment
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("(env SLUICE_DLQ_TIMEOUT): 90 needs a unit"),
            std::string::npos)
      << bad.status();
}

TEST(ToolTest, UsageErrorExitsTwoWithAMessage) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  ToolIo io;
  io.out = out;
  io.err = err;
  EXPECT_EQ(RunTool({"sluice-dlq", "stats"}, io), kExitError);
  std::rewind(err);
  char buf[512] = {};
  const size_t n = std::fread(buf, 1, sizeof(buf) - 1, err);
  EXPECT_NE(std::string(buf, n).find("sluice-dlq: "), std::string::npos);
  EXPECT_EQ(RunTool({"sluice-dlq", "--help"}, io), kExitOk);
  std::fclose(out);
  std::fclose(err);
}

}  // namespace
}  // namespace sluice::dlq

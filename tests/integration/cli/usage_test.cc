// Every binary's command line as a user meets it: usage errors exit 2 with one line on stderr that
// names the flag (never CLI11's internal codes 105, 106, 109), --help exits 0 and shows examples,
// a bare-number duration says which unit to add, and the environment overrides the config file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/testing/process.h"
#include "sluice/testing/temp_file.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

using ToolRun = CapturedRun;

ToolRun Exec(const std::string& binary, const std::vector<std::string>& args,
             const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {BinPath(binary)};
  argv.insert(argv.end(), args.begin(), args.end());
  ChildOptions options;
  options.env = env;
  return RunCapturing(argv, 60s, options);
}

std::string Describe(const std::string& binary, const std::vector<std::string>& args,
                     const ToolRun& r) {
  std::string out = binary;
  for (const auto& a : args) out += " '" + a + "'";
  return out + " -> exit " + std::to_string(r.exit_code) + "\nstderr: " + r.err +
         "\nstdout: " + r.out.substr(0, 500);
}

// Exit 2, one line on stderr that contains `needle`.
void ExpectUsageError(const std::string& binary, const std::vector<std::string>& args,
                      const std::string& needle, const std::vector<std::string>& env = {}) {
  ToolRun r = Exec(binary, args, env);
  EXPECT_EQ(r.exit_code, 2) << Describe(binary, args, r);
  EXPECT_NE(r.err.find(needle), std::string::npos) << "wanted \"" << needle << "\"\n"
                                                   << Describe(binary, args, r);
  EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 1) << Describe(binary, args, r);
  EXPECT_LT(r.err.size(), 600u) << Describe(binary, args, r);
}

void ExpectHelp(const std::string& binary, const std::vector<std::string>& args) {
  ToolRun r = Exec(binary, args);
  EXPECT_EQ(r.exit_code, 0) << Describe(binary, args, r);
  EXPECT_NE(r.out.find("Examples:"), std::string::npos) << Describe(binary, args, r);
  EXPECT_NE(r.out.find(binary), std::string::npos) << Describe(binary, args, r);
}

TEST(UsageTest, HelpExitsZeroWithExamples) {
  ExpectHelp("sluice-relay", {"--help"});
  ExpectHelp("sluice-relay", {"-h"});
  ExpectHelp("sluice-sfsim", {"--help"});
  ExpectHelp("sluice-flood", {"--help"});
  ExpectHelp("sluice-dlq", {"--help"});
  ExpectHelp("sluice-gateway", {"--help"});
}

TEST(UsageTest, GatewayUsageErrorsExitTwo) {
  ExpectUsageError("sluice-gateway", {}, "--config");
  ExpectUsageError("sluice-gateway", {"-c", "x.yaml", "--bogus"}, "--bogus");
  ExpectUsageError("sluice-gateway", {"--config"}, "--config");
  ExpectUsageError("sluice-gateway", {"-c", "x.yaml", "extra"}, "extra");
  ExpectUsageError("sluice-gateway", {"-c", "/nonexistent/gateway.yaml"}, "gateway.yaml");
  ExpectUsageError("sluice-gateway", {"-c", "x.yaml", "--" + std::string(10000, 'x')}, "--xxxx");
}

TEST(UsageTest, RelayUsageErrorsExitTwo) {
  ExpectUsageError("sluice-relay", {}, "--config");  // required flag missing
  ExpectUsageError("sluice-relay", {"-c", "x.yaml", "--bogus"}, "--bogus");  // unknown flag
  ExpectUsageError("sluice-relay", {"--config"}, "--config");  // flag without its value
  ExpectUsageError("sluice-relay", {"-c", "x.yaml", "extra"}, "extra");
  ExpectUsageError("sluice-relay", {"-c", "x.yaml", "--log-level"}, "--log-level");
  // Hostile arguments: cut and stripped of control characters, still one line.
  ExpectUsageError("sluice-relay", {"-c", "x.yaml", "--" + std::string(10000, 'x')}, "--xxxx");
  ExpectUsageError("sluice-relay", {"-c", "x.yaml", "--a\nb\x1b[31m"}, "--a b [31m");
}

TEST(UsageTest, SfsimUsageErrorsExitTwo) {
  ExpectUsageError("sluice-sfsim", {"--bogus"}, "--bogus");
  ExpectUsageError("sluice-sfsim", {"--port"}, "--port");
  ExpectUsageError("sluice-sfsim", {"--port", "notaport"}, "--port");
  ExpectUsageError("sluice-sfsim", {"--config", "/nonexistent/sfsim.yaml"}, "--config");
  ExpectUsageError("sluice-sfsim", {"--lock-timeout", "30"},
                   "--lock-timeout: 30 needs a unit, e.g. 30ms or 30s");
  ExpectUsageError("sluice-sfsim", {"--session-timeout", "-1s"}, "--session-timeout");
  ExpectUsageError("sluice-sfsim", {"--read-timeout", "5min"}, "unknown unit \"min\"");
  ExpectUsageError("sluice-sfsim", {"--idle-timeout", std::string(5000, '9') + "s"},
                   "--idle-timeout");
}

TEST(UsageTest, FloodUsageErrorsExitTwo) {
  ExpectUsageError("sluice-flood", {}, "sluice-flood");
  ExpectUsageError("sluice-flood",
                   {"--bootstrap", "127.0.0.1:1", "burst", "--events", "1", "--via", "ftp://x"},
                   "--via");
  ExpectUsageError("sluice-flood",
                   {"--bootstrap", "127.0.0.1:1", "burst", "--events", "1", "--via",
                    "http://127.0.0.1:1", "--invalid-fraction", "0.1"},
                   "--invalid-fraction");
  ExpectUsageError("sluice-flood", {"burst", "--bogus"}, "--bogus");
  ExpectUsageError("sluice-flood", {"burst", "--events"}, "--events");
  ExpectUsageError("sluice-flood", {"plan", "--events", "10", "--call-latency", "0.5"},
                   "--call-latency: 0.5 needs a unit, e.g. 0.5ms or 0.5s");
  ExpectUsageError(
      "sluice-flood",
      {"--bootstrap", "127.0.0.1:1", "burst", "--events", "1", "--drain-timeout", "30"},
      "--drain-timeout: 30 needs a unit, e.g. 30ms or 30s");
}

TEST(UsageTest, DlqUsageErrorsExitTwo) {
  ExpectUsageError("sluice-dlq", {}, "sluice-dlq");
  ExpectUsageError("sluice-dlq", {"stats", "--bogus"}, "--bogus");
  ExpectUsageError("sluice-dlq",
                   {"--bootstrap", "127.0.0.1:1", "--timeout", "10", "stats", "--topic", "t.dlq"},
                   "--timeout: 10 needs a unit, e.g. 10ms or 10s");
}

TEST(UsageTest, ConfigFilesSayWhichUnitToAddWithLineAndColumn) {
  TempFile relay(
      "kafka:\n  bootstrap: 127.0.0.1:1\n  topics: [t]\n  commit_interval: 30\n"
      "salesforce:\n  login_url: http://127.0.0.1:1\n"
      "  auth: {flow: client_credentials, client_id: a, client_secret: b}\n");
  ToolRun r = Exec("sluice-relay", {"--check-config", "--config", relay.path()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(":4:3: /kafka/commit_interval: 30 needs a unit, e.g. 30ms or 30s"),
            std::string::npos)
      << r.err;

  TempFile flood("drain_timeout: 30\n");
  r = Exec("sluice-flood", {"--config", flood.path(), "plan", "--events", "10"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(":1:1: /drain_timeout: 30 needs a unit"), std::string::npos) << r.err;

  TempFile dlq("timeout: 5\n");
  r = Exec("sluice-dlq", {"--config", dlq.path(), "stats", "--topic", "t.dlq"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(":1:1: /timeout: 5 needs a unit"), std::string::npos) << r.err;

  TempFile sfsim("limits:\n  lock_timeout: 10\n");
  r = Exec("sluice-sfsim", {"--port", "0", "--config", sfsim.path()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(":2:3: /limits/lock_timeout: 10 needs a unit"), std::string::npos) << r.err;
}

// Every error in a sluice-flood or sluice-dlq file names its line and column, as the relay's do:
// unknown keys, wrong types, values out of range, and a Kafka secret file that cannot be read
// (whose path is named, the other secret in the file never).
TEST(UsageTest, FloodAndDlqConfigErrorsCarryLineAndColumn) {
  TempFile flood("topic: t\nkafka:\n  sasl.password: inline-Pa55\n  linger.ms: 5\nkeyz: 10\n");
  ToolRun r = Exec("sluice-flood", {"--config", flood.path(), "plan", "--events", "10"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(flood.path() + ":5:1: /keyz: unknown key"), std::string::npos) << r.err;

  TempFile flood_secret("topic: t\nkafka:\n  sasl.password_file: /nonexistent/sluice-pw\n");
  r = Exec("sluice-flood", {"--config", flood_secret.path(), "burst", "--bootstrap", "127.0.0.1:1",
                            "--events", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(
      r.err.find(flood_secret.path() + ":3:3: /kafka/sasl.password_file: cannot read secret file "
                                       "\"/nonexistent/sluice-pw\""),
      std::string::npos)
      << r.err;

  TempFile dlq("bootstrap: 127.0.0.1:1\nmax_replays: -5\n");
  r = Exec("sluice-dlq", {"--config", dlq.path(), "stats", "--topic", "t.dlq"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(dlq.path() + ":2:1: /max_replays: expected >= 0"), std::string::npos)
      << r.err;

  TempFile dlq_both(
      "kafka:\n  sasl.password: inline-Pa55\n  sasl.password_file: /nonexistent/sluice-pw\n");
  r = Exec("sluice-dlq", {"--config", dlq_both.path(), "stats", "--topic", "t.dlq"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(
      r.err.find(dlq_both.path() + ":3:3: /kafka/sasl.password_file: set either sasl.password or "
                                   "sasl.password_file, not both"),
      std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("inline-Pa55"), std::string::npos) << r.err;
}

// --check-config --json: one JSON object on stdout for scripts, exit 0 or 2 as without it.
TEST(UsageTest, RelayCheckConfigCanAnswerInJson) {
  const std::string good =
      "kafka:\n  bootstrap: 127.0.0.1:1\n  topics: [t]\n"
      "salesforce:\n  login_url: http://127.0.0.1:1\n"
      "  auth: {flow: client_credentials, client_id: a, client_secret: b}\n";
  TempFile ok_file(good);
  ToolRun r = Exec("sluice-relay", {"--check-config", "--json", "--config", ok_file.path()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "{\"ok\":true,\"config\":\"" + ok_file.path() + "\"}\n");

  TempFile bad_file(good + "delivery: {requests_per_second: \"fast \\\"quoted\\\"\"}\n");
  r = Exec("sluice-relay", {"--check-config", "--json", "--config", bad_file.path()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(r.out.rfind("{\"ok\":false,\"config\":\"", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"error\":\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("requests_per_second"), std::string::npos) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_TRUE(r.err.empty()) << r.err;
}

TEST(UsageTest, EveryProgramTakesEnvironmentOverrides) {
  // Each variable is checked against the program's schema, so a bad value proves it was read.
  TempFile relay(
      "kafka:\n  bootstrap: 127.0.0.1:1\n  topics: [t]\n"
      "salesforce:\n  login_url: http://127.0.0.1:1\n"
      "  auth: {flow: client_credentials, client_id: a, client_secret: b}\n");
  ToolRun r = Exec("sluice-relay", {"--check-config", "--config", relay.path()},
                   {"SLUICE_RELAY_KAFKA__COMMIT_INTERVAL=30"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("(env SLUICE_RELAY_KAFKA__COMMIT_INTERVAL): 30 needs a unit"),
            std::string::npos)
      << r.err;
  r = Exec("sluice-relay", {"--check-config", "--config", relay.path()},
           {"SLUICE_RELAY_SALESFORCE__AUTH__CLIENT_SECRET=123456",
            "SLUICE_RELAY_KAFKA__PROPERTIES__SECURITY_PROTOCOL=SASL_SSL"});
  EXPECT_EQ(r.exit_code, 0) << r.err;

  r = Exec("sluice-flood", {"plan", "--events", "10"}, {"SLUICE_FLOOD_PLAN__CONCURRENCY=0"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("/plan/concurrency (env SLUICE_FLOOD_PLAN__CONCURRENCY)"), std::string::npos)
      << r.err;
  r = Exec("sluice-flood", {"plan", "--events", "1000", "--json"},
           {"SLUICE_FLOOD_PLAN__CALL_LATENCY=2s"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"call_latency_s\":2"), std::string::npos) << r.out;

  r = Exec("sluice-dlq", {"stats", "--topic", "t.dlq"}, {"SLUICE_DLQ_IDLE_TIMEOUT=30"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("(env SLUICE_DLQ_IDLE_TIMEOUT): 30 needs a unit"), std::string::npos)
      << r.err;

  r = Exec("sluice-sfsim", {"--port", "0"}, {"SLUICE_SFSIM_LIMITS__LOCK_TIMEOUT=10"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("(env SLUICE_SFSIM_LIMITS__LOCK_TIMEOUT): 10 needs a unit"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace sluice::testing

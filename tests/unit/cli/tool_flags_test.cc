// The command-line pieces sluice-flood and sluice-dlq share, with malformed and hostile input.
#include "sluice/cli/tool_flags.h"

#include <gtest/gtest.h>

#include "sluice/testing/temp_file.h"

namespace sluice::cli {
namespace {

using Props = std::map<std::string, std::string>;

bool Contains(const Status& s, std::string_view text) {
  return s.message().find(text) != std::string::npos;
}

TEST(ToolFlagsTest, ConfigPathTakesBothFormsAndIgnoresTheProgramName) {
  EXPECT_EQ(ConfigPath({"tool", "--config", "a.yaml", "burst"}), "a.yaml");
  EXPECT_EQ(ConfigPath({"tool", "burst", "--config=b.yaml"}), "b.yaml");
  EXPECT_EQ(ConfigPath({"--config", "burst"}), "");          // argv[0] is the program
  EXPECT_EQ(ConfigPath({"tool", "burst", "--config"}), "");  // no value: CLI11 says so
  EXPECT_EQ(ConfigPath({"tool"}), "");
}

TEST(ToolFlagsTest, PropertiesComeFromTheFileThenEachXInOrder) {
  KafkaFlags f;
  f.bootstrap = "127.0.0.1:9092";
  f.config_properties = {{"client.id", "file"}, {"linger.ms", "5"}};
  f.properties = {"client.id=first", "client.id=second", "acks=all", "empty="};
  auto p = KafkaProperties(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p,
            (Props{{"acks", "all"}, {"client.id", "second"}, {"empty", ""}, {"linger.ms", "5"}}));
}

// -X name_file=PATH keeps a secret off the command line: `name` is read from the file.
TEST(ToolFlagsTest, XNameFileReadsTheValueFromTheFile) {
  testing::TempFile secret("  sasl-secret-from-file\n", ".secret");
  KafkaFlags f;
  f.bootstrap = "127.0.0.1:9092";
  f.config_properties = {{"sasl.password", "from-config"}};
  f.properties = {"sasl.password_file=" + secret.path()};
  auto p = KafkaProperties(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, (Props{{"sasl.password", "sasl-secret-from-file"}}));

  f.properties = {"sasl.password_file=/nonexistent/sluice-secret"};
  p = KafkaProperties(f);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(p.status(), "-X sasl.password_file: cannot read secret file")) << p.status();
  EXPECT_FALSE(Contains(p.status(), "from-config"));
}

TEST(ToolFlagsTest, BootstrapFlagWinsOverBootstrapServers) {
  KafkaFlags f;
  f.bootstrap = "127.0.0.1:1";
  f.config_properties = {{"bootstrap.servers", "127.0.0.1:2"}};
  f.properties = {"bootstrap.servers=127.0.0.1:3"};
  auto p = KafkaProperties(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->count("bootstrap.servers"), 0u);

  // Without --bootstrap, bootstrap.servers from -X or the file is the bootstrap.
  f.bootstrap.clear();
  p = KafkaProperties(f);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->at("bootstrap.servers"), "127.0.0.1:3");
}

TEST(ToolFlagsTest, MissingBootstrapIsAnError) {
  KafkaFlags f;
  f.properties = {"client.id=x"};
  auto p = KafkaProperties(f);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(p.status(), "--bootstrap HOST:PORT is required")) << p.status();
}

TEST(ToolFlagsTest, MalformedXIsNamedAndHostileOnesAreCut) {
  for (const std::string bad : {"novalue", "=value", ""}) {
    KafkaFlags f;
    f.bootstrap = "h:1";
    f.properties = {bad};
    auto p = KafkaProperties(f);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_TRUE(Contains(p.status(), "-X expects key=value")) << p.status();
    EXPECT_TRUE(Contains(p.status(), "'" + bad + "'")) << p.status();
  }
  KafkaFlags f;
  f.bootstrap = "h:1";
  f.properties = {std::string(100000, 'k')};
  auto p = KafkaProperties(f);
  ASSERT_FALSE(p.ok());
  EXPECT_LT(p.status().message().size(), 300u);
  EXPECT_TRUE(Contains(p.status(), std::string(100, 'k') + "...'")) << p.status();
}

TEST(ToolFlagsTest, FlagsParseThroughCli11) {
  CLI::App app{"test"};
  KafkaFlags f;
  std::string config;
  std::string progress = "auto";
  AddKafkaFlags(app, &f, &config, "the config");
  AddProgressFlag(app, &progress);
  app.parse(std::vector<std::string>{"lines", "--progress", "b=2", "-X", "a=1", "-X", "h:1",
                                     "--bootstrap"});  // reversed, as CLI11 takes them
  EXPECT_EQ(f.bootstrap, "h:1");
  EXPECT_EQ(f.properties, (std::vector<std::string>{"a=1", "b=2"}));
  EXPECT_EQ(ParseProgressMode(progress), ProgressMode::kLines);

  CLI::App strict{"test"};
  AddProgressFlag(strict, &progress);
  EXPECT_THROW(strict.parse(std::vector<std::string>{"loud", "--progress"}), CLI::ValidationError);
}

TEST(ToolFlagsTest, ProgressModes) {
  EXPECT_EQ(ParseProgressMode("auto"), ProgressMode::kAuto);
  EXPECT_EQ(ParseProgressMode("bar"), ProgressMode::kBar);
  EXPECT_EQ(ParseProgressMode("lines"), ProgressMode::kLines);
  EXPECT_EQ(ParseProgressMode("none"), ProgressMode::kNone);
  EXPECT_EQ(ParseProgressMode(""), ProgressMode::kAuto);
}

TEST(ToolFlagsTest, UsageErrorNamesAnUnknownCommandAfterTheValueFlags) {
  const std::vector<std::string_view> value_flags = {"--bootstrap", "-X"};
  const std::vector<std::string_view> commands = {"burst", "rate", "plan"};
  // "burst" here is --bootstrap's value; the command is "brust".
  Status s = UsageError({"tool", "--bootstrap", "burst", "-X", "a=b", "--flag", "brust"},
                        "A subcommand is required", value_flags, commands, "see --help");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "unknown command 'brust' (expected burst, rate or plan); see --help");

  // A known command: CLI11's own message stands.
  s = UsageError({"tool", "rate", "--nope"}, "The following arguments were not expected: --nope",
                 value_flags, commands, "see --help");
  EXPECT_EQ(s.message(), "The following arguments were not expected: --nope; see --help");

  // No command at all.
  s = UsageError({"tool"}, "A subcommand is required", value_flags, commands, "h");
  EXPECT_EQ(s.message(), "A subcommand is required; h");

  // A hostile word is cut.
  s = UsageError({"tool", std::string(5000, 'x')}, "m", value_flags, commands, "h");
  EXPECT_LT(s.message().size(), 200u);
  EXPECT_TRUE(Contains(s, std::string(100, 'x') + "...'")) << s;
}

using ConfigFile = testing::TempFile;

constexpr char kSchema[] = R"({
  "type": "object",
  "additionalProperties": false,
  "properties": {
    "bootstrap": {"type": "string", "minLength": 1},
    "kafka": {"type": "object"}
  }
})";

TEST(ToolFlagsTest, ConfigFileIsCheckedAgainstItsSchema) {
  ConfigFile good("bootstrap: 127.0.0.1:9092\nkafka:\n  client.id: x\n");
  auto cfg = LoadConfigFile(good.path(), kSchema);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->GetString("/bootstrap", ""), "127.0.0.1:9092");

  ConfigFile unknown_key("bootstrap: h:1\nbootstrapp: h:2\n");
  cfg = LoadConfigFile(unknown_key.path(), kSchema);
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(cfg.status(), unknown_key.path())) << cfg.status();

  ConfigFile wrong_type("bootstrap: ''\n");
  cfg = LoadConfigFile(wrong_type.path(), kSchema);
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(Contains(cfg.status(), "/bootstrap")) << cfg.status();

  ConfigFile not_yaml("bootstrap: [unclosed\n");
  EXPECT_FALSE(LoadConfigFile(not_yaml.path(), kSchema).ok());
  EXPECT_FALSE(LoadConfigFile("/nonexistent/sluice.yaml", kSchema).ok());

  // Larger than the limit the caller sets.
  ConfigFile big("bootstrap: " + std::string(4096, 'h') + "\n");
  config::LoadOptions small;
  small.max_file_bytes = 1024;
  EXPECT_FALSE(LoadConfigFile(big.path(), kSchema, small).ok());
}

TEST(ToolFlagsTest, ConfigErrorsCarryLineAndColumnAndTheEnvironmentApplies) {
  ConfigFile typo("# a comment\nbootstrap: h:1\nbootstrapp: h:2\n");
  auto cfg = LoadConfigFile(typo.path(), kSchema);
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(Contains(cfg.status(), typo.path() + ":3:1: /bootstrapp: unknown key"))
      << cfg.status();

  std::map<std::string, std::string> env = {{"TOOL_BOOTSTRAP", "from-env:1"}};
  config::LoadOptions options;
  options.env_prefix = "TOOL_";
  options.env = &env;
  ConfigFile good("bootstrap: h:1\n");
  cfg = LoadConfigFile(good.path(), kSchema, options);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->GetString("/bootstrap", ""), "from-env:1");
  // No file: the environment alone, still checked against the schema.
  cfg = LoadConfigFile("", kSchema, options);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->GetString("/bootstrap", ""), "from-env:1");
  env = {{"TOOL_BOOTSTRAPP", "x"}};
  cfg = LoadConfigFile("", kSchema, options);
  ASSERT_FALSE(cfg.ok());
  EXPECT_TRUE(Contains(cfg.status(), "(env TOOL_BOOTSTRAPP): unknown key")) << cfg.status();
}

// Runs ParseArgs on `args` (argv[0] added) with a small app; returns the exit code or -1 to go on.
int ParseExit(const std::vector<std::string>& args, std::string* duration = nullptr) {
  CLI::App app{"test tool", "tool"};
  std::string value;
  std::string d;
  app.add_option("--value", value, "a value")->required();
  app.add_option("--timeout", d, "a duration")->check(DurationValidator());
  std::vector<std::string> argv = {"tool"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<const char*> ptrs;
  for (const auto& a : argv) ptrs.push_back(a.c_str());
  auto code = ParseArgs(app, static_cast<int>(ptrs.size()), ptrs.data());
  if (duration != nullptr) *duration = d;
  return code.value_or(-1);
}

TEST(ToolFlagsTest, ParseArgsTurnsCli11ExitsIntoZeroOrTwo) {
  std::string d;
  EXPECT_EQ(ParseExit({"--value", "x", "--timeout", "1h30m"}, &d), -1);
  EXPECT_EQ(d, "1h30m");
  EXPECT_EQ(ParseExit({"--help"}), 0);
  EXPECT_EQ(ParseExit({}), 2);                          // required flag missing (CLI11: 106)
  EXPECT_EQ(ParseExit({"--value", "x", "--nope"}), 2);  // unknown flag (CLI11: 109)
  EXPECT_EQ(ParseExit({"--value"}), 2);                 // value missing
  EXPECT_EQ(ParseExit({"--value", "x", "--timeout", "30"}), 2);  // bad value (CLI11: 105)
  EXPECT_EQ(ParseExit({"--value", "x", "--timeout", "-1s"}), 2);
  EXPECT_EQ(ParseExit({"--value", "x", "--" + std::string(100000, 'z')}), 2);
}

TEST(ToolFlagsTest, DurationValidatorSaysWhichUnitToAdd) {
  CLI::Validator v = DurationValidator();
  std::string good = "250ms";
  EXPECT_EQ(v(good), "");
  std::string bare = "30";
  EXPECT_EQ(v(bare), "30 needs a unit, e.g. 30ms or 30s");
  std::string bad = "5min";
  EXPECT_NE(v(bad).find("unknown unit"), std::string::npos);
}

}  // namespace
}  // namespace sluice::cli

namespace sluice::cli {
namespace {

TEST(RedactedCommandLineTest, SecretPropertiesAndFlagsAreRedactedInEveryForm) {
  const std::string line = RedactedCommandLine(
      {"sluice-flood", "burst", "-X", "sasl.password=hunter2", "-Xssl.key.password=pw2",
       "-X=sasl.oauthbearer.client.secret=s3", "-X", "security.protocol=SASL_SSL",
       "--client-secret", "s4", "--api-token=s5", "--events", "100", "-X"});
  for (const char* secret : {"hunter2", "pw2", "s3", "s4", "s5"}) {
    EXPECT_EQ(line.find(secret), std::string::npos) << secret << " in: " << line;
  }
  EXPECT_EQ(line,
            "sluice-flood burst -X sasl.password=<redacted> -Xssl.key.password=<redacted> "
            "-X=sasl.oauthbearer.client.secret=<redacted> -X security.protocol=SASL_SSL "
            "--client-secret <redacted> --api-token=<redacted> --events 100 -X");
}

TEST(RedactedCommandLineTest, NothingSecretIsLeftAsItIs) {
  EXPECT_EQ(RedactedCommandLine({"sluice-flood", "rate", "--rate", "50", "-X", "acks=all"}),
            "sluice-flood rate --rate 50 -X acks=all");
  EXPECT_EQ(RedactedCommandLine({}), "");
}

}  // namespace
}  // namespace sluice::cli

#include "sluice/config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::string kSchema = std::string(SLUICE_CONFIG_TESTDATA) + "/relay.schema.json";

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sluice-config-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Config MustLoad(std::string_view yaml, const LoadOptions& options = {}) {
  auto c = Config::LoadString(yaml, options, "test.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) std::abort();
  return std::move(c).value();
}

Status LoadError(std::string_view yaml, const LoadOptions& options = {}) {
  auto c = Config::LoadString(yaml, options, "test.yaml");
  return c.status();
}

const char kValid[] =
    "kafka:\n"
    "  bootstrap: 127.0.0.1:9092\n"
    "  group_id: sluice-relay\n"
    "  topics: [sf.contact.events, sf.order.events]\n"
    "  properties:\n"
    "    linger.ms: 5\n"
    "    enable.idempotence: true\n"
    "    compression.type: lz4\n"
    "rate:\n"
    "  requests_per_second: 25.5\n"
    "  max_in_flight: 8\n"
    "  window: 20s\n";

// ---- scalars and getters ----

TEST(ConfigTest, PlainScalarsFollowTheYaml12CoreSchema) {
  Config c = MustLoad(
      "i: 42\nneg: -7\nplus: +3\nhex: 0x1f\noct: 0o17\nf: 1.5\nexp: 2e3\nt: true\nT: True\n"
      "f2: FALSE\nn: null\ntilde: ~\nempty:\nyes: yes\non: on\nq: '42'\ndq: \"true\"\n"
      "inf: .inf\nbig: 18446744073709551615\nhuge: 123456789012345678901234567890\n"
      "under: 1_000\nlit: |\n  text\n");
  EXPECT_EQ(c.GetInt("/i").value(), 42);
  EXPECT_EQ(c.GetInt("/neg").value(), -7);
  EXPECT_EQ(c.GetInt("/plus").value(), 3);
  EXPECT_EQ(c.GetInt("/hex").value(), 31);
  EXPECT_EQ(c.GetInt("/oct").value(), 15);
  EXPECT_DOUBLE_EQ(c.GetDouble("/f").value(), 1.5);
  EXPECT_DOUBLE_EQ(c.GetDouble("/exp").value(), 2000.0);
  EXPECT_DOUBLE_EQ(c.GetDouble("/i").value(), 42.0);  // integers are numbers too
  EXPECT_TRUE(c.GetBool("/t").value());
  EXPECT_TRUE(c.GetBool("/T").value());
  EXPECT_FALSE(c.GetBool("/f2").value());
  EXPECT_TRUE(c.Has("/n"));
  EXPECT_EQ(c.GetString("/n").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.GetString("/tilde").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.GetString("/empty").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.GetString("/yes").value(), "yes");  // YAML 1.1 booleans stay strings
  EXPECT_EQ(c.GetString("/on").value(), "on");
  EXPECT_EQ(c.GetString("/q").value(), "42");  // quoted scalars stay strings
  EXPECT_EQ(c.GetString("/dq").value(), "true");
  EXPECT_EQ(c.GetString("/inf").value(), ".inf");  // JSON has no infinity
  EXPECT_EQ(c.GetInt("/big").status().code(), StatusCode::kInvalidArgument);  // beyond int64
  EXPECT_DOUBLE_EQ(c.GetDouble("/big").value(), 18446744073709551615.0);
  EXPECT_GT(c.GetDouble("/huge").value(), 1e29);
  EXPECT_EQ(c.GetString("/under").value(), "1_000");
  EXPECT_EQ(c.GetString("/lit").value(), "text\n");
  EXPECT_EQ(c.GetInt("/f").status().code(), StatusCode::kInvalidArgument);  // 1.5 is no integer
}

TEST(ConfigTest, ExplicitTags) {
  Config c = MustLoad("a: !!str 5\nb: !!int 7\nc: !!float 2\nd: !!bool false\n");
  EXPECT_EQ(c.GetString("/a").value(), "5");
  EXPECT_EQ(c.GetInt("/b").value(), 7);
  EXPECT_DOUBLE_EQ(c.GetDouble("/c").value(), 2.0);
  EXPECT_EQ(c.GetInt("/c").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(c.GetBool("/d").value());

  Status s = LoadError("a: !!int seven\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:1:4: /a: value does not fit its tag !!int"));
  s = LoadError("a: !custom x\n");
  EXPECT_THAT(s.message(), HasSubstr("unsupported tag"));
  s = LoadError("a: !!binary aGVsbG8=\n");
  EXPECT_THAT(s.message(), HasSubstr("unsupported tag"));
}

TEST(ConfigTest, GettersReportMissingWrongTypeAndBadPointers) {
  Config c = MustLoad(kValid);
  EXPECT_EQ(c.GetString("/kafka/bootstrap").value(), "127.0.0.1:9092");
  EXPECT_EQ(c.GetString("/kafka/nope").status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c.GetString("/kafka/nope").status().message(), HasSubstr("/kafka/nope: not set"));

  Status wrong = c.GetString("/rate/max_in_flight").status();
  EXPECT_EQ(wrong.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.message(), "test.yaml:11:3: /rate/max_in_flight: expected string, got integer 8");
  EXPECT_EQ(c.GetInt("/kafka/bootstrap").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.GetBool("/rate/max_in_flight").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c.GetDouble("/kafka/topics").status().code(), StatusCode::kInvalidArgument);

  Status bad = c.GetString("kafka/bootstrap").status();
  EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.message(), HasSubstr("not a JSON pointer"));
  EXPECT_FALSE(c.Has("kafka"));
  EXPECT_TRUE(c.Has(""));
  EXPECT_TRUE(c.Has("/kafka/topics/1"));
  EXPECT_FALSE(c.Has("/kafka/topics/2"));
  EXPECT_EQ(c.GetString("/kafka/topics/1").value(), "sf.order.events");
}

TEST(ConfigTest, FallbacksApplyOnAnyError) {
  Config c = MustLoad(kValid);
  EXPECT_EQ(c.GetString("/missing", "dflt"), "dflt");
  EXPECT_EQ(c.GetString("/rate/max_in_flight", "dflt"), "dflt");  // wrong type
  EXPECT_EQ(c.GetString("/kafka/group_id", "dflt"), "sluice-relay");
  EXPECT_EQ(c.GetInt("/rate/max_in_flight", 1), 8);
  EXPECT_EQ(c.GetInt("/missing", 3), 3);
  EXPECT_DOUBLE_EQ(c.GetDouble("/missing", 0.25), 0.25);
  EXPECT_DOUBLE_EQ(c.GetDouble("/rate/requests_per_second", 0.25), 25.5);
  EXPECT_TRUE(c.GetBool("/missing", true));
  EXPECT_FALSE(c.GetBool("/kafka/properties/enable.idempotence~", false));
  EXPECT_EQ(c.GetDuration("/missing", std::chrono::milliseconds(7)).count(), 7);
}

TEST(ConfigTest, SizeKeysAndStringMap) {
  Config c = MustLoad(kValid);
  EXPECT_EQ(c.Size("/kafka/topics"), 2u);
  EXPECT_EQ(c.Size("/kafka"), 0u);  // not an array
  EXPECT_EQ(c.Size("/absent"), 0u);
  EXPECT_EQ(c.Keys(""), (std::vector<std::string>{"kafka", "rate"}));
  EXPECT_EQ(c.Keys("/kafka"),
            (std::vector<std::string>{"bootstrap", "group_id", "topics", "properties"}));
  EXPECT_EQ(c.Keys("/kafka/properties"),
            (std::vector<std::string>{"linger.ms", "enable.idempotence", "compression.type"}));
  EXPECT_TRUE(c.Keys("/kafka/topics").empty());
  auto props = c.GetStringMap("/kafka/properties");
  EXPECT_EQ(props,
            (std::map<std::string, std::string>{
                {"compression.type", "lz4"}, {"enable.idempotence", "true"}, {"linger.ms", "5"}}));
  Config mixed = MustLoad("m: {a: 1.5, b: null, c: [1], d: {e: 1}, f: x}\n");
  EXPECT_EQ(mixed.GetStringMap("/m"),
            (std::map<std::string, std::string>{{"a", "1.5"}, {"f", "x"}}));
  EXPECT_TRUE(mixed.GetStringMap("/absent").empty());
}

TEST(ConfigTest, KeysWithSlashAndTildeUseEscapedPointers) {
  Config c = MustLoad("\"a/b\": 1\n\"c~d\": 2\n");
  EXPECT_EQ(c.GetInt("/a~1b").value(), 1);
  EXPECT_EQ(c.GetInt("/c~0d").value(), 2);
}

TEST(ConfigTest, ToJsonIsTheMergedDocument) {
  Config c = MustLoad("a: 1\nb: [x, 'y']\nc: {d: null}\n");
  EXPECT_EQ(c.ToJson(), R"({"a":1,"b":["x","y"],"c":{"d":null}})");
}

// ---- durations ----

// The grammar itself is tested in tests/unit/core/duration_test.cc; here, how the loader uses it.
TEST(ConfigTest, GetDurationTakesOnlyDurationsWithAUnit) {
  Config c =
      MustLoad("a: 20s\nb: 1500\nc: -1\nd: fast\ne: 1.5\nf: '250'\ng: '-5'\nh: 1h30m\ni: 0\n");
  EXPECT_EQ(c.GetDuration("/a").value().count(), 20'000);
  EXPECT_EQ(c.GetDuration("/h").value().count(), 5'400'000);
  EXPECT_EQ(c.GetDuration("/i").value().count(), 0);
  for (const char* p : {"/b", "/c", "/d", "/e", "/f", "/g"}) {
    auto r = c.GetDuration(p);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << p;
    EXPECT_THAT(r.status().message(), HasSubstr(p));
  }
  EXPECT_EQ(c.GetDuration("/b").status().message(),
            "test.yaml:2:1: /b: 1500 needs a unit, e.g. 1500ms or 1500s");
  EXPECT_EQ(c.GetDuration("/f").status().message(),
            "test.yaml:6:1: /f: 250 needs a unit, e.g. 250ms or 250s");
  EXPECT_THAT(c.GetDuration("/d").status().message(), HasSubstr("test.yaml:4:1: /d: \"fast\""));
  EXPECT_EQ(c.GetDuration("/zz").status().code(), StatusCode::kNotFound);
}

// ---- schema validation ----

TEST(ConfigSchemaTest, ValidFilePasses) {
  LoadOptions o;
  o.schema_path = kSchema;
  auto c = Config::LoadString(kValid, o, "relay.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetDuration("/rate/window").value().count(), 20'000);
}

TEST(ConfigSchemaTest, WrongTypeNamesFileLineKeyAndValue) {
  LoadOptions o;
  o.schema_path = kSchema;
  std::string yaml = kValid;
  yaml.replace(yaml.find("25.5"), 4, "fast");
  Status s = Config::LoadString(yaml, o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "relay.yaml:10:3: /rate/requests_per_second: expected number, got string \"fast\"");
}

TEST(ConfigSchemaTest, UnknownKeyIsNamed) {
  LoadOptions o;
  o.schema_path = kSchema;
  std::string yaml = std::string(kValid) + "  max_in_flite: 3\n";
  Status s = Config::LoadString(yaml, o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("relay.yaml:13:3: /rate/max_in_flite: unknown key "
                                     "\"max_in_flite\" (allowed: max_in_flight, "
                                     "requests_per_second, window)"));
  s = Config::LoadString(std::string(kValid) + "extra: {a: 1}\n", o, "relay.yaml").status();
  EXPECT_THAT(s.message(), HasSubstr("relay.yaml:13:1: /extra: unknown key \"extra\""));
}

TEST(ConfigSchemaTest, MissingRequiredKeyIsNamed) {
  LoadOptions o;
  o.schema_path = kSchema;
  Status s = Config::LoadString("kafka:\n  group_id: g\nrate: {}\n", o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "relay.yaml:1:1: /kafka/bootstrap: missing required key \"bootstrap\"");
  s = Config::LoadString("kafka: {bootstrap: x}\n", o, "relay.yaml").status();
  EXPECT_THAT(s.message(), HasSubstr("/rate: missing required key \"rate\""));
}

TEST(ConfigSchemaTest, OtherKeywordsHaveReadableMessages) {
  LoadOptions o;
  o.schema_path = kSchema;
  auto msg = [&](const std::string& extra) {
    return Config::LoadString(std::string(kValid) + extra, o, "relay.yaml").status().message();
  };
  EXPECT_THAT(msg("mode: fast\n"),
              HasSubstr("/mode: expected one of \"live\", \"dry-run\", got string \"fast\""));
  std::string yaml = kValid;
  yaml.replace(yaml.find("max_in_flight: 8"), 16, "max_in_flight: 0");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("r.yaml:11:3: /rate/max_in_flight: expected >= 1, got integer 0"));
  yaml = kValid;
  yaml.replace(yaml.find("25.5"), 4, "0");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("/rate/requests_per_second: expected > 0, got integer 0"));
  yaml = kValid;
  yaml.replace(yaml.find("sluice-relay"), 12, "Sluice_Relay");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("/kafka/group_id: string \"Sluice_Relay\" does not match pattern"));
  yaml = kValid;
  yaml.replace(yaml.find("[sf.contact.events, sf.order.events]"), 36, "[]");
  EXPECT_THAT(Config::LoadString(yaml, o, "r.yaml").status().message(),
              HasSubstr("/kafka/topics: expected at least 1 items, got 0"));
}

TEST(ConfigSchemaTest, SecretValuesNeverAppearInErrors) {
  LoadOptions o;
  o.schema_path = kSchema;
  Status s = Config::LoadString(std::string(kValid) + "salesforce: {client_secret: 12345678}\n", o,
                                "relay.yaml")
                 .status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("/salesforce/client_secret: expected string, got integer"));
  EXPECT_THAT(s.message(), Not(HasSubstr("12345678")));
}

TEST(ConfigSchemaTest, MissingOrBrokenSchemaIsAnError) {
  LoadOptions o;
  o.schema_path = "/nonexistent/relay.schema.json";
  EXPECT_EQ(Config::LoadString(kValid, o).status().code(), StatusCode::kNotFound);
  TempDir dir;
  o.schema_path = dir.Write("bad.json", "{not json");
  Status s = Config::LoadString(kValid, o).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("schema is not JSON"));
}

TEST(ConfigSchemaTest, SchemaTextValidatesLikeTheFile) {
  std::ifstream in(kSchema);
  std::stringstream text;
  text << in.rdbuf();
  LoadOptions o;
  o.schema_json = text.str();
  o.schema_name = "relay.schema.json";
  ASSERT_TRUE(Config::LoadString(kValid, o, "relay.yaml").ok());
  std::string yaml = kValid;
  yaml.replace(yaml.find("25.5"), 4, "fast");
  EXPECT_EQ(Config::LoadString(yaml, o, "relay.yaml").status().message(),
            "relay.yaml:10:3: /rate/requests_per_second: expected number, got string \"fast\"");
  o.schema_json = "{not json";
  EXPECT_THAT(Config::LoadString(kValid, o).status().message(), HasSubstr("relay.schema.json"));
  o.schema_json = text.str();
  o.schema_path = kSchema;
  EXPECT_EQ(Config::LoadString(kValid, o).status().code(), StatusCode::kInvalidArgument);
}

// ---- environment overrides ----

TEST(ConfigEnvTest, OverridesExistingAndNewKeys) {
  std::map<std::string, std::string> env = {
      {"SLUICE_RELAY_KAFKA__BOOTSTRAP", "10.0.0.1:9093"},
      {"SLUICE_RELAY_RATE__MAX_IN_FLIGHT", "16"},
      {"SLUICE_RELAY_RATE__WINDOW", "30s"},
      {"SLUICE_RELAY_KAFKA__PROPERTIES__LINGER_MS", "20"},
      {"SLUICE_RELAY_KAFKA__PROPERTIES__ACKS", "all"},
      {"SLUICE_RELAY_KAFKA__TOPICS", "[a, b, c]"},
      {"SLUICE_RELAY_MODE", "dry-run"},
      {"SLUICE_RELAY_SALESFORCE__CLIENT_ID", "abc: def"},
      {"OTHER_KAFKA__BOOTSTRAP", "ignored"},
      {"SLUICE_RELAY_", "ignored: nothing after the prefix"},
  };
  LoadOptions o;
  o.schema_path = kSchema;
  o.env_prefix = "SLUICE_RELAY_";
  o.env = &env;
  auto c = Config::LoadString(kValid, o, "relay.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetString("/kafka/bootstrap").value(), "10.0.0.1:9093");
  EXPECT_EQ(c->GetInt("/rate/max_in_flight").value(), 16);
  EXPECT_EQ(c->GetString("/rate/window").value(), "30s");
  EXPECT_EQ(c->GetInt("/kafka/properties/linger.ms").value(), 20);  // matched "linger.ms"
  EXPECT_FALSE(c->Has("/kafka/properties/linger_ms"));
  EXPECT_EQ(c->GetString("/kafka/properties/acks").value(), "all");
  EXPECT_EQ(c->Size("/kafka/topics"), 3u);
  EXPECT_EQ(c->GetString("/mode").value(), "dry-run");
  EXPECT_EQ(c->GetString("/salesforce/client_id").value(), "abc: def");  // block text stays text
}

TEST(ConfigEnvTest, OverridesAreValidatedAndNamedInErrors) {
  std::map<std::string, std::string> env = {{"SLUICE_RELAY_RATE__REQUESTS_PER_SECOND", "fast"}};
  LoadOptions o;
  o.schema_path = kSchema;
  o.env_prefix = "SLUICE_RELAY_";
  o.env = &env;
  Status s = Config::LoadString(kValid, o, "relay.yaml").status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "relay.yaml: /rate/requests_per_second (env SLUICE_RELAY_RATE__REQUESTS_PER_SECOND): "
            "expected number, got string \"fast\"");
  env = {{"SLUICE_RELAY_RATE__TYPO", "1"}};
  s = Config::LoadString(kValid, o, "relay.yaml").status();
  EXPECT_THAT(s.message(), HasSubstr("/rate/typo (env SLUICE_RELAY_RATE__TYPO): unknown key"));
}

TEST(ConfigEnvTest, MalformedOverridesAreErrors) {
  LoadOptions o;
  o.env_prefix = "APP_";
  for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"APP_A____B", "1"},
           {"APP_A__", "1"},
           {"APP___A", "1"},
           {"APP_A-B", "1"},
           {"APP_NAME__INNER", "1"},               // /name is a string
           {"APP_LIST__5", "1"},                   // index out of range
           {"APP_LIST__X", "1"},                   // not an index
           {"APP_NAME", "[unclosed"},              // flow value that is not YAML
           {"APP_NAME", std::string("a\x01", 2)},  // control character
           {"APP_NAME", "\xff\xfe"},               // invalid UTF-8
       }) {
    std::map<std::string, std::string> env = {{name, value}};
    o.env = &env;
    Status s = Config::LoadString("name: x\nlist: [1, 2]\n", o, "t.yaml").status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name << "=" << value;
    EXPECT_THAT(s.message(), HasSubstr("env " + name)) << s;
  }
}

TEST(ConfigEnvTest, IndexesArraysAndCreatesMappings) {
  std::map<std::string, std::string> env = {{"APP_LIST__1", "9"},
                                            {"APP_NEW__DEEP__KEY", "true"},
                                            {"APP_NULLED__X", "1"},
                                            {"APP_EMPTY", ""}};
  LoadOptions o;
  o.env_prefix = "APP_";
  o.env = &env;
  Config c = MustLoad("list: [1, 2]\nnulled:\nempty: x\n", o);
  EXPECT_EQ(c.GetInt("/list/1").value(), 9);
  EXPECT_TRUE(c.GetBool("/new/deep/key").value());
  EXPECT_EQ(c.GetInt("/nulled/x").value(), 1);
  EXPECT_EQ(c.GetString("/empty").value(), "");
}

TEST(ConfigEnvTest, IgnoredVariablesAreNotOverrides) {
  std::map<std::string, std::string> env = {{"APP_CONFIG", "/etc/app.yaml"}, {"APP_A", "2"}};
  LoadOptions o;
  o.env_prefix = "APP_";
  o.env = &env;
  o.env_ignore = {"APP_CONFIG"};
  Config c = MustLoad("a: 1\n", o);
  EXPECT_EQ(c.GetInt("/a").value(), 2);
  EXPECT_FALSE(c.Has("/config"));
}

TEST(ConfigEnvTest, ReadsTheProcessEnvironmentByDefault) {
  ::setenv("SLUICE_CONFIG_TEST_PROC_A__B", "from-process", 1);
  LoadOptions o;
  o.env_prefix = "SLUICE_CONFIG_TEST_PROC_";
  Config c = MustLoad("a: {b: from-file}\n", o);
  ::unsetenv("SLUICE_CONFIG_TEST_PROC_A__B");
  EXPECT_EQ(c.GetString("/a/b").value(), "from-process");
  // No prefix: no overrides at all.
  Config plain = MustLoad("a: {b: from-file}\n");
  EXPECT_EQ(plain.GetString("/a/b").value(), "from-file");
}

// ---- secrets ----

TEST(ConfigSecretTest, InlineAndFromFile) {
  TempDir dir;
  dir.Write("secret.txt", "  s3cr3t-value\n\n");
  std::string config_path =
      dir.Write("relay.yaml",
                "sf:\n  client_secret_file: secret.txt\n  token: inline-token\n"
                "  abs_file: " +
                    dir.path() + "/secret.txt\n");
  auto c = Config::LoadFile(config_path, {});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->GetSecret("/sf/client_secret").value(), "s3cr3t-value");  // relative to the file
  EXPECT_EQ(c->GetSecret("/sf/abs").value(), "s3cr3t-value");
  EXPECT_EQ(c->GetSecret("/sf/token").value(), "inline-token");
}

TEST(ConfigSecretTest, ErrorsNameTheKeyButNeverTheSecret) {
  TempDir dir;
  dir.Write("empty.txt", " \n\t\n");
  dir.Write("big.txt", std::string(70 * 1024, 'k'));
  std::string path = dir.Write(
      "relay.yaml",
      "both: hunter2\nboth_file: x.txt\nmissing_file: does-not-exist.txt\nempty_file: empty.txt\n"
      "big_file: big.txt\nnumber: 987654321\nblank: ''\nnot_path_file: 5\ndir_file: .\n");
  auto c = Config::LoadFile(path, {});
  ASSERT_TRUE(c.ok()) << c.status();

  Status both = c->GetSecret("/both").status();
  EXPECT_EQ(both.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(both.message(), HasSubstr("set either /both or /both_file, not both"));
  EXPECT_THAT(both.message(), Not(HasSubstr("hunter2")));

  Status missing = c->GetSecret("/missing").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(),
              HasSubstr("relay.yaml:3:1: /missing_file: cannot read secret file"));
  EXPECT_THAT(missing.message(), HasSubstr("does-not-exist.txt"));

  EXPECT_EQ(c->GetSecret("/empty").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c->GetSecret("/empty").status().message(), HasSubstr("is empty"));
  EXPECT_EQ(c->GetSecret("/big").status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c->GetSecret("/big").status().message(), Not(HasSubstr("kkkk")));

  Status number = c->GetSecret("/number").status();
  EXPECT_EQ(number.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(number.message(), Not(HasSubstr("987654321")));
  EXPECT_EQ(c->GetSecret("/blank").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(c->GetSecret("/not_path").status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(c->GetSecret("/dir").ok());
  EXPECT_EQ(c->GetSecret("/nothing").status().code(), StatusCode::kNotFound);
  EXPECT_THAT(c->GetSecret("/nothing").status().message(),
              HasSubstr("set /nothing or /nothing_file"));
}

// Pass-through properties (librdkafka's) read any `<name>_file` key from that file, so the Kafka
// SASL password can live in a mounted secret as the Salesforce secrets do.
TEST(ConfigSecretTest, PropertyMapReadsNameFileKeysFromFiles) {
  TempDir dir;
  dir.Write("kafka-password", "pa55-from-file\n");
  dir.Write("empty", "\n");
  std::string path = dir.Write(
      "relay.yaml",
      "kafka:\n  properties:\n    security.protocol: SASL_SSL\n"
      "    sasl.password_file: kafka-password\n    ssl.key.password_file: " +
          dir.path() +
          "/kafka-password\n    linger.ms: 5\n"
          "bad:\n  both:\n    sasl.password: hunter2\n    sasl.password_file: kafka-password\n"
          "  missing:\n    sasl.password_file: nope\n"
          "  empty:\n    sasl.password_file: empty\n");
  auto c = Config::LoadFile(path, {});
  ASSERT_TRUE(c.ok()) << c.status();
  auto props = c->GetPropertyMap("/kafka/properties");
  ASSERT_TRUE(props.ok()) << props.status();
  EXPECT_EQ(*props, (std::map<std::string, std::string>{{"linger.ms", "5"},
                                                        {"sasl.password", "pa55-from-file"},
                                                        {"security.protocol", "SASL_SSL"},
                                                        {"ssl.key.password", "pa55-from-file"}}));
  EXPECT_TRUE(c->GetPropertyMap("/absent").value().empty());

  Status both = c->GetPropertyMap("/bad/both").status();
  EXPECT_EQ(both.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(both.message(), HasSubstr("relay.yaml:10:5: /bad/both/sasl.password_file: set either "
                                        "sasl.password or sasl.password_file, not both"));
  EXPECT_THAT(both.message(), Not(HasSubstr("hunter2")));
  EXPECT_THAT(both.message(), Not(HasSubstr("pa55")));
  Status missing = c->GetPropertyMap("/bad/missing").status();
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("relay.yaml:12:5: /bad/missing/sasl.password_file: "
                                           "cannot read secret file"));
  Status empty = c->GetPropertyMap("/bad/empty").status();
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(empty.message(), HasSubstr("is empty"));
}

TEST(ConfigSecretTest, RedactedJsonHidesSecretishKeys) {
  Config c = MustLoad(
      "sf: {client_secret: abc123, password: pw9, api_token: tk7, user: me, nested: {privateKey: "
      "k5}}\nlist: [{secret: s1}]\n");
  std::string redacted = c.ToRedactedJson();
  for (const char* secret : {"abc123", "pw9", "tk7", "k5", "s1"}) {
    EXPECT_THAT(redacted, Not(HasSubstr(secret))) << secret;
    EXPECT_THAT(c.ToJson(), HasSubstr(secret));
  }
  EXPECT_THAT(redacted, HasSubstr("\"user\":\"me\""));
  EXPECT_TRUE(IsSecretKeyName("Client_Secret"));
  EXPECT_FALSE(IsSecretKeyName("client_id"));
}

// ---- hostile input ----

TEST(ConfigHostileTest, NotYaml) {
  Status s = LoadError("a: [1, 2\nb: {\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:"));
  EXPECT_THAT(s.message(), HasSubstr("YAML syntax error"));
  EXPECT_EQ(LoadError("x: 1\nkey: \"unterminated").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadError("a: b: c\n").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadError("\t- tab indented\n").code(), StatusCode::kInvalidArgument);
}

TEST(ConfigHostileTest, TopLevelMustBeAMapping) {
  Status s = LoadError("just a string\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("top level must be a mapping of keys, not string"));
  EXPECT_THAT(LoadError("- a\n- b\n").message(), HasSubstr("not array"));
  EXPECT_THAT(LoadError("42\n").message(), HasSubstr("not integer"));
  EXPECT_THAT(LoadError("~\n").message(), HasSubstr("not null"));
}

TEST(ConfigHostileTest, EmptyAndMultipleDocuments) {
  EXPECT_THAT(LoadError("").message(), HasSubstr("no YAML document"));
  EXPECT_THAT(LoadError("# only a comment\n").message(), HasSubstr("no YAML document"));
  Status s = LoadError("a: 1\n---\nb: 2\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than one YAML document"));
}

TEST(ConfigHostileTest, DuplicateKeys) {
  Status s = LoadError("kafka:\n  bootstrap: a\n  group: g\n  bootstrap: b\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "test.yaml:4:3: /kafka/bootstrap: duplicate key \"bootstrap\" (first on line 2)");
  EXPECT_THAT(LoadError("{a: 1, a: 2}").message(), HasSubstr("duplicate key \"a\""));
  // A quoted and a plain spelling of the same key are the same JSON key.
  EXPECT_THAT(LoadError("a: 1\n'a': 2\n").message(), HasSubstr("duplicate key"));
}

TEST(ConfigHostileTest, NonScalarAndNullKeys) {
  EXPECT_THAT(LoadError("? [a, b]\n: 1\n").message(), HasSubstr("keys must be scalars"));
  EXPECT_THAT(LoadError("? {a: b}\n: 1\n").message(), HasSubstr("keys must be scalars"));
  EXPECT_THAT(LoadError("~: 1\n").message(), HasSubstr("key is null"));
  // Scalar keys of any type are JSON strings.
  Config c = MustLoad("1: one\ntrue: yes\n");
  EXPECT_EQ(c.GetString("/1").value(), "one");
  EXPECT_EQ(c.GetString("/true").value(), "yes");
}

TEST(ConfigHostileTest, AliasesWorkWithinLimits) {
  Config c = MustLoad("base: &b {retries: 3, list: [1, 2]}\ncopy: *b\nk: &k name\n*k : 5\n");
  EXPECT_EQ(c.GetInt("/copy/retries").value(), 3);
  EXPECT_EQ(c.Size("/copy/list"), 2u);
  EXPECT_EQ(c.GetInt("/name").value(), 5);
  // Errors inside an alias copy point at the alias.
  auto r = c.GetString("/copy/retries");
  EXPECT_THAT(r.status().message(), HasSubstr("test.yaml:2:1: /copy/retries"));
}

TEST(ConfigHostileTest, BillionLaughsIsCapped) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    yaml += std::string(1, c) + ": &" + std::string(1, c) + " [*" + prev + ", *" + prev + ", *" +
            prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev +
            ", *" + prev + ", *" + prev + "]\n";
  }
  Status s = LoadError(yaml);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than 1000000 values (aliases included)"));
  // A smaller cap bites earlier, on the line that crosses it.
  LoadOptions o;
  o.max_nodes = 100;
  s = LoadError(yaml, o);
  EXPECT_THAT(s.message(), HasSubstr("test.yaml:2:"));
  EXPECT_THAT(s.message(), HasSubstr("/b/"));
}

TEST(ConfigHostileTest, RecursiveAliasIsRejected) {
  Status s = LoadError("a: &a [1, *a]\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(LoadError("a: *undefined\n").code(), StatusCode::kInvalidArgument);
}

TEST(ConfigHostileTest, DeepNestingIsCapped) {
  std::string flow = "a: " + std::string(10'000, '[') + std::string(10'000, ']') + "\n";
  Status s = LoadError(flow);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nested deeper than 64 levels"));

  std::string block;
  for (int i = 0; i < 100; ++i) block += std::string(i * 2, ' ') + "k" + std::to_string(i) + ":\n";
  s = LoadError(block);
  EXPECT_THAT(s.message(), HasSubstr("nested deeper than 64 levels"));

  // 63 levels under the root mapping is fine.
  std::string ok = "a: " + std::string(63, '[') + std::string(63, ']') + "\n";
  EXPECT_TRUE(Config::LoadString(ok, {}).ok());
  // An alias cannot smuggle depth in.
  std::string deep_anchor = "a: &d " + std::string(40, '[') + std::string(40, ']') +
                            "\nb: " + std::string(30, '[') + "*d" + std::string(30, ']') + "\n";
  EXPECT_THAT(LoadError(deep_anchor).message(), HasSubstr("deeper than 64 levels"));
}

TEST(ConfigHostileTest, OversizedInputIsRefusedBeforeParsing) {
  std::string big = "a: " + std::string(20 * 1024 * 1024, 'x') + "\n";
  Status s = LoadError(big);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("more than the 4194304-byte limit"));
  TempDir dir;
  std::string path = dir.Write("big.yaml", big);
  s = Config::LoadFile(path, {}).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(path + ": file is 20971524 bytes, more than the 4194304"));
}

TEST(ConfigHostileTest, BinaryGarbageInvalidUtf8AndControlCharacters) {
  std::string garbage;
  uint32_t x = 12345;
  for (int i = 0; i < 4096; ++i) {
    x = x * 1103515245 + 12345;
    garbage.push_back(static_cast<char>(x >> 16));
  }
  EXPECT_EQ(LoadError(garbage).code(), StatusCode::kInvalidArgument);
  for (const std::string& bad : {
           std::string("a: b\nc: \xff\n"),        // not UTF-8 at all
           std::string("a: \xc0\xaf\n"),          // overlong '/'
           std::string("a: \xed\xa0\x80\n"),      // UTF-16 surrogate
           std::string("a: \xe2\x82\n"),          // truncated sequence
           std::string("a: \xf4\x90\x80\x80\n"),  // beyond U+10FFFF
           std::string("a: x\0y\n", 7),           // NUL
           std::string("a: \x1b[31mred\n"),       // escape sequence
           std::string("a: \x7f\n"),              // DEL
       }) {
    Status s = LoadError(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("test.yaml:")) << s;
  }
  EXPECT_EQ(LoadError("a: b\nc: \xff\n").message(), "test.yaml:2:4: invalid UTF-8 (byte 8)");
  EXPECT_EQ(LoadError(std::string("a: x\0y\n", 7)).message(),
            "test.yaml:1:5: character U+0000 is not allowed in YAML");
  // Valid multi-byte text and a byte order mark are fine.
  Config c = MustLoad("\xEF\xBB\xBFname: \"Zo\xC3\xAB \xF0\x9F\x8C\x8A\"\n");
  EXPECT_EQ(c.GetString("/name").value(), "Zo\xC3\xAB \xF0\x9F\x8C\x8A");
}

TEST(ConfigHostileTest, MissingAndUnreadableFiles) {
  Status s = Config::LoadFile("/nonexistent/dir/relay.yaml", {}).status();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_THAT(s.message(), HasSubstr("/nonexistent/dir/relay.yaml: cannot read"));
  TempDir dir;
  s = Config::LoadFile(dir.path(), {}).status();
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr(dir.path()));
}

TEST(ConfigTest, ConcurrentReadersSeeTheSameValues) {
  Config c = MustLoad(kValid);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Config copy = c;  // copies share the document
      for (int i = 0; i < 2000; ++i) {
        if (copy.GetString("/kafka/bootstrap").value_or("") != "127.0.0.1:9092") ++mismatches[t];
        if (copy.GetInt("/rate/max_in_flight", 0) != 8) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace sluice::config

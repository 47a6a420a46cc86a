// The config loader against hostile input: not YAML, duplicates, alias bombs, deep nesting,
// oversized and binary files.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config_test_util.h"
#include "sluice/config/config.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace testutil;

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

}  // namespace
}  // namespace sluice::config

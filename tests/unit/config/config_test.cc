// The config loader: scalars, getters, durations, concurrent readers.
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

#include "config_test_util.h"

namespace sluice::config {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace testutil;

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

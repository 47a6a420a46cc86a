#include "sluice/core/logging.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace sluice {
namespace {

TEST(JsonEscapeTest, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonEscape("plain"), "plain");
  EXPECT_EQ(JsonEscape("a\"b\\c"), "a\\\"b\\\\c");
  EXPECT_EQ(JsonEscape("x\ny\t\x01"), "x\\ny\\t\\u0001");
}

TEST(LoggingTest, RejectsUnknownLevel) {
  EXPECT_FALSE(SetupLogging("t", LoggingOptions{.level = "loud"}));
}

TEST(LoggingTest, WritesOneJsonObjectPerLine) {
  auto path = std::filesystem::temp_directory_path() /
              ("sluice_log_test_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  ASSERT_TRUE(SetupLogging("svc", LoggingOptions{.level = "info", .sink = path.string()}));
  GetLogger("comp")->info("said \"hi\"\nthen left");
  GetLogger("comp")->debug("not shown");
  GetLogger("comp")->warn("careful");
  spdlog::default_logger()->flush();
  GetLogger("comp")->flush();
  std::ifstream in(path);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line.front(), '{');
  EXPECT_EQ(line.back(), '}');
  EXPECT_NE(line.find(R"("level":"info")"), std::string::npos);
  EXPECT_NE(line.find(R"("logger":"comp")"), std::string::npos);
  EXPECT_NE(line.find(R"("msg":"said \"hi\"\nthen left")"), std::string::npos) << line;
  // Level names are the config's: "warn", as logging.level spells it, not spdlog's "warning".
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_NE(line.find(R"("level":"warn")"), std::string::npos) << line;
  EXPECT_FALSE(std::getline(in, line)) << "debug line leaked: " << line;
  std::filesystem::remove(path);
}

// Sets up logging to a fresh file, runs `log`, and returns the file's lines.
std::vector<std::string> LinesLogged(bool json, const std::function<void()>& log) {
  auto path = std::filesystem::temp_directory_path() /
              ("sluice_log_fields_" + std::to_string(::getpid()) + ".log");
  std::filesystem::remove(path);
  spdlog::drop_all();  // loggers made by earlier tests write to their files
  EXPECT_TRUE(
      SetupLogging("svc", LoggingOptions{.level = "info", .json = json, .sink = path.string()}));
  log();
  spdlog::default_logger()->flush();
  GetLogger("comp")->flush();
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::filesystem::remove(path);
  return lines;
}

rapidjson::Document Parse(const std::string& line) {
  rapidjson::Document doc;
  doc.Parse(line.c_str(), line.size());
  EXPECT_FALSE(doc.HasParseError()) << line;
  EXPECT_TRUE(doc.IsObject()) << line;
  return doc;
}

TEST(LogFieldsTest, TypedFieldsFollowTheMessage) {
  auto lines = LinesLogged(true, [] {
    auto log = GetLogger("comp");
    std::string topic = "orders";
    LogWith(*log, spdlog::level::warn,
            {{"topic", topic},
             {"partition", int32_t{3}},
             {"first_offset", int64_t{-1}},
             {"count", size_t{18446744073709551615u}},
             {"rate", 2.5},
             {"nan", std::nan("")},
             {"retrying", true},
             {"code", "UNABLE_TO_LOCK_ROW"}},
            "commit failed for {} partitions", 2);
    LogWith(*log, spdlog::level::debug, {{"k", "v"}}, "below the level");
    log->info("no fields");
  });
  ASSERT_EQ(lines.size(), 2u);
  auto doc = Parse(lines[0]);
  EXPECT_STREQ(doc["msg"].GetString(), "commit failed for 2 partitions");
  EXPECT_STREQ(doc["level"].GetString(), "warn");
  EXPECT_STREQ(doc["topic"].GetString(), "orders");
  ASSERT_TRUE(doc["partition"].IsInt());
  EXPECT_EQ(doc["partition"].GetInt(), 3);
  EXPECT_EQ(doc["first_offset"].GetInt64(), -1);
  ASSERT_TRUE(doc["count"].IsUint64());
  EXPECT_EQ(doc["count"].GetUint64(), 18446744073709551615u);
  EXPECT_DOUBLE_EQ(doc["rate"].GetDouble(), 2.5);
  EXPECT_TRUE(doc["nan"].IsNull());
  EXPECT_TRUE(doc["retrying"].IsTrue());
  EXPECT_STREQ(doc["code"].GetString(), "UNABLE_TO_LOCK_ROW");
  // A line logged without fields after one with them carries none.
  auto plain = Parse(lines[1]);
  EXPECT_EQ(plain.MemberCount(), 4u) << lines[1];
}

// Values and keys from peers (a broker's error text, a topic name, a Salesforce message) cannot
// break the line, add a member, or shadow the line's own members.
TEST(LogFieldsTest, HostileStringsStayInsideTheirField) {
  const std::string hostile = std::string("x\",\"level\":\"critical\"}\n{\"msg\":\"") + '\0' +
                              "\x01\x7f\xff\xc3(\xed\xa0\x80 \u00e9 end";
  const std::string key_hostile = "k\"ey\n";
  auto lines = LinesLogged(true, [&] {
    LogWith(*GetLogger("comp"), spdlog::level::err,
            {{"error", hostile}, {"msg", "shadow"}, {"level", 1}, {key_hostile, "v"}}, "message {}",
            hostile);
  });
  ASSERT_EQ(lines.size(), 1u) << "a newline in a field split the line";
  auto doc = Parse(lines[0]);
  EXPECT_STREQ(doc["level"].GetString(), "error");
  ASSERT_TRUE(doc.HasMember("error"));
  std::string error(doc["error"].GetString(), doc["error"].GetStringLength());
  const size_t nul = hostile.find('\0');
  EXPECT_EQ(error.substr(0, nul + 1), hostile.substr(0, nul + 1)) << "kept byte for byte";
  EXPECT_NE(error.find(std::string(1, '\0')), std::string::npos) << "NUL kept, escaped";
  EXPECT_NE(error.find("\xef\xbf\xbd"), std::string::npos) << "invalid UTF-8 became U+FFFD";
  EXPECT_NE(error.find("\u00e9 end"), std::string::npos) << "valid UTF-8 kept as is";
  EXPECT_STREQ(doc["_msg"].GetString(), "shadow");
  EXPECT_EQ(doc["_level"].GetInt(), 1);
  EXPECT_STREQ(doc["k\"ey\n"].GetString(), "v");
  std::string msg(doc["msg"].GetString(), doc["msg"].GetStringLength());
  EXPECT_EQ(msg.rfind("message x\",", 0), 0u) << msg;
  EXPECT_EQ(doc.MemberCount(), 8u) << lines[0];
}

TEST(LogFieldsTest, ProcessFieldsAreOnEveryLineAfterTheLinesOwn) {
  auto lines = LinesLogged(true, [] {
    SetProcessLogFields({{"instance", "relay-\"1\""}});
    LogWith(*GetLogger("comp"), spdlog::level::info, {{"topic", "t"}}, "one");
    GetLogger("other")->warn("two");
    SetProcessLogFields({});
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find(R"("topic":"t","instance":"relay-\"1\""})"), std::string::npos)
      << lines[0];
  EXPECT_STREQ(Parse(lines[1])["instance"].GetString(), "relay-\"1\"");
}

TEST(LogFieldsTest, PlainFormatWritesKeyValuePairs) {
  auto lines = LinesLogged(false, [] {
    LogWith(*GetLogger("comp"), spdlog::level::info,
            {{"topic", "orders"}, {"partition", 7}, {"error", "two words\n"}}, "hello");
  });
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find(R"(hello topic=orders partition=7 error="two words\n")"),
            std::string::npos)
      << lines[0];
}

// Many threads asking for the same new loggers at once all get them, and the same one each; a
// second registration used to throw out of a Kafka client's logging thread and abort the process.
TEST(LoggingTest, LoggersCanBeCreatedFromManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kNames = 300;
  std::atomic<int> ready{0};
  std::vector<std::vector<std::shared_ptr<spdlog::logger>>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ready.fetch_add(1);
      while (ready.load() < kThreads) {
      }
      for (int n = 0; n < kNames; ++n) {
        got[t].push_back(GetLogger("race-" + std::to_string(n)));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int n = 0; n < kNames; ++n) {
    for (int t = 0; t < kThreads; ++t) {
      ASSERT_NE(got[t][n], nullptr);
      EXPECT_EQ(got[t][n], got[0][n]) << "race-" << n;
    }
  }
}

}  // namespace
}  // namespace sluice

#include "sluice/core/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

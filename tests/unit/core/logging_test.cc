#include "sluice/core/logging.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

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
  EXPECT_FALSE(std::getline(in, line)) << "debug line leaked: " << line;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sluice

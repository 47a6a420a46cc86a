#include "sluice/flood/progress.h"

#include <gtest/gtest.h>

namespace sluice::flood {
namespace {

TEST(ProgressTest, BarShowsShareAndFigures) {
  RunProgress p{"producing", 1000, 2.5};
  Sample s;
  s.produced = 600;
  s.acked = 500;
  s.backlog = 120;
  const std::string bar = FormatProgressBar(p, s, 10);
  EXPECT_EQ(bar.substr(0, 12), "[#####.....]");
  EXPECT_NE(bar.find(" 50.0%"), std::string::npos) << bar;
  EXPECT_NE(bar.find("produced 600/1000"), std::string::npos) << bar;
  EXPECT_NE(bar.find("backlog 120"), std::string::npos) << bar;
  EXPECT_EQ(bar.find("delivered"), std::string::npos) << bar;
}

TEST(ProgressTest, BarIsClampedForOddInput) {
  RunProgress p{"draining", 0, 1};
  Sample s;
  s.acked = 10;
  EXPECT_EQ(FormatProgressBar(p, s, 4).substr(0, 6), "[....]");
  p.planned = 5;  // more acked than planned
  EXPECT_EQ(FormatProgressBar(p, s, 4).substr(0, 6), "[####]");
  EXPECT_EQ(FormatProgressBar(p, s, -3).substr(0, 3), "[#]");
}

TEST(ProgressTest, LineHasEveryFigureOrADash) {
  RunProgress p{"draining", 100, 12};
  Sample s;
  s.produced = s.acked = 100;
  s.backlog = 0;
  EXPECT_EQ(FormatProgressLine(p, s),
            "t=12.0s phase=draining produced=100/100 acked=100 backlog=0 delivered=- "
            "api_calls=- dlq=- behind_s=0.000");
}

TEST(ProgressTest, ConsoleSinkWritesLinesOrABar) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  {
    auto sink = MakeConsoleProgress(f, /*bar=*/true);
    Sample s;
    sink->OnSample({"producing", 10, 1}, s);
    sink->OnSample({"producing", 10, 2}, s);
    sink->OnMessage("hello");
  }
  std::fclose(f);
  const std::string out(buf, len);
  free(buf);
  EXPECT_EQ(out.front(), '\r');
  EXPECT_NE(out.find("\nhello\n"), std::string::npos) << out;
}

TEST(ProgressTest, LinesComeAtMostOnceASecondAndAtPhaseChanges) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* f = open_memstream(&buf, &len);
  {
    auto sink = MakeConsoleProgress(f, /*bar=*/false);
    Sample s;
    for (double t : {0.0, 0.25, 0.5, 0.75, 1.0, 1.25}) sink->OnSample({"producing", 10, t}, s);
    sink->OnSample({"draining", 10, 1.5}, s);
    sink->OnSample({"draining", 10, 1.75}, s);
    sink->OnSample({"draining", 10, 2.5}, s);
  }
  std::fclose(f);
  const std::string out(buf, len);
  free(buf);
  EXPECT_EQ(out,
            "t=0.0s phase=producing produced=0/10 acked=0 backlog=- delivered=- api_calls=- dlq=- "
            "behind_s=0.000\n"
            "t=1.0s phase=producing produced=0/10 acked=0 backlog=- delivered=- api_calls=- dlq=- "
            "behind_s=0.000\n"
            "t=1.5s phase=draining produced=0/10 acked=0 backlog=- delivered=- api_calls=- dlq=- "
            "behind_s=0.000\n"
            "t=2.5s phase=draining produced=0/10 acked=0 backlog=- delivered=- api_calls=- dlq=- "
            "behind_s=0.000\n");
}

}  // namespace
}  // namespace sluice::flood

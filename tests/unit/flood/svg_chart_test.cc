#include "sluice/flood/svg_chart.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <regex>

namespace sluice::flood {
namespace {

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

// The numbers of a path's "d" attribute, in order (parsed by hand: std::regex recurses per
// character and overflows the stack on a 4,000-point path).
std::vector<double> PathNumbers(const std::string& svg, const std::string& series) {
  const size_t tag = svg.find("data-series=\"" + series + "\"");
  if (tag == std::string::npos) return {};
  const size_t open = svg.rfind("<path d=\"", tag);
  if (open == std::string::npos) return {};
  const size_t begin = open + 9;
  const std::string d = svg.substr(begin, svg.find('"', begin) - begin);
  std::vector<double> out;
  for (size_t i = 0; i < d.size();) {
    if ((d[i] >= '0' && d[i] <= '9') || d[i] == '-') {
      size_t used = 0;
      out.push_back(std::stod(d.substr(i), &used));
      i += used;
    } else {
      ++i;
    }
  }
  return out;
}

TEST(SvgChartTest, NiceTicksCoverTheMaximumWithRoundSteps) {
  EXPECT_EQ(NiceTicks(9.5, 5), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(NiceTicks(4512, 5), (std::vector<double>{0, 1000, 2000, 3000, 4000, 5000}));
  EXPECT_EQ(NiceTicks(0, 5).size(), 6u);  // nothing to show: 0 to 1
  EXPECT_DOUBLE_EQ(NiceTicks(0, 5).back(), 1);
  EXPECT_EQ(NiceTicks(std::numeric_limits<double>::quiet_NaN(), 5).back(), 1);
  EXPECT_LE(NiceTicks(1e300, 5).size(), 40u);
}

TEST(SvgChartTest, ShortNumbers) {
  EXPECT_EQ(ShortNumber(0), "0");
  EXPECT_EQ(ShortNumber(0.25), "0.25");
  EXPECT_EQ(ShortNumber(2.5), "2.5");
  EXPECT_EQ(ShortNumber(1), "1");
  EXPECT_EQ(ShortNumber(1200), "1.2k");
  EXPECT_EQ(ShortNumber(35000), "35k");
  EXPECT_EQ(ShortNumber(1.5e6), "1.5M");
  EXPECT_EQ(ShortNumber(std::numeric_limits<double>::infinity()), "-");
}

TEST(SvgChartTest, LineChartDrawsEverySeriesWithALegend) {
  LineChart c{"t", "seconds", "events", {}};
  c.series.push_back({"produced", {{0, 0}, {1, 100}, {2, 200}}});
  c.series.push_back({"delivered", {{0, 0}, {1, 50}, {2, 200}}, true});
  c.series.push_back({"nothing", {}});
  const std::string svg = SvgLineChart(c);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u) << svg;
  EXPECT_EQ(Count(svg, "class=\"static-series\""), 2);
  EXPECT_NE(svg.find("data-series=\"produced\""), std::string::npos);
  EXPECT_NE(svg.find("data-series=\"delivered\""), std::string::npos);
  EXPECT_EQ(svg.find("data-series=\"nothing\""), std::string::npos);
  EXPECT_NE(svg.find(">seconds</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>t</title>"), std::string::npos);
  // Straight segments: three points; steps: a corner before each new value.
  EXPECT_EQ(PathNumbers(svg, "produced").size(), 6u);
  EXPECT_EQ(PathNumbers(svg, "delivered").size(), 2u + 4u * 2u);
  EXPECT_NE(svg.find("data-series=\"delivered\" data-x-end=\"2\""), std::string::npos);
}

TEST(SvgChartTest, LineChartScalesToTheFrame) {
  LineChart c{"t", "x", "y", {{"s", {{0, 0}, {10, 10}}}}};
  const std::vector<double> d = PathNumbers(SvgLineChart(c), "s");
  ASSERT_EQ(d.size(), 4u);
  // (0, 0) is the bottom-left corner of the plot area, (10, 10) the top right.
  EXPECT_DOUBLE_EQ(d[0], 70);
  EXPECT_DOUBLE_EQ(d[1], 280 - 44);
  EXPECT_DOUBLE_EQ(d[2], 760 - 140);
  EXPECT_DOUBLE_EQ(d[3], 14);
}

TEST(SvgChartTest, NonFiniteValuesAreSkippedNeverDrawn) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  LineChart c{"t", "x", "y", {{"s", {{0, 1}, {1, nan}, {inf, 2}, {2, 3}}}}};
  const std::string svg = SvgLineChart(c);
  EXPECT_EQ(svg.find("nan"), std::string::npos) << svg;
  EXPECT_EQ(svg.find("inf"), std::string::npos) << svg;
  EXPECT_EQ(PathNumbers(svg, "s").size(), 4u);
  LineChart all_bad{"t", "x", "y", {{"s", {{nan, nan}}}}};
  EXPECT_EQ(SvgLineChart(all_bad), "<p class=\"empty\">no data</p>\n");
}

TEST(SvgChartTest, TextIsEscaped) {
  LineChart c{"<script>", "a&b", "\"y\"", {{"<img src=x onerror=alert(1)>", {{0, 1}, {1, 2}}}}};
  const std::string svg = SvgLineChart(c);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_EQ(svg.find("<img"), std::string::npos);
  EXPECT_NE(svg.find("&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a&amp;b"), std::string::npos);
  const std::string bars = SvgBarChart("t", "y", {{"</svg><b>", 1}});
  EXPECT_EQ(bars.find("</svg><b>"), std::string::npos);
}

TEST(SvgChartTest, LongSeriesAreThinned) {
  ChartSeries s{"s", {}};
  for (int i = 0; i < 100000; ++i) s.points.emplace_back(i, i % 7);
  const std::string svg = SvgLineChart({"t", "x", "y", {s}});
  EXPECT_EQ(PathNumbers(svg, "s").size(), 2 * kMaxChartPoints);
  EXPECT_LT(svg.size(), 200000u);
}

TEST(SvgChartTest, BarChartLabelsEachBar) {
  const std::string svg = SvgBarChart("e", "count", {{"missing", 0}, {"duplicates", 12}});
  EXPECT_EQ(Count(svg, "class=\"static-bar\""), 2);
  EXPECT_NE(svg.find("data-bar=\"duplicates\""), std::string::npos);
  EXPECT_NE(svg.find(">12</text>"), std::string::npos);
  EXPECT_EQ(SvgBarChart("e", "count", {}), "<p class=\"empty\">no data</p>\n");
}

TEST(SvgChartTest, HistogramRegroupsOnALogAxisWithMarkers) {
  // 100 events at ~1 ms, 10 at ~100 ms, 1 at ~10 s.
  const std::string svg = SvgHistogram("d", "ms", {{1.0, 100}, {100.0, 10}, {10000.0, 1}},
                                       {{"p50", 1.0}, {"p99", 100}});
  EXPECT_EQ(Count(svg, "class=\"static-bar hist\""), 3);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 2);
  // Decade ticks from 1 ms to 10 s.
  for (const char* tick :
       {">1</text>", ">10</text>", ">100</text>", ">1.0k</text>", ">10k</text>"}) {
    EXPECT_NE(svg.find(tick), std::string::npos) << tick;
  }
  EXPECT_NE(svg.find("<title>100 events between"), std::string::npos);
  EXPECT_EQ(SvgHistogram("d", "ms", {}), "<p class=\"empty\">no deliveries measured</p>\n");
  EXPECT_EQ(SvgHistogram("d", "ms", {{5, 0}}), "<p class=\"empty\">no deliveries measured</p>\n");
  // One bucket only, and zero: still a frame of at least one decade, no NaN.
  const std::string one = SvgHistogram("d", "ms", {{0, 3}});
  EXPECT_EQ(Count(one, "class=\"static-bar hist\""), 1);
  EXPECT_EQ(one.find("nan"), std::string::npos);
}

TEST(SvgChartTest, GroupedBarsSkipWhatARunDidNotMeasure) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::string svg =
      SvgGroupedBarChart("g", "ms", {"run 1", "run 2"}, {{"p50", {10, 20}}, {"p99", {100, nan}}});
  EXPECT_EQ(Count(svg, "class=\"static-bar\""), 3);
  EXPECT_NE(svg.find("data-bar=\"p99 run 1\""), std::string::npos);
  EXPECT_EQ(svg.find("data-bar=\"p99 run 2\""), std::string::npos);
  EXPECT_EQ(SvgGroupedBarChart("g", "ms", {"a"}, {{"p50", {nan}}}),
            "<p class=\"empty\">not measured in any run</p>\n");
}

}  // namespace
}  // namespace sluice::flood

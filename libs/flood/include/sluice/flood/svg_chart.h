// Static SVG charts for sluice-flood's HTML pages (the report and `compare`): drawn here, in C++,
// so a page reads the same with JavaScript disabled, in a mail client, or printed. Every function
// returns one self-contained <svg> element (or a <p class="empty"> saying why there is nothing to
// draw); all text is HTML-escaped; non-finite values are skipped, never drawn as NaN.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::flood {

struct ChartSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y), x ascending
  // Drawn as steps (each y holds until the next x) instead of straight segments: for per-bin
  // rates, where the value belongs to the whole bin.
  bool steps = false;
  bool dashed = false;
};

struct LineChart {
  std::string title;  // the <title> of the SVG (tooltips, screen readers)
  std::string x_label;
  std::string y_label;
  std::vector<ChartSeries> series;
};

// Lines (or steps) over a linear x axis from 0, the y axis from 0. Each path carries
// data-series (its name) and data-x-end (its last x), for tests and scripts. At most
// kMaxChartPoints points per series are drawn (longer series are thinned evenly, keeping the first
// and the last).
std::string SvgLineChart(const LineChart& chart);

inline constexpr size_t kMaxChartPoints = 4000;

struct Bar {
  std::string name;
  double value = 0;
};

// One bar per entry, labelled with its name and value.
std::string SvgBarChart(std::string_view title, std::string_view y_label,
                        const std::vector<Bar>& bars);

// A distribution over a logarithmic x axis: `buckets` are (upper bound, count) pairs of a
// histogram (ascending bounds), regrouped into at most `bins` log-spaced bars. `markers` are
// vertical lines at named values (e.g. p50, p99).
std::string SvgHistogram(std::string_view title, std::string_view x_label,
                         const std::vector<std::pair<double, int64_t>>& buckets,
                         const std::vector<std::pair<std::string, double>>& markers = {},
                         int bins = 40);

// Groups of bars, one group per category and one bar per member (e.g. runs side by side).
struct BarGroup {
  std::string category;
  std::vector<double> values;  // one per member; non-finite: no bar
};
std::string SvgGroupedBarChart(std::string_view title, std::string_view y_label,
                               const std::vector<std::string>& members,
                               const std::vector<BarGroup>& groups);

// Round tick values from 0 to at least `max` (about `n` of them); used for the axes.
std::vector<double> NiceTicks(double max, int n);
// 1.2k, 35k, 1.5M, 0.25 — the axis labels.
std::string ShortNumber(double v);
std::string HtmlEscape(std::string_view in);

}  // namespace sluice::flood

#include "sluice/flood/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace sluice::flood {
namespace {

// The frame: a 760 x 280 view box, room for the y labels on the left and the legend on the right.
constexpr double kW = 760, kH = 280, kL = 70, kR = 140, kT = 14, kB = 44;
constexpr const char* kColors[] = {"#1565c0", "#e65100", "#2e7d32", "#6a1b9a",
                                   "#c62828", "#00838f", "#9e9d24", "#4e342e"};
constexpr size_t kColorCount = sizeof(kColors) / sizeof(kColors[0]);

const char* Color(size_t i) { return kColors[i % kColorCount]; }

std::string Empty(std::string_view why) {
  return fmt::format("<p class=\"empty\">{}</p>\n", HtmlEscape(why));
}

std::string Open(std::string_view title) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {} {}\" class=\"chart-svg "
      "static-chart\" role=\"img\" aria-label=\"{}\"><title>{}</title>\n",
      kW, kH, HtmlEscape(title), HtmlEscape(title));
}

std::string Text(double x, double y, std::string_view s, std::string_view anchor = "start",
                 std::string_view extra = "") {
  return fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"{}\"{}>{}</text>\n", x, y,
                     anchor, extra, HtmlEscape(s));
}

struct Frame {
  double x1 = 1, y1 = 1;  // axis maxima (x from 0, y from 0)
  double X(double v) const { return kL + (kW - kL - kR) * v / x1; }
  double Y(double v) const { return kH - kB - (kH - kT - kB) * v / y1; }
};

// Grid, y tick labels, axes and axis labels. x ticks only when `xticks` is non-empty.
std::string Axes(const Frame& f, const std::vector<double>& yticks,
                 const std::vector<std::pair<double, std::string>>& xticks,
                 std::string_view x_label, std::string_view y_label) {
  std::string out;
  for (double v : yticks) {
    out += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\" class=\"grid\"/>\n", kL,
        kW - kR, f.Y(v), f.Y(v));
    out += Text(kL - 6, f.Y(v) + 4, ShortNumber(v), "end");
  }
  for (const auto& [x, label] : xticks) out += Text(x, kH - kB + 14, label, "middle");
  out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"axis\"/>\n", kL,
                     kW - kR, kH - kB, kH - kB);
  out += fmt::format("<line x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\" class=\"axis\"/>\n", kL, kL, kT,
                     kH - kB);
  out += Text((kL + kW - kR) / 2, kH - 8, x_label, "middle");
  const double mid = (kT + kH - kB) / 2;
  out += Text(14, mid, y_label, "middle", fmt::format(" transform=\"rotate(-90 14 {:.1f})\"", mid));
  return out;
}

std::string Legend(size_t i, std::string_view name, std::string_view color) {
  return fmt::format("<rect x=\"{}\" y=\"{}\" width=\"10\" height=\"10\" fill=\"{}\"/>\n",
                     kW - kR + 10, kT + 16 * static_cast<double>(i), color) +
         Text(kW - kR + 24, kT + 9 + 16 * static_cast<double>(i), name);
}

bool Finite(double x, double y) { return std::isfinite(x) && std::isfinite(y); }

// Evenly thinned to at most kMaxChartPoints, keeping the first and the last point.
std::vector<std::pair<double, double>> Thin(const std::vector<std::pair<double, double>>& in) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& p : in) {
    if (Finite(p.first, p.second)) pts.push_back(p);
  }
  if (pts.size() <= kMaxChartPoints) return pts;
  std::vector<std::pair<double, double>> out;
  const double step =
      static_cast<double>(pts.size() - 1) / static_cast<double>(kMaxChartPoints - 1);
  for (size_t i = 0; i < kMaxChartPoints; ++i) {
    out.push_back(pts[static_cast<size_t>(std::llround(static_cast<double>(i) * step))]);
  }
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::vector<double> NiceTicks(double max, int n) {
  if (!(max > 0) || !std::isfinite(max)) max = 1;
  n = std::clamp(n, 1, 20);
  const double raw = max / n;
  double step = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / step;
  step *= r > 5 ? 10 : r > 2 ? 5 : r > 1 ? 2 : 1;
  std::vector<double> out;
  for (int i = 0; out.size() < 40; ++i) {
    const double v = i * step;
    out.push_back(v);
    if (v >= max) break;
  }
  return out;
}

std::string ShortNumber(double v) {
  if (!std::isfinite(v)) return "-";
  const double a = std::abs(v);
  if (a >= 1e9) return fmt::format("{:.1f}G", v / 1e9);
  if (a >= 1e6) return fmt::format("{:.1f}M", v / 1e6);
  if (a >= 1e4) return fmt::format("{:.0f}k", v / 1e3);
  if (a >= 1e3) return fmt::format("{:.1f}k", v / 1e3);
  if (a >= 10 || v == 0) return fmt::format("{:.0f}", v);
  if (a >= 1) return v == std::floor(v) ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v);
  return fmt::format("{:.2g}", v);
}

std::string SvgLineChart(const LineChart& chart) {
  std::vector<std::pair<const ChartSeries*, std::vector<std::pair<double, double>>>> drawn;
  double xmax = 0, ymax = 0;
  for (const ChartSeries& s : chart.series) {
    auto pts = Thin(s.points);
    if (pts.empty()) continue;
    for (const auto& [x, y] : pts) {
      xmax = std::max(xmax, x);
      ymax = std::max(ymax, y);
    }
    drawn.emplace_back(&s, std::move(pts));
  }
  if (drawn.empty()) return Empty("no data");
  const std::vector<double> xt = NiceTicks(xmax, 8), yt = NiceTicks(ymax, 5);
  Frame f{xt.back(), yt.back()};
  std::vector<std::pair<double, std::string>> xlabels;
  for (double v : xt) xlabels.emplace_back(f.X(v), ShortNumber(v));
  std::string out = Open(chart.title) + Axes(f, yt, xlabels, chart.x_label, chart.y_label);
  for (size_t i = 0; i < drawn.size(); ++i) {
    const auto& [s, pts] = drawn[i];
    std::string d;
    double last_y = 0;
    for (size_t j = 0; j < pts.size(); ++j) {
      const double x = std::max(0.0, pts[j].first), y = std::max(0.0, pts[j].second);
      if (j == 0) {
        d += fmt::format("M{:.1f} {:.1f}", f.X(x), f.Y(y));
      } else if (s->steps) {
        d += fmt::format(" L{:.1f} {:.1f} L{:.1f} {:.1f}", f.X(x), f.Y(last_y), f.X(x), f.Y(y));
      } else {
        d += fmt::format(" L{:.1f} {:.1f}", f.X(x), f.Y(y));
      }
      last_y = y;
    }
    if (pts.size() == 1) {
      // A single point: a dot, so it is visible.
      out += fmt::format(
          "<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\" class=\"static-series\" "
          "data-series=\"{}\"/>\n",
          f.X(std::max(0.0, pts[0].first)), f.Y(std::max(0.0, pts[0].second)), Color(i),
          HtmlEscape(s->name));
    } else {
      out += fmt::format(
          "<path d=\"{}\" class=\"static-series\" fill=\"none\" stroke-width=\"1.8\" "
          "stroke=\"{}\"{} data-series=\"{}\" data-x-end=\"{:g}\"/>\n",
          d, Color(i), s->dashed ? " stroke-dasharray=\"5 3\"" : "", HtmlEscape(s->name),
          pts.back().first);
    }
    out += Legend(i, s->name, Color(i));
  }
  return out + "</svg>\n";
}

std::string SvgBarChart(std::string_view title, std::string_view y_label,
                        const std::vector<Bar>& bars) {
  if (bars.empty()) return Empty("no data");
  double ymax = 0;
  for (const Bar& b : bars) {
    if (std::isfinite(b.value)) ymax = std::max(ymax, b.value);
  }
  const std::vector<double> yt = NiceTicks(ymax, 5);
  Frame f{1, yt.back()};
  std::string out = Open(title) + Axes(f, yt, {}, "", y_label);
  const double slot = (kW - kL - kR) / static_cast<double>(bars.size());
  const double width = std::min(60.0, slot * 0.7);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double v = std::isfinite(b.value) ? std::max(0.0, b.value) : 0;
    const double x = kL + slot * static_cast<double>(i) + (slot - width) / 2, y = f.Y(v);
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
        "class=\"static-bar\" data-bar=\"{}\"/>\n",
        x, y, width, std::max(0.0, kH - kB - y), Color(i), HtmlEscape(b.name));
    out += Text(x + width / 2, kH - kB + 14, b.name, "middle");
    out +=
        Text(x + width / 2, y - 4, std::isfinite(b.value) ? ShortNumber(b.value) : "n/a", "middle");
  }
  return out + "</svg>\n";
}

std::string SvgHistogram(std::string_view title, std::string_view x_label,
                         const std::vector<std::pair<double, int64_t>>& buckets,
                         const std::vector<std::pair<std::string, double>>& markers, int bins) {
  bins = std::clamp(bins, 1, 400);
  double lo = 0, hi = 0;
  int64_t total = 0;
  for (const auto& [le, n] : buckets) {
    if (!std::isfinite(le) || n <= 0) continue;
    const double v = std::max(le, 0.001);  // 1 µs in ms: the smallest bound drawn
    lo = total == 0 ? v : std::min(lo, v);
    hi = std::max(hi, v);
    total += n;
  }
  if (total == 0) return Empty("no deliveries measured");
  // Whole decades around the data, so the tick labels are round.
  const double d0 = std::floor(std::log10(lo)), d1 = std::max(d0 + 1, std::ceil(std::log10(hi)));
  const double span = d1 - d0;
  std::vector<int64_t> counts(static_cast<size_t>(bins), 0);
  for (const auto& [le, n] : buckets) {
    if (!std::isfinite(le) || n <= 0) continue;
    const double pos = (std::log10(std::max(le, 0.001)) - d0) / span;
    const int b = std::clamp(static_cast<int>(pos * bins), 0, bins - 1);
    counts[static_cast<size_t>(b)] += n;
  }
  const int64_t cmax = *std::max_element(counts.begin(), counts.end());
  const std::vector<double> yt = NiceTicks(static_cast<double>(cmax), 5);
  Frame f{1, yt.back()};
  const auto xpos = [&](double log_v) { return kL + (kW - kL - kR) * (log_v - d0) / span; };
  std::vector<std::pair<double, std::string>> xlabels;
  for (double d = d0; d <= d1 + 1e-9; d += 1)
    xlabels.emplace_back(xpos(d), ShortNumber(std::pow(10, d)));
  std::string out = Open(title) + Axes(f, yt, xlabels, x_label, "events");
  const double width = (kW - kL - kR) / bins;
  for (int b = 0; b < bins; ++b) {
    const int64_t n = counts[static_cast<size_t>(b)];
    if (n == 0) continue;
    const double y = f.Y(static_cast<double>(n));
    const double from = std::pow(10, d0 + span * b / bins),
                 to = std::pow(10, d0 + span * (b + 1) / bins);
    out += fmt::format(
        "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
        "class=\"static-bar hist\" data-bar=\"{}-{}\"><title>{} events between {} and "
        "{}</title></rect>\n",
        kL + width * b, y, std::max(1.0, width - 1), std::max(0.0, kH - kB - y), Color(0),
        ShortNumber(from), ShortNumber(to), n, HtmlEscape(ShortNumber(from)),
        HtmlEscape(ShortNumber(to)));
  }
  for (size_t i = 0; i < markers.size(); ++i) {
    const auto& [name, value] = markers[i];
    if (!std::isfinite(value) || value <= 0) continue;
    const double x = std::clamp(xpos(std::log10(value)), kL, kW - kR);
    out += fmt::format(
        "<line x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-dasharray=\"4 "
        "3\" "
        "class=\"marker\" data-marker=\"{}\"/>\n",
        x, x, kT, kH - kB, Color(i + 1), HtmlEscape(name));
    out += Legend(i, fmt::format("{} {} ms", name, ShortNumber(value)), Color(i + 1));
  }
  return out + "</svg>\n";
}

std::string SvgGroupedBarChart(std::string_view title, std::string_view y_label,
                               const std::vector<std::string>& members,
                               const std::vector<BarGroup>& groups) {
  if (groups.empty() || members.empty()) return Empty("no data");
  double ymax = 0;
  bool any = false;
  for (const BarGroup& g : groups) {
    for (double v : g.values) {
      if (std::isfinite(v)) {
        ymax = std::max(ymax, v);
        any = true;
      }
    }
  }
  if (!any) return Empty("not measured in any run");
  const std::vector<double> yt = NiceTicks(ymax, 5);
  Frame f{1, yt.back()};
  std::string out = Open(title) + Axes(f, yt, {}, "", y_label);
  const double slot = (kW - kL - kR) / static_cast<double>(groups.size());
  const double bar = std::min(40.0, slot * 0.8 / static_cast<double>(members.size()));
  for (size_t g = 0; g < groups.size(); ++g) {
    const double x0 =
        kL + slot * static_cast<double>(g) + (slot - bar * static_cast<double>(members.size())) / 2;
    for (size_t m = 0; m < members.size() && m < groups[g].values.size(); ++m) {
      const double v = groups[g].values[m];
      if (!std::isfinite(v)) continue;
      const double y = f.Y(std::max(0.0, v));
      out += fmt::format(
          "<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\" "
          "class=\"static-bar\" data-bar=\"{} {}\"><title>{}: {}</title></rect>\n",
          x0 + bar * static_cast<double>(m), y, std::max(1.0, bar - 1), std::max(0.0, kH - kB - y),
          Color(m), HtmlEscape(groups[g].category), HtmlEscape(members[m]), HtmlEscape(members[m]),
          ShortNumber(v));
    }
    out += Text(kL + slot * (static_cast<double>(g) + 0.5), kH - kB + 14, groups[g].category,
                "middle");
  }
  for (size_t m = 0; m < members.size() && m < 12; ++m) out += Legend(m, members[m], Color(m));
  return out + "</svg>\n";
}

}  // namespace sluice::flood

#include "sluice/flood/progress.h"

#include <fmt/format.h>

#include <algorithm>

namespace sluice::flood {
namespace {

std::string Opt(const std::optional<int64_t>& v) { return v ? std::to_string(*v) : "-"; }

class ConsoleProgress final : public ProgressSink {
 public:
  ConsoleProgress(std::FILE* out, bool bar) : out_(out), bar_(bar) {}
  ~ConsoleProgress() override {
    if (bar_ && drawn_) std::fputc('\n', out_);
  }

  void OnSample(const RunProgress& p, const Sample& s) override {
    if (bar_) {
      const std::string line = FormatProgressBar(p, s);
      // Pad over whatever the previous, possibly longer, line left behind.
      std::fprintf(out_, "\r%s%*s", line.c_str(),
                   static_cast<int>(std::max<size_t>(last_width_, line.size()) - line.size()), "");
      last_width_ = line.size();
      drawn_ = true;
    } else {
      // Samples come every 250 ms by default; a log gets at most one line a second, and one at
      // every phase change.
      if (printed_ && p.phase == last_phase_ && p.elapsed_s < last_line_s_ + kLinePeriodS) return;
      std::fprintf(out_, "%s\n", FormatProgressLine(p, s).c_str());
      printed_ = true;
      last_line_s_ = p.elapsed_s;
      last_phase_ = p.phase;
    }
    std::fflush(out_);
  }

  void OnMessage(const std::string& line) override {
    if (bar_ && drawn_) std::fputc('\n', out_);
    drawn_ = false;
    last_width_ = 0;
    std::fprintf(out_, "%s\n", line.c_str());
    std::fflush(out_);
  }

 private:
  static constexpr double kLinePeriodS = 1.0;
  std::FILE* out_;
  bool bar_;
  bool drawn_ = false;
  size_t last_width_ = 0;
  bool printed_ = false;
  double last_line_s_ = 0;
  std::string last_phase_;
};

class SilentProgress final : public ProgressSink {
 public:
  void OnSample(const RunProgress&, const Sample&) override {}
  void OnMessage(const std::string&) override {}
};

}  // namespace

std::string FormatProgressBar(const RunProgress& p, const Sample& s, int width) {
  width = std::clamp(width, 1, 200);
  const double done =
      p.planned > 0 ? std::clamp(static_cast<double>(s.acked) / p.planned, 0.0, 1.0) : 0.0;
  const int filled = static_cast<int>(done * width);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), '.');
  std::string out = fmt::format("[{}] {:5.1f}% {:>7.1f}s  {}  produced {}/{}  acked {}", bar,
                                done * 100, p.elapsed_s, p.phase, s.produced, p.planned, s.acked);
  if (s.backlog) out += fmt::format("  backlog {}", *s.backlog);
  if (s.delivered) out += fmt::format("  delivered {}", *s.delivered);
  if (s.dlq_records && *s.dlq_records > 0) out += fmt::format("  dlq {}", *s.dlq_records);
  if (s.generator_behind_s > 0.001) out += fmt::format("  behind {:.3f}s", s.generator_behind_s);
  return out;
}

std::string FormatProgressLine(const RunProgress& p, const Sample& s) {
  return fmt::format(
      "t={:.1f}s phase={} produced={}/{} acked={} backlog={} delivered={} api_calls={} dlq={} "
      "behind_s={:.3f}",
      p.elapsed_s, p.phase, s.produced, p.planned, s.acked, Opt(s.backlog), Opt(s.delivered),
      Opt(s.api_calls), Opt(s.dlq_records), s.generator_behind_s);
}

std::unique_ptr<ProgressSink> MakeConsoleProgress(std::FILE* out, bool bar) {
  return std::make_unique<ConsoleProgress>(out, bar);
}

std::unique_ptr<ProgressSink> MakeSilentProgress() { return std::make_unique<SilentProgress>(); }

}  // namespace sluice::flood

// Loads sluice-flood's HTML report in headless Chromium and checks that its script drew the
// charts without a console error. The page is a local file and Chromium runs with networking
// features off; the report itself references nothing outside the file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "sluice/flood/report.h"
#include "sluice/testing/process.h"

namespace sluice::flood {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kStart = 1'767'225'600'000'000'000;
constexpr char kChromium[] = "/usr/bin/chromium";

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "flood-html-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

std::string ReadFile(const fs::path& p) {
  std::ifstream f(p);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

void WriteText(const fs::path& p, const std::string& text) {
  std::ofstream f(p);
  f << text;
}

// A synthetic run: 2,000 events over 20 s, three partitions draining, a few errors.
Report SyntheticReport() {
  Report r;
  r.inputs.mode = "rate";
  r.inputs.topic = "sf.contact.events";
  r.inputs.schedule = "100/s for 20s";
  r.inputs.events = 2000;
  ProducedLog log(0x5eed);
  log.Reserve(2000);
  for (int i = 0; i < 2000; ++i) {
    ProducedEvent e;
    e.intended_ns = i * 10'000'000LL;
    e.key = i % 50;
    e.key_seq = static_cast<uint32_t>(i / 50);
    e.state = ProducedEvent::kAcked;
    e.valid = i % 100 != 0;
    log.Append(e);
  }
  Verifier v(log, {.run_start_unix_ns = kStart});
  for (int i = 0; i < 2000; ++i) {
    if (!log.at(i).valid) {
      v.AddDlqEventId(log.codec().Encode(i));
      continue;
    }
    const int64_t delay_ms = 40 + (i * 37) % 900 + (i > 1500 ? 3000 : 0);
    v.AddLedgerEntry({log.codec().Encode(i), kStart + i * 10'000'000LL + delay_ms * 1'000'000});
  }
  r.verification = v.Finish();
  r.latency = LatencyFromHistogram(r.verification->latency_us);
  r.delivered_per_s = r.verification->delivered_per_bin;
  r.generator.produced = r.generator.acked = 2000;
  r.generator.events_per_s = 100;
  r.api.api_calls = 40;
  r.api.errors_by_code = {{"UNABLE_TO_LOCK_ROW", 12}, {"SERVER_UNAVAILABLE", 3}};
  r.drain.peak_backlog = 600;
  r.drain.drain_time_s = 4.2;
  r.dlq_records = 20;
  for (int t = 0; t <= 25; ++t) {
    Sample s;
    s.t_s = t;
    s.produced = s.acked = std::min(2000, t * 100);
    s.delivered = std::max(0, std::min(1980, (t - 1) * 90));
    const int64_t backlog = std::max<int64_t>(0, s.produced - *s.delivered);
    s.backlog = backlog;
    s.lag = {backlog / 3, backlog / 3, backlog - 2 * (backlog / 3)};
    s.api_calls = t * 2;
    s.errors = t / 2;
    s.dlq_records = std::min(20, t);
    r.samples.push_back(s);
  }
  return r;
}

struct Rendered {
  int exit_code = -1;
  std::string dom;
  std::string log;  // Chromium's stderr, where console messages are logged
};

Rendered Render(const fs::path& html, const fs::path& dir) {
  const fs::path profile = dir / "profile";
  const fs::path log = dir / "chromium.log";
  fs::create_directories(profile);
  auto result = testing::RunCommand(
      {kChromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
       "--disable-background-networking", "--disable-component-update", "--disable-sync",
       "--disable-dev-shm-usage", "--user-data-dir=" + profile.string(), "--enable-logging=stderr",
       "--v=0", "--virtual-time-budget=5000", "--dump-dom", "file://" + html.string()},
      std::chrono::seconds(120), {.env = {"HOME=" + dir.string()}, .stderr_path = log.string()});
  Rendered out;
  if (!result.ok()) {
    out.log = result.status().ToString();
    return out;
  }
  out.exit_code = result->exit_code;
  out.dom = result->out;
  out.log = ReadFile(log);
  return out;
}

// Console messages Chromium logged ("...:INFO:CONSOLE:442] "Uncaught TypeError: ..."). The report's
// script writes nothing to the console, so any message at all is an error here.
std::vector<std::string> ConsoleErrors(const std::string& log) {
  std::vector<std::string> errors;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(":CONSOLE") != std::string::npos) errors.push_back(line);
  }
  return errors;
}

int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) ++n;
  return n;
}

class HtmlReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs::exists(kChromium)) << "Debian's chromium is required (tools/bootstrap)";
  }
  TempDir dir_;
};

TEST_F(HtmlReportTest, ChromiumRendersEveryChartWithoutConsoleErrors) {
  const fs::path html = dir_.path() / "report.html";
  WriteText(html, ReportToHtml(SyntheticReport()));
  const Rendered r = Render(html, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(ConsoleErrors(r.log), std::vector<std::string>{}) << r.log;

  // The script marks what it drew: four charts, and 3 throughput + 5 backlog series lines
  // (3 partitions, the total and the DLQ), 5 latency bars and 6 error bars.
  EXPECT_NE(r.dom.find("data-charts-rendered=\"4\""), std::string::npos) << r.dom.substr(0, 3000);
  EXPECT_EQ(Count(r.dom, "<svg"), 4);
  EXPECT_EQ(Count(r.dom, "class=\"series\""), 8);
  EXPECT_EQ(Count(r.dom, "class=\"bar\""), 5 + 6);
  for (const char* series :
       {"produced", "acked", "delivered", "backlog", "partition 2", "DLQ records"}) {
    EXPECT_NE(r.dom.find(std::string("data-series=\"") + series + "\""), std::string::npos)
        << series;
  }
  for (const char* bar : {"p50", "p99.9", "max", "UNABLE_TO_LOCK_ROW", "missing"}) {
    EXPECT_NE(r.dom.find(std::string("data-bar=\"") + bar + "\""), std::string::npos) << bar;
  }
  // Paths have real coordinates (no NaN from a division by zero).
  EXPECT_EQ(r.dom.find("NaN"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.dom, std::regex("<path d=\"M[0-9.]+ [0-9.]+ L")));
}

TEST_F(HtmlReportTest, AnEmptyRunRendersWithoutErrors) {
  Report empty;
  empty.inputs.mode = "burst";
  const fs::path html = dir_.path() / "empty.html";
  WriteText(html, ReportToHtml(empty));
  const Rendered r = Render(html, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.log;
  EXPECT_EQ(ConsoleErrors(r.log), std::vector<std::string>{}) << r.log;
  // Only the errors chart has something to draw (its zero bars); the others say "no data".
  EXPECT_NE(r.dom.find("data-charts-rendered=\"1\""), std::string::npos);
  EXPECT_GE(Count(r.dom, "class=\"empty\""), 3);
}

// The console check above can fail: a page whose script throws is caught.
TEST_F(HtmlReportTest, ConsoleErrorsAreDetected) {
  std::string html = ReportToHtml(SyntheticReport());
  const size_t at = html.find("'use strict';");
  ASSERT_NE(at, std::string::npos);
  html.insert(at + 13, "\n  null.boom();\n");
  const fs::path file = dir_.path() / "broken.html";
  WriteText(file, html);
  const Rendered r = Render(file, dir_.path());
  ASSERT_EQ(r.exit_code, 0) << r.log;
  const std::vector<std::string> errors = ConsoleErrors(r.log);
  ASSERT_EQ(errors.size(), 1u) << r.log;
  EXPECT_NE(errors[0].find("Uncaught TypeError"), std::string::npos) << errors[0];
  EXPECT_EQ(r.dom.find("data-charts-rendered=\""), std::string::npos);
}

}  // namespace
}  // namespace sluice::flood

// Loads sluice-flood's HTML report in headless Chromium and checks that its script drew the
// charts without a console error. The page is a local file and Chromium runs with networking
// features off; the report itself references nothing outside the file.
#include <fmt/format.h>
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
  r.delivered_per_s = r.verification->delivered_per_second;
  r.delivered_per_bin = r.verification->delivered_per_bin;
  r.latency_series = LatencySeriesFromBins(r.verification->latency_us_per_bin, 1.0);
  RelaySettings settings;
  settings.mode = "idempotency store on, event id field Sluice_Event_Id__c";
  settings.max_records = 200;
  settings.max_in_flight = 20;
  r.relay_settings = settings;
  r.sfsim_latency = SfsimLatencyModel{
      .base_ms = 40, .per_record_ms = 0.5, .tail_median_ms = 0, .tail_sigma = 1, .max_ms = 600000};
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

// `javascript`: false renders the page as a reader with JavaScript off sees it. Headless Chromium
// cannot dump the DOM with scripting disabled (--blink-settings=scriptEnabled=false leaves
// --dump-dom empty: the dump itself runs script), so a copy of the page carries a Content Security
// Policy of script-src 'none', which blocks every script of the page and nothing else.
Rendered Render(fs::path html, const fs::path& dir, bool javascript = true) {
  const fs::path profile = dir / (javascript ? "profile" : "profile-nojs");
  const fs::path log = dir / (javascript ? "chromium.log" : "chromium-nojs.log");
  fs::create_directories(profile);
  fs::remove(log);
  if (!javascript) {
    std::string text = ReadFile(html);
    const size_t head = text.find("<head>");
    if (head == std::string::npos) return {};
    text.insert(head + 6,
                "<meta http-equiv=\"Content-Security-Policy\" content=\"script-src 'none'\">");
    html = dir / ("nojs-" + html.filename().string());
    WriteText(html, text);
  }
  std::vector<std::string> argv = {kChromium,
                                   "--headless",
                                   "--no-sandbox",
                                   "--disable-gpu",
                                   "--disable-quic",
                                   "--no-first-run",
                                   "--disable-background-networking",
                                   "--disable-component-update",
                                   "--disable-sync",
                                   "--disable-dev-shm-usage",
                                   "--user-data-dir=" + profile.string(),
                                   "--enable-logging=stderr",
                                   "--v=0",
                                   "--virtual-time-budget=5000",
                                   "--dump-dom",
                                   "file://" + html.string()};
  auto result = testing::RunCommand(argv, std::chrono::seconds(120),
                                    {.env = {"HOME=" + dir.string()}, .stderr_path = log.string()});
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
  // (3 partitions, the total and the DLQ), 5 latency bars and 7 error bars. The seven static SVG
  // charts are there too; the four the script redrew are hidden.
  EXPECT_NE(r.dom.find("data-charts-rendered=\"4\""), std::string::npos) << r.dom.substr(0, 3000);
  EXPECT_EQ(Count(r.dom, "<svg"), 4 + 7);
  EXPECT_EQ(Count(r.dom, "class=\"series\""), 8);
  EXPECT_EQ(Count(r.dom, "class=\"bar\""), 5 + 7);
  EXPECT_EQ(Count(r.dom, "data-js=\"1\" id=\"static-"), 4);
  EXPECT_EQ(Count(r.dom, "style=\"display: none;\""), 4);
  for (const char* series :
       {"produced", "acked", "delivered", "backlog", "partition 2", "DLQ records"}) {
    EXPECT_NE(r.dom.find(std::string("data-series=\"") + series + "\""), std::string::npos)
        << series;
  }
  for (const char* bar : {"p50", "p99.9", "max", "UNABLE_TO_LOCK_ROW", "missing"}) {
    EXPECT_NE(r.dom.find(std::string("data-bar=\"") + bar + "\""), std::string::npos) << bar;
  }
  // The script's delivered line runs to the end of the last bin with a delivery.
  const Report report = SyntheticReport();
  const std::string end =
      fmt::format("data-x-end=\"{:g}\"",
                  static_cast<double>(report.delivered_per_bin.size()) * report.delivered_bin_s);
  EXPECT_NE(r.dom.find("class=\"series\" stroke=\"#2e7d32\" data-series=\"delivered\" " + end),
            std::string::npos)
      << end;
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

// The console messages of a page whose scripts were blocked: each is the policy refusing one.
int BlockedScripts(const std::vector<std::string>& console) {
  int n = 0;
  for (const std::string& line : console) {
    if (line.find("violates the following Content Security Policy") != std::string::npos) ++n;
  }
  return n;
}

// A reader with JavaScript off sees every chart: the static SVG drawn by sluice-flood, including
// latency percentiles over time and the latency distribution.
TEST_F(HtmlReportTest, ChartsAreReadableWithJavaScriptDisabled) {
  const fs::path html = dir_.path() / "report.html";
  WriteText(html, ReportToHtml(SyntheticReport()));
  const Rendered r = Render(html, dir_.path(), /*javascript=*/false);
  ASSERT_EQ(r.exit_code, 0) << r.log;
  // The one inline script was blocked, and that is the only message.
  const std::vector<std::string> console = ConsoleErrors(r.log);
  EXPECT_EQ(console.size(), 1u) << r.log;
  EXPECT_EQ(BlockedScripts(console), 1) << r.log;
  // The script did not run (this is what proves JavaScript was off) ...
  EXPECT_EQ(r.dom.find("data-charts-rendered=\""), std::string::npos);
  EXPECT_EQ(Count(r.dom, "class=\"series\""), 0);
  EXPECT_EQ(r.dom.find("display: none"), std::string::npos);
  // ... and yet all seven charts are there, with their lines and bars.
  EXPECT_EQ(Count(r.dom, "<svg"), 7);
  for (const char* series : {"produced", "acked", "delivered", "backlog", "partition 2",
                             "DLQ records", "p50", "p90", "p99", "max"}) {
    EXPECT_NE(r.dom.find(std::string("data-series=\"") + series + "\""), std::string::npos)
        << series;
  }
  EXPECT_NE(r.dom.find("id=\"static-latency-time\"><svg"), std::string::npos);
  EXPECT_NE(r.dom.find("id=\"static-latency-distribution\"><svg"), std::string::npos);
  EXPECT_GE(Count(r.dom, "class=\"static-bar hist\""), 3);
  EXPECT_EQ(Count(r.dom, "class=\"marker\""), 4);
  EXPECT_NE(r.dom.find("data-bar=\"dead-lettered\""), std::string::npos);
  EXPECT_NE(r.dom.find("batch size (max_records) 200"), std::string::npos);
  // The static delivered line runs to the end of the last bin with a delivery too.
  const Report report = SyntheticReport();
  EXPECT_NE(r.dom.find(fmt::format(
                "data-series=\"delivered\" data-x-end=\"{:g}\"",
                static_cast<double>(report.delivered_per_bin.size()) * report.delivered_bin_s)),
            std::string::npos);
  EXPECT_EQ(r.dom.find("NaN"), std::string::npos);
  EXPECT_EQ(r.dom.find("nan"), std::string::npos);
  EXPECT_TRUE(std::regex_search(r.dom, std::regex("<path d=\"M[0-9.]+ [0-9.]+ L")));
}

// `sluice-flood compare` (the real binary) writes a page of runs side by side, readable without
// JavaScript; a bad input exits 2 with a message that names it.
TEST_F(HtmlReportTest, ComparePageOfTwoRuns) {
  Report a = SyntheticReport();
  Report b = SyntheticReport();
  b.latency.p99_ms *= 3;
  b.relay_settings->max_in_flight = 50;
  const fs::path ja = dir_.path() / "a.json", jb = dir_.path() / "b.json";
  WriteText(ja, ReportToJson(a));
  WriteText(jb, ReportToJson(b));
  const fs::path page = dir_.path() / "compare.html";
  auto run = testing::RunCommand(
      {testing::BinPath("sluice-flood"), "compare", ja.string(), jb.string(), "-o", page.string()},
      std::chrono::seconds(60));
  ASSERT_TRUE(run.ok()) << run.status();
  ASSERT_EQ(run->exit_code, 0) << run->out;
  EXPECT_NE(run->out.find(page.string()), std::string::npos);

  for (bool javascript : {false, true}) {
    const Rendered r = Render(page, dir_.path(), javascript);
    ASSERT_EQ(r.exit_code, 0) << r.log;
    // The page has no script: nothing to block, nothing logged.
    EXPECT_EQ(ConsoleErrors(r.log), std::vector<std::string>{}) << r.log;
    EXPECT_NE(r.dom.find("data-runs=\"2\""), std::string::npos);
    EXPECT_EQ(Count(r.dom, "<svg"), 4);
    EXPECT_NE(r.dom.find("data-bar=\"p99 run 2\""), std::string::npos);
    EXPECT_NE(r.dom.find("data-series=\"run 1\""), std::string::npos);
    EXPECT_NE(r.dom.find("in flight 50 "), std::string::npos);
    EXPECT_EQ(r.dom.find("NaN"), std::string::npos);
  }

  // A sparse file: 300 MB by its size, no disk used; refused before it is read.
  const fs::path huge = dir_.path() / "huge.json";
  WriteText(huge, "{");
  fs::resize_file(huge, 300'000'000);
  const fs::path bad = dir_.path() / "bad.json";
  WriteText(bad, "{\"schema\": \"sluice.flood.report/v1\"");
  for (const auto& [input, message] : std::vector<std::pair<std::string, std::string>>{
           {(dir_.path() / "missing.json").string(), "missing.json: no such file"},
           {bad.string(), "bad.json: not JSON"},
           {huge.string(), "huge.json: 300000000 bytes, more than the"},
           {dir_.path().string(), "not a regular file"}}) {
    const fs::path err = dir_.path() / "stderr.txt";
    auto failed = testing::RunCommand(
        {testing::BinPath("sluice-flood"), "compare", ja.string(), input, "-o", page.string()},
        std::chrono::seconds(60), {.env = {}, .stderr_path = err.string()});
    ASSERT_TRUE(failed.ok());
    EXPECT_EQ(failed->exit_code, 2) << input;
    EXPECT_NE(ReadFile(err).find(message), std::string::npos) << ReadFile(err);
  }
  auto usage = testing::RunCommand({testing::BinPath("sluice-flood"), "compare", ja.string()},
                                   std::chrono::seconds(60));
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage->exit_code, 2);
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

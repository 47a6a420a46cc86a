#include "sluice/flood/compare.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "sluice/flood/cli.h"
#include "sluice/flood/report.h"

namespace sluice::flood {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "flood-compare-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path path() const { return path_; }

 private:
  fs::path path_;
};

Report SomeRun(double p99_ms, int64_t max_in_flight) {
  Report r;
  r.inputs.mode = "burst";
  r.inputs.topic = "sf.contact.events";
  r.inputs.schedule = "1000 as fast as possible";
  r.generator.produced = r.generator.acked = 1000;
  r.generator.events_per_s = 50000;
  r.drain.drain_time_s = 2.5;
  r.drain.delivered_per_s = 400;
  r.latency.count = 1000;
  r.latency.p50_ms = p99_ms / 4;
  r.latency.p90_ms = p99_ms / 2;
  r.latency.p99_ms = p99_ms;
  r.latency.p999_ms = p99_ms * 1.1;
  r.latency.max_ms = p99_ms * 1.2;
  RelaySettings settings;
  settings.mode = "idempotency store on";
  settings.max_records = 200;
  settings.max_in_flight = max_in_flight;
  r.relay_settings = settings;
  r.delivered_bin_s = 0.25;
  r.delivered_per_bin = {0, 100, 300, 400, 200};
  r.delivered_per_s = {800, 200};
  Sample s;
  s.t_s = 0.25;
  s.backlog = 900;
  r.samples.push_back(s);
  s.t_s = 1.5;
  s.backlog = 0;
  r.samples.push_back(s);
  return r;
}

TEST(CompareTest, OnePageSetsTheRunsSideBySide) {
  auto html = CompareReportsToHtml({{"slow.json", ReportToJson(SomeRun(800, 4))},
                                    {"fast.json", ReportToJson(SomeRun(200, 32))}});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_NE(html->find("data-runs=\"2\""), std::string::npos);
  EXPECT_NE(html->find("slow.json"), std::string::npos);
  EXPECT_NE(html->find("fast.json"), std::string::npos);
  // Settings, rates, latency and outcomes, per run.
  EXPECT_NE(html->find("in flight 4 "), std::string::npos);
  EXPECT_NE(html->find("in flight 32 "), std::string::npos);
  EXPECT_NE(html->find("<td>800.0 ms</td>"), std::string::npos);
  EXPECT_NE(html->find("<td>200.0 ms</td>"), std::string::npos);
  EXPECT_NE(html->find("<td>2.50 s</td>"), std::string::npos);
  EXPECT_NE(html->find("dead-lettered"), std::string::npos);
  // Static charts: grouped bars and one line per run.
  EXPECT_NE(html->find("data-bar=\"p99 run 1\""), std::string::npos);
  EXPECT_NE(html->find("data-bar=\"p99 run 2\""), std::string::npos);
  EXPECT_NE(html->find("data-series=\"run 2\""), std::string::npos);
  // No script, nothing fetched.
  EXPECT_EQ(html->find("<script"), std::string::npos);
  EXPECT_EQ(html->find("https://"), std::string::npos);
}

// A report written before relay_settings, sfsim_latency, delivered_series and latency_series
// existed still compares: those figures show as not recorded.
TEST(CompareTest, OlderReportsWithoutTheNewSectionsCompare) {
  rapidjson::Document doc;
  doc.Parse(ReportToJson(SomeRun(300, 8)).c_str());
  for (const char* key :
       {"relay_settings", "sfsim_latency", "delivered_series", "latency_series"}) {
    ASSERT_TRUE(doc.RemoveMember(key)) << key;
  }
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  doc.Accept(w);
  auto html = CompareReportsToHtml(
      {{"old.json", buf.GetString()}, {"new.json", ReportToJson(SomeRun(200, 8))}});
  ASSERT_TRUE(html.ok()) << html.status();
  EXPECT_NE(html->find("<td>not recorded</td>"), std::string::npos);
  EXPECT_NE(html->find("<td>300.0 ms</td>"), std::string::npos);
  // Run 1's delivered line (from the 1 s delivered_per_s) and its backlog line.
  int lines = 0;
  for (size_t at = html->find("data-series=\"run 1\""); at != std::string::npos;
       at = html->find("data-series=\"run 1\"", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 2);
}

TEST(CompareTest, ReportNamesAreEscaped) {
  auto html = CompareReportsToHtml(
      {{"<b>x</b>.json", ReportToJson(SomeRun(1, 1))}, {"b.json", ReportToJson(SomeRun(1, 1))}});
  ASSERT_TRUE(html.ok());
  EXPECT_EQ(html->find("<b>x</b>"), std::string::npos);
  EXPECT_NE(html->find("&lt;b&gt;x&lt;/b&gt;.json"), std::string::npos);
}

TEST(CompareTest, MalformedReportsAreRefusedByName) {
  const std::string good = ReportToJson(SomeRun(1, 1));
  const auto error = [&](const std::string& text) {
    auto html = CompareReportsToHtml({{"a.json", good}, {"bad.json", text}});
    EXPECT_FALSE(html.ok());
    return html.ok() ? std::string() : html.status().message();
  };
  EXPECT_NE(error("{\"schema\":").find("bad.json: not JSON"), std::string::npos);
  EXPECT_NE(error("").find("bad.json: not JSON"), std::string::npos);
  EXPECT_NE(error("[1,2]").find("bad.json: not a sluice-flood report"), std::string::npos);
  EXPECT_NE(error(R"({"schema":"sluice.flood.plan/v1"})").find("not a sluice-flood report"),
            std::string::npos);
  std::string wrong = good;
  wrong.replace(wrong.find("\"mode\": \"burst\""), 15, "\"mode\": 42");
  EXPECT_NE(error(wrong).find("bad.json: does not match sluice.flood.report/v1 at #/inputs/mode"),
            std::string::npos)
      << error(wrong);
  // Deep nesting is parsed iteratively: an error, not a stack overflow.
  EXPECT_NE(error(std::string(1'000'000, '[')).find("not JSON"), std::string::npos);
  // Well-formed but deeply nested: refused before the (recursive) schema validation walks it.
  std::string deep = good;
  deep.insert(deep.rfind('}'), ", \"x\": " + std::string(200'000, '[') + std::string(200'000, ']'));
  EXPECT_NE(error(deep).find("bad.json: nested more than 32 levels deep"), std::string::npos)
      << error(deep).substr(0, 200);
}

TEST(CompareTest, FilesThatAreMissingHugeOrNotFilesAreRefused) {
  TempDir dir;
  auto missing = ReadReportFile((dir.path() / "nope.json").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.json: no such file"), std::string::npos);
  auto directory = ReadReportFile(dir.path().string());
  ASSERT_FALSE(directory.ok());
  EXPECT_NE(directory.status().message().find("not a regular file"), std::string::npos);
  const std::string big = dir.File("big.json", std::string(2000, ' '));
  auto huge = ReadReportFile(big, 1000);
  ASSERT_FALSE(huge.ok());
  EXPECT_NE(huge.status().message().find("2000 bytes, more than the 1000"), std::string::npos);
  EXPECT_TRUE(ReadReportFile(big, 2000).ok());
}

TEST(CompareTest, RunCompareWritesThePageOrSaysWhyNot) {
  TempDir dir;
  const std::string a = dir.File("a.json", ReportToJson(SomeRun(100, 8)));
  const std::string b = dir.File("b.json", ReportToJson(SomeRun(200, 8)));
  const std::string out = (dir.path() / "page.html").string();
  std::string error;
  EXPECT_EQ(RunCompare({{a, b}, out}, &error), 0) << error;
  EXPECT_TRUE(fs::exists(out));

  EXPECT_EQ(RunCompare({{a, (dir.path() / "gone.json").string()}, out}, &error), 2);
  EXPECT_NE(error.find("gone.json: no such file"), std::string::npos);
  const std::string bad = dir.File("bad.json", "{oops");
  EXPECT_EQ(RunCompare({{a, bad}, out}, &error), 2);
  EXPECT_NE(error.find("not JSON"), std::string::npos);
  EXPECT_EQ(RunCompare({{a, b}, (dir.path() / "no-such-dir" / "page.html").string()}, &error), 3);
}

TEST(CompareTest, CommandLine) {
  auto c = ParseCommandLine({"sluice-flood", "compare", "a.json", "b.json", "-o", "x.html"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, Command::Kind::kCompare);
  EXPECT_EQ(c->compare.reports, (std::vector<std::string>{"a.json", "b.json"}));
  EXPECT_EQ(c->compare.output, "x.html");
  auto d = ParseCommandLine({"sluice-flood", "compare", "a.json", "b.json", "c.json"});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->compare.output, "flood-compare.html");
  EXPECT_EQ(d->compare.reports.size(), 3u);

  auto help = ParseCommandLine({"sluice-flood", "compare", "--help"});
  ASSERT_TRUE(help.ok());
  EXPECT_EQ(help->kind, Command::Kind::kHelp);
  EXPECT_NE(help->help.find("--output"), std::string::npos);

  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"sluice-flood", "compare"},
        {"sluice-flood", "compare", "only-one.json"},
        {"sluice-flood", "compare", "a.json", "b.json", "--bogus"},
        {"sluice-flood", "compare", "a.json", "b.json", "-o"},
        {"sluice-flood", "compare", "a.json", "b.json", "-o", ""}}) {
    auto r = ParseCommandLine(bad);
    EXPECT_FALSE(r.ok()) << bad.back();
    if (!r.ok()) {
      EXPECT_EQ(r.status().message().rfind("compare: ", 0), 0u) << r.status();
    }
  }
  std::vector<std::string> many = {"sluice-flood", "compare"};
  for (int i = 0; i < 21; ++i) many.push_back(std::to_string(i) + ".json");
  EXPECT_FALSE(ParseCommandLine(many).ok());
}

}  // namespace
}  // namespace sluice::flood

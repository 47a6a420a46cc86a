#include "sluice/flood/report.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <fstream>
#include <sstream>

#include "sluice/testing/process.h"

namespace sluice::flood {
namespace {

constexpr int64_t kStart = 1'767'225'600'000'000'000;

std::string ReadFile(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// A report with every section filled from a synthetic run of 50 events, 3 of them invalid.
Report SyntheticReport() {
  Report r;
  r.inputs.mode = "burst";
  r.inputs.topic = "sf.contact.events";
  r.inputs.sobject = "Contact";
  r.inputs.events = 50;
  r.inputs.schedule = "50 in 1s";
  r.inputs.planned_duration_s = 1;
  r.inputs.keys = 5;
  r.inputs.key_distribution = "zipf:1.1";
  r.inputs.payload_sizes = "fixed:512";
  r.inputs.invalid_fraction = 0.06;
  r.inputs.seed = 7;
  r.inputs.run_id = 0xabc;
  r.inputs.assertions = {"missing==0"};
  r.environment.tool_version = "0.1.0";
  r.environment.cpus = 2;

  ProducedLog log(0xabc);
  log.Reserve(50);
  for (int i = 0; i < 50; ++i) {
    log.Append({.intended_ns = i * 20'000'000LL,
                .key = i % 5,
                .key_seq = static_cast<uint32_t>(i / 5),
                .state = ProducedEvent::kAcked,
                .valid = i % 17 != 3});
  }
  Verifier v(log, {.run_start_unix_ns = kStart});
  for (int i = 0; i < 50; ++i) {
    if (!log.at(i).valid) {
      v.AddDlqEventId(log.codec().Encode(i));
    } else if (i != 10) {
      v.AddLedgerEntry({log.codec().Encode(i), kStart + i * 20'000'000LL + (5 + i) * 1'000'000LL});
    }
  }
  v.AddLedgerEntry({log.codec().Encode(11), kStart + 2'000'000'000});  // a duplicate
  r.verification = v.Finish();
  r.latency = LatencyFromHistogram(r.verification->latency_us);
  r.delivered_per_s = r.verification->delivered_per_bin;
  r.generator.produced = 50;
  r.generator.acked = 50;
  r.generator.invalid = 3;
  r.generator.bytes = 50 * 512;
  r.generator.events_per_s = 50;
  r.drain = {.burst_end_s = 1.0,
             .drain_end_s = 3.0,
             .drain_time_s = 2.0,
             .peak_backlog = 40,
             .time_to_first_delivery_s = 0.005,
             .delivered_per_s = 46,
             .drained = true};
  r.api.api_calls = 3;
  r.api.records_per_call = 15.3;
  r.api.errors_by_code = {{"UNABLE_TO_LOCK_ROW", 2}};
  r.dlq_records = 3;
  for (int t = 0; t <= 4; ++t) {
    Sample s;
    s.t_s = t;
    s.produced = std::min(50, t * 50);
    s.acked = s.produced;
    s.delivered = std::min<int64_t>(46, t * 20);
    s.backlog = t == 0 ? 0 : std::max<int64_t>(0, 50 - t * 20);
    s.lag = {*s.backlog / 2, *s.backlog - *s.backlog / 2};
    s.api_calls = t;
    s.errors = t > 1 ? 2 : 0;
    s.dlq_records = t > 1 ? 3 : 0;
    r.samples.push_back(s);
  }
  r.delivered_bin_s = 0.25;
  r.delivered_per_bin = {10, 20, 16};
  r.latency_series = LatencySeriesFromBins(r.verification->latency_us_per_bin, 1.0);
  RelaySettings settings;
  settings.mode = "idempotency store on, event id field Sluice_Event_Id__c";
  settings.max_records = 200;
  settings.max_in_flight = 20;
  settings.requests_per_second = 100;
  settings.in_flight_limit = 10;
  r.relay_settings = settings;
  r.sfsim_latency = SfsimLatencyModel{
      .base_ms = 40, .per_record_ms = 0.5, .tail_median_ms = 0, .tail_sigma = 1, .max_ms = 600000};
  r.environment.librdkafka_version = "2.0.2";
  r.environment.command_line = "sluice-flood -X sasl.password=<redacted> burst --events 50";
  r.thresholds = EvaluateThresholds({*ParseThreshold("missing==0", FigureNames())}, Figures(r));
  r.notes = {"synthetic"};
  return r;
}

TEST(ReportTest, JsonMatchesTheSchema) {
  const std::string schema_text = ReadFile(testing::SourcePath("schemas/flood-report.schema.json"));
  rapidjson::Document schema_doc;
  schema_doc.Parse(schema_text.c_str());
  ASSERT_FALSE(schema_doc.HasParseError());
  rapidjson::SchemaDocument schema(schema_doc);

  Report minimal;
  minimal.inputs.mode = "rate";
  for (const Report& r : {SyntheticReport(), minimal}) {
    const std::string json = ReportToJson(r);
    rapidjson::Document doc;
    doc.Parse(json.c_str());
    ASSERT_FALSE(doc.HasParseError()) << rapidjson::GetParseError_En(doc.GetParseError());
    rapidjson::SchemaValidator validator(schema);
    if (!doc.Accept(validator)) {
      rapidjson::StringBuffer where, what;
      validator.GetInvalidSchemaPointer().StringifyUriFragment(where);
      validator.GetInvalidDocumentPointer().StringifyUriFragment(what);
      FAIL() << "schema " << where.GetString() << " keyword " << validator.GetInvalidSchemaKeyword()
             << " at " << what.GetString() << "\n"
             << json.substr(0, 2000);
    }
  }
}

TEST(ReportTest, SchemaRejectsAWrongReport) {
  // Proves the validation above can fail.
  const std::string schema_text = ReadFile(testing::SourcePath("schemas/flood-report.schema.json"));
  rapidjson::Document schema_doc;
  schema_doc.Parse(schema_text.c_str());
  rapidjson::SchemaDocument schema(schema_doc);
  std::string json = ReportToJson(SyntheticReport());
  json.replace(json.find("sluice.flood.report/v1"), 22, "sluice.flood.report/v9");
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  rapidjson::SchemaValidator validator(schema);
  EXPECT_FALSE(doc.Accept(validator));
}

TEST(ReportTest, JsonCarriesTheFigures) {
  const Report r = SyntheticReport();
  rapidjson::Document doc;
  doc.Parse(ReportToJson(r).c_str());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["schema"].GetString(), "sluice.flood.report/v1");
  EXPECT_EQ(doc["verification"]["missing"].GetInt64(), 1);
  EXPECT_EQ(doc["verification"]["duplicates"].GetInt64(), 1);
  EXPECT_EQ(doc["verification"]["invalid_in_dlq"].GetInt64(), 3);
  EXPECT_EQ(doc["series"].Size(), 5u);
  EXPECT_DOUBLE_EQ(doc["drain"]["drain_time_s"].GetDouble(), 2.0);
  EXPECT_FALSE(doc["passed"].GetBool());  // missing==0 failed: one event is missing
  EXPECT_STREQ(doc["inputs"]["run_id"].GetString(), "000000000abc");
  EXPECT_GT(doc["latency"]["buckets"].Size(), 0u);
}

TEST(ReportTest, FiguresCoverEveryName) {
  const auto figures = Figures(SyntheticReport());
  for (const std::string& name : FigureNames()) {
    EXPECT_EQ(figures.count(name), 1u) << name;
  }
  EXPECT_EQ(figures.size(), FigureNames().size());
  EXPECT_EQ(figures.at("missing"), 1.0);
  EXPECT_EQ(figures.at("drain_time_s"), 2.0);
  // Without a ledger nothing about delivery is measured.
  const auto unverified = Figures(Report{});
  EXPECT_FALSE(unverified.at("missing").has_value());
  EXPECT_FALSE(unverified.at("latency_p99_ms").has_value());
}

TEST(ReportTest, CsvHasOneRowPerSampleAndPerPartitionLag) {
  const std::string csv = ReportToCsv(SyntheticReport());
  std::istringstream in(csv);
  std::string header, line;
  std::getline(in, header);
  EXPECT_EQ(header,
            "t_s,produced,acked,delivered,backlog,api_calls,errors,dlq_records,generator_behind_s,"
            "produced_per_s,delivered_per_s,lag_p0,lag_p1");
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), ','), 12) << line;
  }
  EXPECT_EQ(rows, 5);
  EXPECT_NE(csv.find("\n1.000,50,50,20,30,1,0,0,0.000000,50.000,20.000,15,15\n"), std::string::npos)
      << csv;
}

TEST(ReportTest, HtmlIsSelfContainedAndEscapesHostileText) {
  Report r = SyntheticReport();
  r.inputs.topic = "</script><script>alert(1)</script><!--";
  r.notes.push_back("@@DATA@@ <b>bold</b>");
  const std::string html = ReportToHtml(r);
  EXPECT_EQ(html.find("<script>alert(1)"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold"), std::string::npos);
  EXPECT_NE(html.find("&lt;/script&gt;"), std::string::npos);
  // Exactly two script elements: the data and the chart script.
  size_t scripts = 0;
  for (size_t p = html.find("</script>"); p != std::string::npos;
       p = html.find("</script>", p + 1)) {
    ++scripts;
  }
  EXPECT_EQ(scripts, 2u);
  // No network: nothing is fetched from anywhere.
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  // The embedded data is the report itself.
  const size_t begin = html.find("type=\"application/json\">") + 24;
  const size_t end = html.find("</script>", begin);
  rapidjson::Document doc;
  doc.Parse(html.substr(begin, end - begin).c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["inputs"]["topic"].GetString(), r.inputs.topic.c_str());
}

TEST(ReportTest, JsonCarriesSettingsAndSeries) {
  rapidjson::Document doc;
  doc.Parse(ReportToJson(SyntheticReport()).c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_EQ(doc["delivered_series"]["bin_s"].GetDouble(), 0.25);
  EXPECT_EQ(doc["delivered_series"]["counts"].Size(), 3u);
  EXPECT_EQ(doc["relay_settings"]["max_records"].GetInt(), 200);
  EXPECT_TRUE(doc["relay_settings"]["linger_ms"].IsNull());
  EXPECT_STREQ(doc["relay_settings"]["mode"].GetString(),
               "idempotency store on, event id field Sluice_Event_Id__c");
  EXPECT_EQ(doc["sfsim_latency"]["base_ms"].GetDouble(), 40);
  EXPECT_STREQ(doc["environment"]["librdkafka_version"].GetString(), "2.0.2");
  // The synthetic deliveries span ~1 s: the latency series has a point per 1 s bin.
  const auto& points = doc["latency_series"]["points"];
  ASSERT_GE(points.Size(), 1u);
  int64_t counted = 0;
  for (const auto& p : points.GetArray()) {
    counted += p["count"].GetInt64();
    EXPECT_LE(p["p50_ms"].GetDouble(), p["p99_ms"].GetDouble());
    EXPECT_LE(p["p99_ms"].GetDouble(), p["max_ms"].GetDouble());
  }
  EXPECT_EQ(counted, doc["latency"]["count"].GetInt64());
  // Absent when not read.
  Report bare;
  doc.Parse(ReportToJson(bare).c_str());
  EXPECT_TRUE(doc["relay_settings"].IsNull());
  EXPECT_TRUE(doc["sfsim_latency"].IsNull());
}

TEST(ReportTest, HtmlHasStaticChartsThatNeedNoScript) {
  const std::string html = ReportToHtml(SyntheticReport());
  for (const char* id :
       {"static-throughput", "static-cumulative", "static-backlog", "static-latency-time",
        "static-latency-distribution", "static-latency", "static-errors"}) {
    const size_t at = html.find(std::string("id=\"") + id + "\">");
    ASSERT_NE(at, std::string::npos) << id;
    EXPECT_EQ(html.compare(at + std::string(id).size() + 6, 4, "<svg"), 0) << id;
  }
  for (const char* series : {"produced", "acked", "delivered", "backlog", "p50", "p99", "max"}) {
    EXPECT_NE(html.find(std::string("class=\"static-series\" fill=\"none\"")), std::string::npos);
    EXPECT_NE(html.find(std::string("data-series=\"") + series + "\""), std::string::npos)
        << series;
  }
  EXPECT_NE(html.find("class=\"static-bar hist\""), std::string::npos);
  EXPECT_NE(html.find("data-bar=\"dead-lettered\""), std::string::npos);
  EXPECT_NE(html.find("batch size (max_records) 200"), std::string::npos);
  EXPECT_NE(html.find("base 40 ms + 0.5 ms per record"), std::string::npos);
  EXPECT_NE(html.find("librdkafka 2.0.2"), std::string::npos);
  EXPECT_NE(html.find("sasl.password=&lt;redacted&gt;"), std::string::npos);
  EXPECT_EQ(html.find("nan"), std::string::npos);
}

// The first sample comes a little after the start; the charts still begin at 0, so what was
// produced before the first sample is drawn.
TEST(ReportTest, ChartsStartAtTheRunStart) {
  Report r;
  for (double t : {0.5, 1.0}) {
    Sample s;
    s.t_s = t;
    s.produced = s.acked = static_cast<int64_t>(t * 1000);
    r.samples.push_back(s);
  }
  const std::string html = ReportToHtml(r);
  for (const char* series : {"produced", "acked"}) {
    int found = 0;
    for (size_t at = html.find(std::string("data-series=\"") + series + "\"");
         at != std::string::npos;
         at = html.find(std::string("data-series=\"") + series + "\"", at + 1)) {
      const size_t path = html.rfind("<path d=\"", at);
      ASSERT_NE(path, std::string::npos);
      // x = 70 is t = 0, the left edge of the plot area.
      EXPECT_EQ(html.compare(path + 9, 6, "M70.0 "), 0) << html.substr(path, 80);
      ++found;
    }
    EXPECT_EQ(found, 2) << series;  // the rate chart and the cumulative chart
  }
  EXPECT_NE(ReportToHtml(Report{}).find("id=\"static-cumulative\"><p class=\"empty\">"),
            std::string::npos);
}

// The delivered line runs to the end of the last bin in which anything was delivered, not to its
// middle: a 2.75 s drain in 250 ms bins ends at 2.75 s.
TEST(ReportTest, TheDeliveredLineRunsToTheEndOfTheDrain) {
  Report r;
  r.delivered_bin_s = 0.25;
  r.delivered_per_bin = {2193, 2400, 2600, 4400, 2400, 2954, 1542, 1069, 311, 105, 26};
  Sample s;
  s.t_s = 3;
  r.samples.push_back(s);
  const std::string html = ReportToHtml(r);
  // Twice: the rate steps and the cumulative line.
  const std::string end = "data-series=\"delivered\" data-x-end=\"2.75\"";
  const size_t first = html.find(end);
  ASSERT_NE(first, std::string::npos) << html.substr(html.find("static-throughput"), 3000);
  EXPECT_NE(html.find(end, first + 1), std::string::npos);
}

TEST(ReportTest, UrlCredentialsAreRedacted) {
  EXPECT_EQ(RedactUrlCredentials("http://user:hunter2@127.0.0.1:8443/sim"),
            "http://<redacted>@127.0.0.1:8443/sim");
  EXPECT_EQ(RedactUrlCredentials("sluice-flood --sfsim https://a:b@h:1 --relay-metrics "
                                 "http://h:2/metrics -X sasl.password=<redacted>"),
            "sluice-flood --sfsim https://<redacted>@h:1 --relay-metrics http://h:2/metrics -X "
            "sasl.password=<redacted>");
  EXPECT_EQ(RedactUrlCredentials("the relay's /metrics at http://x:y@h/m did not answer"),
            "the relay's /metrics at http://<redacted>@h/m did not answer");
  EXPECT_EQ(RedactUrlCredentials("no url here, an @ sign"), "no url here, an @ sign");
  EXPECT_EQ(RedactUrlCredentials("http://h/a@b"), "http://h/a@b");  // '@' in the path
  EXPECT_EQ(RedactUrlCredentials("://@"), "://<redacted>@");
  EXPECT_EQ(RedactUrlCredentials(""), "");
}

TEST(ReportTest, DeadLetteredEventsAreNotCalledMissing) {
  ProducedLog log(0xdd);
  log.Reserve(3);
  for (int i = 0; i < 3; ++i) log.Append({.key = i, .state = ProducedEvent::kAcked});
  Verifier v(log, {.run_start_unix_ns = kStart});
  v.AddLedgerEntry({log.codec().Encode(0), kStart + 1'000'000});
  v.AddDlqEventId(log.codec().Encode(1));
  v.AddDlqEventId(log.codec().Encode(2));
  Report r;
  r.verification = v.Finish();
  const std::string s = ReportSummary(r);
  EXPECT_NE(s.find("delivered 1/3, dead-lettered 2, missing 0,"), std::string::npos) << s;
  EXPECT_NE(ReportToHtml(r).find("dead-lettered 2 · missing 0"), std::string::npos);
}

TEST(ReportTest, SummaryNamesTheVerdicts) {
  const std::string s = ReportSummary(SyntheticReport());
  EXPECT_NE(s.find("drain time    2.00 s"), std::string::npos) << s;
  EXPECT_NE(s.find("missing 1, duplicates 1"), std::string::npos) << s;
  // The three invalid events went to the DLQ; no valid one did.
  EXPECT_NE(s.find("dead-lettered 0, missing 1"), std::string::npos) << s;
  EXPECT_NE(s.find("missing==0: 1 (fail)"), std::string::npos) << s;
}

}  // namespace
}  // namespace sluice::flood

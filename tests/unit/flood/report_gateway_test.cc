// The report's gateway section (sluice-flood --via): JSON against the schema, CSV columns, HTML
// rows and the time-to-202 percentiles.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>

#include <fstream>
#include <sstream>

#include "sluice/flood/report.h"
#include "sluice/testing/process.h"

namespace sluice::flood {
namespace {

// A --via report: 3 samples, 12 requests (10 answered 202, one 429 retried, one 503 retried).
Report ViaReport() {
  Report r;
  r.inputs.mode = "rate";
  r.inputs.topic = "sf.contact.events";
  for (int i = 0; i < 3; ++i) {
    Sample s;
    s.t_s = i + 1;
    s.produced = s.acked = 100 * (i + 1);
    s.gateway_requests = 4 * (i + 1);
    s.gateway_202 = 3 * (i + 1) + (i == 2 ? 1 : 0);
    s.gateway_429 = i >= 1 ? 1 : 0;
    s.gateway_503 = i >= 2 ? 1 : 0;
    r.samples.push_back(s);
  }
  GatewayFigures g;
  g.url = "http://127.0.0.1:8088";
  g.requests = 12;
  g.retries = 2;
  g.events_accepted = 1000;
  g.statuses = {{202, 10}, {429, 1}, {503, 1}};
  g.time_to_202_from = "intended";
  std::vector<GatewayAnswerTimes> times;
  for (int i = 1; i <= 10; ++i) times.push_back({0, i * 1'000'000LL});  // 1..10 ms
  g.time_to_202 = GatewayTimeTo202(times);
  r.gateway = g;
  return r;
}

TEST(ReportGatewayTest, TimeTo202PercentilesComeFromTheAnswers) {
  std::vector<GatewayAnswerTimes> times;
  for (int i = 1; i <= 100; ++i)
    times.push_back({1'000'000'000LL, 1'000'000'000LL + i * 1'000'000LL});
  times.push_back({5'000'000'000LL, 4'000'000'000LL});  // answered "before" its start: counts 0
  const LatencyFigures f = GatewayTimeTo202(times);
  EXPECT_EQ(f.count, 101);
  EXPECT_NEAR(f.p50_ms, 50.0, 0.5);
  EXPECT_NEAR(f.p99_ms, 99.0, 0.5);
  EXPECT_NEAR(f.max_ms, 100.0, 0.5);
  EXPECT_EQ(GatewayTimeTo202({}).count, 0);
}

TEST(ReportGatewayTest, JsonHoldsTheGatewayFiguresAndMatchesTheSchema) {
  std::ifstream f(testing::SourcePath("schemas/flood-report.schema.json"));
  std::stringstream text;
  text << f.rdbuf();
  rapidjson::Document schema_doc;
  schema_doc.Parse(text.str().c_str());
  ASSERT_FALSE(schema_doc.HasParseError());
  rapidjson::SchemaDocument schema(schema_doc);

  const std::string json = ReportToJson(ViaReport());
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  rapidjson::SchemaValidator validator(schema);
  if (!doc.Accept(validator)) {
    rapidjson::StringBuffer where, what;
    validator.GetInvalidSchemaPointer().StringifyUriFragment(where);
    validator.GetInvalidDocumentPointer().StringifyUriFragment(what);
    FAIL() << "schema " << where.GetString() << " keyword " << validator.GetInvalidSchemaKeyword()
           << " at " << what.GetString();
  }
  const auto& g = doc["gateway"];
  EXPECT_STREQ(g["url"].GetString(), "http://127.0.0.1:8088");
  EXPECT_EQ(g["requests"].GetInt64(), 12);
  EXPECT_EQ(g["retries"].GetInt64(), 2);
  EXPECT_EQ(g["events_accepted"].GetInt64(), 1000);
  EXPECT_EQ(g["accepted_202"].GetInt64(), 10);
  EXPECT_EQ(g["throttled_429"].GetInt64(), 1);
  EXPECT_EQ(g["unavailable_503"].GetInt64(), 1);
  EXPECT_EQ(g["no_answer"].GetInt64(), 0);
  EXPECT_EQ(g["statuses"]["429"].GetInt64(), 1);
  EXPECT_STREQ(g["time_to_202_from"].GetString(), "intended");
  EXPECT_EQ(g["time_to_202"]["count"].GetInt64(), 10);
  EXPECT_NEAR(g["time_to_202"]["p99_ms"].GetDouble(), 10.0, 0.1);

  // The schema holds the section to its shape: a wrong "time_to_202_from" is refused.
  std::string wrong = json;
  wrong.replace(wrong.find("\"intended\""), 10, "\"guessed\"");
  rapidjson::Document bad;
  bad.Parse(wrong.c_str());
  rapidjson::SchemaValidator again(schema);
  EXPECT_FALSE(bad.Accept(again));

  // The direct path has no gateway section.
  Report direct = ViaReport();
  direct.gateway.reset();
  rapidjson::Document d;
  d.Parse(ReportToJson(direct).c_str());
  EXPECT_TRUE(d["gateway"].IsNull());
}

TEST(ReportGatewayTest, CsvHasGatewayColumnsOnlyThroughTheGateway) {
  const std::string csv = ReportToCsv(ViaReport());
  std::istringstream in(csv);
  std::string header;
  std::getline(in, header);
  EXPECT_EQ(header,
            "t_s,produced,acked,delivered,backlog,api_calls,errors,dlq_records,generator_behind_s,"
            "produced_per_s,delivered_per_s,gateway_requests,gateway_202,gateway_429,gateway_503");
  EXPECT_NE(csv.find("\n3.000,300,300,,,,,,0.000000,100.000,,12,10,1,1\n"), std::string::npos)
      << csv;
  Report direct = ViaReport();
  for (Sample& s : direct.samples) s.gateway_requests.reset();
  EXPECT_EQ(ReportToCsv(direct).find("gateway_"), std::string::npos);
}

TEST(ReportGatewayTest, HtmlAndSummaryNameTheGatewayFigures) {
  const Report r = ViaReport();
  const std::string html = ReportToHtml(r);
  EXPECT_NE(html.find("through sluice-gateway"), std::string::npos);
  EXPECT_NE(html.find("202 10 · 429 1 · 503 1"), std::string::npos);
  EXPECT_NE(html.find("time to 202 (intended send → 202)"), std::string::npos);
  const std::string summary = ReportSummary(r);
  EXPECT_NE(summary.find("gateway       12 requests: 202 10, 429 1, 503 1"), std::string::npos)
      << summary;
  EXPECT_EQ(ReportSummary(Report{}).find("gateway"), std::string::npos);
}

}  // namespace
}  // namespace sluice::flood

// Bulk API 2.0 CSV: what a job uploads for hostile field values, and how result files read back.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sluice/csv/csv.h"
#include "sluice/salesforce/bulk.h"

namespace sluice::salesforce {
namespace {

// The upload parsed back as Salesforce would: header and rows.
csv::CsvTable Parse(const BulkCsv& out) {
  auto t = csv::ParseCsv(out.text, {});
  EXPECT_TRUE(t.ok()) << t.status() << "\n" << out.text;
  return t.ok() ? *t : csv::CsvTable{};
}

TEST(BulkCsvTest, EveryFieldIsOneCellOfOneRowWhateverItHolds) {
  const std::string two_mb(2 << 20, 'x');
  const std::string big = R"({"LastName":")" + two_mb + R"("})";
  std::vector<BulkRecord> records = {
      {R"j({"LastName":"=HYPERLINK(\"http://x\")","Title":"+1-2"})j", "e1"},
      {R"j({"LastName":"a,b\n\"quoted\"\r\nend","Title":"@SUM(A1)"})j", "e2"},
      {R"({"LastName":"Ng","Email":null,"HasOptedOut":true,"Score__c":12.5})", "e3"},
      {R"({"LastName":"Lin","Account":{"Ext__c":"A-1"}})", "e4"},
      {big, "e5"},
  };
  // A value of exactly the limit, in 3-byte characters, is one cell.
  std::string at_limit;
  for (int i = 0; i < 131072; ++i) at_limit += "\xe2\x82\xac";
  const std::string limit_json = R"({"LastName":")" + at_limit + R"("})";
  std::vector<BulkRecord> limit = {{limit_json, "e1"}};
  const BulkCsv at = EncodeBulkCsv(limit, "K", 4 << 20);
  EXPECT_TRUE(at.rejected.empty());
  csv::CsvOptions options;
  options.max_field_bytes = 131072 * 4;
  auto parsed = csv::ParseCsv(at.text, options);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->rows.at(0).at(1), at_limit);
  const BulkCsv out = EncodeBulkCsv(records, "Sluice_Event_Id__c", 4 << 20);
  // The 2 MB value is over Salesforce's 131,072 characters: that record alone is refused.
  ASSERT_EQ(out.rejected.size(), 1u);
  EXPECT_NE(out.rejected.at(4).message.find("131072 characters"), std::string::npos);
  ASSERT_EQ(out.rows, (std::vector<size_t>{0, 1, 2, 3}));
  const csv::CsvTable t = Parse(out);
  EXPECT_EQ(t.header, (std::vector<std::string>{"Sluice_Event_Id__c", "Account.Ext__c", "Email",
                                                "HasOptedOut", "LastName", "Score__c", "Title"}));
  ASSERT_EQ(t.rows.size(), 4u) << "no value may split into extra rows";
  EXPECT_EQ(t.rows[0][4], "=HYPERLINK(\"http://x\")");  // stored as text, never evaluated
  EXPECT_EQ(t.rows[0][6], "+1-2");
  EXPECT_EQ(t.rows[1][4], "a,b\n\"quoted\"\r\nend");
  EXPECT_EQ(t.rows[1][6], "@SUM(A1)");
  EXPECT_EQ(t.rows[2][2], "#N/A") << "null sets the field to null";
  EXPECT_EQ(t.rows[2][3], "true");
  EXPECT_EQ(t.rows[2][5], "12.5");
  EXPECT_EQ(t.rows[2][1], "") << "an absent field leaves the field alone";
  EXPECT_EQ(t.rows[3][1], "A-1");
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(t.rows[i][0], "e" + std::to_string(i + 1));
}

TEST(BulkCsvTest, HostileRecordsAreRejectedOneByOne) {
  const std::string bad_utf8 = std::string(R"({"LastName":"a)") + "\xff\xfe" + R"("})";
  std::vector<BulkRecord> records = {
      {R"({"LastName":"ok"})", "e1"},
      {bad_utf8, "e2"},
      {R"(not json)", "e3"},
      {R"([1,2])", "e4"},
      {R"({"Tags":["a"]})", "e5"},
      {R"({"Account":{"Owner":{"Ext__c":"x"}}})", "e6"},
      {R"({"Sluice_Event_Id__c":"forged"})", "e7"},
      {R"({"bad name":"x"})", "e8"},
      {R"({"LastName":"dup"})", "e1"},
      {R"({"LastName":"no key"})", ""},
      {R"({"LastName":"fine"})", "e9"},
  };
  const BulkCsv out = EncodeBulkCsv(records, "Sluice_Event_Id__c");
  EXPECT_EQ(out.rows, (std::vector<size_t>{0, 10}));
  EXPECT_EQ(out.rejected.size(), 9u);
  for (const auto& [i, e] : out.rejected) {
    EXPECT_EQ(e.code, "INVALID_RECORD_INPUT") << i;
    EXPECT_EQ(e.error_class, ErrorClass::kPermanent) << i;
  }
  EXPECT_NE(out.rejected.at(1).message.find("UTF-8"), std::string::npos);
  EXPECT_NE(out.rejected.at(6).message.find("key column"), std::string::npos);
  EXPECT_NE(out.rejected.at(8).message.find("twice"), std::string::npos);
  EXPECT_EQ(Parse(out).rows.size(), 2u);
  // Over the record bound.
  std::vector<BulkRecord> big = {{R"({"LastName":"0123456789"})", "e1"}};
  EXPECT_EQ(EncodeBulkCsv(big, "K", 10).rejected.size(), 1u);
  // Nothing accepted: no upload at all.
  EXPECT_TRUE(EncodeBulkCsv(big, "K", 10).text.empty());
}

TEST(BulkCsvTest, ResultFilesMapBackByColumn) {
  auto ok = ParseBulkResults(
      "\"sf__Id\",\"sf__Created\",\"Sluice_Event_Id__c\",\"LastName\"\n"
      "\"003000000000001AAA\",\"true\",\"e1\",\"a,b\nc\"\n"
      "\"003000000000002AAA\",\"false\",\"e2\",\"Ng\"\n");
  ASSERT_TRUE(ok.ok()) << ok.status();
  ASSERT_EQ(ok->size(), 2u);
  EXPECT_EQ((*ok)[0].id, "003000000000001AAA");
  EXPECT_TRUE((*ok)[0].created);
  EXPECT_EQ((*ok)[0].fields.at("Sluice_Event_Id__c"), "e1");
  EXPECT_EQ((*ok)[0].fields.at("LastName"), "a,b\nc");
  EXPECT_FALSE((*ok)[1].created);
  auto failed = ParseBulkResults(
      "\"sf__Id\",\"sf__Error\",\"Sluice_Event_Id__c\"\n"
      "\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName "
      "--\",\"e3\"\n");
  ASSERT_TRUE(failed.ok());
  EXPECT_EQ((*failed)[0].error.rfind("REQUIRED_FIELD_MISSING:", 0), 0u);
  EXPECT_TRUE(ParseBulkResults("").ok());
  for (const char* bad : {"\"a\",\"b\"\n\"1\"\n", "\"unterminated\n", "a\"b\n"}) {
    EXPECT_FALSE(ParseBulkResults(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace sluice::salesforce

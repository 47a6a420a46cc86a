// Output formats and stats: printable, valid JSON, no terminal escapes from hostile records.
#include "sluice/dlq/format.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "sluice/dlq/stats.h"
#include "test_records.h"

namespace sluice::dlq {
namespace {

using testing::DlqSpec;
using testing::MakeDlqMessage;

bool ValidUtf8(const std::string& s) { return envelope::SanitizeUtf8(s, s.size() + 1) == s; }

kafka::Message Hostile() {
  kafka::Message m = MakeDlqMessage({});
  m.key =
      "\x1b]0;owned\x07\xc2\x9b"
      "31m\xe2\x80\xae"
      "evil\xff";
  m.value = "not json \x1b[2J\xff";
  m.headers.emplace_back("x-\x1b[1m", "\x00\x1b[31m\xfe");
  return m;
}

TEST(PrintableTest, EscapesControlsAndBidiAndFixesUtf8) {
  EXPECT_EQ(Printable("a\nb\tc\x1b[0m"), "a\\nb\\tc\\x1b[0m");
  EXPECT_EQ(Printable("\xc2\x9b"), "\\x9b");  // C1 CSI
  EXPECT_EQ(Printable("\xe2\x80\xae"
                      "abc"),
            "\\u202eabc");                             // right-to-left override
  EXPECT_EQ(Printable("\xff"), "\xEF\xBF\xBD");        // invalid byte -> U+FFFD
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");  // valid UTF-8 kept
  const std::string cut = Printable(std::string(1000, 'x'), 10);
  EXPECT_LE(cut.size(), 13u);
  EXPECT_EQ(cut.substr(cut.size() - 3), "...");
}

TEST(FormatTimeTest, Rfc3339) {
  EXPECT_EQ(FormatTime(1763700000123), "2025-11-21T04:40:00.123Z");
  EXPECT_EQ(FormatTime(-1), "-");
}

TEST(ListLineTest, NamesTheRecord) {
  DlqSpec spec;
  spec.partition = 2;
  spec.offset = 17;
  const std::string line = FormatListLine(Inspect(MakeDlqMessage(spec)));
  EXPECT_EQ(line.rfind("2/17  2025-11-21T04:40:00.000Z  permanent/REQUIRED_FIELD_MISSING  "
                       "sf.contact.events  Contact  key=K-1",
                       0),
            0u)
      << line;
}

TEST(ListLineTest, HostileRecordCannotReachTheTerminal) {
  DlqRecord r = Inspect(Hostile());
  for (const std::string& out : {FormatListLine(r), FormatShow(r)}) {
    EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
    EXPECT_EQ(out.find('\x07'), std::string::npos);
    EXPECT_EQ(out.find("\xc2\x9b"), std::string::npos);
    EXPECT_EQ(out.find("\xe2\x80\xae"), std::string::npos);
    EXPECT_TRUE(ValidUtf8(out));
  }
}

TEST(JsonTest, ListAndShowAreValidJsonEvenForHostileRecords) {
  for (const kafka::Message& m : {MakeDlqMessage({}), Hostile()}) {
    DlqRecord r = Inspect(m);
    for (const std::string& json : {ListJson(r), ShowJson(r)}) {
      EXPECT_TRUE(ValidUtf8(json));
      rapidjson::Document doc;
      doc.Parse(json.c_str(), json.size());
      ASSERT_FALSE(doc.HasParseError()) << json;
      EXPECT_EQ(doc["partition"].GetInt(), 0);
      EXPECT_TRUE(doc["warnings"].IsArray());
    }
  }
  rapidjson::Document doc;
  const std::string json = ShowJson(Inspect(MakeDlqMessage({})));
  doc.Parse(json.c_str());
  EXPECT_STREQ(doc["error_code"].GetString(), "REQUIRED_FIELD_MISSING");
  EXPECT_TRUE(doc["envelope_error"].IsNull());
  EXPECT_TRUE(doc["headers"].IsArray());
  EXPECT_STREQ(doc["headers"][0][0].GetString(), "trace-id");
}

TEST(ShowTest, PrettyPrintsTheEnvelopeAndEveryHeader) {
  DlqRecord r = Inspect(MakeDlqMessage({}));
  const std::string out = FormatShow(r);
  EXPECT_NE(out.find("envelope      valid: upsert Contact"), std::string::npos) << out;
  EXPECT_NE(out.find("\n  \"sobject\": \"Contact\""), std::string::npos) << out;
  for (const auto& [name, value] : r.headers) {
    EXPECT_NE(out.find("  " + name + ": "), std::string::npos) << name;
  }
}

TEST(ShowTest, InvalidEnvelopeShowsTheVerdictAndRawText) {
  kafka::Message m = MakeDlqMessage({});
  m.value = "{\"event_id\": 5";
  const std::string out = FormatShow(Inspect(m));
  EXPECT_NE(out.find("envelope      invalid:"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"event_id\": 5"), std::string::npos);
}

TEST(StatsTest, CountsByClassCodeTopicAndSObject) {
  DlqStats s;
  DlqSpec a;
  a.last_attempt_ms = 3000;
  s.Add(Inspect(MakeDlqMessage(a)));
  a.offset = 1;
  a.last_attempt_ms = 1000;
  s.Add(Inspect(MakeDlqMessage(a)));
  DlqSpec b;
  b.partition = 1;
  b.offset = 9;
  b.error_class = "retry_exhausted";
  b.error_code = "UNABLE_TO_LOCK_ROW";
  b.sobject = "Account";
  b.source_topic = "sf.account.events";
  b.last_attempt_ms = 5000;
  s.Add(Inspect(MakeDlqMessage(b)));
  kafka::Message junk;
  junk.value = "\xff";
  junk.timestamp_ms = -1;
  s.Add(Inspect(junk));

  EXPECT_EQ(s.total, 4);
  EXPECT_EQ(s.not_dlq, 1);
  EXPECT_EQ(s.with_warnings, 1);
  EXPECT_EQ(s.by_class["permanent"], 2);
  EXPECT_EQ(s.by_class["retry_exhausted"], 1);
  EXPECT_EQ(s.by_class[""], 1);
  EXPECT_EQ((s.by_class_code[{"permanent", "REQUIRED_FIELD_MISSING"}]), 2);
  EXPECT_EQ(s.by_source_topic["sf.account.events"], 1);
  EXPECT_EQ(s.by_sobject["Contact"], 2);
  EXPECT_EQ(s.oldest.failed_at_ms, 1000);
  EXPECT_EQ(s.oldest.offset, 1);
  EXPECT_EQ(s.newest.failed_at_ms, 5000);
  EXPECT_EQ(s.newest.partition, 1);

  const std::string table = FormatStatsTable(s, "sf.contact.events.dlq");
  EXPECT_NE(table.find("records       4"), std::string::npos) << table;
  EXPECT_NE(table.find("permanent / REQUIRED_FIELD_MISSING"), std::string::npos) << table;
  EXPECT_NE(table.find("(none)"), std::string::npos);
  // Largest first.
  EXPECT_LT(table.find("  permanent "), table.find("  retry_exhausted "));

  const std::string json = StatsToJson(s, "sf.contact.events.dlq");
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError()) << json;
  EXPECT_EQ(doc["total"].GetInt(), 4);
  EXPECT_EQ(doc["by_class"]["permanent"].GetInt(), 2);
  EXPECT_EQ(doc["by_class_code"][0]["count"].GetInt(), 2);
  EXPECT_EQ(doc["oldest"]["failed_at_ms"].GetInt64(), 1000);
}

TEST(StatsTest, EmptyTopic) {
  DlqStats s;
  rapidjson::Document doc;
  const std::string json = StatsToJson(s, "t");
  doc.Parse(json.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_TRUE(doc["oldest"].IsNull());
  EXPECT_NE(FormatStatsTable(s, "t").find("records       0"), std::string::npos);
}

}  // namespace
}  // namespace sluice::dlq

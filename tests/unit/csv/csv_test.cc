// The Bulk API CSV reader and writer: RFC 4180 quoting, line endings, and hostile, malformed and
// oversized input.
#include "sluice/csv/csv.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::csv {
namespace {

CsvTable MustParse(std::string_view text, const CsvOptions& o = {}) {
  auto t = ParseCsv(text, o);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : CsvTable{};
}

std::string ErrorOf(std::string_view text, const CsvOptions& o = {}) {
  auto t = ParseCsv(text, o);
  EXPECT_FALSE(t.ok()) << "parsed: " << text;
  return t.ok() ? "" : t.status().message();
}

TEST(CsvTest, QuotedFieldsKeepCommasNewlinesAndQuotes) {
  auto t = MustParse("A,B,C\n\"x,y\",\"line1\nline2\",\"say \"\"hi\"\"\"\nplain,,\"\"\n");
  ASSERT_EQ(t.header, (std::vector<std::string>{"A", "B", "C"}));
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"x,y", "line1\nline2", "say \"hi\""}));
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"plain", "", ""}));
}

TEST(CsvTest, Utf8AndBomAndNoFinalNewline) {
  auto t = MustParse("\xEF\xBB\xBFName\nJos\xC3\xA9 \xF0\x9F\x98\x80");
  EXPECT_EQ(t.header[0], "Name");
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0][0], "Jos\xC3\xA9 \xF0\x9F\x98\x80");
}

TEST(CsvTest, CrlfWhenDeclaredAndCrInsideQuotes) {
  CsvOptions o;
  o.line_ending = CsvLineEnding::kCrlf;
  auto t = MustParse("A,B\r\n1,\"two\r\nlines\"\r\n3,4\r\n", o);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0][1], "two\r\nlines");
  EXPECT_EQ(t.rows[1], (std::vector<std::string>{"3", "4"}));
}

TEST(CsvTest, LineEndingMustMatchTheJob) {
  EXPECT_NE(ErrorOf("A,B\r\n1,2\r\n").find("lineEnding is LF"), std::string::npos);
  CsvOptions o;
  o.line_ending = CsvLineEnding::kCrlf;
  EXPECT_NE(ErrorOf("A,B\n1,2\n", o).find("lineEnding is CRLF"), std::string::npos);
  // A bare CR is never a row end.
  EXPECT_NE(ErrorOf("A,B\r1,2\r\n", o).find("CR"), std::string::npos);
}

TEST(CsvTest, OtherDelimiters) {
  CsvOptions o;
  o.delimiter = '|';
  auto t = MustParse("A|B\n\"a|b\"|c,d\n", o);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"a|b", "c,d"}));
  o.delimiter = '\t';
  t = MustParse("A\tB\n1\t2\n", o);
  EXPECT_EQ(t.rows[0], (std::vector<std::string>{"1", "2"}));
}

TEST(CsvTest, MalformedInputIsRefusedWithTheRow) {
  EXPECT_NE(ErrorOf("A,B\n1,\"open\n").find("not closed"), std::string::npos);
  EXPECT_NE(ErrorOf("A,B\n1,\"x\"y\n").find("row 2: text after the closing quote"),
            std::string::npos);
  EXPECT_NE(ErrorOf("A,B\n1,x\"y\n").find("quote inside an unquoted field"), std::string::npos);
  EXPECT_NE(ErrorOf("A,B\n1,2\n3\n").find("row 3: has 1 fields, the header has 2"),
            std::string::npos);
  EXPECT_NE(ErrorOf("A,B\n1,2,3\n").find("has 3 fields"), std::string::npos);
  EXPECT_NE(ErrorOf("A,,B\n1,2,3\n").find("column 2 has no name"), std::string::npos);
  EXPECT_NE(ErrorOf("A,B,A\n1,2,3\n").find("column A appears twice"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("empty"), std::string::npos);
  // A blank line between rows is a row with too few fields, never silently dropped.
  EXPECT_NE(ErrorOf("A,B\n1,2\n\n3,4\n").find("row 3"), std::string::npos);
}

TEST(CsvTest, InvalidUtf8IsRefused) {
  EXPECT_NE(ErrorOf("A\n\xff\n").find("not valid UTF-8"), std::string::npos);
  EXPECT_NE(ErrorOf("A\n\xC0\xAF\n").find("UTF-8"), std::string::npos);      // overlong '/'
  EXPECT_NE(ErrorOf("A\n\xED\xA0\x80\n").find("UTF-8"), std::string::npos);  // a surrogate
  EXPECT_NE(ErrorOf("A\nab\xE2\x82").find("UTF-8"), std::string::npos);      // cut short
}

TEST(CsvTest, OversizedFieldsAndHeadersAreRefused) {
  CsvOptions o;
  o.max_field_bytes = 1000;
  std::string big(2 * 1000 * 1000, 'x');  // a 2 MB field, quoted and unquoted
  EXPECT_NE(ErrorOf("A\n" + big + "\n", o).find("longer than 1000 bytes"), std::string::npos);
  EXPECT_NE(ErrorOf("A\n\"" + big + "\"\n", o).find("longer than 1000 bytes"), std::string::npos);
  // Under the default limit a 2 MB field is refused too (Salesforce's 131,072 characters).
  EXPECT_NE(ErrorOf("A\n" + big + "\n").find("longer than"), std::string::npos);
  o.max_columns = 3;
  EXPECT_NE(ErrorOf("A,B,C,D\n1,2,3,4\n", o).find("more than 3 columns"), std::string::npos);
}

TEST(CsvTest, HostileValuesStayOneField) {
  // Formula-looking values, embedded quotes and newlines: one field each, round-tripped by CsvRow.
  std::vector<std::string> fields = {
      "=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "a\nb\r\nc", "\"", ""};
  std::string text = CsvRow({"1", "2", "3", "4", "5", "6", "7"}, ',', CsvLineEnding::kLf) +
                     CsvRow(fields, ',', CsvLineEnding::kLf);
  auto t = MustParse(text);
  ASSERT_EQ(t.rows.size(), 1u);
  EXPECT_EQ(t.rows[0], fields);
  EXPECT_EQ(CsvRow({"a\"b", "c"}, ';', CsvLineEnding::kCrlf), "\"a\"\"b\";\"c\"\r\n");
}

}  // namespace
}  // namespace sluice::csv

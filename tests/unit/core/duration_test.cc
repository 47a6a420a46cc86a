// The one duration grammar: what it accepts, and how it refuses malformed, hostile and oversized
// text.
#include "sluice/core/duration.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

using std::chrono::milliseconds;

// The error message for `text`, or "<ok>".
std::string Error(std::string_view text) {
  auto d = ParseDuration(text);
  return d.ok() ? "<ok>" : d.status().message();
}

void ExpectErrorContains(std::string_view text, std::string_view needle) {
  std::string message = Error(text);
  EXPECT_NE(message.find(needle), std::string::npos)
      << "for \"" << text << "\": " << message << " (wanted \"" << needle << "\")";
}

TEST(ParseDurationTest, EachUnitWrittenOut) {
  EXPECT_EQ(*ParseDuration("250ms"), milliseconds(250));
  EXPECT_EQ(*ParseDuration("30s"), milliseconds(30'000));
  EXPECT_EQ(*ParseDuration("5m"), milliseconds(300'000));
  EXPECT_EQ(*ParseDuration("2h"), milliseconds(7'200'000));
  EXPECT_EQ(*ParseDuration("7d"), milliseconds(7 * 86'400'000LL));
  EXPECT_EQ(*ParseDuration("0ms"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("0s"), milliseconds(0));
  EXPECT_EQ(*ParseDuration("0"), milliseconds(0));  // zero is zero in every unit
  EXPECT_EQ(*ParseDuration("007s"), milliseconds(7000));
}

TEST(ParseDurationTest, CompoundLargestUnitFirst) {
  EXPECT_EQ(*ParseDuration("1h30m"), milliseconds(5'400'000));
  EXPECT_EQ(*ParseDuration("1d12h"), milliseconds(129'600'000));
  EXPECT_EQ(*ParseDuration("1m30s250ms"), milliseconds(90'250));
  EXPECT_EQ(*ParseDuration("1d1h1m1s1ms"), milliseconds(90'061'001));
  ExpectErrorContains("30m1h", "largest to smallest");
  ExpectErrorContains("1m1m", "largest to smallest");
  ExpectErrorContains("1s1d", "largest to smallest");
}

TEST(ParseDurationTest, FractionsMustComeToWholeMilliseconds) {
  EXPECT_EQ(*ParseDuration("1.5s"), milliseconds(1500));
  EXPECT_EQ(*ParseDuration("0.25m"), milliseconds(15'000));
  EXPECT_EQ(*ParseDuration("1.5h30s"), milliseconds(5'430'000));
  EXPECT_EQ(*ParseDuration("0.001s"), milliseconds(1));
  ExpectErrorContains("1.5ms", "finer than a millisecond");
  ExpectErrorContains("0.0001s", "finer than a millisecond");
  ExpectErrorContains("1.s", "decimal point");
  ExpectErrorContains(".5s", "decimal point");
  ExpectErrorContains("1.1234567891s", "decimals");
}

TEST(ParseDurationTest, BareNumbersSayWhichUnitToAdd) {
  EXPECT_EQ(Error("30"), "30 needs a unit, e.g. 30ms or 30s");
  EXPECT_EQ(Error("1.5"), "1.5 needs a unit, e.g. 1.5ms or 1.5s");
  EXPECT_EQ(Error("007"), "007 needs a unit, e.g. 007ms or 007s");
  ExpectErrorContains("1h30", "ends in 30 without a unit");
}

TEST(ParseDurationTest, EmptyBlankNegativeAndSigned) {
  ExpectErrorContains("", "empty duration");
  ExpectErrorContains(" ", "space");
  ExpectErrorContains("\t\n", "space");
  ExpectErrorContains(" 30s", "space");
  ExpectErrorContains("30 s", "space");
  ExpectErrorContains("30s ", "space");
  ExpectErrorContains("-5s", "negative");
  ExpectErrorContains("-0", "negative");
  ExpectErrorContains("+5s", "not a duration");
}

TEST(ParseDurationTest, UnknownUnitsAreNamed) {
  ExpectErrorContains("5x", "unknown unit \"x\" (use ms, s, m, h or d)");
  ExpectErrorContains("5S", "unknown unit \"S\"");  // units are lower case
  ExpectErrorContains("5min", "unknown unit \"min\"");
  ExpectErrorContains("250us", "unknown unit \"us\"");
  ExpectErrorContains("1w", "unknown unit \"w\"");
  ExpectErrorContains("ms", "not a duration");
  ExpectErrorContains("s5", "not a duration");
  ExpectErrorContains("5s!", "unexpected '!'");
  ExpectErrorContains("1e3ms", "unknown unit \"e\"");
}

TEST(ParseDurationTest, OverflowAndOversizedInput) {
  EXPECT_EQ(*ParseDuration("36500d"), kMaxDuration);
  ExpectErrorContains("36501d", "longer than the longest duration");
  ExpectErrorContains("36500d1ms", "longer than the longest duration");
  ExpectErrorContains("99999999999999999999999999999999h", "longer than the longest duration");
  ExpectErrorContains("9223372036854775807ms", "longer than the longest duration");
  std::string huge(100'000, '9');
  std::string message = Error(huge + "s");
  EXPECT_NE(message.find("too long"), std::string::npos) << message.substr(0, 200);
  EXPECT_LT(message.size(), 200u) << "the message must not echo the whole input";
}

TEST(ParseDurationTest, HostileBytesAreNotEchoed) {
  std::string message = Error(std::string("5\x1b[31m", 6));
  EXPECT_EQ(message.find('\x1b'), std::string::npos) << message;
  message = Error(std::string("5\0s", 3));
  EXPECT_EQ(message.find('\0'), std::string::npos);
  EXPECT_FALSE(ParseDuration("5\xc3\xa9s").ok());  // "5és"
  EXPECT_FALSE(ParseDuration("\xff\xfe").ok());
}

TEST(FormatDurationTest, RoundTripsThroughParse) {
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(-5)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(250)), "250ms");
  EXPECT_EQ(FormatDuration(milliseconds(30'000)), "30s");
  EXPECT_EQ(FormatDuration(milliseconds(5'400'000)), "1h30m");
  EXPECT_EQ(FormatDuration(milliseconds(604'800'000)), "7d");
  EXPECT_EQ(FormatDuration(milliseconds(90'061'001)), "1d1h1m1s1ms");
  for (int64_t ms : {0LL, 1LL, 999LL, 1000LL, 61'001LL, 86'399'999LL, 3'153'600'000'000LL}) {
    auto back = ParseDuration(FormatDuration(milliseconds(ms)));
    ASSERT_TRUE(back.ok()) << ms << ": " << back.status();
    EXPECT_EQ(back->count(), ms);
  }
}

}  // namespace
}  // namespace sluice

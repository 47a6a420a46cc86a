#include "sluice/core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice {
namespace {

TEST(FindInvalidUtf8Test, ValidTextHasNoOffset) {
  EXPECT_EQ(FindInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("plain ASCII, longer than one eight-byte word"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("Zoë Ærø 日本 🙂"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8(std::string("a\0b", 3)), std::nullopt);  // NUL is valid UTF-8
}

TEST(FindInvalidUtf8Test, NamesTheFirstBadByte) {
  EXPECT_EQ(FindInvalidUtf8("\xff"), 0u);
  EXPECT_EQ(FindInvalidUtf8("abcdefghij\xc3\x28"), 10u);        // a lead byte without its tail
  EXPECT_EQ(FindInvalidUtf8("abc\xc0\xaf"), 3u);                // overlong "/"
  EXPECT_EQ(FindInvalidUtf8("ok \xed\xa0\x80"), 3u);            // a UTF-16 surrogate
  EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u);           // past U+10FFFF
  EXPECT_EQ(FindInvalidUtf8("0123456789abcdef\xe6\x97"), 16u);  // cut short at the end
  EXPECT_EQ(FindInvalidUtf8("日本\x80"), 6u);                   // a stray continuation byte
}

}  // namespace
}  // namespace sluice

// ReadEnvelopeSection: envelope.max_bytes over EnvelopeOptions' default.
#include "sluice/envelope/section.h"

#include <gtest/gtest.h>

#include <string>

#include "sluice/config/config.h"

namespace sluice::envelope {
namespace {

Result<EnvelopeOptions> Read(const std::string& yaml) {
  auto c = config::Config::LoadString(yaml, config::LoadOptions{}, "app.yaml");
  if (!c.ok()) return c.status();
  return ReadEnvelopeSection(*c, "/envelope");
}

TEST(EnvelopeSectionTest, MaxBytesIsReadOverTheLibraryDefault) {
  auto o = Read("other: 1\n");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_bytes, EnvelopeOptions{}.max_bytes);
  EXPECT_EQ(o->max_bytes, 1u << 20);
  // Keys the program owns (the relay's parse_threads) are left to it.
  o = Read("envelope: {max_bytes: 4096, parse_threads: 3}\n");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->max_bytes, 4096u);
}

TEST(EnvelopeSectionTest, MaxBytesOutOfRangeNamesTheKey) {
  for (const char* yaml : {"envelope: {max_bytes: 63}\n", "envelope: {max_bytes: 10485761}\n"}) {
    auto o = Read(yaml);
    ASSERT_FALSE(o.ok()) << yaml;
    EXPECT_NE(o.status().message().find("app.yaml: envelope: max_bytes"), std::string::npos)
        << o.status();
  }
  EXPECT_TRUE(Read("envelope: {max_bytes: 64}\n").ok());
  EXPECT_TRUE(Read("envelope: {max_bytes: 10485760}\n").ok());
}

}  // namespace
}  // namespace sluice::envelope

#include "sluice/flood/generator.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "sluice/envelope/event.h"

namespace sluice::flood {
namespace {

constexpr int64_t kWallMs = 1'767'225'600'123;

GeneratorOptions Options() {
  GeneratorOptions o;
  o.keys.keys = 50;
  o.seed = 42;
  return o;
}

TEST(GeneratorTest, ValidEventsAreValidEnvelopesOfTheExactSize) {
  GeneratorOptions o = Options();
  auto sizes = ParsePayloadSizes("uniform:400-2000");
  ASSERT_TRUE(sizes.ok());
  o.sizes = *sizes;
  auto gen = EventGenerator::Create(o, 0x123456);
  ASSERT_TRUE(gen.ok()) << gen.status();
  GeneratedRecord r;
  for (int64_t i = 0; i < 500; ++i) {
    gen->Next(i, kWallMs + i, &r);
    ASSERT_TRUE(r.valid);
    EXPECT_GE(r.value.size(), 400u);
    EXPECT_LE(r.value.size(), 2000u);
    auto e = envelope::ParseEvent(r.value, {});
    ASSERT_TRUE(e.ok()) << e.status() << "\n" << r.value;
    EXPECT_EQ(e->event_id, gen->codec().Encode(i));
    EXPECT_EQ(e->event_id, r.event_id);
    EXPECT_EQ(e->sobject, "Contact");
    EXPECT_EQ(e->external_id_field, "Sluice_Key__c");
    EXPECT_EQ(e->external_id, r.key);
    EXPECT_NE(e->fields_json.find("\"Sluice_Event_Id__c\":\"" + r.event_id + "\""),
              std::string::npos);
    EXPECT_EQ(e->occurred_at_ms, kWallMs + i);
  }
}

TEST(GeneratorTest, PayloadSizeIsExactWhenLargerThanTheEnvelope) {
  GeneratorOptions o = Options();
  o.sizes.fixed = 512;
  auto gen = EventGenerator::Create(o, 1);
  ASSERT_TRUE(gen.ok());
  GeneratedRecord r;
  for (int64_t i = 0; i < 100; ++i) {
    gen->Next(i, kWallMs, &r);
    EXPECT_EQ(r.value.size(), 512u) << r.value;
  }
}

TEST(GeneratorTest, PerKeySequencesCountUpFromZero) {
  auto gen = EventGenerator::Create(Options(), 1);
  ASSERT_TRUE(gen.ok());
  std::map<int64_t, uint32_t> next;
  GeneratedRecord r;
  for (int64_t i = 0; i < 1000; ++i) {
    gen->Next(i, kWallMs, &r);
    EXPECT_EQ(r.key_seq, next[r.key_rank]++) << i;
    EXPECT_EQ(r.key, fmt::format("flood-{:010d}", r.key_rank));
  }
}

TEST(GeneratorTest, SameSeedSameRun) {
  auto a = EventGenerator::Create(Options(), 7);
  auto b = EventGenerator::Create(Options(), 7);
  GeneratedRecord ra, rb;
  for (int64_t i = 0; i < 200; ++i) {
    a->Next(i, kWallMs, &ra);
    b->Next(i, kWallMs, &rb);
    ASSERT_EQ(ra.value, rb.value);
    ASSERT_EQ(ra.key, rb.key);
  }
}

TEST(GeneratorTest, InvalidEventsFailTheEnvelopeCheckInEveryWay) {
  GeneratorOptions o = Options();
  o.invalid_fraction = 0.3;
  auto gen = EventGenerator::Create(o, 9);
  ASSERT_TRUE(gen.ok());
  GeneratedRecord r;
  int invalid = 0;
  std::set<std::string> codes;
  for (int64_t i = 0; i < 2000; ++i) {
    gen->Next(i, kWallMs, &r);
    auto e = envelope::ParseEvent(r.value, {});
    EXPECT_EQ(e.ok(), r.valid) << r.value;
    if (!r.valid) {
      ++invalid;
      const envelope::EnvelopeError* err = e.error();
      ASSERT_NE(err, nullptr) << e.status();
      codes.insert(err->code);
    }
  }
  EXPECT_NEAR(invalid / 2000.0, 0.3, 0.04);
  EXPECT_GE(codes.size(), 3u);  // not JSON, schema, missing event id (and a bad field name)
}

TEST(GeneratorTest, CreateOperationHasNoExternalId) {
  GeneratorOptions o = Options();
  o.operation = "create";
  auto gen = EventGenerator::Create(o, 1);
  ASSERT_TRUE(gen.ok());
  GeneratedRecord r;
  gen->Next(0, kWallMs, &r);
  auto e = envelope::ParseEvent(r.value, {});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->operation, envelope::Operation::kCreate);
  EXPECT_TRUE(e->external_id.empty());
}

TEST(GeneratorTest, RejectsBadNamesAndFractions) {
  const auto bad = [](auto mutate) {
    GeneratorOptions o = Options();
    mutate(o);
    return EventGenerator::Create(o, 1).status().code();
  };
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.sobject = "1Contact"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.sobject = "Con tact"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.sobject = std::string(81, 'a'); }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.operation = "delete"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.pad_field = "a\"b"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.key_prefix = "x\"y"; }), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.invalid_fraction = 1.5; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.invalid_fraction = NAN; }),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(bad([](GeneratorOptions& o) { o.keys.keys = 0; }), StatusCode::kInvalidArgument);
}

TEST(GeneratorTest, FormatsRfc3339Millis) {
  EXPECT_EQ(FormatRfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339Millis(1'767'225'600'123), "2026-01-01T00:00:00.123Z");
  EXPECT_EQ(FormatRfc3339Millis(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace sluice::flood

namespace sluice::flood {
namespace {

// The template path must give exactly the bytes SerializeEvent gives.
TEST(GeneratorTemplateTest, TemplateOutputIsByteForByteSerializeEvent) {
  for (const char* op : {"upsert", "create"}) {
    for (const char* sizes : {"fixed:512", "uniform:0-3000", "fixed:10"}) {
      GeneratorOptions fast = Options();
      fast.operation = op;
      fast.sizes = *ParsePayloadSizes(sizes);
      fast.invalid_fraction = 0.1;
      fast.key_prefix = "k/é-";
      GeneratorOptions slow = fast;
      slow.use_template = false;
      auto a = EventGenerator::Create(fast, 77);
      auto b = EventGenerator::Create(slow, 77);
      ASSERT_TRUE(a.ok() && b.ok());
      GeneratedRecord ra, rb;
      for (int64_t i = 0; i < 3000; ++i) {
        // Times cross second boundaries, and one is before 1970.
        const int64_t ms = i == 5 ? -1234 : kWallMs + i * 7;
        a->Next(i, ms, &ra);
        b->Next(i, ms, &rb);
        ASSERT_EQ(ra.value, rb.value) << op << " " << sizes << " " << i;
        ASSERT_EQ(ra.key, rb.key);
      }
      EXPECT_TRUE(a->uses_template()) << op << " " << sizes;
      EXPECT_FALSE(b->uses_template());
    }
  }
}

}  // namespace
}  // namespace sluice::flood

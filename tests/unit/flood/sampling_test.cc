#include "sluice/flood/sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

namespace sluice::flood {
namespace {

// Draws `n` ranks and returns their frequencies.
std::vector<double> Frequencies(KeySampler& s, int64_t keys, int n) {
  std::vector<double> f(static_cast<size_t>(keys), 0);
  for (int i = 0; i < n; ++i) {
    const int64_t k = s.Next();
    EXPECT_GE(k, 0);
    EXPECT_LT(k, keys);
    if (k >= 0 && k < keys) f[static_cast<size_t>(k)] += 1.0 / n;
  }
  return f;
}

// Checks each observed frequency against p within 6 standard deviations of a binomial proportion
// (the seed is fixed, so this is deterministic; the bound only says how wrong a sampler may be).
void ExpectMatches(const std::vector<double>& observed, const std::vector<double>& p, int n) {
  ASSERT_EQ(observed.size(), p.size());
  for (size_t k = 0; k < p.size(); ++k) {
    const double sigma = std::sqrt(p[k] * (1 - p[k]) / n);
    EXPECT_NEAR(observed[k], p[k], 6 * sigma + 1e-9) << "rank " << k;
  }
}

std::vector<double> ZipfPmf(int64_t keys, double e) {
  std::vector<double> p;
  double norm = 0;
  for (int64_t k = 1; k <= keys; ++k) norm += std::pow(static_cast<double>(k), -e);
  for (int64_t k = 1; k <= keys; ++k) p.push_back(std::pow(static_cast<double>(k), -e) / norm);
  return p;
}

TEST(KeySamplerTest, UniformIsFlat) {
  KeySpace space{.keys = 20};
  auto s = KeySampler::Create(space, 42);
  ASSERT_TRUE(s.ok());
  const int n = 200000;
  ExpectMatches(Frequencies(*s, 20, n), std::vector<double>(20, 1.0 / 20), n);
}

class ZipfTest : public ::testing::TestWithParam<double> {};

TEST_P(ZipfTest, MatchesTheExactDistribution) {
  const double e = GetParam();
  KeySpace space{.keys = 12, .shape = KeySpace::Shape::kZipf, .exponent = e};
  auto s = KeySampler::Create(space, 7);
  ASSERT_TRUE(s.ok());
  const int n = 300000;
  ExpectMatches(Frequencies(*s, 12, n), ZipfPmf(12, e), n);
}

INSTANTIATE_TEST_SUITE_P(Exponents, ZipfTest, ::testing::Values(0.5, 0.99, 1.0, 1.01, 1.5, 3.0));

TEST(KeySamplerTest, ZipfOnAHugeKeySpaceNeedsNoTable) {
  // 2^40 keys: a cumulative table would need 8 TB.
  KeySpace space{.keys = int64_t{1} << 40, .shape = KeySpace::Shape::kZipf, .exponent = 1.2};
  auto s = KeySampler::Create(space, 1);
  ASSERT_TRUE(s.ok());
  int rank0 = 0;
  for (int i = 0; i < 100000; ++i) {
    const int64_t k = s->Next();
    ASSERT_GE(k, 0);
    ASSERT_LT(k, space.keys);
    rank0 += k == 0;
  }
  // P(rank 0) = 1 / zeta(1.2) truncated ~= 0.18; the hot key dominates.
  EXPECT_GT(rank0, 15000);
  EXPECT_LT(rank0, 21000);
}

TEST(KeySamplerTest, SameSeedSameKeysOtherSeedOtherKeys) {
  KeySpace space{.keys = 1000000, .shape = KeySpace::Shape::kZipf, .exponent = 0.8};
  auto a = KeySampler::Create(space, 99);
  auto b = KeySampler::Create(space, 99);
  auto c = KeySampler::Create(space, 100);
  int same_ab = 0, same_ac = 0;
  for (int i = 0; i < 1000; ++i) {
    const int64_t x = a->Next(), y = b->Next(), z = c->Next();
    same_ab += x == y;
    same_ac += x == z;
  }
  EXPECT_EQ(same_ab, 1000);
  EXPECT_LT(same_ac, 500);
}

TEST(KeySamplerTest, OneKey) {
  for (auto shape : {KeySpace::Shape::kUniform, KeySpace::Shape::kZipf}) {
    auto s = KeySampler::Create({.keys = 1, .shape = shape}, 3);
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < 100; ++i) EXPECT_EQ(s->Next(), 0);
  }
}

TEST(KeySamplerTest, RejectsBadSpaces) {
  EXPECT_FALSE(KeySampler::Create({.keys = 0}, 1).ok());
  EXPECT_FALSE(KeySampler::Create({.keys = -3}, 1).ok());
  EXPECT_FALSE(KeySampler::Create({.keys = int64_t{1} << 50}, 1).ok());
  EXPECT_FALSE(
      KeySampler::Create({.keys = 10, .shape = KeySpace::Shape::kZipf, .exponent = 0}, 1).ok());
  EXPECT_FALSE(
      KeySampler::Create({.keys = 10, .shape = KeySpace::Shape::kZipf, .exponent = NAN}, 1).ok());
}

TEST(ParseKeyShapeTest, ParsesShapes) {
  KeySpace s;
  ASSERT_TRUE(ParseKeyShape("zipf:1.3", &s).ok());
  EXPECT_EQ(s.shape, KeySpace::Shape::kZipf);
  EXPECT_DOUBLE_EQ(s.exponent, 1.3);
  ASSERT_TRUE(ParseKeyShape("uniform", &s).ok());
  EXPECT_EQ(s.shape, KeySpace::Shape::kUniform);
  for (const char* bad : {"", "zipf:", "zipf:0", "zipf:-1", "zipf:abc", "zipf:1.2x", "Uniform",
                          "zipf:nan", "zipf:1e500", "normal"}) {
    KeySpace t;
    Status st = ParseKeyShape(bad, &t);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(PayloadSizesTest, ParsesForms) {
  auto a = ParsePayloadSizes("512");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->shape, PayloadSizes::Shape::kFixed);
  EXPECT_EQ(a->fixed, 512);
  auto b = ParsePayloadSizes("uniform:100-2000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->min, 100);
  EXPECT_EQ(b->max, 2000);
  auto c = ParsePayloadSizes("weighted:256=50,1024=40,8192=10");
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_EQ(c->weighted.size(), 3u);
  EXPECT_EQ(c->weighted[2].first, 8192);
}

TEST(PayloadSizesTest, RejectsMalformedOversizedAndHostile) {
  for (const char* bad :
       {"", "-1", "fixed:", "fixed:-3", "fixed:1e3", "uniform:5", "uniform:10-5", "uniform:a-b",
        "weighted:", "weighted:1=0", "weighted:1=-1,2=3", "weighted:1", "weighted:1=1,,2=2",
        "gauss:5", "999999999999", "fixed:17000000", "uniform:0-99999999999999999999"}) {
    EXPECT_FALSE(ParsePayloadSizes(bad).ok()) << bad;
  }
  std::string many = "weighted:";
  for (int i = 0; i < 2000; ++i) many += "1=1,";
  many += "1=1";
  EXPECT_FALSE(ParsePayloadSizes(many).ok());
}

TEST(PayloadSamplerTest, UniformStaysInBoundsAndCoversThem) {
  PayloadSizes sizes;
  sizes.shape = PayloadSizes::Shape::kUniform;
  sizes.min = 10;
  sizes.max = 13;
  auto p = PayloadSampler::Create(sizes, 5);
  ASSERT_TRUE(p.ok());
  std::map<int64_t, int> seen;
  for (int i = 0; i < 10000; ++i) ++seen[p->Next()];
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_EQ(seen.begin()->first, 10);
  EXPECT_EQ(seen.rbegin()->first, 13);
}

TEST(PayloadSamplerTest, WeightedFollowsTheWeights) {
  auto sizes = ParsePayloadSizes("weighted:256=50,1024=0,4096=40,8192=10");
  ASSERT_TRUE(sizes.ok());
  auto p = PayloadSampler::Create(*sizes, 11);
  ASSERT_TRUE(p.ok());
  const int n = 100000;
  std::map<int64_t, int> seen;
  for (int i = 0; i < n; ++i) ++seen[p->Next()];
  EXPECT_EQ(seen.count(1024), 0u);  // weight 0 is never drawn
  EXPECT_NEAR(seen[256] / double(n), 0.5, 0.01);
  EXPECT_NEAR(seen[4096] / double(n), 0.4, 0.01);
  EXPECT_NEAR(seen[8192] / double(n), 0.1, 0.01);
}

TEST(InvalidPickerTest, PicksTheFraction) {
  InvalidPicker none(0, 1), all(1, 1), some(0.25, 1);
  int n_none = 0, n_all = 0, n_some = 0;
  for (int i = 0; i < 40000; ++i) {
    n_none += none.Next();
    n_all += all.Next();
    n_some += some.Next();
  }
  EXPECT_EQ(n_none, 0);
  EXPECT_EQ(n_all, 40000);
  EXPECT_NEAR(n_some / 40000.0, 0.25, 0.01);
}

}  // namespace
}  // namespace sluice::flood

#include "sluice/salesforce/limit_info.h"

#include <gtest/gtest.h>

namespace sluice::salesforce {
namespace {

TEST(LimitInfoTest, ParsesApiUsage) {
  auto info = ParseLimitInfo("api-usage=10018/100000");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->api_used, 10018);
  EXPECT_EQ(info->api_max, 100000);
  EXPECT_FALSE(info->per_app.has_value());
  EXPECT_NEAR(info->UsedFraction(), 0.10018, 1e-9);
}

TEST(LimitInfoTest, ParsesPerAppUsage) {
  auto info = ParseLimitInfo("api-usage=25/15000; per-app-api-usage=17/250(appName=sluice)");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->api_used, 25);
  EXPECT_EQ(info->api_max, 15000);
  ASSERT_TRUE(info->per_app.has_value());
  EXPECT_EQ(info->per_app->used, 17);
  EXPECT_EQ(info->per_app->max, 250);
  EXPECT_EQ(info->per_app->app_name, "sluice");
}

TEST(LimitInfoTest, ToleratesSpacingOrderAndUnknownParts) {
  auto info = ParseLimitInfo("  per-app-api-usage=1/2 ;api-usage = 3 / 4 ; future-thing=abc;");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->api_used, 3);
  EXPECT_EQ(info->api_max, 4);
  ASSERT_TRUE(info->per_app.has_value());
  EXPECT_EQ(info->per_app->app_name, "");
  // Over the allocation is reported as it is.
  auto over = ParseLimitInfo("api-usage=15001/15000");
  ASSERT_TRUE(over.has_value());
  EXPECT_GT(over->UsedFraction(), 1.0);
  EXPECT_EQ(ParseLimitInfo("api-usage=0/0")->UsedFraction(), 0.0);
}

TEST(LimitInfoTest, GarbageIsNullopt) {
  const char* bad[] = {
      "",
      ";;;",
      "api-usage",
      "api-usage=",
      "api-usage=10",
      "api-usage=/100",
      "api-usage=10/",
      "api-usage=-1/100",
      "api-usage=1.5/100",
      "api-usage=0x10/100",
      "api-usage=99999999999999999999/100",
      "api-usage=1/2/3",
      "api-usage=1/2; api-usage=3/4",
      "per-app-api-usage=17/250(appName=x)",
      "api-usage=1/2; per-app-api-usage=17/250(appName=x",
      "api-usage=1/2; per-app-api-usage=abc",
      "<html>503 Service Unavailable</html>",
      "api usage 1/2",
      "\xff\xfe\x00garbage",
  };
  for (const char* s : bad) EXPECT_FALSE(ParseLimitInfo(s).has_value()) << s;
  EXPECT_FALSE(ParseLimitInfo(std::string(10000, 'a')).has_value());
  EXPECT_FALSE(ParseLimitInfo("api-usage=1/2;" + std::string(5000, ' ')).has_value());
}

}  // namespace
}  // namespace sluice::salesforce

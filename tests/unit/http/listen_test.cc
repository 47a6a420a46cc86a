// ListenAddress: "host:port" from a config file, with the program's default when absent.
#include "sluice/http/listen.h"

#include <gtest/gtest.h>

#include <string>

#include "sluice/config/config.h"

namespace sluice::http {
namespace {

Result<ListenAddress> Read(const std::string& yaml) {
  auto c = config::Config::LoadString(yaml, config::LoadOptions{}, "app.yaml");
  if (!c.ok()) return c.status();
  return ReadListenAddress(*c, "/http/listen", ListenAddress{.host = "127.0.0.1", .port = 9464});
}

TEST(ListenAddressTest, TheProgramsDefaultStandsWhenTheFileIsSilent) {
  auto a = Read("other: 1\n");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToString(), "127.0.0.1:9464");
}

TEST(ListenAddressTest, HostAndPortAreRead) {
  auto a = Read("http: {listen: \"0.0.0.0:0\"}\n");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "0.0.0.0");
  EXPECT_EQ(a->port, 0);
  a = Read("http: {listen: \"[::1]:8088\"}\n");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 8088);
  a = Read("http: {listen: \"::1:65535\"}\n");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 65535);
}

TEST(ListenAddressTest, MalformedAddressesNameTheFileAndKey) {
  for (const char* yaml :
       {"http: {listen: nowhere}\n", "http: {listen: \":9464\"}\n", "http: {listen: \"h:\"}\n",
        "http: {listen: \"h:65536\"}\n", "http: {listen: \"h:-1\"}\n",
        "http: {listen: \"h:80x\"}\n", "http: {listen: \"h:99999999999999999999\"}\n",
        "http: {listen: 8080}\n"}) {
    auto a = Read(yaml);
    ASSERT_FALSE(a.ok()) << yaml;
    EXPECT_NE(a.status().message().find("app.yaml"), std::string::npos) << a.status();
    EXPECT_NE(a.status().message().find("/http/listen"), std::string::npos) << a.status();
  }
}

}  // namespace
}  // namespace sluice::http

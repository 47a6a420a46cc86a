// ReadSalesforceSection: the salesforce section over AuthOptions', SalesforceClientOptions' and
// the section's own defaults.
#include "sluice/salesforce/section.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "sluice/config/config.h"

namespace sluice::salesforce {
namespace {

constexpr const char* kBase = R"(
salesforce:
  login_url: https://example.my.salesforce.com
  auth: {flow: client_credentials, client_id: app, client_secret: s3cret}
)";

Result<SalesforceSection> Read(const std::string& yaml, SalesforceSection defaults = {}) {
  auto c = config::Config::LoadString(yaml, config::LoadOptions{}, "app.yaml");
  if (!c.ok()) return c.status();
  return ReadSalesforceSection(*c, "/salesforce", std::move(defaults));
}

TEST(SalesforceSectionTest, AMinimalSectionGetsTheLibraryDefaults) {
  auto s = Read(kBase);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->auth.login_url, "https://example.my.salesforce.com");
  EXPECT_EQ(s->auth.flow, AuthFlow::kClientCredentials);
  EXPECT_EQ(s->auth.client_id, "app");
  EXPECT_EQ(s->auth.client_secret, "s3cret");
  EXPECT_EQ(s->client.api_version, SalesforceClientOptions{}.api_version);
  EXPECT_EQ(s->client.api_version, "62.0");
  EXPECT_EQ(s->client.request_timeout, std::chrono::seconds(120));
  EXPECT_EQ(s->ca_file, "");
  EXPECT_EQ(s->event_id_field, "Sluice_Event_Id__c");
  EXPECT_FALSE(s->accept_duplicates_on_crash);
}

TEST(SalesforceSectionTest, EveryKeyIsRead) {
  auto s = Read(R"(
salesforce:
  login_url: https://login.example
  api_version: "60.0"
  request_timeout: 30s
  ca_file: /etc/ca.pem
  event_id_field: ""
  accept_duplicates_on_crash: true
  auth: {flow: jwt_bearer, client_id: app, username: u@example.com, private_key_file: k.pem,
         audience: https://aud.example}
)");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->client.api_version, "60.0");
  EXPECT_EQ(s->client.request_timeout, std::chrono::seconds(30));
  EXPECT_EQ(s->ca_file, "/etc/ca.pem");
  EXPECT_EQ(s->event_id_field, "");
  EXPECT_TRUE(s->accept_duplicates_on_crash);
  EXPECT_EQ(s->auth.flow, AuthFlow::kJwtBearer);
  EXPECT_EQ(s->auth.username, "u@example.com");
  EXPECT_EQ(s->auth.private_key_file, "k.pem");
  EXPECT_EQ(s->auth.audience, "https://aud.example");
}

TEST(SalesforceSectionTest, TheClientSecretComesFromAFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "sluice-sf-section-secret").string();
  std::ofstream(path) << "from-file\n";
  auto s =
      Read("salesforce: {login_url: u, auth: {client_id: a, client_secret_file: " + path + "}}\n");
  std::filesystem::remove(path);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->auth.client_secret, "from-file");
}

TEST(SalesforceSectionTest, MissingAndUnsafeSettingsNameTheKeyButNotTheSecret) {
  struct Case {
    const char* yaml;
    const char* key;
  } cases[] = {
      {"salesforce: {auth: {client_id: a, client_secret: hush}}\n", "login_url"},
      {"salesforce: {login_url: u, auth: {client_secret: hush}}\n", "client_id"},
      {"salesforce: {login_url: u, auth: {client_id: a}}\n", "client_secret"},
      {"salesforce: {login_url: u, auth: {flow: jwt_bearer, client_id: a}}\n", "username"},
      {"salesforce: {login_url: u, event_id_field: \"\", auth: {client_id: a, "
       "client_secret: hush}}\n",
       "accept_duplicates_on_crash"},
  };
  for (const Case& c : cases) {
    auto s = Read(c.yaml);
    ASSERT_FALSE(s.ok()) << c.yaml;
    EXPECT_NE(s.status().message().find("app.yaml"), std::string::npos) << s.status();
    EXPECT_NE(s.status().message().find(c.key), std::string::npos) << s.status();
    EXPECT_EQ(s.status().message().find("hush"), std::string::npos) << s.status();
  }
}

}  // namespace
}  // namespace sluice::salesforce

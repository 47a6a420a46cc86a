#include "sluice/gateway/auth.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sluice::gateway {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Sha256Test, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256("abc").size(), 32u);
}

std::string File() {
  return "tokens:\n"
         "  - name: web\n"
         "    sha256: " +
         Sha256Hex("web-token") +
         "\n"
         "    sobjects: [Contact]\n"
         "  - name: orders\n"
         "    sha256: " +
         Sha256Hex("orders-token") +
         "\n"
         "    topics: [sf.order__c.events]\n"
         "    events_per_second: 50\n"
         "  - name: admin\n"
         "    sha256: " +
         Sha256Hex("admin-token") +
         "\n"
         "    sobjects: ['*']\n";
}

TEST(TokenStoreTest, FindsTokensByHashAndKeepsScopes) {
  auto store = TokenStore::LoadString(File());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const TokenEntry* web = store->Find("web-token");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->name, "web");
  EXPECT_TRUE(web->Allows("Contact", "sf.contact.events"));
  EXPECT_FALSE(web->Allows("Lead", "sf.lead.events"));
  const TokenEntry* orders = store->Find("orders-token");
  ASSERT_NE(orders, nullptr);
  EXPECT_TRUE(orders->Allows("Order__c", "sf.order__c.events"));
  EXPECT_FALSE(orders->Allows("Contact", "sf.contact.events"));
  EXPECT_EQ(orders->events_per_second, 50);
  EXPECT_TRUE(store->Find("admin-token")->Allows("Anything", "any.topic"));
  EXPECT_EQ(store->Find("web-token "), nullptr);
  EXPECT_EQ(store->Find(""), nullptr);
  EXPECT_EQ(store->Find(Sha256Hex("web-token")), nullptr);  // the hash is not the token
}

TEST(TokenStoreTest, BadFilesSayWhatIsWrongWithoutQuotingHashes) {
  const std::string h = Sha256Hex("x");
  auto short_hash = TokenStore::LoadString("tokens:\n  - {name: a, sha256: abc, sobjects: [A]}\n");
  ASSERT_FALSE(short_hash.ok());
  auto no_scope = TokenStore::LoadString("tokens:\n  - {name: a, sha256: " + h + "}\n");
  ASSERT_FALSE(no_scope.ok());
  EXPECT_THAT(no_scope.status().message(), HasSubstr("sobjects or topics"));
  auto twice =
      TokenStore::LoadString("tokens:\n  - {name: a, sha256: " + h +
                             ", sobjects: [A]}\n  - {name: b, sha256: " + h + ", sobjects: [A]}\n");
  ASSERT_FALSE(twice.ok());
  EXPECT_THAT(twice.status().message(), Not(HasSubstr(h)));
  auto unknown = TokenStore::LoadString("tokens:\n  - {name: a, token: plain, sobjects: [A]}\n");
  ASSERT_FALSE(unknown.ok());
}

TEST(BearerTokenTest, ParsesTheScheme) {
  EXPECT_EQ(TokenStore::BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(TokenStore::BearerToken("bearer   abc  "), "abc");
  EXPECT_EQ(TokenStore::BearerToken("Basic YWJj"), std::nullopt);
  EXPECT_EQ(TokenStore::BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(TokenStore::BearerToken("Bearer"), std::nullopt);
  EXPECT_EQ(TokenStore::BearerToken(""), std::nullopt);
}

}  // namespace
}  // namespace sluice::gateway

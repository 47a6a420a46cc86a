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

TEST(TokenStoreTest, EntriesMayNameClientCertificates) {
  auto store = TokenStore::LoadString(
      "tokens:\n"
      "  - {name: billing, client_cert_cn: billing.internal, topics: ['*']}\n"
      "  - {name: spiffe, client_cert_san: 'spiffe://corp/contacts', sobjects: [Contact],\n"
      "     events_per_second: 5}\n"
      "  - {name: both, sha256: " +
      Sha256Hex("both-token") + ", client_cert_cn: both, sobjects: [Lead]}\n");
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  const TokenEntry* by_cn = store->FindByCertificate("billing.internal", {});
  ASSERT_NE(by_cn, nullptr);
  EXPECT_EQ(by_cn->name, "billing");
  const TokenEntry* by_san =
      store->FindByCertificate("whatever", {"host.example", "spiffe://corp/contacts"});
  ASSERT_NE(by_san, nullptr);
  EXPECT_EQ(by_san->name, "spiffe");
  EXPECT_DOUBLE_EQ(by_san->events_per_second, 5);
  EXPECT_TRUE(by_san->Allows("Contact", "sf.contact.events"));
  EXPECT_FALSE(by_san->Allows("Account", "sf.account.events"));
  // A token and a certificate in one entry are the same identity.
  EXPECT_EQ(store->Find("both-token"), store->FindByCertificate("both", {}));
  // Exact, case-sensitive matches only; a CN is not a SAN and the other way round.
  EXPECT_EQ(store->FindByCertificate("BILLING.INTERNAL", {}), nullptr);
  EXPECT_EQ(store->FindByCertificate("", {"billing.internal"}), nullptr);
  EXPECT_EQ(store->FindByCertificate("spiffe://corp/contacts", {}), nullptr);
  EXPECT_EQ(store->FindByCertificate("", {}), nullptr);
  // A certificate-only entry has no token: no token finds it, not even an empty one.
  EXPECT_EQ(store->Find(""), nullptr);
}

TEST(TokenStoreTest, CertificateEntriesAreCheckedAsStrictlyAsTokens) {
  auto nothing = TokenStore::LoadString("tokens:\n  - {name: a, sobjects: [A]}\n");
  ASSERT_FALSE(nothing.ok());
  EXPECT_THAT(nothing.status().message(), HasSubstr("client_cert_cn"));
  auto same_cn = TokenStore::LoadString(
      "tokens:\n  - {name: a, client_cert_cn: x, sobjects: [A]}\n"
      "  - {name: b, client_cert_cn: x, sobjects: [B]}\n");
  ASSERT_FALSE(same_cn.ok());
  EXPECT_THAT(same_cn.status().message(), HasSubstr("same CN"));
  auto same_san = TokenStore::LoadString(
      "tokens:\n  - {name: a, client_cert_san: 'dns.x', sobjects: [A]}\n"
      "  - {name: b, client_cert_san: 'dns.x', sobjects: [B]}\n");
  ASSERT_FALSE(same_san.ok());
  EXPECT_THAT(same_san.status().message(), HasSubstr("same SAN"));
  auto empty_cn =
      TokenStore::LoadString("tokens:\n  - {name: a, client_cert_cn: '', topics: [t]}\n");
  ASSERT_FALSE(empty_cn.ok());
  auto no_scope = TokenStore::LoadString("tokens:\n  - {name: a, client_cert_cn: x}\n");
  ASSERT_FALSE(no_scope.ok());
  EXPECT_THAT(no_scope.status().message(), HasSubstr("sobjects or topics"));
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

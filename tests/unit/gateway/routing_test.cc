#include "sluice/gateway/routing.h"

#include <gtest/gtest.h>

namespace sluice::gateway {
namespace {

TEST(RouterTest, DefaultIsLowerCasedObjectAndTheMapWins) {
  Router r(std::map<std::string, std::string>{{"Order__c", "orders"}});
  EXPECT_EQ(r.TopicFor("Contact"), "sf.contact.events");
  EXPECT_EQ(r.TopicFor("Campaign_Burst__e"), "sf.campaign_burst__e.events");
  EXPECT_EQ(r.TopicFor("Order__c"), "orders");
  Router custom({}, "in.{object}.{object}");
  EXPECT_EQ(custom.TopicFor("Lead"), "in.lead.lead");
  Router fixed({}, "everything");
  EXPECT_EQ(fixed.TopicFor("Lead"), "everything");
}

TEST(RouterTest, KeyIsTheExternalIdElseTheEventId) {
  envelope::Event e;
  e.event_id = "id";
  EXPECT_EQ(Router::KeyFor(e), "id");
  e.external_id = "K-1";
  EXPECT_EQ(Router::KeyFor(e), "K-1");
}

}  // namespace
}  // namespace sluice::gateway

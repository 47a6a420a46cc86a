#include "sluice/changelog/record.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::changelog {
namespace {

using idempotency::Entry;
using idempotency::Outcome;

kafka::Message AsConsumed(const kafka::ProducerRecord& r) {
  kafka::Message m;
  m.topic = r.topic;
  m.partition = r.partition;
  m.offset = 7;
  m.key_is_null = !r.key.has_value();
  m.key = r.key.value_or("");
  m.value_is_null = !r.value.has_value();
  m.value = r.value.value_or("");
  m.headers = r.headers;
  return m;
}

TEST(ChangelogTopicTest, AppendsTheSuffixAndRejectsWhatKafkaWouldNot) {
  EXPECT_EQ(*ChangelogTopic("sf.contact.events", kDefaultSuffix), "sf.contact.events.delivered");
  EXPECT_FALSE(ChangelogTopic("t", "").ok());
  EXPECT_FALSE(ChangelogTopic("t", ".de livered").ok());
  EXPECT_FALSE(ChangelogTopic("t", "/x").ok());
  EXPECT_FALSE(ChangelogTopic(std::string(240, 'a'), ".delivered").ok());
}

TEST(RecordTest, DeliveredAndDeadLetteredRoundTrip) {
  Entry delivered{.event_id = "e-1",
                  .outcome = Outcome::kDelivered,
                  .salesforce_id = "003000000000001AAA",
                  .recorded_ms = 1765000000123};
  auto r = Encode(delivered, "t.delivered", 3);
  EXPECT_EQ(r.topic, "t.delivered");
  EXPECT_EQ(r.partition, 3);
  EXPECT_EQ(r.key, "e-1");
  auto back = Decode(AsConsumed(r));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->event_id, "e-1");
  EXPECT_EQ(back->outcome, Outcome::kDelivered);
  EXPECT_EQ(back->salesforce_id, "003000000000001AAA");
  EXPECT_EQ(back->recorded_ms, 1765000000123);

  Entry dead{.event_id = "e\"2\n",
             .outcome = Outcome::kDeadLettered,
             .salesforce_id = "",
             .recorded_ms = 5};
  back = Decode(AsConsumed(Encode(dead, "t.delivered", 0)));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->event_id, "e\"2\n");
  EXPECT_EQ(back->outcome, Outcome::kDeadLettered);
  EXPECT_EQ(back->salesforce_id, "");
}

TEST(RecordTest, RecordsThatAreNotOursAreRefusedWithTheReason) {
  const Entry e{
      .event_id = "e-1", .outcome = Outcome::kDelivered, .salesforce_id = "", .recorded_ms = 9};
  const kafka::Message good = AsConsumed(Encode(e, "t.delivered", 0));
  ASSERT_TRUE(Decode(good).ok());

  auto refused = [&](kafka::Message m, const std::string& why) {
    auto d = Decode(m);
    ASSERT_FALSE(d.ok()) << why;
    EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument) << why;
    EXPECT_NE(d.status().message().find(why), std::string::npos) << d.status().ToString();
  };
  kafka::Message m = good;
  m.headers.clear();
  refused(m, "no sluice-changelog header");
  m = good;
  m.headers = {{std::string(kHeader), "2"}};
  refused(m, "is not version 1");
  m = good;
  m.key_is_null = true;
  m.key.clear();
  refused(m, "key is not an event id");
  m = good;
  m.key = std::string(idempotency::kMaxEventIdBytes + 1, 'k');
  refused(m, "key is not an event id");
  m = good;
  m.value_is_null = true;
  m.value.clear();
  refused(m, "tombstone");
  for (const char* value :
       {"", "{", "[1]", "\"x\"", "{\"outcome\":1,\"recorded_ms\":1}",
        "{\"outcome\":\"resent\",\"recorded_ms\":1}", "{\"outcome\":\"delivered\"}",
        "{\"outcome\":\"delivered\",\"recorded_ms\":-4}",
        "{\"outcome\":\"delivered\",\"recorded_ms\":1,\"sf_id\":7}"}) {
    m = good;
    m.value = value;
    EXPECT_FALSE(Decode(m).ok()) << value;
  }
  m = good;
  m.value =
      "{\"outcome\":\"delivered\",\"recorded_ms\":1,\"pad\":\"" + std::string(5000, 'x') + "\"}";
  refused(m, "too large");
  // Nesting deep enough to hurt a recursive parser is bounded by the size cap first.
  m = good;
  m.value = std::string(4000, '[');
  EXPECT_FALSE(Decode(m).ok());
}

}  // namespace
}  // namespace sluice::changelog

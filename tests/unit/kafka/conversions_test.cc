// Header, message, partition-list and topic-name conversions (private helpers).
#include <gtest/gtest.h>

#include <string>

#include "rdkafka_util.h"

namespace sluice::kafka {
namespace {

using internal::FromRdHeaders;
using internal::ToRdHeaders;

TEST(KafkaHeadersTest, RoundTripKeepsOrderDuplicatesAndBinary) {
  Headers in = {
      {"sluice.source.topic", "orders"},          {"dup", "1"},    {"dup", "2"}, {"empty", ""},
      {"binary", std::string("\0\xff\x01zz", 5)}, {"", "nameless"}};
  auto rd = ToRdHeaders(in);
  EXPECT_EQ(rd_kafka_header_cnt(rd.get()), in.size());
  EXPECT_EQ(FromRdHeaders(rd.get()), in);
}

TEST(KafkaHeadersTest, NullValueBecomesEmpty) {
  internal::HeadersHandle rd(rd_kafka_headers_new(2));
  rd_kafka_header_add(rd.get(), "null", -1, nullptr, 0);
  rd_kafka_header_add(rd.get(), "set", -1, "v", -1);
  Headers expected = {{"null", ""}, {"set", "v"}};
  EXPECT_EQ(FromRdHeaders(rd.get()), expected);
}

TEST(KafkaHeadersTest, NoHeaders) {
  EXPECT_TRUE(FromRdHeaders(nullptr).empty());
  auto rd = ToRdHeaders({});
  EXPECT_TRUE(FromRdHeaders(rd.get()).empty());
}

TEST(KafkaHeadersTest, ManyAndLargeHeaders) {
  Headers in;
  for (int i = 0; i < 10000; ++i) in.emplace_back("h" + std::to_string(i), std::to_string(i));
  in.emplace_back("big", std::string(4 << 20, 'x'));
  auto rd = ToRdHeaders(in);
  EXPECT_EQ(FromRdHeaders(rd.get()), in);
}

TEST(KafkaMessageTest, ErrorEventBecomesErrorMessage) {
  rd_kafka_message_t m{};
  m.err = RD_KAFKA_RESP_ERR__TRANSPORT;
  std::string text = "127.0.0.1:9/bootstrap: Connect to ipv4#127.0.0.1:9 failed";
  m.payload = text.data();
  m.len = text.size();
  m.partition = -1;
  Message out = internal::ToMessage(&m);
  ASSERT_TRUE(out.is_error());
  EXPECT_EQ(out.error.code(), StatusCode::kUnavailable);
  EXPECT_NE(out.error.message().find("Connect to"), std::string::npos) << out.error;
  EXPECT_TRUE(out.value.empty());
}

TEST(KafkaPartitionListTest, RoundTripsSorted) {
  std::vector<PartitionOffset> in = {{"b", 1, 10}, {"a", 2, 5}, {"a", 0, kOffsetInvalid}};
  auto list = internal::ToPartitionList(in);
  auto out = internal::ToPartitionOffsets(list.get());
  std::vector<PartitionOffset> expected = {{"a", 0, kOffsetInvalid}, {"a", 2, 5}, {"b", 1, 10}};
  EXPECT_EQ(out, expected);
  auto tps = internal::ToTopicPartitions(list.get());
  std::vector<TopicPartition> expected_tps = {{"a", 0}, {"a", 2}, {"b", 1}};
  EXPECT_EQ(tps, expected_tps);
  EXPECT_TRUE(internal::FirstPartitionError(list.get(), "x").ok());
  list->elems[1].err = RD_KAFKA_RESP_ERR__STATE;
  Status s = internal::FirstPartitionError(list.get(), "store offset for");
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("a[2]"), std::string::npos) << s;
}

TEST(KafkaTopicNameTest, AcceptsKafkasAlphabet) {
  EXPECT_TRUE(internal::ValidateTopicName("sf.Account.events").ok());
  EXPECT_TRUE(internal::ValidateTopicName("a_b-c.9").ok());
  EXPECT_TRUE(internal::ValidateTopicName(std::string(249, 'x')).ok());
}

TEST(KafkaTopicNameTest, RejectsHostileNames) {
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string(250, 'x'),
        std::string("has space"), std::string("slash/"), std::string("nul\0", 4),
        std::string("new\nline"), std::string("uni\xc3\xa9"), std::string("^regex")}) {
    Status s = internal::ValidateTopicName(bad);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace sluice::kafka

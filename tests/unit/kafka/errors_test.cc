#include "sluice/kafka/errors.h"

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <string>

namespace sluice::kafka {
namespace {

struct Case {
  rd_kafka_resp_err_t err;
  StatusCode code;
};

TEST(KafkaErrorsTest, NoErrorIsOk) {
  EXPECT_TRUE(StatusFromKafkaError(RD_KAFKA_RESP_ERR_NO_ERROR, "x").ok());
}

TEST(KafkaErrorsTest, MapsCodesAsDocumented) {
  const Case cases[] = {
      {RD_KAFKA_RESP_ERR__QUEUE_FULL, StatusCode::kResourceExhausted},
      {RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, StatusCode::kDeadlineExceeded},
      {RD_KAFKA_RESP_ERR__TIMED_OUT, StatusCode::kDeadlineExceeded},
      {RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, StatusCode::kDeadlineExceeded},
      {RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, StatusCode::kNotFound},
      {RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC, StatusCode::kNotFound},
      {RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS, StatusCode::kAlreadyExists},
      {RD_KAFKA_RESP_ERR__INVALID_ARG, StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, StatusCode::kInvalidArgument},
      {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, StatusCode::kPermissionDenied},
      {RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED, StatusCode::kUnauthenticated},
      {RD_KAFKA_RESP_ERR__AUTHENTICATION, StatusCode::kUnauthenticated},
      {RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION, StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID, StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR__STATE, StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR_PRODUCER_FENCED, StatusCode::kFailedPrecondition},
      {RD_KAFKA_RESP_ERR__TRANSPORT, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR__PURGE_QUEUE, StatusCode::kUnavailable},
      {RD_KAFKA_RESP_ERR_NOT_COORDINATOR, StatusCode::kUnavailable},
  };
  for (const auto& c : cases) {
    Status s = StatusFromKafkaError(c.err, "ctx");
    EXPECT_EQ(s.code(), c.code) << rd_kafka_err2name(c.err) << " -> " << s;
  }
}

TEST(KafkaErrorsTest, RetryableCodesStayRetryable) {
  for (auto err : {RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
                   RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE}) {
    EXPECT_TRUE(StatusFromKafkaError(err, "").IsRetryable()) << rd_kafka_err2name(err);
  }
  for (auto err : {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED, RD_KAFKA_RESP_ERR__INVALID_ARG,
                   RD_KAFKA_RESP_ERR_PRODUCER_FENCED}) {
    EXPECT_FALSE(StatusFromKafkaError(err, "").IsRetryable()) << rd_kafka_err2name(err);
  }
}

TEST(KafkaErrorsTest, MessageNamesContextTextAndErrorName) {
  Status s = StatusFromKafkaError(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, "produce to orders");
  EXPECT_EQ(s.message(), "produce to orders: Local: Message timed out (_MSG_TIMED_OUT)");
  Status d = StatusFromKafkaError(RD_KAFKA_RESP_ERR__TRANSPORT, "consume", "Connection refused");
  EXPECT_EQ(d.message(), "consume: Connection refused (_TRANSPORT)");
}

TEST(KafkaErrorsTest, FatalBeatsTheCodeAndSaysFatal) {
  Status s = StatusFromKafkaError(RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "producer",
                                  "sequence gap", {.fatal = true});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("fatal"), std::string::npos) << s;
  EXPECT_NE(s.message().find("sequence gap"), std::string::npos) << s;
  EXPECT_FALSE(s.IsRetryable());
  // The _FATAL code itself is fatal too, even without the flag.
  EXPECT_EQ(StatusFromKafkaError(RD_KAFKA_RESP_ERR__FATAL, "x").code(),
            StatusCode::kFailedPrecondition);
  // A transient code marked fatal is still fatal.
  EXPECT_EQ(StatusFromKafkaError(RD_KAFKA_RESP_ERR__TRANSPORT, "x", "", {.fatal = true}).code(),
            StatusCode::kFailedPrecondition);
}

TEST(KafkaErrorsTest, TransactionAbortRequiredIsSaid) {
  Status s = StatusFromKafkaError(RD_KAFKA_RESP_ERR_INVALID_TXN_STATE, "commit transaction", "",
                                  {.txn_requires_abort = true});
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("abort the transaction"), std::string::npos) << s;
}

TEST(KafkaErrorsTest, UnlistedCodesFollowTheRetriableFlag) {
  // OFFSET_OUT_OF_RANGE is in no explicit group.
  EXPECT_EQ(StatusFromKafkaError(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, "x").code(),
            StatusCode::kInternal);
  EXPECT_EQ(
      StatusFromKafkaError(RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE, "x", "", {.retriable = true})
          .code(),
      StatusCode::kUnavailable);
}

TEST(KafkaErrorsTest, HostileCodesDoNotCrash) {
  // Codes librdkafka never defined still give a non-Ok status with some text.
  for (int code : {-100000, -201, -99, 9999, 1 << 30}) {
    Status s = StatusFromKafkaError(code, "ctx");
    EXPECT_FALSE(s.ok()) << code;
    EXPECT_FALSE(s.message().empty()) << code;
  }
}

}  // namespace
}  // namespace sluice::kafka

#include "result_router.h"

#include <gtest/gtest.h>

#include "sluice/envelope/dlq.h"

namespace sluice::relay {
namespace {

using salesforce::ErrorClass;

salesforce::RecordResult Failed(ErrorClass c, const std::string& code) {
  salesforce::RecordResult r;
  r.error = salesforce::SfError{c, code, "why", {}, 400};
  return r;
}

class RouterTest : public ::testing::Test {
 protected:
  RouterTest() {
    flow::BackoffOptions o;
    o.max_attempts = 3;
    backoff_ = flow::Backoff::Create(o, flow::SeededUniform(1)).value();
    dispatch_.first_attempt = now_;
  }
  std::unique_ptr<flow::Backoff> backoff_;
  Clock::TimePoint now_{std::chrono::seconds(100)};
  flow::Dispatch dispatch_;
};

TEST_F(RouterTest, WholeCallFailuresAreOrgBudgetOrAuth) {
  salesforce::WriteResult r;
  EXPECT_EQ(ClassifyCall(r), CallVerdict::kAnswered);
  r.request_error = salesforce::SfError{ErrorClass::kRetryableOrg, "HTTP_503", "", {}, 503};
  EXPECT_EQ(ClassifyCall(r), CallVerdict::kOrgFailure);
  r.request_error->error_class = ErrorClass::kBudgetExhausted;
  EXPECT_EQ(ClassifyCall(r), CallVerdict::kBudgetExhausted);
  r.request_error->error_class = ErrorClass::kAuth;
  EXPECT_EQ(ClassifyCall(r), CallVerdict::kAuthFailure);
  r.request_error->error_class = ErrorClass::kPermanent;  // the records carry it
  EXPECT_EQ(ClassifyCall(r), CallVerdict::kAnswered);
}

TEST_F(RouterTest, SuccessIsDeliveredAndCharged) {
  salesforce::RecordResult ok;
  ok.success = true;
  auto route = RouteRecord(&ok, 200, dispatch_, 1, *backoff_, now_);
  EXPECT_EQ(route.action, RecordAction::kDelivered);
  EXPECT_TRUE(route.charged);
}

TEST_F(RouterTest, PermanentGoesToTheDlqAtOnce) {
  auto r = Failed(ErrorClass::kPermanent, "REQUIRED_FIELD_MISSING");
  auto route = RouteRecord(&r, 200, dispatch_, 1, *backoff_, now_);
  EXPECT_EQ(route.action, RecordAction::kDeadLetter);
  EXPECT_EQ(route.error_class, envelope::kClassPermanent);
  EXPECT_EQ(route.code, "REQUIRED_FIELD_MISSING");
  EXPECT_TRUE(route.charged);
}

TEST_F(RouterTest, RetryableRecordRetriesThenIsExhausted) {
  auto r = Failed(ErrorClass::kRetryableRecord, "UNABLE_TO_LOCK_ROW");
  dispatch_.attempt = 1;
  auto first = RouteRecord(&r, 200, dispatch_, 1, *backoff_, now_);
  EXPECT_EQ(first.action, RecordAction::kRetry);
  EXPECT_TRUE(first.charged);
  EXPECT_GE(first.delay, Clock::Duration::zero());
  dispatch_.attempt = 3;
  auto last = RouteRecord(&r, 200, dispatch_, 3, *backoff_, now_);
  EXPECT_EQ(last.action, RecordAction::kDeadLetter);
  EXPECT_EQ(last.error_class, envelope::kClassRetryExhausted);
  EXPECT_NE(last.message.find("after 3 attempts"), std::string::npos);
}

TEST_F(RouterTest, OrgClassOnOneRecordIsRequeuedUncharged) {
  auto r = Failed(ErrorClass::kRetryableOrg, "SERVER_UNAVAILABLE");
  auto route = RouteRecord(&r, 200, dispatch_, 0, *backoff_, now_);
  EXPECT_EQ(route.action, RecordAction::kRequeue);
  EXPECT_FALSE(route.charged);
}

TEST_F(RouterTest, AMissingResultIsARetryableRecordFailure) {
  auto route = RouteRecord(nullptr, 200, dispatch_, 1, *backoff_, now_);
  EXPECT_EQ(route.action, RecordAction::kRetry);
  EXPECT_EQ(route.code, "RESULT_MISSING");
}

}  // namespace
}  // namespace sluice::relay

#include "sluice/core/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace sluice {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.ToString(), "Ok");
}

TEST(StatusTest, ErrorCarriesCodeAndMessage) {
  Status s = UnavailableError("broker down");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.message(), "broker down");
  EXPECT_EQ(s.ToString(), "Unavailable: broker down");
}

TEST(StatusTest, EveryCodeHasAName) {
  for (int c = 0; c <= static_cast<int>(StatusCode::kDataLoss); ++c) {
    EXPECT_NE(StatusCodeName(static_cast<StatusCode>(c)), "Unknown") << c;
  }
  EXPECT_EQ(StatusCodeName(StatusCode::kPermissionDenied), "PermissionDenied");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = NotFoundError("no such topic").WithContext("create consumer");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "create consumer: no such topic");
  EXPECT_TRUE(Status().WithContext("x").ok());
}

TEST(StatusTest, RetryableCodes) {
  EXPECT_TRUE(UnavailableError("").IsRetryable());
  EXPECT_TRUE(DeadlineExceededError("").IsRetryable());
  EXPECT_TRUE(ResourceExhaustedError("").IsRetryable());
  EXPECT_FALSE(InvalidArgumentError("").IsRetryable());
  EXPECT_FALSE(UnauthenticatedError("").IsRetryable());
  EXPECT_FALSE(DataLossError("").IsRetryable());
  EXPECT_FALSE(Status().IsRetryable());
}

TEST(StatusTest, Equality) {
  EXPECT_EQ(InternalError("a"), InternalError("a"));
  EXPECT_FALSE(InternalError("a") == InternalError("b"));
  EXPECT_FALSE(InternalError("a") == DataLossError("a"));
}

Result<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgumentError("not positive");
  return v;
}

Status UseReturnIfError(int v, int* out) {
  RETURN_IF_ERROR(ParsePositive(v).status());
  *out = v;
  return Status::Ok();
}

Result<int> DoubleIt(int v) {
  ASSIGN_OR_RETURN(int x, ParsePositive(v));
  return x * 2;
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = ParsePositive(3);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 3);
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value_or(9), 3);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = ParsePositive(-1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.value_or(9), 9);
}

TEST(ResultTest, MoveOnlyValue) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(5));
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);
}

TEST(ResultTest, ArrowOperator) {
  Result<std::string> r(std::string("hello"));
  EXPECT_EQ(r->size(), 5u);
}

TEST(MacrosTest, ReturnIfErrorStopsEarly) {
  int out = 0;
  EXPECT_EQ(UseReturnIfError(-2, &out).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out, 0);
  EXPECT_TRUE(UseReturnIfError(4, &out).ok());
  EXPECT_EQ(out, 4);
}

TEST(MacrosTest, AssignOrReturn) {
  EXPECT_EQ(*DoubleIt(21), 42);
  EXPECT_EQ(DoubleIt(0).status().message(), "not positive");
}

}  // namespace
}  // namespace sluice

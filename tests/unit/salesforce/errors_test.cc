#include "sluice/salesforce/errors.h"

#include <gtest/gtest.h>

namespace sluice::salesforce {
namespace {

using EC = ErrorClass;

TEST(ClassifierTest, RecordCodes) {
  Classifier c;
  struct Case {
    const char* code;
    const char* message;
    EC expected;
  };
  const Case cases[] = {
      {"UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record",
       EC::kRetryableRecord},
      {"ALL_OR_NONE_OPERATION_ROLLED_BACK", "Record rolled back", EC::kRetryableRecord},
      {"UNKNOWN_EXCEPTION", "An unexpected error occurred", EC::kRetryableRecord},
      {"SERVER_UNAVAILABLE", "Server too busy", EC::kRetryableOrg},
      {"REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded.", EC::kRetryableOrg},
      {"REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded.",
       EC::kRetryableOrg},
      {"REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", EC::kBudgetExhausted},
      {"INVALID_SESSION_ID", "Session expired or invalid", EC::kAuth},
      {"REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", EC::kPermanent},
      {"INVALID_FIELD", "No such column 'Foo__c'", EC::kPermanent},
      {"STRING_TOO_LONG", "Name: data value too large", EC::kPermanent},
      {"MALFORMED_ID", "Account ID: id value of incorrect type", EC::kPermanent},
      {"INVALID_TYPE", "sObject type 'Nope__c' is not supported", EC::kPermanent},
      {"INVALID_TYPE_ON_FIELD_IN_RECORD", "Amount: value not of required type", EC::kPermanent},
      {"NOT_FOUND", "The requested resource does not exist", EC::kPermanent},
      {"DUPLICATE_VALUE", "duplicate value found: Email__c duplicates value on record with id: 003",
       EC::kPermanent},
      {"OPERATION_ENQUEUED", "e2c4-uuid", EC::kNone},
      {"SOMETHING_NEW_FROM_SALESFORCE", "?", EC::kRetryableRecord},  // the default for unknowns
      {"", "", EC::kRetryableRecord},
  };
  for (const auto& k : cases) {
    EXPECT_EQ(c.ClassifyCode(k.code, k.message), k.expected) << k.code << " / " << k.message;
  }
}

TEST(ClassifierTest, DuplicateValueDependsOnOperationAndField) {
  Classifier c;
  const std::string on_key =
      "duplicate value found: Sluice_Key__c duplicates value on record with id: 003000000000001";
  ErrorContext upsert{Operation::kUpsert, "Sluice_Key__c"};
  ErrorContext create{Operation::kCreate, ""};
  // Two upserts racing to create the same key: the retry updates.
  EXPECT_EQ(c.ClassifyCode("DUPLICATE_VALUE", on_key, upsert), EC::kRetryableRecord);
  EXPECT_EQ(c.ClassifyCode("DUPLICATE_VALUE", "dup", upsert, {"Sluice_Key__c"}),
            EC::kRetryableRecord);
  // Another unique field, or a create: it will never succeed.
  EXPECT_EQ(c.ClassifyCode("DUPLICATE_VALUE",
                           "duplicate value found: Email__c duplicates value on record with id: x",
                           upsert),
            EC::kPermanent);
  EXPECT_EQ(c.ClassifyCode("DUPLICATE_VALUE", on_key, create), EC::kPermanent);
}

TEST(ClassifierTest, UnknownDefaultAndOverridesAreConfigurable) {
  ClassifierOptions options;
  options.unknown_code = EC::kPermanent;
  options.overrides["UNABLE_TO_LOCK_ROW"] = EC::kRetryableOrg;
  options.overrides["MY_TRIGGER_ERROR"] = EC::kRetryableRecord;
  Classifier c(options);
  EXPECT_EQ(c.ClassifyCode("SOMETHING_NEW", ""), EC::kPermanent);
  EXPECT_EQ(c.ClassifyCode("UNABLE_TO_LOCK_ROW", ""), EC::kRetryableOrg);
  EXPECT_EQ(c.ClassifyCode("MY_TRIGGER_ERROR", ""), EC::kRetryableRecord);
  EXPECT_EQ(c.ClassifyCode("INVALID_FIELD", ""), EC::kPermanent);
}

TEST(ClassifierTest, WholeResponses) {
  Classifier c;
  struct Case {
    int status;
    std::string body;
    EC expected;
    std::string code;
  };
  const Case cases[] = {
      {401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])",
       EC::kAuth, "INVALID_SESSION_ID"},
      {401, "", EC::kAuth, "HTTP_401"},
      {403, R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       EC::kBudgetExhausted, "REQUEST_LIMIT_EXCEEDED"},
      {403,
       R"([{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       EC::kRetryableOrg, "REQUEST_LIMIT_EXCEEDED"},
      {403,
       R"([{"message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       EC::kRetryableOrg, "REQUEST_LIMIT_EXCEEDED"},
      {503, R"([{"message":"Server too busy","errorCode":"SERVER_UNAVAILABLE"}])",
       EC::kRetryableOrg, "SERVER_UNAVAILABLE"},
      {503,
       "<!DOCTYPE html><html><head><title>Down for maintenance</title></head><body>"
       "<h1>Salesforce is down for maintenance</h1>\n<p>Back soon</p></body></html>",
       EC::kRetryableOrg, "HTTP_503"},
      {502, "Bad gateway", EC::kRetryableOrg, "HTTP_502"},
      {504, "", EC::kRetryableOrg, "HTTP_504"},
      {429, "slow down", EC::kRetryableOrg, "HTTP_429"},
      {400,
       R"([{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}])",
       EC::kPermanent, "REQUIRED_FIELD_MISSING"},
      {400, R"([{"message":"Unexpected character","errorCode":"JSON_PARSER_ERROR"}])",
       EC::kPermanent, "JSON_PARSER_ERROR"},
      {400, R"([{"message":"?","errorCode":"BRAND_NEW_CODE"}])", EC::kPermanent, "BRAND_NEW_CODE"},
      {400, "not json at all", EC::kPermanent, "HTTP_400"},
      {400, R"([{"message":"row locked","errorCode":"UNABLE_TO_LOCK_ROW"}])", EC::kRetryableRecord,
       "UNABLE_TO_LOCK_ROW"},
      {404, R"([{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}])",
       EC::kPermanent, "NOT_FOUND"},
      {404, R"([{"errorCode":"INVALID_TYPE","message":"sObject type 'Nope' is not supported."}])",
       EC::kPermanent, "INVALID_TYPE"},
      {300,
       R"(["/services/data/v62.0/sobjects/Contact/003A","/services/data/v62.0/sobjects/Contact/003B"])",
       EC::kPermanent, "MULTIPLE_CHOICES"},
      {500, R"([{"message":"An unexpected error occurred","errorCode":"UNKNOWN_EXCEPTION"}])",
       EC::kRetryableRecord, "UNKNOWN_EXCEPTION"},
      {500, "<html>oops</html>", EC::kRetryableRecord, "HTTP_500"},
      {403, R"([{"message":"?","errorCode":"SOMETHING_ELSE"}])", EC::kRetryableRecord,
       "SOMETHING_ELSE"},
      {302, "", EC::kRetryableOrg, "HTTP_302"},
      {413, "", EC::kPermanent, "HTTP_413"},
  };
  for (const auto& k : cases) {
    SfError e = c.ClassifyResponse(k.status, k.body);
    EXPECT_EQ(e.error_class, k.expected) << k.status << " " << k.body;
    EXPECT_EQ(e.code, k.code) << k.status << " " << k.body;
    EXPECT_EQ(e.http_status, k.status);
  }
  SfError fields = c.ClassifyResponse(
      400, R"([{"message":"m","errorCode":"INVALID_FIELD","fields":["A__c","B__c"]}])");
  EXPECT_EQ(fields.message, "m");
  EXPECT_EQ(fields.fields, (std::vector<std::string>{"A__c", "B__c"}));
}

TEST(ClassifierTest, HostileBodiesNeverCrash) {
  Classifier c;
  std::vector<std::string> bodies = {
      std::string(1 << 21, '['),  // deep nesting and over the size cap
      std::string(100000, '['),
      R"([{"errorCode":12,"message":["x"]}])",
      R"([1,2,3])",
      R"({"errorCode":"INVALID_FIELD"})",
      std::string("\xff\xfe\x00\x01", 4),
      "[{\"errorCode\":\"A\nB\",\"message\":\"line1\nline2\"}]",
      R"(null)",
      R"([])",
  };
  for (const auto& b : bodies) {
    SfError e = c.ClassifyResponse(503, b);
    EXPECT_EQ(e.error_class, EC::kRetryableOrg);
    SfError p = c.ClassifyResponse(400, b);
    EXPECT_EQ(p.error_class, EC::kPermanent);
    EXPECT_LE(p.message.size(), 1000u);
    for (char ch : p.message) EXPECT_GE(static_cast<unsigned char>(ch), 0x20);
    for (char ch : p.code) EXPECT_GE(static_cast<unsigned char>(ch), 0x20);
  }
  EXPECT_EQ(c.ClassifyResponse(400, R"({"errorCode":"INVALID_FIELD"})").code, "INVALID_FIELD");
}

TEST(ClassifierTest, TransportFailuresAreOrgWide) {
  Classifier c;
  SfError refused = c.ClassifyTransport(UnavailableError("Couldn't connect to server"));
  EXPECT_EQ(refused.error_class, EC::kRetryableOrg);
  EXPECT_EQ(refused.code, "TRANSPORT_UNAVAILABLE");
  EXPECT_EQ(refused.message, "Couldn't connect to server");
  SfError timeout = c.ClassifyTransport(DeadlineExceededError("Timeout was reached"));
  EXPECT_EQ(timeout.error_class, EC::kRetryableOrg);
  EXPECT_EQ(timeout.code, "TRANSPORT_DEADLINE_EXCEEDED");
  EXPECT_EQ(c.ClassifyTransport(FailedPreconditionError("cert")).error_class, EC::kRetryableOrg);
}

TEST(ClassifierTest, WorseRanksOrgWideAbovePermanentAbovePerRecord) {
  EXPECT_EQ(Classifier::Worse(EC::kRetryableRecord, EC::kPermanent), EC::kPermanent);
  EXPECT_EQ(Classifier::Worse(EC::kPermanent, EC::kRetryableOrg), EC::kRetryableOrg);
  EXPECT_EQ(Classifier::Worse(EC::kBudgetExhausted, EC::kRetryableOrg), EC::kBudgetExhausted);
  EXPECT_EQ(Classifier::Worse(EC::kAuth, EC::kBudgetExhausted), EC::kAuth);
  EXPECT_EQ(Classifier::Worse(EC::kNone, EC::kRetryableRecord), EC::kRetryableRecord);
  EXPECT_EQ(ErrorClassName(EC::kRetryableOrg), "retryable_org");
  EXPECT_EQ(ErrorClassName(EC::kBudgetExhausted), "budget_exhausted");
}

}  // namespace
}  // namespace sluice::salesforce

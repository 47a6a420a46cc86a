#include "sluice/salesforce/client.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <thread>

#include "fake_http_transport.h"
#include "sluice/testing/simulated_clock.h"

namespace sluice::salesforce {
namespace {

using namespace std::chrono_literals;
using testing::FakeHttpTransport;
using testing::Response;
using EC = ErrorClass;

constexpr char kBase[] = "https://acme.my.salesforce.com/services/data/v62.0";

// A fake org: the token endpoint hands out tok1, tok2, ...; API requests go to `api`, which sees
// the request and the number of the token it carries (0 when none).
class FakeOrg {
 public:
  using Api = std::function<Result<http::HttpResponse>(const http::HttpRequest&, int token)>;

  explicit FakeOrg(Api api = nullptr, SalesforceClientOptions options = {}) : api_(std::move(api)) {
    transport_.set_handler([this](const http::HttpRequest& r) -> Result<http::HttpResponse> {
      if (r.url.find("/services/oauth2/token") != std::string::npos) {
        if (refuse_tokens) {
          return Response(400, R"({"error":"invalid_grant","error_description":"expired"})");
        }
        int n = ++token_requests;
        return Response(200, R"({"access_token":"tok)" + std::to_string(n) +
                                 R"(","instance_url":"https://acme.my.salesforce.com"})");
      }
      int token = 0;
      auto auth = r.headers.Get("Authorization");
      if (auth && auth->starts_with("Bearer tok")) token = std::stoi(std::string(auth->substr(10)));
      api_requests++;
      Api api;
      {
        std::lock_guard<std::mutex> lock(mu_);
        api = api_;
      }
      return api ? api(r, token) : Result<http::HttpResponse>(Response(500, ""));
    });
    AuthOptions auth;
    auth.login_url = "https://login.salesforce.com";
    auth.client_id = "id";
    auth.client_secret = "secret";
    tokens_ = std::move(TokenProvider::Create(auth, transport_, clock_, &stats).value());
    auto client = SalesforceClient::Create(options, transport_, *tokens_, &stats);
    EXPECT_TRUE(client.ok()) << client.status();
    client_ = std::move(client).value();
  }

  void set_api(Api api) {
    std::lock_guard<std::mutex> lock(mu_);
    api_ = std::move(api);
  }
  SalesforceClient& client() { return *client_; }
  FakeHttpTransport& transport() { return transport_; }
  // The API requests only (token requests left out).
  std::vector<http::HttpRequest> api_calls() const {
    std::vector<http::HttpRequest> out;
    for (auto& r : transport_.requests()) {
      if (r.url.find("/oauth2/") == std::string::npos) out.push_back(r);
    }
    return out;
  }

  SalesforceStats stats;
  std::atomic<int> token_requests{0};
  std::atomic<int> api_requests{0};
  std::atomic<bool> refuse_tokens{false};

 private:
  std::mutex mu_;
  Api api_;
  sluice::testing::SimulatedClock clock_;
  FakeHttpTransport transport_;
  std::unique_ptr<TokenProvider> tokens_;
  std::unique_ptr<SalesforceClient> client_;
};

http::HttpResponse WithLimits(http::HttpResponse r, const std::string& info) {
  r.headers.Add("Sforce-Limit-Info", info);
  return r;
}

// n successful upsert results.
std::string Successes(size_t n) {
  std::string out = "[";
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out += ",";
    out += R"({"id":"003000000000)" + std::to_string(100 + i) +
           R"(AAA","success":true,"errors":[],"created":true})";
  }
  return out + "]";
}

TEST(SalesforceClientTest, UpsertCollectionBodyIsExactlyWhatSalesforceExpects) {
  FakeOrg org([](const http::HttpRequest&, int) { return Response(200, Successes(4)); });
  std::vector<RecordInput> records = {
      {R"({"LastName":"Ng","Email":"a@b.c"})", "k1"},
      {R"({"LastName":"Q\"uote","Nested__c":{"a":[1,2,{"b":null}]}})", "k\"2\\é"},
      {"  {\n  \"LastName\" : \"Sp\" , \"N\" :1.5e3 }  ", "k3"},
      {"{}", "k4"},
  };
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_FALSE(result.request_error.has_value()) << result.request_error->message;
  auto calls = org.api_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "PATCH");
  EXPECT_EQ(calls[0].url, std::string(kBase) + "/composite/sobjects/Contact/Sluice_Key__c");
  EXPECT_EQ(calls[0].headers.Get("Authorization"), "Bearer tok1");
  EXPECT_EQ(calls[0].headers.Get("Content-Type"), "application/json");
  EXPECT_EQ(
      calls[0].body,
      R"({"allOrNone":false,"records":[)"
      R"({"attributes":{"type":"Contact"},"Sluice_Key__c":"k1","LastName":"Ng","Email":"a@b.c"},)"
      R"({"attributes":{"type":"Contact"},"Sluice_Key__c":"k\"2\\é","LastName":"Q\"uote","Nested__c":{"a":[1,2,{"b":null}]}},)"
      R"({"attributes":{"type":"Contact"},"Sluice_Key__c":"k3","LastName" : "Sp" , "N" :1.5e3},)"
      R"({"attributes":{"type":"Contact"},"Sluice_Key__c":"k4"}]})");
  rapidjson::Document doc;
  doc.Parse(calls[0].body.c_str());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["records"][1]["Sluice_Key__c"].GetString(), "k\"2\\é");
  EXPECT_EQ(result.attempts, 1);
  ASSERT_EQ(result.records.size(), 4u);
  for (const auto& r : result.records) EXPECT_TRUE(r.success);
}

TEST(SalesforceClientTest, CreateCollectionBody) {
  FakeOrg org([](const http::HttpRequest&, int) { return Response(200, Successes(2)); });
  std::vector<RecordInput> records = {{R"({"Name":"A"})", "ignored"}, {R"({"Name":"B"})", ""}};
  WriteResult result = org.client().CreateCollectionSync("Account", records);
  ASSERT_FALSE(result.request_error.has_value());
  auto calls = org.api_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].url, std::string(kBase) + "/composite/sobjects");
  EXPECT_EQ(calls[0].body, R"({"allOrNone":false,"records":[)"
                           R"({"attributes":{"type":"Account"},"Name":"A"},)"
                           R"({"attributes":{"type":"Account"},"Name":"B"}]})");
}

TEST(SalesforceClientTest, ExternalIdInsideFieldsIsNotDuplicated) {
  FakeOrg org([](const http::HttpRequest&, int) { return Response(200, Successes(1)); });
  std::vector<RecordInput> records = {{R"({"Sluice_Key__c":"k1","LastName":"Ng"})", "k1"}};
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_FALSE(result.request_error.has_value());
  EXPECT_EQ(org.api_calls()[0].body,
            R"({"allOrNone":false,"records":[)"
            R"({"attributes":{"type":"Contact"},"Sluice_Key__c":"k1","LastName":"Ng"}]})");
}

TEST(SalesforceClientTest, MixedResultsMapToTheirRecords) {
  FakeOrg org([](const http::HttpRequest&, int) {
    return WithLimits(
        Response(
            200,
            R"([{"id":"003A","success":true,"errors":[],"created":true},)"
            R"({"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"unable to obtain exclusive access to this record or 1 records: 003B","fields":[]}]},)"
            R"({"success":false,"errors":[{"statusCode":"REQUIRED_FIELD_MISSING","message":"Required fields are missing: [LastName]","fields":["LastName"]}]},)"
            R"({"id":"003D","success":true,"errors":[],"created":false},)"
            R"({"success":false,"errors":[{"statusCode":"DUPLICATE_VALUE","message":"duplicate value found: Sluice_Key__c duplicates value on record with id: 003E","fields":[]}]},)"
            R"({"success":false,"errors":[{"statusCode":"UNABLE_TO_LOCK_ROW","message":"x","fields":[]},{"statusCode":"STRING_TOO_LONG","message":"y","fields":["Name"]}]}])"),
        "api-usage=10018/100000");
  });
  std::vector<RecordInput> records(6, RecordInput{R"({"LastName":"x"})", "k"});
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_FALSE(result.request_error.has_value());
  ASSERT_EQ(result.records.size(), 6u);
  EXPECT_TRUE(result.records[0].success);
  EXPECT_EQ(result.records[0].id, "003A");
  EXPECT_TRUE(result.records[0].created);
  EXPECT_EQ(result.records[0].error.error_class, EC::kNone);
  EXPECT_FALSE(result.records[1].success);
  EXPECT_EQ(result.records[1].error.code, "UNABLE_TO_LOCK_ROW");
  EXPECT_EQ(result.records[1].error.error_class, EC::kRetryableRecord);
  EXPECT_EQ(result.records[2].error.code, "REQUIRED_FIELD_MISSING");
  EXPECT_EQ(result.records[2].error.error_class, EC::kPermanent);
  EXPECT_EQ(result.records[2].error.fields, std::vector<std::string>{"LastName"});
  EXPECT_TRUE(result.records[3].success);
  EXPECT_EQ(result.records[3].id, "003D");
  EXPECT_FALSE(result.records[3].created);
  // A duplicate on the upsert's own key is a race that a retry resolves.
  EXPECT_EQ(result.records[4].error.error_class, EC::kRetryableRecord);
  // Several errors: the permanent one decides.
  EXPECT_EQ(result.records[5].error.code, "STRING_TOO_LONG");
  EXPECT_EQ(result.records[5].error.error_class, EC::kPermanent);
  EXPECT_EQ(result.records[5].errors.size(), 2u);
  ASSERT_TRUE(result.limit_info.has_value());
  EXPECT_EQ(result.limit_info->api_used, 10018);
  EXPECT_EQ(org.stats.api_usage_used.load(), 10018);
  EXPECT_EQ(org.stats.api_usage_max.load(), 100000);
  EXPECT_EQ(org.stats.records_by_class[static_cast<size_t>(EC::kNone)].load(), 2u);
  EXPECT_EQ(org.stats.records_by_class[static_cast<size_t>(EC::kRetryableRecord)].load(), 2u);
  EXPECT_EQ(org.stats.records_by_class[static_cast<size_t>(EC::kPermanent)].load(), 2u);
}

TEST(SalesforceClientTest, LocallyRejectedRecordsKeepTheirPositions) {
  // The org answers for what it received: ids echo the external id of each record sent.
  FakeOrg org([](const http::HttpRequest& r, int) {
    rapidjson::Document doc;
    doc.Parse(r.body.c_str());
    std::string out = "[";
    for (const auto& rec : doc["records"].GetArray()) {
      if (out.size() > 1) out += ",";
      out += R"({"id":")" + std::string(rec["Sluice_Key__c"].GetString()) +
             R"(","success":true,"errors":[],"created":true})";
    }
    return Response(200, out + "]");
  });
  std::vector<RecordInput> records = {
      {R"({"LastName":"a"})", "good0"},
      {R"(not json)", "bad1"},
      {R"({"LastName":"c"})", "good2"},
      {R"({"attributes":{"type":"Account"},"LastName":"d"})", "bad3"},
      {R"({"Sluice_Key__c":"other","LastName":"e"})", "bad4"},
      {R"({"LastName":"f"})", ""},
      {R"({"LastName":"g"})", "\xff\xfe"},
      {R"({"Sluice_Key__c":5})", "bad7"},
      {R"({"LastName":"i"})", "good8"},
  };
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_FALSE(result.request_error.has_value());
  ASSERT_EQ(result.records.size(), records.size());
  for (size_t i : {0u, 2u, 8u}) {
    EXPECT_TRUE(result.records[i].success) << i;
    EXPECT_EQ(result.records[i].id, "good" + std::to_string(i));
  }
  for (size_t i : {1u, 3u, 4u, 5u, 6u, 7u}) {
    EXPECT_FALSE(result.records[i].success) << i;
    EXPECT_EQ(result.records[i].error.error_class, EC::kPermanent) << i;
    EXPECT_EQ(result.records[i].error.code, "INVALID_RECORD_INPUT") << i;
  }
  EXPECT_EQ(org.stats.records_rejected_locally.load(), 6u);
}

TEST(SalesforceClientTest, HostileFieldsAreRejectedWithoutSending) {
  FakeOrg org([](const http::HttpRequest&, int) { return Response(200, Successes(1)); });
  std::string deep = "{\"a\":" + std::string(200000, '[') + std::string(200000, ']') + "}";
  const std::string hostile[] = {
      "",
      "   ",
      "[]",
      "\"a string\"",
      "42",
      "null",
      "{}{}",
      R"({"a":1} trailing)",
      R"({"a":1}],"allOrNone":true,"records":[{"a":2})",  // splice injection
      R"({"a":1,})",
      R"({"a":"unterminated})",
      "{\"a\":\"\xc3\x28\"}",  // invalid UTF-8
      std::string("{\"a\":\"x\0y\"}", 11),
      deep,
      "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}",  // deeper than 64
  };
  for (const auto& fields : hostile) {
    std::vector<RecordInput> records = {{fields, "k"}};
    WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
    ASSERT_EQ(result.records.size(), 1u);
    EXPECT_FALSE(result.records[0].success) << fields.substr(0, 60);
    EXPECT_EQ(result.records[0].error.error_class, EC::kPermanent);
    EXPECT_EQ(result.records[0].error.code, "INVALID_RECORD_INPUT") << fields.substr(0, 60);
  }
  EXPECT_EQ(org.api_requests.load(), 0);
  EXPECT_EQ(org.token_requests.load(), 0);

  SalesforceClientOptions small;
  small.max_record_bytes = 100;
  FakeOrg org2([](const http::HttpRequest&, int) { return Response(200, Successes(1)); }, small);
  std::string big = R"({"Description":")" + std::string(200, 'x') + R"("})";
  std::vector<RecordInput> records = {{big, "k"}, {R"({"Name":"ok"})", "k2"}};
  WriteResult result = org2.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  EXPECT_EQ(result.records[0].error.code, "RECORD_TOO_LARGE");
  EXPECT_TRUE(result.records[1].success);
}

TEST(SalesforceClientTest, BadRequestsAreRefusedWhole) {
  FakeOrg org([](const http::HttpRequest&, int) { return Response(200, Successes(1)); });
  std::vector<RecordInput> too_many(201, RecordInput{R"({"LastName":"x"})", "k"});
  WriteResult big = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", too_many);
  ASSERT_TRUE(big.request_error.has_value());
  EXPECT_EQ(big.request_error->code, "INVALID_REQUEST");
  EXPECT_EQ(big.records.size(), 201u);
  std::vector<RecordInput> one = {{R"({"LastName":"x"})", "k"}};
  for (const char* name : {"", "Contact/../Account", "Con tact", "1Contact", "Contact?x=1"}) {
    WriteResult r = org.client().UpsertCollectionSync(name, "Sluice_Key__c", one);
    ASSERT_TRUE(r.request_error.has_value()) << name;
    EXPECT_EQ(r.request_error->code, "INVALID_REQUEST");
    WriteResult f = org.client().UpsertCollectionSync("Contact", name, one);
    ASSERT_TRUE(f.request_error.has_value()) << name;
  }
  WriteResult empty = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", {});
  EXPECT_FALSE(empty.request_error.has_value());
  EXPECT_TRUE(empty.records.empty());
  EXPECT_EQ(org.api_requests.load(), 0);

  sluice::testing::SimulatedClock clock;
  FakeHttpTransport transport;
  AuthOptions auth;
  auth.client_id = "a";
  auth.client_secret = "b";
  auto tokens = TokenProvider::Create(auth, transport, clock);
  ASSERT_TRUE(tokens.ok());
  for (const char* v : {"62", "v62.0", "62.0.1", "", "6x.0", "62."}) {
    SalesforceClientOptions o;
    o.api_version = v;
    EXPECT_EQ(SalesforceClient::Create(o, transport, **tokens).status().code(),
              StatusCode::kInvalidArgument)
        << v;
  }
  SalesforceClientOptions o;
  o.max_batch_records = 201;
  EXPECT_FALSE(SalesforceClient::Create(o, transport, **tokens).ok());
  o.max_batch_records = 200;
  o.api_version = "45.0";
  EXPECT_TRUE(SalesforceClient::Create(o, transport, **tokens).ok());
}

TEST(SalesforceClientTest, UnmappableAnswersFailTheWholeRequestRetryably) {
  const std::string answers[] = {
      Successes(2),  // fewer results than records
      Successes(4),  // more results than records
      "[]",
      "not json",
      "<html><body>hello</body></html>",
      R"({"id":"003","success":true})",  // an object, not an array
      R"([{"success":true},"oops",{"success":true}])",
      "",
  };
  for (const auto& answer : answers) {
    FakeOrg org([&](const http::HttpRequest&, int) { return Response(200, answer); });
    std::vector<RecordInput> records(3, RecordInput{R"({"LastName":"x"})", "k"});
    WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
    ASSERT_TRUE(result.request_error.has_value()) << answer;
    EXPECT_EQ(result.request_error->error_class, EC::kRetryableRecord) << answer;
    EXPECT_TRUE(result.request_error->code == "RESULT_COUNT_MISMATCH" ||
                result.request_error->code == "MALFORMED_RESPONSE")
        << result.request_error->code;
    for (const auto& r : result.records) {
      EXPECT_FALSE(r.success);  // never a guessed success
      EXPECT_EQ(r.error.code, result.request_error->code);
    }
  }
}

TEST(SalesforceClientTest, WholeRequestErrorsCarryTheirClass) {
  struct Case {
    int status;
    std::string body;
    EC expected;
  };
  const Case cases[] = {
      {503, "<html><head><title>Maintenance</title></head><body>Down</body></html>",
       EC::kRetryableOrg},
      {503, R"([{"message":"Server too busy","errorCode":"SERVER_UNAVAILABLE"}])",
       EC::kRetryableOrg},
      {403, R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       EC::kBudgetExhausted},
      {403,
       R"([{"message":"ConcurrentPerOrgLongTxn Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       EC::kRetryableOrg},
      {400, R"([{"message":"Unexpected character","errorCode":"JSON_PARSER_ERROR"}])",
       EC::kPermanent},
      {404, R"([{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}])",
       EC::kPermanent},
  };
  for (const auto& k : cases) {
    FakeOrg org([&](const http::HttpRequest&, int) {
      return WithLimits(Response(k.status, k.body), "api-usage=5/15000");
    });
    std::vector<RecordInput> records = {{R"({"LastName":"x"})", "k1"}, {"bad", "k2"}};
    WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
    ASSERT_TRUE(result.request_error.has_value());
    EXPECT_EQ(result.request_error->error_class, k.expected) << k.status << " " << k.body;
    EXPECT_EQ(result.http_status, k.status);
    EXPECT_EQ(result.records[0].error.error_class, k.expected);
    // The locally rejected record keeps its own reason.
    EXPECT_EQ(result.records[1].error.code, "INVALID_RECORD_INPUT");
    ASSERT_TRUE(result.limit_info.has_value());
    EXPECT_EQ(result.limit_info->api_max, 15000);
    EXPECT_EQ(org.stats.requests_by_class[static_cast<size_t>(k.expected)].load(), 1u);
  }
}

TEST(SalesforceClientTest, TransportFailureIsOrgWide) {
  FakeOrg org([](const http::HttpRequest&, int) {
    return Result<http::HttpResponse>(UnavailableError("Connection reset by peer"));
  });
  std::vector<RecordInput> records = {{R"({"LastName":"x"})", "k1"}};
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_TRUE(result.request_error.has_value());
  EXPECT_EQ(result.request_error->error_class, EC::kRetryableOrg);
  EXPECT_EQ(result.request_error->code, "TRANSPORT_UNAVAILABLE");
  EXPECT_EQ(result.http_status, 0);
}

TEST(SalesforceClientTest, ExpiredTokenIsRefreshedOnceAndTheRequestResent) {
  FakeOrg org([](const http::HttpRequest&, int token) {
    if (token < 2) {
      return Response(
          401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])");
    }
    return Response(200, Successes(1));
  });
  std::vector<RecordInput> records = {{R"({"LastName":"x"})", "k1"}};
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_FALSE(result.request_error.has_value()) << result.request_error->message;
  EXPECT_TRUE(result.records[0].success);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(org.token_requests.load(), 2);
  EXPECT_EQ(org.stats.auth_retries.load(), 1u);
  auto calls = org.api_calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].body, calls[1].body);
  EXPECT_EQ(calls[1].headers.Get("Authorization"), "Bearer tok2");
}

TEST(SalesforceClientTest, RepeatedAuthFailureIsAnAuthError) {
  FakeOrg org([](const http::HttpRequest&, int) {
    return Response(
        401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])");
  });
  std::vector<RecordInput> records = {{R"({"LastName":"x"})", "k1"}};
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_TRUE(result.request_error.has_value());
  EXPECT_EQ(result.request_error->error_class, EC::kAuth);
  EXPECT_EQ(result.request_error->code, "INVALID_SESSION_ID");
  EXPECT_EQ(result.attempts, 2);  // one resend, not a loop
  EXPECT_EQ(org.token_requests.load(), 2);

  FakeOrg refused([](const http::HttpRequest&, int) { return Response(200, Successes(1)); });
  refused.refuse_tokens = true;
  WriteResult r2 = refused.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  ASSERT_TRUE(r2.request_error.has_value());
  EXPECT_EQ(r2.request_error->error_class, EC::kAuth);
  EXPECT_EQ(r2.request_error->code, "AUTH_FAILED");
  EXPECT_EQ(refused.api_requests.load(), 0);
}

TEST(SalesforceClientTest, SixteenThreadsHittingAnExpiredTokenCauseOneRefresh) {
  std::atomic<int> refused{0};
  FakeOrg org;
  // Everyone starts with tok1, which the org has already expired.
  std::vector<RecordInput> records = {{R"({"LastName":"x"})", "k1"}};
  org.set_api([&](const http::HttpRequest&, int) { return Response(200, Successes(1)); });
  ASSERT_FALSE(
      org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records).request_error);
  // The 401s are answered only once all sixteen requests have arrived with tok1 (a bounded
  // wait), so every one of them really sees the expired token.
  constexpr int kThreads = 16;
  std::atomic<int> arrived_with_tok1{0};
  org.set_api([&](const http::HttpRequest&, int token) {
    if (token < 2) {
      arrived_with_tok1++;
      auto deadline = std::chrono::steady_clock::now() + 20s;
      while (arrived_with_tok1.load() < kThreads && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::yield();
      }
      refused++;
      return Response(
          401, R"([{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}])");
    }
    return Response(200, Successes(1));
  });
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      WriteResult r = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
      if (!r.request_error && r.records[0].success) ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads);
  EXPECT_EQ(org.token_requests.load(), 2);  // the first token and exactly one refresh
  EXPECT_EQ(refused.load(), kThreads);      // every one of them saw the 401
}

TEST(SalesforceClientTest, SingleUpsertAnswers) {
  struct Case {
    int status;
    std::string body;
    bool success;
    bool created;
    std::string id;
    EC error_class;
    bool request_error;
  };
  const Case cases[] = {
      {201, R"({"id":"003A","success":true,"errors":[],"created":true})", true, true, "003A",
       EC::kNone, false},
      {200, R"({"id":"003B","success":true,"errors":[],"created":false})", true, false, "003B",
       EC::kNone, false},
      {204, "", true, false, "", EC::kNone, false},
      {400,
       R"([{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}])",
       false, false, "", EC::kPermanent, false},
      {400, R"([{"message":"unable to obtain exclusive access","errorCode":"UNABLE_TO_LOCK_ROW"}])",
       false, false, "", EC::kRetryableRecord, false},
      {404, R"([{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}])",
       false, false, "", EC::kPermanent, false},
      {300,
       R"(["/services/data/v62.0/sobjects/Contact/003A","/services/data/v62.0/sobjects/Contact/003B"])",
       false, false, "", EC::kPermanent, false},
      {503, "<html>maintenance</html>", false, false, "", EC::kRetryableOrg, true},
      {403, R"([{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}])",
       false, false, "", EC::kBudgetExhausted, true},
  };
  for (const auto& k : cases) {
    FakeOrg org([&](const http::HttpRequest&, int) { return Response(k.status, k.body); });
    WriteResult result =
        org.client().UpsertSync("Contact", "Sluice_Key__c", {R"({"LastName":"x"})", "a/b c?d"});
    auto calls = org.api_calls();
    ASSERT_EQ(calls.size(), 1u);
    EXPECT_EQ(calls[0].method, "PATCH");
    EXPECT_EQ(calls[0].url, std::string(kBase) + "/sobjects/Contact/Sluice_Key__c/a%2Fb%20c%3Fd");
    EXPECT_EQ(calls[0].body, R"({"LastName":"x"})");
    ASSERT_EQ(result.records.size(), 1u);
    const RecordResult& r = result.records[0];
    EXPECT_EQ(r.success, k.success) << k.status << " " << k.body;
    EXPECT_EQ(r.created, k.created) << k.status;
    EXPECT_EQ(r.id, k.id) << k.status;
    EXPECT_EQ(r.error.error_class, k.error_class) << k.status << " " << k.body;
    EXPECT_EQ(result.request_error.has_value(), k.request_error) << k.status;
  }
}

TEST(SalesforceClientTest, CreateAndPublish) {
  FakeOrg org([](const http::HttpRequest& r, int) {
    if (r.url.find("Order_Event__e") != std::string::npos) {
      return Response(
          201,
          R"({"id":"e01xx0000000001AAA","success":true,"errors":[{"statusCode":"OPERATION_ENQUEUED","message":"a3b1-uuid","fields":[]}]})");
    }
    if (r.url.find("Bad_Event__e") != std::string::npos) {
      return Response(
          201,
          R"({"success":false,"errors":[{"statusCode":"OPERATION_ENQUEUED","message":"u","fields":[]},{"statusCode":"INVALID_FIELD","message":"no","fields":["X__c"]}]})");
    }
    if (r.url.find("Odd_Event__e") != std::string::npos) {
      // success:false, but the only "error" says the event was queued: still success.
      return Response(
          201, R"({"success":false,"errors":[{"statusCode":"OPERATION_ENQUEUED","message":"u"}]})");
    }
    return Response(201, R"({"id":"001A","success":true,"errors":[]})");
  });
  WriteResult created = org.client().CreateSync("Account", R"({"Name":"Acme"})");
  EXPECT_TRUE(created.records[0].success);
  EXPECT_TRUE(created.records[0].created);
  EXPECT_EQ(created.records[0].id, "001A");
  WriteResult published = org.client().PublishSync("Order_Event__e", R"({"Order__c":"1"})");
  ASSERT_FALSE(published.request_error.has_value());
  EXPECT_TRUE(published.records[0].success);
  EXPECT_EQ(published.records[0].id, "e01xx0000000001AAA");
  EXPECT_EQ(published.records[0].errors.size(), 1u);
  EXPECT_EQ(published.records[0].error.error_class, EC::kNone);
  WriteResult odd = org.client().PublishSync("Odd_Event__e", "{}");
  EXPECT_TRUE(odd.records[0].success);
  WriteResult bad = org.client().PublishSync("Bad_Event__e", "{}");
  EXPECT_FALSE(bad.records[0].success);
  EXPECT_EQ(bad.records[0].error.code, "INVALID_FIELD");
  EXPECT_EQ(bad.records[0].error.error_class, EC::kPermanent);
  auto calls = org.api_calls();
  ASSERT_EQ(calls.size(), 4u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].url, std::string(kBase) + "/sobjects/Account/");
  EXPECT_EQ(calls[1].url, std::string(kBase) + "/sobjects/Order_Event__e/");
  EXPECT_EQ(calls[1].body, R"({"Order__c":"1"})");
}

TEST(SalesforceClientTest, AllOrNoneRollbacksAreRetryable) {
  SalesforceClientOptions options;
  options.all_or_none = true;
  FakeOrg org(
      [](const http::HttpRequest&, int) {
        return Response(
            200,
            R"([{"success":false,"errors":[{"statusCode":"ALL_OR_NONE_OPERATION_ROLLED_BACK","message":"Record rolled back because not all records were valid and the request was using AllOrNone header","fields":[]}]},)"
            R"({"success":false,"errors":[{"statusCode":"STRING_TOO_LONG","message":"too long","fields":["Name"]}]}])");
      },
      options);
  std::vector<RecordInput> records(2, RecordInput{R"({"LastName":"x"})", "k"});
  WriteResult result = org.client().UpsertCollectionSync("Contact", "Sluice_Key__c", records);
  EXPECT_EQ(org.api_calls()[0].body.substr(0, 19), R"({"allOrNone":true,")");
  EXPECT_EQ(result.records[0].error.error_class, EC::kRetryableRecord);
  EXPECT_EQ(result.records[1].error.error_class, EC::kPermanent);
}

TEST(SalesforceClientTest, Limits) {
  FakeOrg org([](const http::HttpRequest& r, int) {
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.url, std::string(kBase) + "/limits");
    return WithLimits(
        Response(
            200,
            R"({"DailyApiRequests":{"Max":15000,"Remaining":14998,"Ant Migration Tool":{"Max":0,"Remaining":0}},)"
            R"("DailyBulkApiBatches":{"Max":15000,"Remaining":15000},"Weird":5,"Half":{"Max":1}})"),
        "api-usage=2/15000");
  });
  LimitsResult limits = org.client().GetLimitsSync();
  ASSERT_FALSE(limits.request_error.has_value());
  ASSERT_EQ(limits.limits.size(), 2u);
  EXPECT_EQ(limits.limits["DailyApiRequests"].max, 15000);
  EXPECT_EQ(limits.limits["DailyApiRequests"].remaining, 14998);
  EXPECT_EQ(limits.limit_info->api_used, 2);

  for (const std::string& body : {std::string("<html/>"), std::string("[]"), std::string("")}) {
    FakeOrg bad([&](const http::HttpRequest&, int) { return Response(200, body); });
    LimitsResult r = bad.client().GetLimitsSync();
    ASSERT_TRUE(r.request_error.has_value());
    EXPECT_EQ(r.request_error->code, "MALFORMED_RESPONSE");
  }
  FakeOrg down([](const http::HttpRequest&, int) { return Response(503, "<html/>"); });
  EXPECT_EQ(down.client().GetLimitsSync().request_error->error_class, EC::kRetryableOrg);
}

}  // namespace
}  // namespace sluice::salesforce

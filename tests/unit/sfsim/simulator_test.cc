// The simulator's org behaviour on a SimulatedClock: OAuth, routing, validation, upserts,
// collections, platform events, limits, locks, latency, faults, ledger and stats.
#include "sluice/sfsim/simulator.h"

#include <gtest/gtest.h>

#include "sim_test_util.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kV = "/services/data/v62.0";

std::string Contacts(int n, int first = 0, const std::string& extra = "") {
  std::string body = "{\"allOrNone\":false,\"records\":[";
  for (int i = 0; i < n; ++i) {
    if (i) body += ",";
    body += "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"L" + std::to_string(i) +
            "\",\"Sluice_Key__c\":\"k" + std::to_string(first + i) +
            "\",\"Sluice_Event_Id__c\":\"e" + std::to_string(first + i) + "\"" + extra + "}";
  }
  return body + "]}";
}

class SimulatorTest : public SimFixture {
 protected:
  void SetUp() override {
    Make();
    token_ = Login();
  }
};

TEST_F(SimulatorTest, ClientCredentialsTokenHasSalesforceShape) {
  auto r = Req("POST", "/services/oauth2/token",
               "grant_type=client_credentials&client_id=sluice-sfsim-client&client_secret="
               "sluice-sfsim-secret");
  auto out = sim_->Handle(r);
  ASSERT_EQ(out.response.status, 200);
  auto d = Parse(out.response.body);
  EXPECT_EQ(std::string(d["access_token"].GetString()).rfind("00D5g00000SLUIC!AR", 0), 0u);
  EXPECT_EQ(std::string(d["instance_url"].GetString()), "http://127.0.0.1:1234");
  EXPECT_EQ(std::string(d["token_type"].GetString()), "Bearer");
  EXPECT_EQ(std::string(d["scope"].GetString()), "api");
  EXPECT_EQ(std::string(d["id"].GetString()),
            "https://login.salesforce.com/id/00D5g00000SLUICEA5/0055g00000SLUICAA5");
  EXPECT_EQ(std::string(d["issued_at"].GetString()), std::to_string(clock_.WallMillis()));
  EXPECT_TRUE(d.HasMember("signature"));
  EXPECT_FALSE(d.HasMember("expires_in"));
}

TEST_F(SimulatorTest, ClientCredentialsInBasicHeader) {
  auto r = Req("POST", "/services/oauth2/token", "grant_type=client_credentials");
  // base64("sluice-sfsim-client:sluice-sfsim-secret")
  r.headers.Add("Authorization", "Basic c2x1aWNlLXNmc2ltLWNsaWVudDpzbHVpY2Utc2ZzaW0tc2VjcmV0");
  EXPECT_EQ(sim_->Handle(r).response.status, 200);
  auto bad = Req("POST", "/services/oauth2/token", "grant_type=client_credentials");
  bad.headers.Add("Authorization", "Basic !!!notbase64");
  auto out = sim_->Handle(bad);
  EXPECT_EQ(out.response.status, 400);
  EXPECT_NE(out.response.body.find("invalid_client"), std::string::npos);
}

TEST_F(SimulatorTest, OAuthErrors) {
  struct Case {
    std::string body;
    std::string error;
  } cases[] = {
      {"grant_type=client_credentials&client_id=nope&client_secret=sluice-sfsim-secret",
       "invalid_client_id"},
      {"grant_type=client_credentials&client_id=sluice-sfsim-client&client_secret=wrong",
       "invalid_client"},
      {"grant_type=password&username=a&password=b", "unsupported_grant_type"},
      {"", "unsupported_grant_type"},
      {"%%%&&&==", "unsupported_grant_type"},
      {"grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=x.y.z", "invalid_grant"},
  };
  for (const auto& c : cases) {
    auto out = Do("POST", "/services/oauth2/token", c.body);
    EXPECT_EQ(out.response.status, 400) << c.body;
    auto d = Parse(out.response.body);
    EXPECT_EQ(std::string(d["error"].GetString()), c.error) << c.body;
    EXPECT_TRUE(d.HasMember("error_description"));
  }
}

TEST_F(SimulatorTest, MissingOrBadTokenIs401WithWwwAuthenticate) {
  for (std::string token : {"", "garbage", "00D5g00000SLUIC!ARforged"}) {
    auto r = Req("GET", std::string(kV) + "/limits", "", token);
    auto out = sim_->Handle(r);
    EXPECT_EQ(out.response.status, 401);
    EXPECT_EQ(out.response.headers.Get("WWW-Authenticate"), "Token");
    EXPECT_EQ(
        out.response.body,
        "[{\"message\":\"Session expired or invalid\",\"errorCode\":\"INVALID_SESSION_ID\"}]");
  }
}

TEST_F(SimulatorTest, TokensExpireAfterSessionTimeout) {
  SimOptions o;
  o.org.session_timeout = 30min;
  Make(o);
  token_ = Login();
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);
  clock_.Advance(29min);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);
  clock_.Advance(1min);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 401);
  token_ = Login();
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);
}

TEST_F(SimulatorTest, VersionsAndResources) {
  auto r = Req("GET", "/services/data/");
  auto out = sim_->Handle(r);  // no token needed
  ASSERT_EQ(out.response.status, 200);
  auto d = Parse(out.response.body);
  ASSERT_TRUE(d.IsArray());
  EXPECT_EQ(d.Size(), 43u);  // 20.0 .. 62.0
  EXPECT_EQ(std::string(d[0]["version"].GetString()), "20.0");
  EXPECT_EQ(std::string(d[0]["label"].GetString()), "Winter '11");
  EXPECT_EQ(std::string(d[42]["url"].GetString()), "/services/data/v62.0");
  EXPECT_FALSE(out.response.headers.Has("Sforce-Limit-Info"));
  auto res = Do("GET", kV);
  EXPECT_EQ(res.response.status, 200);
  EXPECT_NE(res.response.body.find("/services/data/v62.0/sobjects"), std::string::npos);
}

TEST_F(SimulatorTest, UnknownRoutesVersionsMethodsAndObjects) {
  struct Case {
    std::string method, target;
    int status;
    std::string code;
  } cases[] = {
      {"GET", "/", 404, "NOT_FOUND"},
      {"GET", "/index.html", 404, "NOT_FOUND"},
      {"GET", "/services/data/v99.0/limits", 404, "NOT_FOUND"},
      {"GET", "/services/data/v19.0/limits", 404, "NOT_FOUND"},
      {"GET", "/services/data/vabc/limits", 404, "NOT_FOUND"},
      {"GET", "/services/data/v62.5/limits", 404, "NOT_FOUND"},
      {"GET", std::string(kV) + "/nothing", 404, "NOT_FOUND"},
      {"POST", std::string(kV) + "/sobjects/Nope__c/", 404, "NOT_FOUND"},
      {"PATCH", std::string(kV) + "/sobjects/Contact/Bogus__c/x", 404, "NOT_FOUND"},
      {"PATCH", std::string(kV) + "/sobjects/Contact/LastName/x", 404, "NOT_FOUND"},
      {"PATCH", std::string(kV) + "/composite/sobjects/Contact/Email", 404, "NOT_FOUND"},
      {"PATCH", std::string(kV) + "/composite/sobjects/Nope/Sluice_Key__c", 404, "NOT_FOUND"},
      {"PATCH", "/services/data/v45.0/composite/sobjects/Contact/Sluice_Key__c", 404, "NOT_FOUND"},
      {"POST", "/services/data/v41.0/composite/sobjects", 404, "NOT_FOUND"},
      {"DELETE", std::string(kV) + "/limits", 405, "METHOD_NOT_ALLOWED"},
      {"GET", std::string(kV) + "/composite/sobjects", 405, "METHOD_NOT_ALLOWED"},
      {"PUT", std::string(kV) + "/sobjects/Contact/Sluice_Key__c/x", 405, "METHOD_NOT_ALLOWED"},
      {"BREW", std::string(kV) + "/sobjects/Contact/", 405, "METHOD_NOT_ALLOWED"},
  };
  for (const auto& c : cases) {
    auto out = Do(c.method, c.target, "{}");
    EXPECT_EQ(out.response.status, c.status) << c.method << " " << c.target;
    auto d = Parse(out.response.body);
    ASSERT_TRUE(d.IsArray() && d.Size() == 1) << out.response.body;
    EXPECT_EQ(std::string(d[0]["errorCode"].GetString()), c.code) << c.target;
    EXPECT_EQ(out.response.headers.Get("Content-Type"), "application/json;charset=UTF-8");
    if (c.status == 405) {
      EXPECT_TRUE(out.response.headers.Has("Allow"));
    }
  }
}

TEST_F(SimulatorTest, CreateAnswersIdWithKeyPrefix) {
  auto out = Do("POST", std::string(kV) + "/sobjects/Contact/", R"({"LastName":"Smith"})");
  ASSERT_EQ(out.response.status, 201) << out.response.body;
  auto d = Parse(out.response.body);
  std::string id = d["id"].GetString();
  EXPECT_EQ(id.size(), 18u);
  EXPECT_EQ(id.substr(0, 3), "003");
  EXPECT_TRUE(IsValidRecordId(id));
  EXPECT_TRUE(d["success"].GetBool());
  EXPECT_TRUE(d["errors"].IsArray() && d["errors"].Empty());
  EXPECT_EQ(out.response.headers.Get("Sforce-Limit-Info"), "api-usage=1/100000");
  auto lead = Do("POST", std::string(kV) + "/sobjects/Lead/", R"({"LastName":"A","Company":"C"})");
  EXPECT_EQ(Parse(lead.response.body)["id"].GetString(), std::string("00QDn0000000001MAA"));
  // Object names are case-insensitive, as in Salesforce.
  EXPECT_EQ(
      Do("POST", std::string(kV) + "/sobjects/account/", R"({"name":"Acme"})").response.status,
      201);
}

TEST_F(SimulatorTest, ValidationErrorsUseSalesforceCodes) {
  struct Case {
    std::string object, body, code, field;
  } cases[] = {
      {"Contact", R"({"FirstName":"A"})", "REQUIRED_FIELD_MISSING", "LastName"},
      {"Contact", R"({"LastName":null})", "REQUIRED_FIELD_MISSING", "LastName"},
      {"Lead", R"({"FirstName":"A"})", "REQUIRED_FIELD_MISSING", "LastName"},
      {"Contact", R"({"LastName":"A","Foo__c":1})", "INVALID_FIELD", ""},
      {"Contact", "{\"LastName\":\"" + std::string(81, 'x') + "\"}", "STRING_TOO_LONG", "LastName"},
      {"Account", R"({"Name":"A","NumberOfEmployees":"many"})", "INVALID_TYPE_ON_FIELD_IN_RECORD",
       "NumberOfEmployees"},
      {"Account", R"({"Name":"A","NumberOfEmployees":1.5})", "INVALID_TYPE_ON_FIELD_IN_RECORD",
       "NumberOfEmployees"},
      {"Account", R"({"Name":"A","AnnualRevenue":"1e"})", "INVALID_TYPE_ON_FIELD_IN_RECORD",
       "AnnualRevenue"},
      {"Contact", R"({"LastName":"A","Birthdate":"2023-02-30"})", "INVALID_TYPE_ON_FIELD_IN_RECORD",
       "Birthdate"},
      {"Contact", R"({"LastName":"A","HasOptedOutOfEmail":"yes"})",
       "INVALID_TYPE_ON_FIELD_IN_RECORD", "HasOptedOutOfEmail"},
      {"Contact", R"({"LastName":{"nested":true}})", "INVALID_TYPE_ON_FIELD_IN_RECORD", "LastName"},
      {"Contact", R"({"LastName":"A","AccountId":"001notanid"})", "MALFORMED_ID", "AccountId"},
      {"Contact", R"({"LastName":"A","AccountId":"001Dn0000000001XXX"})", "MALFORMED_ID",
       "AccountId"},
      {"Contact", R"({"LastName":"A","Id":"003Dn0000000001IAA"})",
       "INVALID_FIELD_FOR_INSERT_UPDATE", "Id"},
  };
  for (const auto& c : cases) {
    auto out = Do("POST", std::string(kV) + "/sobjects/" + c.object + "/", c.body);
    EXPECT_EQ(out.response.status, 400) << c.body;
    auto d = Parse(out.response.body);
    ASSERT_TRUE(d.IsArray()) << out.response.body;
    EXPECT_EQ(std::string(d[0]["errorCode"].GetString()), c.code) << c.body;
    if (!c.field.empty()) {
      ASSERT_TRUE(d[0].HasMember("fields")) << out.response.body;
      EXPECT_EQ(std::string(d[0]["fields"][0].GetString()), c.field);
    }
  }
  EXPECT_EQ(StatU64("records_written"), 0u);
  // Valid typed values pass.
  auto ok = Do("POST", std::string(kV) + "/sobjects/Contact/",
               R"({"LastName":"Ünïcödé","Birthdate":"2024-02-29","HasOptedOutOfEmail":"TRUE",)"
               R"("AccountId":"001Dn0000000001IAA","Email":null})");
  EXPECT_EQ(ok.response.status, 201) << ok.response.body;
  auto acct = Do("POST", std::string(kV) + "/sobjects/Account/",
                 R"({"Name":"A","NumberOfEmployees":"12","AnnualRevenue":"1.5e3"})");
  EXPECT_EQ(acct.response.status, 201) << acct.response.body;
}

TEST_F(SimulatorTest, StringLengthCountsCharactersNotBytes) {
  std::string eighty(80 * 2, '\0');
  eighty.clear();
  for (int i = 0; i < 80; ++i) eighty += "\xc3\xa9";  // é
  auto out =
      Do("POST", std::string(kV) + "/sobjects/Contact/", "{\"LastName\":\"" + eighty + "\"}");
  EXPECT_EQ(out.response.status, 201) << out.response.body;
}

TEST_F(SimulatorTest, DuplicateValueOnUniqueField) {
  auto a = Do("POST", std::string(kV) + "/sobjects/Contact/",
              R"({"LastName":"A","Sluice_Key__c":"dup"})");
  ASSERT_EQ(a.response.status, 201);
  std::string id = Parse(a.response.body)["id"].GetString();
  auto b = Do("POST", std::string(kV) + "/sobjects/Contact/",
              R"({"LastName":"B","Sluice_Key__c":"dup"})");
  EXPECT_EQ(b.response.status, 400);
  auto d = Parse(b.response.body);
  EXPECT_EQ(std::string(d[0]["errorCode"].GetString()), "DUPLICATE_VALUE");
  EXPECT_EQ(std::string(d[0]["message"].GetString()),
            "duplicate value found: Sluice_Key__c duplicates value on record with id: " + id);
}

TEST_F(SimulatorTest, UpsertCreatesThenUpdates) {
  std::string path = std::string(kV) + "/sobjects/Contact/Sluice_Key__c/k-1";
  auto a = Do("PATCH", path, R"({"LastName":"A"})");
  ASSERT_EQ(a.response.status, 201) << a.response.body;
  auto da = Parse(a.response.body);
  EXPECT_TRUE(da["created"].GetBool());
  auto b = Do("PATCH", path, R"({"FirstName":"B"})");  // update needs no required fields
  ASSERT_EQ(b.response.status, 200) << b.response.body;
  auto db = Parse(b.response.body);
  EXPECT_FALSE(db["created"].GetBool());
  EXPECT_EQ(std::string(da["id"].GetString()), std::string(db["id"].GetString()));
  // API 45.0 and older answer an update with 204 and no body.
  auto c = Do("PATCH", "/services/data/v45.0/sobjects/Contact/Sluice_Key__c/k-1",
              R"({"FirstName":"C"})");
  EXPECT_EQ(c.response.status, 204);
  EXPECT_TRUE(c.response.body.empty());
  // Create without the required field fails; an update may null a non-required field.
  EXPECT_EQ(
      Do("PATCH", std::string(kV) + "/sobjects/Contact/Sluice_Key__c/k-2", "{}").response.status,
      400);
  EXPECT_EQ(Do("PATCH", path, R"({"Email":null})").response.status, 200);
  EXPECT_EQ(Do("PATCH", path, R"({"LastName":null})").response.status, 400);
  // Percent-encoded key values are decoded.
  auto enc = Do("PATCH", std::string(kV) + "/sobjects/Contact/Sluice_Key__c/a%2Fb%20c",
                R"({"LastName":"E"})");
  EXPECT_EQ(enc.response.status, 201);
  EXPECT_NE(Ledger().find("\"external_id\":\"a/b c\""), std::string::npos);
  EXPECT_EQ(StatU64("records_created"), 2u);
  EXPECT_EQ(StatU64("records_updated"), 3u);
  EXPECT_EQ(StatU64("duplicate_external_ids"), 1u);
}

TEST_F(SimulatorTest, UpsertOnNonUniqueExternalIdMatchingSeveralAnswers300) {
  SimOptions o;
  auto def = ParseObjectJson(
      R"({"name":"Order__c","key_prefix":"a01","fields":[{"name":"Ref__c","external_id":true},)"
      R"({"name":"Name","required":false}]})");
  ASSERT_TRUE(def.ok()) << def.status();
  o.org.objects.push_back(*def);
  Make(o);
  token_ = Login();
  ASSERT_EQ(
      Do("POST", std::string(kV) + "/sobjects/Order__c/", R"({"Ref__c":"r"})").response.status,
      201);
  ASSERT_EQ(
      Do("POST", std::string(kV) + "/sobjects/Order__c/", R"({"Ref__c":"r"})").response.status,
      201);
  auto out = Do("PATCH", std::string(kV) + "/sobjects/Order__c/Ref__c/r", R"({"Name":"x"})");
  EXPECT_EQ(out.response.status, 300);
  auto d = Parse(out.response.body);
  ASSERT_TRUE(d.IsArray());
  EXPECT_EQ(d.Size(), 2u);
}

TEST_F(SimulatorTest, UpdateAndUpsertById) {
  auto a = Do("POST", std::string(kV) + "/sobjects/Contact/", R"({"LastName":"A"})");
  std::string id = Parse(a.response.body)["id"].GetString();
  EXPECT_EQ(Do("PATCH", std::string(kV) + "/sobjects/Contact/" + id, R"({"FirstName":"B"})")
                .response.status,
            204);
  EXPECT_EQ(Do("PATCH", std::string(kV) + "/sobjects/Contact/Id/" + id, R"({"FirstName":"C"})")
                .response.status,
            200);
  auto bad = Do("PATCH", std::string(kV) + "/sobjects/Contact/not-an-id", R"({})");
  EXPECT_EQ(bad.response.status, 400);
  EXPECT_EQ(std::string(Parse(bad.response.body)[0]["errorCode"].GetString()), "MALFORMED_ID");
  EXPECT_EQ(Do("PATCH", std::string(kV) + "/sobjects/Contact/" + MakeRecordId("003", 99), "{}")
                .response.status,
            404);
  EXPECT_EQ(Do("PATCH", std::string(kV) + "/sobjects/Contact/" + MakeRecordId("001", 1), "{}")
                .response.status,
            404);
}

TEST_F(SimulatorTest, CollectionUpsertOf200WithSomeFailing) {
  std::string body = "{\"allOrNone\":false,\"records\":[";
  for (int i = 0; i < 200; ++i) {
    if (i) body += ",";
    std::string last = i % 10 == 3 ? "" : ",\"LastName\":\"L\"";  // every 10th misses LastName
    std::string bad =
        i % 50 == 7 ? ",\"Email\":" + std::string("\"") + std::string(100, 'e') + "\"" : "";
    body += "{\"attributes\":{\"type\":\"Contact\"},\"Sluice_Key__c\":\"c" + std::to_string(i) +
            "\"" + last + bad + "}";
  }
  body += "]}";
  auto out = Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", body);
  ASSERT_EQ(out.response.status, 200) << out.response.body;
  EXPECT_EQ(out.response.headers.Get("Sforce-Limit-Info"), "api-usage=1/100000");
  auto d = Parse(out.response.body);
  ASSERT_TRUE(d.IsArray());
  ASSERT_EQ(d.Size(), 200u);
  int ok = 0;
  for (unsigned i = 0; i < 200; ++i) {
    const auto& r = d[i];
    if (i % 10 == 3) {
      EXPECT_FALSE(r["success"].GetBool());
      EXPECT_EQ(std::string(r["errors"][0]["statusCode"].GetString()), "REQUIRED_FIELD_MISSING");
      EXPECT_EQ(std::string(r["errors"][0]["fields"][0].GetString()), "LastName");
      EXPECT_FALSE(r.HasMember("id"));
    } else if (i % 50 == 7) {
      EXPECT_EQ(std::string(r["errors"][0]["statusCode"].GetString()), "STRING_TOO_LONG");
    } else {
      EXPECT_TRUE(r["success"].GetBool()) << i;
      EXPECT_TRUE(r["created"].GetBool());
      // Results are in request order: ids grow with the order of creation.
      ++ok;
    }
  }
  EXPECT_EQ(StatU64("records_created"), static_cast<uint64_t>(ok));
  EXPECT_EQ(StatU64("records_failed"), static_cast<uint64_t>(200 - ok));
  // Twice: the second time all updates.
  Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", Contacts(5));
  auto again =
      Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", Contacts(5));
  auto d2 = Parse(again.response.body);
  for (unsigned i = 0; i < 5; ++i) EXPECT_FALSE(d2[i]["created"].GetBool()) << i;
}

TEST_F(SimulatorTest, CollectionAllOrNoneRollsBack) {
  std::string body = Contacts(3);
  // Make the second record invalid.
  body.replace(body.find("\"LastName\":\"L1\","), std::string("\"LastName\":\"L1\",").size(), "");
  body.replace(body.find("false"), 5, "true");
  auto out = Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", body);
  ASSERT_EQ(out.response.status, 200);
  auto d = Parse(out.response.body);
  EXPECT_EQ(std::string(d[0]["errors"][0]["statusCode"].GetString()),
            "ALL_OR_NONE_OPERATION_ROLLED_BACK");
  EXPECT_EQ(std::string(d[1]["errors"][0]["statusCode"].GetString()), "REQUIRED_FIELD_MISSING");
  EXPECT_EQ(std::string(d[2]["errors"][0]["statusCode"].GetString()),
            "ALL_OR_NONE_OPERATION_ROLLED_BACK");
  EXPECT_EQ(StatU64("records_written"), 0u);
  EXPECT_EQ(StatU64("ledger_entries"), 0u);
  // allOrNone with every record valid writes all.
  auto good = Contacts(3);
  good.replace(good.find("false"), 5, "true");
  auto ok = Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", good);
  auto d2 = Parse(ok.response.body);
  for (unsigned i = 0; i < 3; ++i) EXPECT_TRUE(d2[i]["success"].GetBool());
  EXPECT_EQ(StatU64("records_written"), 3u);
}

TEST_F(SimulatorTest, CollectionCreateWithMixedTypesAndEvents) {
  std::string body = R"({"records":[
    {"attributes":{"type":"Account"},"Name":"A"},
    {"attributes":{"type":"Contact"},"LastName":"C"},
    {"attributes":{"type":"Sluice_Event__e"},"Sluice_Event_Id__c":"ev1"},
    {"attributes":{"type":"Contact"}}]})";
  auto out = Do("POST", std::string(kV) + "/composite/sobjects", body);
  ASSERT_EQ(out.response.status, 200) << out.response.body;
  auto d = Parse(out.response.body);
  EXPECT_EQ(std::string(d[0]["id"].GetString()).substr(0, 3), "001");
  EXPECT_FALSE(d[0].HasMember("created"));
  EXPECT_EQ(std::string(d[1]["id"].GetString()).substr(0, 3), "003");
  EXPECT_EQ(std::string(d[2]["id"].GetString()).substr(0, 3), "e01");
  EXPECT_EQ(std::string(d[2]["errors"][0]["statusCode"].GetString()), "OPERATION_ENQUEUED");
  EXPECT_FALSE(d[3]["success"].GetBool());
}

TEST_F(SimulatorTest, CollectionRequestLevelErrors) {
  std::string upsert = std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c";
  struct Case {
    std::string body, code;
  } cases[] = {
      {"not json", "JSON_PARSER_ERROR"},
      {"", "JSON_PARSER_ERROR"},
      {"[]", "JSON_PARSER_ERROR"},
      {"{\"records\":{}}", "JSON_PARSER_ERROR"},
      {"{\"allOrNone\":\"yes\",\"records\":[]}", "JSON_PARSER_ERROR"},
      {"{\"records\":[1,2]}", "JSON_PARSER_ERROR"},
      {"{\"records\":[{\"LastName\":\"x\"}]}", "INVALID_TYPE"},
      {"{\"records\":[{\"attributes\":{\"type\":\"Nope\"}}]}", "INVALID_TYPE"},
      {"{\"records\":[{\"attributes\":{\"type\":\"Account\"},\"Name\":\"x\"}]}", "INVALID_TYPE"},
      {Contacts(201), "EXCEEDED_ID_LIMIT"},
      {"{\"records\":[\"\xff\xfe\"]}", "JSON_PARSER_ERROR"},
      {std::string(100000, '['), "JSON_PARSER_ERROR"},
  };
  for (const auto& c : cases) {
    auto out = Do("PATCH", upsert, c.body);
    EXPECT_EQ(out.response.status, 400) << c.body.substr(0, 80);
    auto d = Parse(out.response.body);
    ASSERT_TRUE(d.IsArray()) << out.response.body;
    EXPECT_EQ(std::string(d[0]["errorCode"].GetString()), c.code) << c.body.substr(0, 80);
  }
  // Deeply nested but complete JSON: parsed iteratively, rejected as a type error, no crash.
  std::string deep = "{\"records\":[{\"attributes\":{\"type\":\"Contact\"},\"LastName\":" +
                     std::string(50000, '[') + std::string(50000, ']') +
                     ",\"Sluice_Key__c\":\"deep\"}]}";
  auto out = Do("PATCH", upsert, deep);
  ASSERT_EQ(out.response.status, 200);
  EXPECT_EQ(std::string(Parse(out.response.body)[0]["errors"][0]["statusCode"].GetString()),
            "INVALID_TYPE_ON_FIELD_IN_RECORD");
  // More than 10 chunks of types in a create.
  std::string chunks = "{\"records\":[";
  for (int i = 0; i < 11; ++i) {
    chunks +=
        std::string(i ? "," : "") + (i % 2 ? R"({"attributes":{"type":"Account"},"Name":"a"})"
                                           : R"({"attributes":{"type":"Contact"},"LastName":"c"})");
  }
  chunks += "]}";
  EXPECT_EQ(Do("POST", std::string(kV) + "/composite/sobjects", chunks).response.status, 400);
  EXPECT_EQ(StatU64("records_written"), 0u);
}

TEST_F(SimulatorTest, RepeatedKeyInOneCollectionFailsEachRepeat) {
  std::string body = R"({"records":[
    {"attributes":{"type":"Contact"},"LastName":"a","Sluice_Key__c":"same"},
    {"attributes":{"type":"Contact"},"LastName":"b","Sluice_Key__c":"other"},
    {"attributes":{"type":"Contact"},"LastName":"c","Sluice_Key__c":"same"}]})";
  auto out = Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", body);
  auto d = Parse(out.response.body);
  EXPECT_EQ(std::string(d[0]["errors"][0]["statusCode"].GetString()), "DUPLICATE_EXTERNAL_ID");
  EXPECT_TRUE(d[1]["success"].GetBool());
  EXPECT_EQ(std::string(d[2]["errors"][0]["statusCode"].GetString()), "DUPLICATE_EXTERNAL_ID");
}

TEST_F(SimulatorTest, PlatformEventPublish) {
  auto out = Do("POST", std::string(kV) + "/sobjects/Sluice_Event__e/",
                R"({"Sluice_Event_Id__c":"evt-1","Payload__c":"{}"})");
  ASSERT_EQ(out.response.status, 201) << out.response.body;
  auto d = Parse(out.response.body);
  EXPECT_EQ(std::string(d["id"].GetString()).substr(0, 3), "e01");
  EXPECT_TRUE(d["success"].GetBool());
  ASSERT_EQ(d["errors"].Size(), 1u);
  EXPECT_EQ(std::string(d["errors"][0]["statusCode"].GetString()), "OPERATION_ENQUEUED");
  EXPECT_EQ(std::string(d["errors"][0]["message"].GetString()).size(), 36u);  // a UUID
  // Older versions answer with empty errors.
  auto old = Do("POST", "/services/data/v40.0/sobjects/Sluice_Event__e/", "{}");
  EXPECT_TRUE(Parse(old.response.body)["errors"].Empty());
  // Events cannot be upserted.
  EXPECT_EQ(Do("PATCH", std::string(kV) + "/sobjects/Sluice_Event__e/Sluice_Key__c/x", "{}")
                .response.status,
            404);
  EXPECT_NE(Ledger().find("\"event_id\":\"evt-1\""), std::string::npos);
}

TEST_F(SimulatorTest, DailyAllocationIsRollingAndCollectionsCountOne) {
  SimOptions o;
  o.limits.daily_api_requests = 3;
  o.org.session_timeout = 48h;
  Make(o);
  token_ = Login();  // OAuth does not count
  std::string upsert = std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c";
  EXPECT_EQ(Do("PATCH", upsert, Contacts(200)).response.headers.Get("Sforce-Limit-Info"),
            "api-usage=1/3");
  clock_.Advance(1h);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);
  clock_.Advance(1h);
  auto third = Do("GET", std::string(kV) + "/limits");
  EXPECT_EQ(third.response.status, 200);
  auto d = Parse(third.response.body);
  EXPECT_EQ(d["DailyApiRequests"]["Max"].GetInt(), 3);
  EXPECT_EQ(d["DailyApiRequests"]["Remaining"].GetInt(), 0);
  auto over = Do("GET", std::string(kV) + "/limits");
  EXPECT_EQ(over.response.status, 403);
  EXPECT_EQ(over.response.body,
            "[{\"message\":\"TotalRequests Limit exceeded.\",\"errorCode\":\"REQUEST_LIMIT_"
            "EXCEEDED\"}]");
  EXPECT_EQ(over.response.headers.Get("Sforce-Limit-Info"), "api-usage=3/3");
  // 24 hours after the first call, it has rolled off.
  clock_.Advance(22h);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 403);
}

TEST_F(SimulatorTest, ConcurrentLongRunningLimitOnShrunkThreshold) {
  SimOptions o;
  o.limits.long_running_threshold = 2s;
  o.limits.max_long_running = 2;
  o.latency.base_ms = 10000;
  Make(o);
  token_ = Login();
  auto a = Start("GET", std::string(kV) + "/limits");
  auto b = Start("GET", std::string(kV) + "/limits");
  EXPECT_EQ(a.delay, 10s);
  clock_.Advance(1s);
  // Not long-running yet: no limit.
  auto c = Start("GET", std::string(kV) + "/limits");
  EXPECT_EQ(c.response.status, 200);
  clock_.Advance(1s);
  // a and b have run 2 s: two long-running requests, the limit.
  auto d = Start("GET", std::string(kV) + "/limits");
  EXPECT_EQ(d.response.status, 403);
  EXPECT_NE(d.response.body.find("ConcurrentPerOrgLongTxn Limit exceeded."), std::string::npos);
  sim_->Complete(d.ticket);
  sim_->Complete(a.ticket);
  // c (1 s younger) becomes long-running, b still is: at the limit again after 1 s.
  auto e = Start("GET", std::string(kV) + "/limits");
  EXPECT_EQ(e.response.status, 200);
  clock_.Advance(1s);
  auto f = Start("GET", std::string(kV) + "/limits");
  EXPECT_EQ(f.response.status, 403);
  auto stats = Parse(Stats());
  EXPECT_EQ(stats["peak_long_running_requests"].GetUint64(), 2u);
  EXPECT_GE(stats["peak_concurrent_requests"].GetUint64(), 4u);
  for (auto t : {b.ticket, c.ticket, e.ticket, f.ticket}) sim_->Complete(t);
  EXPECT_EQ(Parse(Stats())["in_flight"].GetUint64(), 0u);
}

TEST_F(SimulatorTest, RecordLocksWaitThenFail) {
  SimOptions o;
  o.latency.base_ms = 5000;
  o.limits.lock_timeout = 3s;
  Make(o);
  token_ = Login();
  std::string path = std::string(kV) + "/sobjects/Contact/Sluice_Key__c/locked";
  auto first = Start("PATCH", path, R"({"LastName":"A"})");
  ASSERT_EQ(first.response.status, 201);
  EXPECT_EQ(first.delay, 5s);
  clock_.Advance(1s);
  // The record is held for 4 more seconds, over the 3 s lock timeout: fails after waiting 3 s.
  auto second = Start("PATCH", path, R"({"LastName":"B"})");
  EXPECT_EQ(second.response.status, 400);
  EXPECT_EQ(std::string(Parse(second.response.body)[0]["errorCode"].GetString()),
            "UNABLE_TO_LOCK_ROW");
  EXPECT_EQ(second.delay, 3s + 5s);
  clock_.Advance(2s);
  // Now 2 s remain: it waits, then writes.
  auto third = Start("PATCH", path, R"({"LastName":"C"})");
  EXPECT_EQ(third.response.status, 200) << third.response.body;
  EXPECT_EQ(third.delay, 2s + 5s);
  // A collection: the locked record fails, the others pass.
  clock_.Advance(1s);
  std::string body = R"({"records":[
    {"attributes":{"type":"Contact"},"LastName":"x","Sluice_Key__c":"free"},
    {"attributes":{"type":"Contact"},"LastName":"y","Sluice_Key__c":"locked"}]})";
  auto coll = Start("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", body);
  auto d = Parse(coll.response.body);
  EXPECT_TRUE(d[0]["success"].GetBool());
  EXPECT_EQ(std::string(d[1]["errors"][0]["statusCode"].GetString()), "UNABLE_TO_LOCK_ROW");
  EXPECT_NE(std::string(d[1]["errors"][0]["message"].GetString())
                .find("unable to obtain exclusive access to this record"),
            std::string::npos);
  auto stats = Parse(Stats());
  EXPECT_EQ(stats["lock_timeouts"].GetUint64(), 2u);
  EXPECT_EQ(stats["lock_waits"].GetUint64(), 1u);
  for (auto t : {first.ticket, second.ticket, third.ticket, coll.ticket}) sim_->Complete(t);
}

TEST_F(SimulatorTest, LatencyModelDelays) {
  SimOptions o;
  o.latency.base_ms = 100;
  o.latency.per_record_ms = 2;
  Make(o);
  token_ = Login();
  auto out =
      Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", Contacts(50));
  EXPECT_EQ(out.delay, 200ms);
  // Errors before the org works (401) are immediate.
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits", "", "bad").delay, 0ms);
}

TEST_F(SimulatorTest, ScheduledFaults) {
  auto fault = [&](const std::string& json) { return Do("POST", "/sim/faults", json); };
  ASSERT_EQ(fault(R"({"kind":"unavailable","duration_ms":30000})").response.status, 200);
  auto out = Do("GET", std::string(kV) + "/limits");
  EXPECT_EQ(out.response.status, 503);
  EXPECT_EQ(out.response.body,
            "[{\"message\":\"Server too busy\",\"errorCode\":\"SERVER_UNAVAILABLE\"}]");
  EXPECT_EQ(Do("POST", "/services/oauth2/token", "grant_type=client_credentials").response.status,
            503);
  // Admin answers during the outage.
  EXPECT_EQ(Do("GET", "/sim/stats").response.status, 200);
  auto active = Parse(Do("GET", "/sim/faults").response.body);
  EXPECT_EQ(active["active"].Size(), 1u);
  clock_.Advance(30s);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);

  ASSERT_EQ(fault(R"({"kind":"unavailable","duration":"10s","html":true})").response.status, 200);
  out = Do("GET", std::string(kV) + "/limits");
  EXPECT_EQ(out.response.status, 503);
  EXPECT_EQ(out.response.headers.Get("Content-Type"), "text/html;charset=UTF-8");
  EXPECT_NE(out.response.body.find("<html>"), std::string::npos);
  ASSERT_EQ(Do("DELETE", "/sim/faults").response.status, 200);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);

  ASSERT_EQ(fault(R"({"kind":"expire_tokens"})").response.status, 200);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 401);
  token_ = Login();
  ASSERT_EQ(fault(R"({"kind":"exhaust_daily"})").response.status, 200);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 403);
  ASSERT_EQ(fault(R"({"kind":"reset_usage"})").response.status, 200);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").response.status, 200);

  ASSERT_EQ(fault(R"({"kind":"reset","duration_ms":1000})").response.status, 200);
  EXPECT_TRUE(Do("GET", std::string(kV) + "/limits").reset);
  clock_.Advance(1s);
  EXPECT_FALSE(Do("GET", std::string(kV) + "/limits").reset);

  ASSERT_EQ(fault(R"({"kind":"slow","duration_ms":1000,"slow_ms":7000})").response.status, 200);
  EXPECT_EQ(Do("GET", std::string(kV) + "/limits").delay, 7s);
  clock_.Advance(1s);

  ASSERT_EQ(fault(R"({"kind":"lock_rows","duration_ms":1000})").response.status, 200);
  auto locked =
      Do("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c", Contacts(3));
  auto d = Parse(locked.response.body);
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(std::string(d[i]["errors"][0]["statusCode"].GetString()), "UNABLE_TO_LOCK_ROW");
  }
  auto stats = Parse(Stats());
  EXPECT_EQ(stats["faults"]["lock_rows"].GetUint64(), 3u);
  EXPECT_GE(stats["faults"]["unavailable"].GetUint64(), 3u);
}

TEST_F(SimulatorTest, BadFaultRequestsAre400) {
  for (std::string body :
       {"", "nope", "[]", R"({"kind":"meteor"})", R"({"kind":"unavailable"})",
        R"({"kind":"unavailable","duration_ms":-5})",
        R"({"kind":"unavailable","duration":"forever"})",
        R"({"kind":"rates","unavailable_rate":2})", R"({"kind":"latency","base_ms":"slow"})"}) {
    EXPECT_EQ(Do("POST", "/sim/faults", body).response.status, 400) << body;
  }
  EXPECT_EQ(Do("PUT", "/sim/faults", "{}").response.status, 405);
  EXPECT_EQ(Do("GET", "/sim/unknown").response.status, 404);
  EXPECT_EQ(Do("GET", "/sim/ledger?since=abc").response.status, 400);
  EXPECT_EQ(Do("GET", "/sim/ledger?since=99999999999999999999999").response.status, 400);
}

TEST_F(SimulatorTest, RandomFaultRates) {
  SimOptions o;
  o.faults.lock_row_rate = 1.0;
  Make(o);
  token_ = Login();
  auto out =
      Do("PATCH", std::string(kV) + "/sobjects/Contact/Sluice_Key__c/r", R"({"LastName":"x"})");
  EXPECT_EQ(std::string(Parse(out.response.body)[0]["errorCode"].GetString()),
            "UNABLE_TO_LOCK_ROW");
  // Rates can be changed at run time.
  ASSERT_EQ(Do("POST", "/sim/faults", R"({"kind":"rates","lock_row_rate":0,"reset_rate":1})")
                .response.status,
            200);
  EXPECT_TRUE(Do("GET", std::string(kV) + "/limits").reset);
  ASSERT_EQ(
      Do("POST", "/sim/faults", R"({"kind":"rates","reset_rate":0,"reset_after_write_rate":1})")
          .response.status,
      200);
  auto written =
      Do("PATCH", std::string(kV) + "/sobjects/Contact/Sluice_Key__c/r", R"({"LastName":"x"})");
  EXPECT_TRUE(written.reset);
  EXPECT_EQ(StatU64("records_written"), 1u);  // applied, though the client saw a reset
  ASSERT_EQ(Do("POST", "/sim/faults",
               R"({"kind":"rates","reset_after_write_rate":0,)"
               R"("unavailable_rate":1,"unavailable_html_fraction":1})")
                .response.status,
            200);
  auto html = Do("GET", std::string(kV) + "/limits");
  EXPECT_EQ(html.response.status, 503);
  EXPECT_EQ(html.response.headers.Get("Content-Type"), "text/html;charset=UTF-8");
}

TEST_F(SimulatorTest, LedgerAndDuplicateStats) {
  std::string upsert = std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c";
  ASSERT_EQ(Do("PATCH", upsert, Contacts(3)).response.status, 200);
  ASSERT_EQ(Do("PATCH", upsert, Contacts(2, 1)).response.status, 200);  // k1, k2 again
  std::string ledger = Ledger();
  size_t lines = std::count(ledger.begin(), ledger.end(), '\n');
  EXPECT_EQ(lines, 5u);
  EXPECT_NE(ledger.find("{\"seq\":1,"), std::string::npos);
  EXPECT_NE(ledger.find("\"sobject\":\"Contact\",\"external_id\":\"k0\""), std::string::npos);
  EXPECT_NE(ledger.find("\"event_id\":\"e2\""), std::string::npos);
  EXPECT_NE(ledger.find("\"created\":false"), std::string::npos);
  std::string tail = Ledger(3);
  EXPECT_EQ(std::count(tail.begin(), tail.end(), '\n'), 2);
  EXPECT_EQ(tail.find("\"seq\":3,"), std::string::npos);
  auto page = Do("GET", "/sim/ledger?since=1&limit=2");
  EXPECT_EQ(std::count(page.response.body.begin(), page.response.body.end(), '\n'), 2);
  EXPECT_EQ(page.response.headers.Get("X-Sfsim-Ledger-Last"), "3");
  auto s = Parse(Stats());
  EXPECT_EQ(s["records_written"].GetUint64(), 5u);
  EXPECT_EQ(s["records_created"].GetUint64(), 3u);
  EXPECT_EQ(s["records_updated"].GetUint64(), 2u);
  EXPECT_EQ(s["duplicate_external_ids"].GetUint64(), 2u);
  EXPECT_EQ(s["duplicate_event_ids"].GetUint64(), 2u);
  EXPECT_EQ(s["requests"]["collections_upsert"]["200"].GetUint64(), 2u);
  EXPECT_EQ(s["requests"]["oauth_token"]["200"].GetUint64(), 1u);
  EXPECT_EQ(s["api_usage"]["used"].GetUint64(), 2u);
  EXPECT_EQ(s["objects"]["Contact"].GetUint64(), 3u);
  // Reset clears data and counters.
  EXPECT_EQ(Do("POST", "/sim/reset").response.status, 200);
  EXPECT_EQ(StatU64("records_written"), 0u);
  EXPECT_TRUE(Ledger().empty());
}

TEST_F(SimulatorTest, ServerErrorBodiesAreJsonArrays) {
  for (int status : {400, 413, 414, 431, 500}) {
    auto res = Simulator::ErrorResponse(status, "x");
    auto d = Parse(res.body);
    ASSERT_TRUE(d.IsArray());
    EXPECT_TRUE(d[0].HasMember("errorCode"));
    EXPECT_EQ(res.status, status);
  }
}

TEST_F(SimulatorTest, InvalidOptionsAreRejected) {
  SimOptions o;
  o.org.objects.push_back(o.org.objects[0]);  // duplicate Account
  EXPECT_FALSE(Simulator::Create(o, clock_).ok());
  SimOptions p;
  p.faults.unavailable_rate = 1.5;
  EXPECT_FALSE(Simulator::Create(p, clock_).ok());
  SimOptions q;
  q.org.jwt_public_key_file = "/nonexistent.pem";
  EXPECT_FALSE(Simulator::Create(q, clock_).ok());
  SimOptions r;
  r.ledger.sqlite_path = "/nonexistent-dir/ledger.db";
  EXPECT_FALSE(Simulator::Create(r, clock_).ok());
}

}  // namespace
}  // namespace sluice::sfsim::testing

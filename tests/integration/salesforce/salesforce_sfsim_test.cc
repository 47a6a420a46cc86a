// libs/salesforce with the real libcurl HttpClient against a real sluice-sfsim process on
// 127.0.0.1: OAuth (client credentials and JWT bearer), collection upserts with validation
// failures, token expiry with exactly one refresh, platform events, /limits, outages.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

#include "sluice/http/client.h"
#include "sluice/salesforce/auth.h"
#include "sluice/salesforce/bulk.h"
#include "sluice/salesforce/client.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::salesforce {
namespace {

using sluice::testing::SfsimProcess;
using EC = ErrorClass;

// Reads a number out of sfsim's /sim/stats body by JSON pointer (e.g. "/tokens_issued").
int64_t StatsValue(SfsimProcess& sim, const char* pointer) {
  auto body = sim.GetStats();
  EXPECT_TRUE(body.ok()) << body.status();
  if (!body.ok()) return -1;
  rapidjson::Document doc;
  doc.Parse(body->c_str());
  const rapidjson::Value* v = rapidjson::Pointer(pointer).Get(doc);
  return v != nullptr && v->IsInt64() ? v->GetInt64() : -1;
}

// One sfsim plus the client stack, wired as the relay will wire it.
struct Stack {
  explicit Stack(SfsimProcess& sim, AuthOptions auth = {}) {
    auto http_client = http::HttpClient::Create();
    EXPECT_TRUE(http_client.ok()) << http_client.status();
    http = std::move(http_client).value();
    if (auth.client_id.empty()) {
      auth.flow = AuthFlow::kClientCredentials;
      auth.client_id = SfsimProcess::kClientId;
      auth.client_secret = SfsimProcess::kClientSecret;
    }
    auth.login_url = sim.base_url();
    auto provider = TokenProvider::Create(auth, *http, RealClock(), &stats);
    EXPECT_TRUE(provider.ok()) << provider.status();
    tokens = std::move(provider).value();
    auto c = SalesforceClient::Create({}, *http, *tokens, &stats);
    EXPECT_TRUE(c.ok()) << c.status();
    client = std::move(c).value();
  }
  ~Stack() { http->Shutdown(); }  // transport first: it completes whatever is in flight

  SalesforceStats stats;
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<TokenProvider> tokens;
  std::unique_ptr<SalesforceClient> client;
};

std::unique_ptr<SfsimProcess> StartSim(const std::vector<std::string>& flags = {}) {
  auto sim = SfsimProcess::Start(flags);
  EXPECT_TRUE(sim.ok()) << sim.status();
  return sim.ok() ? std::move(sim).value() : nullptr;
}

// 200 contacts; every 20th misses its required LastName, every 33rd has one over 80 characters.
struct Batch {
  std::vector<std::string> fields;
  std::vector<std::string> keys;
  std::vector<RecordInput> inputs;
  explicit Batch(const std::string& prefix, size_t n = 200) {
    for (size_t i = 0; i < n; ++i) {
      keys.push_back(prefix + "-" + std::to_string(i));
      if (i % 20 == 7) {
        fields.push_back(R"({"FirstName":"No","Email":"x)" + std::to_string(i) +
                         R"(@example.com"})");
      } else if (i % 33 == 5) {
        fields.push_back(R"({"LastName":")" + std::string(100, 'L') + R"("})");
      } else {
        fields.push_back(R"({"LastName":"Contact )" + std::to_string(i) + R"(","Email":"c)" +
                         std::to_string(i) + R"(@example.com"})");
      }
    }
    for (size_t i = 0; i < n; ++i) inputs.push_back({fields[i], keys[i]});
  }
  static bool MissingName(size_t i) { return i % 20 == 7; }
  static bool TooLong(size_t i) { return i % 20 != 7 && i % 33 == 5; }
};

TEST(SalesforceSfsimTest, ClientCredentialsAndACollectionUpsertWithValidationFailures) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Stack stack(*sim);
  Batch batch("cc");
  WriteResult result = stack.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batch.inputs);
  ASSERT_FALSE(result.request_error.has_value())
      << result.request_error->code << ": " << result.request_error->message;
  EXPECT_EQ(result.http_status, 200);
  ASSERT_EQ(result.records.size(), 200u);
  size_t ok = 0;
  for (size_t i = 0; i < 200; ++i) {
    const RecordResult& r = result.records[i];
    if (Batch::MissingName(i)) {
      EXPECT_FALSE(r.success) << i;
      EXPECT_EQ(r.error.code, "REQUIRED_FIELD_MISSING") << i;
      EXPECT_EQ(r.error.error_class, EC::kPermanent) << i;
    } else if (Batch::TooLong(i)) {
      EXPECT_FALSE(r.success) << i;
      EXPECT_EQ(r.error.code, "STRING_TOO_LONG") << i;
      EXPECT_EQ(r.error.error_class, EC::kPermanent) << i;
    } else {
      EXPECT_TRUE(r.success) << i << " " << r.error.code << " " << r.error.message;
      EXPECT_TRUE(r.created) << i;
      EXPECT_EQ(r.id.size(), 18u) << r.id;
      EXPECT_EQ(r.id.substr(0, 3), "003") << r.id;
      ++ok;
    }
  }
  EXPECT_EQ(ok, 200u - 10u - 6u);
  ASSERT_TRUE(result.limit_info.has_value());
  EXPECT_GT(result.limit_info->api_max, 0);
  EXPECT_GE(result.limit_info->api_used, 1);
  EXPECT_EQ(StatsValue(*sim, "/records_created"), static_cast<int64_t>(ok));

  // The same upsert again updates what exists; ids are stable.
  WriteResult again = stack.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batch.inputs);
  ASSERT_FALSE(again.request_error.has_value());
  for (size_t i = 0; i < 200; ++i) {
    EXPECT_EQ(again.records[i].success, result.records[i].success) << i;
    if (result.records[i].success) {
      EXPECT_FALSE(again.records[i].created) << i;
      EXPECT_EQ(again.records[i].id, result.records[i].id) << i;
    }
  }
  EXPECT_EQ(StatsValue(*sim, "/records_updated"), static_cast<int64_t>(ok));
  EXPECT_EQ(StatsValue(*sim, "/tokens_issued"), 1);
  EXPECT_EQ(stack.stats.token_requests.load(), 1u);
}

TEST(SalesforceSfsimTest, TokenExpiryCausesExactlyOneRefresh) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Stack stack(*sim);
  Batch warmup("warm", 10);
  ASSERT_FALSE(stack.client->UpsertCollectionSync("Contact", "Sluice_Key__c", warmup.inputs)
                   .request_error.has_value());
  ASSERT_EQ(StatsValue(*sim, "/tokens_issued"), 1);

  ASSERT_TRUE(sim->ScheduleFault(R"({"kind":"expire_tokens"})").ok());
  constexpr int kThreads = 16;
  std::vector<std::unique_ptr<Batch>> batches;
  for (int t = 0; t < kThreads; ++t) {
    batches.push_back(std::make_unique<Batch>("exp" + std::to_string(t), 50));
  }
  std::atomic<int> delivered{0};
  std::atomic<int> failed_requests{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WriteResult r =
          stack.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batches[t]->inputs);
      if (r.request_error) {
        failed_requests++;
        ADD_FAILURE() << r.request_error->code << ": " << r.request_error->message;
        return;
      }
      for (const auto& rec : r.records) delivered += rec.success ? 1 : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failed_requests.load(), 0);
  int expected = 0;
  for (int i = 0; i < 50; ++i) expected += (Batch::MissingName(i) || Batch::TooLong(i)) ? 0 : 1;
  EXPECT_EQ(delivered.load(), kThreads * expected);
  // The org issued exactly one more token, and the client asked for exactly one.
  EXPECT_EQ(StatsValue(*sim, "/tokens_issued"), 2);
  EXPECT_EQ(stack.stats.token_requests.load(), 2u);
  EXPECT_GE(stack.stats.auth_retries.load(), 1u);
  EXPECT_EQ(stack.tokens->current()->generation, 2u);
}

TEST(SalesforceSfsimTest, JwtBearerFlow) {
  // A fresh key pair: the private half signs, sfsim verifies with the public half.
  EVP_PKEY* pkey = EVP_RSA_gen(2048);
  ASSERT_NE(pkey, nullptr);
  BIO* priv = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(priv, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  BIO* pub = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(pub, pkey);
  char* data = nullptr;
  long n = BIO_get_mem_data(priv, &data);
  std::string private_pem(data, static_cast<size_t>(n));
  n = BIO_get_mem_data(pub, &data);
  std::string public_pem(data, static_cast<size_t>(n));
  BIO_free(priv);
  BIO_free(pub);
  EVP_PKEY_free(pkey);
  char path[] = "/tmp/sluice_sf_jwt_pubXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, public_pem.data(), public_pem.size()),
            static_cast<ssize_t>(public_pem.size()));
  close(fd);

  auto sim = StartSim({"--jwt-public-key", path, "--username", "relay@example.com"});
  std::remove(path);
  ASSERT_NE(sim, nullptr);
  AuthOptions auth;
  auth.flow = AuthFlow::kJwtBearer;
  auth.client_id = SfsimProcess::kClientId;
  auth.username = "relay@example.com";
  auth.private_key_pem = private_pem;
  Stack stack(*sim, auth);
  auto token = stack.tokens->GetToken();
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ((*token)->instance_url, sim->base_url());
  WriteResult created = stack.client->CreateSync("Account", R"({"Name":"Acme"})");
  ASSERT_FALSE(created.request_error.has_value()) << created.request_error->message;
  EXPECT_TRUE(created.records[0].success);
  EXPECT_EQ(created.records[0].id.substr(0, 3), "001");

  // A user the org does not know is refused: an auth error, not a crash or a retry loop.
  AuthOptions stranger = auth;
  stranger.username = "stranger@example.com";
  Stack refused(*sim, stranger);
  WriteResult r = refused.client->CreateSync("Account", R"({"Name":"Nope"})");
  ASSERT_TRUE(r.request_error.has_value());
  EXPECT_EQ(r.request_error->error_class, EC::kAuth);
  EXPECT_EQ(r.request_error->code, "AUTH_FAILED");
}

TEST(SalesforceSfsimTest, SingleRecordsPlatformEventsAndLimits) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Stack stack(*sim);
  WriteResult first =
      stack.client->UpsertSync("Contact", "Sluice_Key__c", {R"({"LastName":"Solo"})", "solo/1 x"});
  ASSERT_FALSE(first.request_error.has_value()) << first.request_error->message;
  EXPECT_TRUE(first.records[0].success);
  EXPECT_TRUE(first.records[0].created);
  WriteResult second =
      stack.client->UpsertSync("Contact", "Sluice_Key__c", {R"({"LastName":"Solo2"})", "solo/1 x"});
  EXPECT_TRUE(second.records[0].success);
  EXPECT_FALSE(second.records[0].created);
  WriteResult missing =
      stack.client->UpsertSync("Contact", "Sluice_Key__c", {R"({"Email":"a@b.c"})", "solo2"});
  EXPECT_FALSE(missing.request_error.has_value());
  EXPECT_EQ(missing.records[0].error.code, "REQUIRED_FIELD_MISSING");
  EXPECT_EQ(missing.records[0].error.error_class, EC::kPermanent);
  WriteResult unknown = stack.client->CreateSync("Nope__c", R"({"Name":"x"})");
  EXPECT_FALSE(unknown.records[0].success);
  EXPECT_EQ(unknown.records[0].error.error_class, EC::kPermanent);

  WriteResult event = stack.client->PublishSync(
      "Sluice_Event__e", R"({"Sluice_Event_Id__c":"e-1","Payload__c":"{\"a\":1}"})");
  ASSERT_FALSE(event.request_error.has_value()) << event.request_error->message;
  EXPECT_TRUE(event.records[0].success) << event.records[0].error.code;
  EXPECT_EQ(event.records[0].id.substr(0, 3), "e01");

  LimitsResult limits = stack.client->GetLimitsSync();
  ASSERT_FALSE(limits.request_error.has_value()) << limits.request_error->message;
  ASSERT_TRUE(limits.limits.count("DailyApiRequests"));
  EXPECT_GT(limits.limits["DailyApiRequests"].max, 0);
  EXPECT_GT(stack.stats.api_usage_used.load(), 0);
}

TEST(SalesforceSfsimTest, OutagesAndExhaustedBudgetAreOrgWide) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Stack stack(*sim);
  Batch batch("out", 20);
  ASSERT_FALSE(stack.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batch.inputs)
                   .request_error.has_value());

  // A maintenance window answering 503 with an HTML page.
  ASSERT_TRUE(
      sim->ScheduleFault(R"({"kind":"unavailable","duration_ms":600000,"html":true})").ok());
  WriteResult down = stack.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batch.inputs);
  ASSERT_TRUE(down.request_error.has_value());
  EXPECT_EQ(down.request_error->error_class, EC::kRetryableOrg) << down.request_error->code;
  EXPECT_EQ(down.http_status, 503);
  for (const auto& r : down.records) EXPECT_EQ(r.error.error_class, EC::kRetryableOrg);
  LimitsResult probe = stack.client->GetLimitsSync();
  ASSERT_TRUE(probe.request_error.has_value());
  EXPECT_EQ(probe.request_error->error_class, EC::kRetryableOrg);

  // Connection resets.
  auto sim2 = StartSim();
  ASSERT_NE(sim2, nullptr);
  Stack stack2(*sim2);
  ASSERT_TRUE(stack2.tokens->GetToken().ok());
  ASSERT_TRUE(sim2->ScheduleFault(R"({"kind":"reset","duration_ms":600000})").ok());
  WriteResult reset = stack2.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batch.inputs);
  ASSERT_TRUE(reset.request_error.has_value());
  EXPECT_EQ(reset.request_error->error_class, EC::kRetryableOrg);
  EXPECT_EQ(reset.request_error->code.substr(0, 10), "TRANSPORT_");

  // The daily allocation used up.
  auto sim3 = StartSim();
  ASSERT_NE(sim3, nullptr);
  Stack stack3(*sim3);
  ASSERT_TRUE(stack3.tokens->GetToken().ok());
  ASSERT_TRUE(sim3->ScheduleFault(R"({"kind":"exhaust_daily"})").ok());
  WriteResult spent = stack3.client->UpsertCollectionSync("Contact", "Sluice_Key__c", batch.inputs);
  ASSERT_TRUE(spent.request_error.has_value());
  EXPECT_EQ(spent.request_error->error_class, EC::kBudgetExhausted) << spent.request_error->message;
  EXPECT_EQ(spent.request_error->code, "REQUEST_LIMIT_EXCEEDED");
}

TEST(SalesforceSfsimTest, NothingListeningIsOrgWide) {
  // Start and stop a sim to get a port that nobody listens on any more.
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Stack stack(*sim);
  sim->Stop();
  WriteResult r = stack.client->CreateSync("Account", R"({"Name":"x"})");
  ASSERT_TRUE(r.request_error.has_value());
  EXPECT_EQ(r.request_error->error_class, EC::kRetryableOrg);
  EXPECT_EQ(r.request_error->code, "TOKEN_UNAVAILABLE");
}

// A Bulk API 2.0 job through the real client against sfsim: hostile values stay one cell of one
// row, results map back by event id, failed rows say why, and bad calls are refused.
TEST(BulkSfsimTest, AJobCarriesHostileValuesAndMapsResultsBackByEventId) {
  auto sim = StartSim();
  ASSERT_NE(sim, nullptr);
  Stack stack(*sim);
  auto bulk = BulkClient::Create({}, *stack.http, *stack.tokens, &stack.stats);
  ASSERT_TRUE(bulk.ok()) << bulk.status();
  const std::vector<std::string> hostile = {
      "=HYPERLINK(\"http://x\")", "a,b\nc", "\"quoted\"", "+1-2", "line\r\nbreak", "@SUM(A1)"};
  std::vector<std::string> fields, ids;
  for (int i = 0; i < 300; ++i) {
    ids.push_back("bulk-e" + std::to_string(i));
    std::string last = i % 50 == 3 ? "" : "Customer " + std::to_string(i);
    if (i >= 10 && i < 10 + static_cast<int>(hostile.size())) {
      last = hostile[static_cast<size_t>(i - 10)];
    }
    std::string json = R"({"FirstName":"F")";
    if (!last.empty()) {
      std::string escaped;
      for (char c : last) {
        if (c == '"' || c == '\\') escaped += '\\';
        if (c == '\n') {
          escaped += "\\n";
          continue;
        }
        if (c == '\r') {
          escaped += "\\r";
          continue;
        }
        escaped += c;
      }
      json += R"(,"LastName":")" + escaped + "\"";
    }
    fields.push_back(json + "}");
  }
  std::vector<BulkRecord> records;
  for (size_t i = 0; i < fields.size(); ++i) records.push_back({fields[i], ids[i]});
  const BulkCsv csv = EncodeBulkCsv(records, "Sluice_Event_Id__c");
  ASSERT_TRUE(csv.rejected.empty());

  BulkAnswer created = (*bulk)->CreateJobSync({"Contact", "insert", ""});
  ASSERT_FALSE(created.error) << created.error->message;
  EXPECT_EQ(created.job.state, "Open");
  const std::string job = created.job.id;
  BulkAnswer uploaded = (*bulk)->UploadSync(job, csv.text);
  ASSERT_FALSE(uploaded.error) << uploaded.error->message;
  BulkAnswer closed = (*bulk)->CloseSync(job);
  ASSERT_FALSE(closed.error) << closed.error->message;
  EXPECT_EQ(closed.job.state, "UploadComplete");
  BulkAnswer info;
  for (int i = 0; i < 600; ++i) {
    info = (*bulk)->GetJobSync(job);
    ASSERT_FALSE(info.error) << info.error->message;
    if (info.job.terminal()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(info.job.state, "JobComplete") << info.job.error_message;
  EXPECT_EQ(info.job.records_processed, 300);
  EXPECT_EQ(info.job.records_failed, 6);

  BulkAnswer ok = (*bulk)->GetResultsSync(job, BulkClient::Results::kSuccessful);
  ASSERT_FALSE(ok.error) << ok.error->message;
  ASSERT_EQ(ok.rows.size(), 294u) << "no value split into extra rows";
  std::map<std::string, const BulkResultRow*> by_event;
  for (const auto& row : ok.rows) by_event[row.fields.at("Sluice_Event_Id__c")] = &row;
  for (size_t i = 0; i < hostile.size(); ++i) {
    const std::string& id = ids[i + 10];
    ASSERT_EQ(by_event.count(id), 1u) << id;
    EXPECT_EQ(by_event[id]->fields.at("LastName"), hostile[i]) << "one cell, as it was sent";
    EXPECT_EQ(by_event[id]->id.size(), 18u);
    EXPECT_TRUE(by_event[id]->created);
  }
  BulkAnswer failed = (*bulk)->GetResultsSync(job, BulkClient::Results::kFailed);
  ASSERT_FALSE(failed.error) << failed.error->message;
  ASSERT_EQ(failed.rows.size(), 6u);
  for (const auto& row : failed.rows) {
    EXPECT_EQ(row.error.rfind("REQUIRED_FIELD_MISSING", 0), 0u) << row.error;
    EXPECT_EQ(std::stoi(row.fields.at("Sluice_Event_Id__c").substr(6)) % 50, 3);
  }
  BulkAnswer unprocessed = (*bulk)->GetResultsSync(job, BulkClient::Results::kUnprocessed);
  ASSERT_FALSE(unprocessed.error);
  EXPECT_TRUE(unprocessed.rows.empty());

  // Refused before sending, and answered errors.
  BulkAnswer bad_id = (*bulk)->GetJobSync("../../limits");
  ASSERT_TRUE(bad_id.error);
  EXPECT_EQ(bad_id.error->code, "INVALID_REQUEST");
  EXPECT_EQ(bad_id.http_status, 0);
  BulkAnswer unknown = (*bulk)->GetJobSync("750000000000000AAA");
  ASSERT_TRUE(unknown.error);
  EXPECT_EQ(unknown.http_status, 404);
  BulkAnswer late = (*bulk)->UploadSync(job, csv.text);
  ASSERT_TRUE(late.error) << "an upload to a job that is no longer Open";
  EXPECT_GE(late.http_status, 400);
  BulkAnswer bad_job = (*bulk)->CreateJobSync({"Contact", "merge", ""});
  ASSERT_TRUE(bad_job.error);
  EXPECT_EQ(bad_job.error->code, "INVALID_REQUEST");
}

}  // namespace
}  // namespace sluice::salesforce

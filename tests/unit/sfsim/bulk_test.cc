// Bulk API 2.0 ingest jobs on a SimulatedClock: the state machine, the processing model, results,
// limits, errors and options.
#include <gtest/gtest.h>

#include "bulk_test_util.h"

namespace sluice::sfsim::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(BulkTest, JobMovesThroughItsStatesOnTheClock) {
  SimOptions o;
  o.bulk.records_per_second = 10;  // one batch at a time: 100 ms a record
  o.bulk.parallel_batches = 1;
  o.bulk.batch_size = 2;
  o.bulk.queue_delay = 1s;
  MakeBulk(o);
  const std::string id = CreateJob(kUpsertJob);
  EXPECT_EQ(id.substr(0, 3), "750");
  ASSERT_EQ(Upload(id,
                   "Sluice_Key__c,LastName,Description\n"
                   "k1,Smith,\"a, \"\"quoted\"\"\nnote\"\n"
                   "k2,,missing last name\n"
                   "k3,Jones,#N/A\n")
                .response.status,
            201);
  EXPECT_EQ(State(id), "Open");
  auto closed = SetState(id, "UploadComplete");
  ASSERT_EQ(closed.response.status, 200) << closed.response.body;
  EXPECT_EQ(std::string(Parse(closed.response.body)["state"].GetString()), "UploadComplete");
  clock_.Advance(999ms);
  EXPECT_EQ(State(id), "UploadComplete");
  clock_.Advance(1ms);
  EXPECT_EQ(State(id), "InProgress");
  EXPECT_EQ(Info(id)["numberRecordsProcessed"].GetInt64(), 0);
  clock_.Advance(200ms);  // the first batch (2 rows) is done
  auto info = Info(id);
  EXPECT_EQ(std::string(info["state"].GetString()), "InProgress");
  EXPECT_EQ(info["numberRecordsProcessed"].GetInt64(), 2);
  EXPECT_EQ(info["numberRecordsFailed"].GetInt64(), 1);
  clock_.Advance(100ms);
  info = Info(id);
  EXPECT_EQ(std::string(info["state"].GetString()), "JobComplete");
  EXPECT_EQ(info["numberRecordsProcessed"].GetInt64(), 3);
  EXPECT_EQ(info["numberRecordsFailed"].GetInt64(), 1);
  EXPECT_EQ(info["totalProcessingTime"].GetInt64(), 300);

  const std::string ok = Results(id, "successfulResults");
  EXPECT_EQ(ok,
            "\"sf__Id\",\"sf__Created\",\"Sluice_Key__c\",\"LastName\",\"Description\"\n"
            "\"003Dn0000000001IAA\",\"true\",\"k1\",\"Smith\",\"a, \"\"quoted\"\"\nnote\"\n"
            "\"003Dn0000000002IAA\",\"true\",\"k3\",\"Jones\",\"#N/A\"\n");
  const std::string failed = Results(id, "failedResults");
  EXPECT_EQ(failed,
            "\"sf__Id\",\"sf__Error\",\"Sluice_Key__c\",\"LastName\",\"Description\"\n"
            "\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName\","
            "\"k2\",\"\",\"missing last name\"\n");
  EXPECT_EQ(Results(id, "unprocessedrecords"), "\"Sluice_Key__c\",\"LastName\",\"Description\"\n");

  // The ledger marks bulk writes; rejected rows are not in it.
  const std::string ledger = Ledger();
  EXPECT_NE(ledger.find("\"external_id\":\"k1\""), std::string::npos);
  EXPECT_NE(ledger.find("\"bulk\":true,\"bulk_job_id\":\"" + id + "\""), std::string::npos);
  EXPECT_EQ(ledger.find("k2"), std::string::npos);

  // Upserting again updates: sf__Created false.
  const std::string again = CreateJob(kUpsertJob);
  Upload(again, "Sluice_Key__c,LastName\nk1,Smythe\n");
  SetState(again, "UploadComplete");
  clock_.Advance(2s);
  EXPECT_EQ(State(again), "JobComplete");
  EXPECT_NE(Results(again, "successfulResults").find("\"003Dn0000000001IAA\",\"false\",\"k1\""),
            std::string::npos);

  // Every call counted against the daily allocation (login and /sim/ do not count).
  auto stats = Parse(Stats());
  EXPECT_EQ(stats["bulk"]["records_processed"].GetUint64(), 4u);
  EXPECT_EQ(stats["bulk"]["batches"].GetUint64(), 3u);
  const uint64_t calls = stats["requests_total"].GetUint64();
  EXPECT_EQ(stats["api_usage"]["used"].GetUint64(), calls - 2 /*the login, the ledger read*/);
}

TEST_F(BulkTest, ParallelBatchesRunInWaves) {
  SimOptions o;
  o.bulk.records_per_second = 1000;  // 4 in parallel: 250 records/s each
  o.bulk.parallel_batches = 4;
  o.bulk.batch_size = 250;  // a batch takes 1 s
  o.bulk.queue_delay = 0ms;
  MakeBulk(o);
  std::string csv = "Sluice_Key__c,LastName\n";
  for (int i = 0; i < 1500; ++i) csv += "k" + std::to_string(i) + ",L\n";  // 6 batches, 2 waves
  const std::string id = CreateJob(kUpsertJob);
  Upload(id, csv);
  SetState(id, "UploadComplete");
  clock_.Advance(1s);
  EXPECT_EQ(Info(id)["numberRecordsProcessed"].GetInt64(), 1000);
  clock_.Advance(999ms);
  EXPECT_EQ(State(id), "InProgress");
  clock_.Advance(1ms);
  EXPECT_EQ(State(id), "JobComplete");
  EXPECT_EQ(Info(id)["numberRecordsProcessed"].GetInt64(), 1500);
  auto limits = Parse(Do("GET", std::string(kBulkV) + "/limits").response.body);
  EXPECT_EQ(limits["DailyBulkApiBatches"]["Remaining"].GetInt64(), 15000 - 6);
  EXPECT_EQ(limits["DailyBulkV2IngestRecords"]["Remaining"].GetInt64(), 150000000 - 1500);
}

TEST_F(BulkTest, MalformedCsvAndUnknownColumnsFailTheJob) {
  MakeBulk();
  const std::string bad = CreateJob(kUpsertJob);
  Upload(bad, "Sluice_Key__c,LastName\nk1,\"open\n");
  SetState(bad, "UploadComplete");
  clock_.Advance(1s);
  auto info = Info(bad);
  EXPECT_EQ(std::string(info["state"].GetString()), "Failed");
  EXPECT_EQ(std::string(info["errorMessage"].GetString()),
            "ClientInputError : CSV row 2: a quoted field is not closed");

  const std::string unknown = CreateJob(kUpsertJob);
  Upload(unknown, "Sluice_Key__c,LastName,Bogus__c\nk1,A,x\nk2,B,y\n");
  SetState(unknown, "UploadComplete");
  clock_.Advance(1s);
  info = Info(unknown);
  EXPECT_EQ(std::string(info["state"].GetString()), "Failed");
  EXPECT_EQ(std::string(info["errorMessage"].GetString()),
            "InvalidBatch : Field name not found : Bogus__c");
  EXPECT_EQ(
      Results(unknown, "unprocessedrecords"),
      "\"Sluice_Key__c\",\"LastName\",\"Bogus__c\"\n\"k1\",\"A\",\"x\"\n\"k2\",\"B\",\"y\"\n");
  EXPECT_EQ(Parse(Stats())["records_written"].GetUint64(), 0u);

  // The wrong line ending for the job is a failure too, never rows merged or split.
  const std::string crlf = CreateJob(kUpsertJob);
  Upload(crlf, "Sluice_Key__c,LastName\r\nk1,A\r\n");
  SetState(crlf, "UploadComplete");
  clock_.Advance(1s);
  EXPECT_NE(std::string(Info(crlf)["errorMessage"].GetString()).find("lineEnding is LF"),
            std::string::npos);
}

TEST_F(BulkTest, PerRowErrorsFollowTheCollectionsRules) {
  MakeBulk();
  const std::string id = CreateJob(kUpsertJob);
  Upload(id,
         "Sluice_Key__c,LastName,Birthdate,HasOptedOutOfEmail,Sluice_Event_Id__c\n"
         "dup,A,,,\n"
         "dup,B,,,\n"
         "d1,C,not-a-date,,\n"
         "b1,D,,maybe,\n"
         ",E,,,\n"
         "e1,F,,,ev1\n"
         "e2,G,,,ev1\n");
  SetState(id, "UploadComplete");
  clock_.Advance(5s);
  ASSERT_EQ(State(id), "JobComplete");
  const std::string failed = Results(id, "failedResults");
  EXPECT_NE(failed.find(
                "\"DUPLICATE_EXTERNAL_ID:Duplicate external id specified: dup:--\",\"dup\",\"A\""),
            std::string::npos)
      << failed;
  EXPECT_NE(failed.find("INVALID_TYPE_ON_FIELD_IN_RECORD:Birthdate"), std::string::npos);
  EXPECT_NE(failed.find("INVALID_TYPE_ON_FIELD_IN_RECORD:HasOptedOutOfEmail"), std::string::npos);
  EXPECT_NE(failed.find("MISSING_ARGUMENT:Sluice_Key__c not specified"), std::string::npos);
  EXPECT_NE(failed.find("DUPLICATE_VALUE:duplicate value found: Sluice_Event_Id__c"),
            std::string::npos);
  EXPECT_EQ(Info(id)["numberRecordsFailed"].GetInt64(), 6);
}

TEST_F(BulkTest, EndpointErrors) {
  SimOptions o;
  o.bulk.max_upload_bytes = 100;
  o.limits.max_body_bytes = 150;  // JSON bodies; uploads have their own limit
  MakeBulk(o);
  auto create = [&](const std::string& body) {
    return Do("POST", std::string(kBulkV) + "/jobs/ingest", body).response;
  };
  EXPECT_EQ(create(R"({"object":"Nope","operation":"insert"})").status, 400);
  EXPECT_EQ(create(R"({"object":"Contact","operation":"merge"})").status, 400);
  EXPECT_EQ(create(R"({"object":"Contact","operation":"upsert"})").status, 400);
  EXPECT_EQ(create(R"({"object":"Contact","operation":"upsert","externalIdFieldName":"LastName"})")
                .status,
            400);
  EXPECT_EQ(create(R"({"object":"Contact","operation":"insert","lineEnding":"CR"})").status, 400);
  EXPECT_EQ(create(R"({"object":"Contact","operation":"delete"})").status, 400);
  EXPECT_EQ(create(R"({"object":"Sluice_Event__e","operation":"insert"})").status, 400);
  EXPECT_EQ(create("not json").status, 400);
  EXPECT_EQ(create(R"({"object":["Contact"],"operation":"insert"})").status, 400);
  EXPECT_EQ(create(R"({"object":"Contact","operation":7})").status, 400);
  EXPECT_EQ(Do("GET", "/services/data/v40.0/jobs/ingest").response.status, 404);
  EXPECT_EQ(Do("GET", std::string(kBulkV) + "/jobs/ingest/750Dn0000000099IAA").response.status,
            404);

  const std::string id = CreateJob(R"({"object":"Contact","operation":"insert"})");
  EXPECT_EQ(Upload(id, "LastName\nA\n", "application/json").response.status, 400);
  auto big = Upload(id, "LastName\n" + std::string(200, 'x') + "\n");
  EXPECT_EQ(big.response.status, 413);
  EXPECT_EQ(std::string(Parse(big.response.body)[0]["errorCode"].GetString()),
            "REQUEST_ENTITY_TOO_LARGE");
  EXPECT_EQ(Do("DELETE", std::string(kBulkV) + "/jobs/ingest/" + id).response.status, 400);  // Open
  EXPECT_EQ(SetState(id, "Bogus").response.status, 400);
  EXPECT_EQ(
      create(R"({"object":"Contact","operation":"insert","x":")" + std::string(200, 'x') + R"("})")
          .status,
      413);
  EXPECT_EQ(Do("PATCH", std::string(kBulkV) + "/jobs/ingest/" + id,
               R"({"state":"Aborted","x":")" + std::string(200, 'x') + R"("})")
                .response.status,
            413);
  ASSERT_EQ(Upload(id, "LastName\nA\n").response.status, 201);
  ASSERT_EQ(Upload(id, "LastName\nB\n").response.status, 201);
  auto twice = SetState(id, "UploadComplete");
  EXPECT_EQ(twice.response.status, 400);
  EXPECT_NE(twice.response.body.find("only do 'PUT' once"), std::string::npos);
  auto aborted = SetState(id, "Aborted");
  EXPECT_EQ(std::string(Parse(aborted.response.body)["state"].GetString()), "Aborted");
  EXPECT_EQ(Upload(id, "LastName\nC\n").response.status, 409);
  EXPECT_EQ(SetState(id, "UploadComplete").response.status, 400);
  auto list = Parse(Do("GET", std::string(kBulkV) + "/jobs/ingest").response.body);
  EXPECT_EQ(list["records"].Size(), 1u);
  EXPECT_EQ(Do("DELETE", std::string(kBulkV) + "/jobs/ingest/" + id).response.status, 204);
  EXPECT_EQ(Do("GET", std::string(kBulkV) + "/jobs/ingest/" + id).response.status, 404);
  EXPECT_EQ(Parse(Stats())["records_written"].GetUint64(), 0u);
}

TEST_F(BulkTest, DailyAllocationsFailJobs) {
  SimOptions o;
  o.bulk.batch_size = 1;
  o.bulk.parallel_batches = 1;
  o.bulk.daily_batches = 2;
  o.bulk.daily_records = 5;
  MakeBulk(o);
  const std::string id = CreateJob(kUpsertJob);
  Upload(id, "Sluice_Key__c,LastName\nk1,A\nk2,B\nk3,C\n");
  SetState(id, "UploadComplete");
  clock_.Advance(10s);
  auto info = Info(id);
  EXPECT_EQ(std::string(info["state"].GetString()), "Failed");
  EXPECT_NE(std::string(info["errorMessage"].GetString()).find("ExceededQuota"), std::string::npos);
  EXPECT_EQ(info["numberRecordsProcessed"].GetInt64(), 2);
  EXPECT_EQ(Results(id, "unprocessedrecords"), "\"Sluice_Key__c\",\"LastName\"\n\"k3\",\"C\"\n");
  auto limits = Parse(Do("GET", std::string(kBulkV) + "/limits").response.body);
  EXPECT_EQ(limits["DailyBulkApiBatches"]["Remaining"].GetInt64(), 0);
  // 3 of the 5 records are used: a 3-record job is over the allocation.
  const std::string more = CreateJob(kUpsertJob);
  Upload(more, "Sluice_Key__c,LastName\nk4,A\nk5,B\nk6,C\n");
  SetState(more, "UploadComplete");
  clock_.Advance(10s);
  EXPECT_NE(std::string(Info(more)["errorMessage"].GetString()).find("record allocation"),
            std::string::npos);
  // A day later both allocations have rolled off.
  clock_.Advance(24h);
  token_ = Login();  // sessions last 2 h
  limits = Parse(Do("GET", std::string(kBulkV) + "/limits").response.body);
  EXPECT_EQ(limits["DailyBulkApiBatches"]["Remaining"].GetInt64(), 2);
  EXPECT_EQ(limits["DailyBulkV2IngestRecords"]["Remaining"].GetInt64(), 5);
}

TEST_F(BulkTest, FinishedJobsAreForgottenAfterSevenDays) {
  MakeBulk();
  const std::string id = CreateJob(kUpsertJob);
  Upload(id, "Sluice_Key__c,LastName\nk1,A\n");
  SetState(id, "UploadComplete");
  clock_.Advance(5s);
  ASSERT_EQ(State(id), "JobComplete");
  clock_.Advance(24h * 7 - 10s);
  token_ = Login();
  EXPECT_EQ(Do("GET", std::string(kBulkV) + "/jobs/ingest/" + id).response.status, 200);
  clock_.Advance(10s);
  EXPECT_EQ(Do("GET", std::string(kBulkV) + "/jobs/ingest/" + id).response.status, 404);
}

TEST_F(BulkTest, AbortInProgressLeavesTheRestUnprocessed) {
  SimOptions o;
  o.bulk.queue_delay = 0ms;
  o.bulk.records_per_second = 1;
  o.bulk.parallel_batches = 1;
  o.bulk.batch_size = 1;  // one record a second
  MakeBulk(o);
  const std::string id = CreateJob(kUpsertJob);
  Upload(id, "Sluice_Key__c,LastName\nk1,A\nk2,B\nk3,C\n");
  SetState(id, "UploadComplete");
  clock_.Advance(1500ms);  // k1 done, k2 running
  auto aborted = SetState(id, "Aborted");
  ASSERT_EQ(aborted.response.status, 200);
  clock_.Advance(10s);
  auto info = Info(id);
  EXPECT_EQ(std::string(info["state"].GetString()), "Aborted");
  EXPECT_EQ(info["numberRecordsProcessed"].GetInt64(), 2);  // a started batch is committed
  EXPECT_EQ(Results(id, "unprocessedrecords"), "\"Sluice_Key__c\",\"LastName\"\n\"k3\",\"C\"\n");
  EXPECT_EQ(Parse(Stats())["records_written"].GetUint64(), 2u);
}

TEST(BulkOptionsTest, ConfigFileGroupsAndValidation) {
  SimOptions o;
  ASSERT_TRUE(
      ApplyConfigJson(
          R"({"bulk":{"records_per_second":100,"batch_size":50,"parallel_batches":3,)"
          R"("queue_delay":"2s","max_upload_bytes":10,"daily_records":7,"daily_batches":8},)"
          R"("limits":{"parent_lock_fields":["Contact.AccountId","Account.ParentId"]}})",
          &o)
          .ok());
  EXPECT_EQ(o.bulk.records_per_second, 100);
  EXPECT_EQ(o.bulk.batch_size, 50);
  EXPECT_EQ(o.bulk.parallel_batches, 3);
  EXPECT_EQ(o.bulk.queue_delay, 2s);
  EXPECT_EQ(o.bulk.max_upload_bytes, 10);
  EXPECT_EQ(o.bulk.daily_records, 7);
  EXPECT_EQ(o.bulk.daily_batches, 8);
  EXPECT_EQ(o.limits.parent_lock_fields.size(), 2u);
  EXPECT_TRUE(Validate(o).ok());
  for (const char* bad : {R"({"bulk":{"nope":1}})", R"({"bulk":{"batch_size":0}})",
                          R"({"bulk":{"queue_delay":"5"}})", R"({"bulk":{"records_per_second":0}})",
                          R"({"limits":{"parent_lock_fields":"Contact.AccountId"}})"}) {
    SimOptions x;
    EXPECT_FALSE(ApplyConfigJson(bad, &x).ok()) << bad;
  }
  SimOptions v;
  v.limits.parent_lock_fields = {"Contact"};
  EXPECT_FALSE(Validate(v).ok());
  v.limits.parent_lock_fields = {"Contact.LastName"};  // not a reference
  EXPECT_NE(Validate(v).message().find("not a reference field"), std::string::npos);
  v.limits.parent_lock_fields = {"Opportunity.AccountId"};  // an object the org lacks: skipped
  EXPECT_TRUE(Validate(v).ok());
  v.bulk.parallel_batches = 0;
  EXPECT_FALSE(Validate(v).ok());
}

}  // namespace
}  // namespace sluice::sfsim::testing

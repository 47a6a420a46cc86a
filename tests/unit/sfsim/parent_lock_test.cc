// Parent locks on a SimulatedClock: a child write locks its parent in collections and in bulk
// batches alike, and contention past the lock timeout fails with UNABLE_TO_LOCK_ROW.
#include <gtest/gtest.h>

#include "bulk_test_util.h"

namespace sluice::sfsim::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(BulkTest, ParentLocksInCollections) {
  SimOptions o;
  o.latency.base_ms = 5000;
  o.limits.lock_timeout = 3s;
  MakeBulk(o);
  const std::string a = AccountId("A");
  const std::string b = AccountId("B");
  clock_.Advance(10s);  // the accounts' own create locks are over
  auto contact = [&](const std::string& key, const std::string& account) {
    return R"({"attributes":{"type":"Contact"},"LastName":"x","Sluice_Key__c":")" + key +
           R"(","AccountId":")" + account + R"("})";
  };
  const std::string path = std::string(kBulkV) + "/composite/sobjects/Contact/Sluice_Key__c";
  // Two children of A in one request share its transaction: no contention.
  auto first =
      Start("PATCH", path, R"({"records":[)" + contact("c1", a) + "," + contact("c2", a) + "]}");
  auto d = Parse(first.response.body);
  ASSERT_TRUE(d[0]["success"].GetBool() && d[1]["success"].GetBool()) << first.response.body;
  clock_.Advance(1s);
  // A is held 4 s more, over the 3 s timeout; a child of B is free.
  auto second =
      Start("PATCH", path, R"({"records":[)" + contact("c3", a) + "," + contact("c4", b) + "]}");
  d = Parse(second.response.body);
  ASSERT_FALSE(d[0]["success"].GetBool()) << second.response.body;
  EXPECT_EQ(std::string(d[0]["errors"][0]["statusCode"].GetString()), "UNABLE_TO_LOCK_ROW");
  EXPECT_NE(std::string(d[0]["errors"][0]["message"].GetString()).find(a), std::string::npos);
  EXPECT_TRUE(d[1]["success"].GetBool());
  EXPECT_EQ(second.delay, 3s + 5s);
  clock_.Advance(2s);
  auto third = Start("PATCH", path, R"({"records":[)" + contact("c5", a) + "]}");
  EXPECT_TRUE(Parse(third.response.body)[0]["success"].GetBool());
  EXPECT_EQ(third.delay, 2s + 5s);
  auto stats = Parse(Stats());
  EXPECT_EQ(stats["parent_lock_timeouts"].GetUint64(), 1u);
  EXPECT_EQ(stats["parent_lock_waits"].GetUint64(), 1u);
  for (auto t : {first.ticket, second.ticket, third.ticket}) sim_->Complete(t);
}

TEST_F(BulkTest, ParentLocksOffWhenNoFieldIsConfigured) {
  SimOptions o;
  o.latency.base_ms = 5000;
  o.limits.lock_timeout = 3s;
  o.limits.parent_lock_fields = {};
  MakeBulk(o);
  const std::string a = AccountId("A");
  clock_.Advance(10s);
  const std::string path = std::string(kBulkV) + "/sobjects/Contact/Sluice_Key__c/";
  auto first = Start("PATCH", path + "c1", R"({"LastName":"x","AccountId":")" + a + R"("})");
  clock_.Advance(1s);
  auto second = Start("PATCH", path + "c2", R"({"LastName":"x","AccountId":")" + a + R"("})");
  EXPECT_EQ(second.response.status, 201) << second.response.body;
  EXPECT_EQ(second.delay, 5s);
  sim_->Complete(first.ticket);
  sim_->Complete(second.ticket);
}

TEST_F(BulkTest, ParentLocksBetweenParallelBatchesAndCollections) {
  SimOptions o;
  o.bulk.records_per_second = 2;  // 2 batches in parallel: 1 record/s each
  o.bulk.parallel_batches = 2;
  o.bulk.batch_size = 2;  // a batch takes 2 s
  o.bulk.queue_delay = 0ms;
  o.limits.lock_timeout = 1s;
  MakeBulk(o);
  const std::string a = AccountId("A");
  const std::string b = AccountId("B");
  clock_.Advance(1s);
  // Unsorted: both parallel batches hold children of A; the second waits 2 s > 1 s and fails.
  const std::string id = CreateJob(kUpsertJob);
  Upload(id, "Sluice_Key__c,LastName,AccountId\nu1,x," + a + "\nu2,x," + b + "\nu3,x," + a +
                 "\nu4,x," + b + "\n");
  SetState(id, "UploadComplete");
  clock_.Advance(1ms);
  // While the batches run, a collections write to A's child waits past the timeout too.
  auto coll = Do("PATCH", std::string(kBulkV) + "/composite/sobjects/Contact/Sluice_Key__c",
                 R"({"records":[{"attributes":{"type":"Contact"},"LastName":"x",)"
                 R"("Sluice_Key__c":"c1","AccountId":")" +
                     a + R"("}]})");
  auto cd = Parse(coll.response.body);
  ASSERT_FALSE(cd[0]["success"].GetBool()) << coll.response.body;
  EXPECT_EQ(std::string(cd[0]["errors"][0]["statusCode"].GetString()), "UNABLE_TO_LOCK_ROW");
  clock_.Advance(10s);
  ASSERT_EQ(State(id), "JobComplete");
  EXPECT_EQ(Info(id)["numberRecordsFailed"].GetInt64(), 2);
  const std::string failed = Results(id, "failedResults");
  EXPECT_NE(failed.find("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record"),
            std::string::npos);
  EXPECT_NE(failed.find("\"u3\""), std::string::npos);
  EXPECT_NE(failed.find("\"u4\""), std::string::npos);

  // Sorted by parent, each batch holds one parent: no contention.
  const std::string sorted = CreateJob(kUpsertJob);
  Upload(sorted, "Sluice_Key__c,LastName,AccountId\ns1,x," + a + "\ns2,x," + a + "\ns3,x," + b +
                     "\ns4,x," + b + "\n");
  SetState(sorted, "UploadComplete");
  clock_.Advance(10s);
  ASSERT_EQ(State(sorted), "JobComplete");
  EXPECT_EQ(Info(sorted)["numberRecordsFailed"].GetInt64(), 0);
}

TEST_F(BulkTest, BatchesWaitForCollectionsWritesOnTheSameParent) {
  SimOptions o;
  o.latency.base_ms = 2000;
  o.limits.lock_timeout = 3s;
  o.bulk.queue_delay = 0ms;
  o.bulk.records_per_second = 10;  // one 2-row batch: 200 ms
  o.bulk.parallel_batches = 1;
  MakeBulk(o);
  const std::string a = AccountId("A");
  clock_.Advance(10s);
  const std::string id = CreateJob(kUpsertJob);
  Upload(id, "Sluice_Key__c,LastName,AccountId\nb1,x," + a + "\nb2,x," + a + "\n");
  // A collections write holds A for 2 s; the job's batch starts meanwhile and waits for it.
  auto coll = Start("PATCH", std::string(kBulkV) + "/composite/sobjects/Contact/Sluice_Key__c",
                    R"({"records":[{"attributes":{"type":"Contact"},"LastName":"x",)"
                    R"("Sluice_Key__c":"c1","AccountId":")" +
                        a + R"("}]})");
  ASSERT_TRUE(Parse(coll.response.body)[0]["success"].GetBool());
  SetState(id, "UploadComplete");
  clock_.Advance(1ms);  // the batch starts (at the close) and waits about 2 s for A
  clock_.Advance(3s);
  auto info = Info(id);
  EXPECT_EQ(std::string(info["state"].GetString()), "JobComplete");
  EXPECT_EQ(info["numberRecordsFailed"].GetInt64(), 0);
  EXPECT_GE(info["totalProcessingTime"].GetInt64(), 2000);
  EXPECT_EQ(Parse(Stats())["parent_lock_waits"].GetUint64(), 2u);  // counted per record
  sim_->Complete(coll.ticket);
}

}  // namespace
}  // namespace sluice::sfsim::testing

// The simulation's fakes on their own: the world's ordering, the broker's group protocol and pause
// flags, the org's faults and ledger, the store's durability.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sim_consumer.h"
#include "sim_dlq.h"
#include "sim_kafka.h"
#include "sim_salesforce.h"
#include "sim_store.h"
#include "sim_waiter.h"
#include "world.h"

namespace sluice::sim {
namespace {

using salesforce::ErrorClass;
using std::chrono::milliseconds;
using std::chrono::seconds;

TimePoint At(milliseconds ms) { return TimePoint(ms); }

TEST(WorldTest, RunsEventsInTimeThenSchedulingOrder) {
  World world;
  std::vector<int> order;
  world.Schedule(At(milliseconds(20)), kWorld, [&] { order.push_back(3); });
  world.Schedule(At(milliseconds(10)), kWorld, [&] { order.push_back(1); });
  world.Schedule(At(milliseconds(10)), kWorld, [&] { order.push_back(2); });
  world.AdvanceTo(At(milliseconds(15)));
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_EQ(world.Now(), At(milliseconds(15)));
  world.AdvanceTo(At(milliseconds(30)));
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(WorldTest, DropsEventsOfADeadIncarnationButRunsTheWorlds) {
  World world;
  const Owner inc = world.NewIncarnation();
  int engine = 0, org = 0;
  world.Schedule(At(milliseconds(5)), inc, [&] { ++engine; });
  world.Schedule(At(milliseconds(5)), kWorld, [&] { ++org; });
  world.Kill(inc);
  world.AdvanceTo(At(milliseconds(10)));
  EXPECT_EQ(engine, 0);
  EXPECT_EQ(org, 1);
}

TEST(WorldTest, SameSeedSameDraws) {
  World a(WorldOptions{.seed = 7}), b(WorldOptions{.seed = 7});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(a.UniformInt(0, 1 << 30), b.UniformInt(0, 1 << 30));
}

TEST(WorldTest, WaiterRunsCompletionsUntilNotified) {
  World world;
  SimWaiter waiter(world);
  world.Schedule(At(milliseconds(10)), kWorld, [] {});
  world.Schedule(At(milliseconds(30)), kWorld, [&] { waiter.Notify(); });
  world.Schedule(At(milliseconds(50)), kWorld, [] {});
  waiter.WaitUntil(At(seconds(1)));
  EXPECT_EQ(world.Now(), At(milliseconds(30)));
  waiter.WaitUntil(At(milliseconds(40)));
  EXPECT_EQ(world.Now(), At(milliseconds(40)));
}

// Records the rebalance callbacks a consumer gets.
class Listener : public kafka::RebalanceListener {
 public:
  void OnAssigned(kafka::Consumer&, const std::vector<kafka::TopicPartition>& p) override {
    assigned.push_back(p);
  }
  void OnRevoked(kafka::Consumer& c, const std::vector<kafka::TopicPartition>& p) override {
    revoked.push_back(p);
    if (on_revoke) on_revoke(c);
  }
  std::vector<std::vector<kafka::TopicPartition>> assigned, revoked;
  std::function<void(kafka::Consumer&)> on_revoke;
};

class KafkaTest : public ::testing::Test {
 protected:
  KafkaTest()
      : kafka_(
            world_, facts_,
            SimKafkaOptions{.session_timeout = seconds(2), .rebalance_delay = milliseconds(10)}) {
    EXPECT_TRUE(kafka_.CreateTopic("t", 4).ok());
    for (int p = 0; p < 4; ++p) {
      for (int i = 0; i < 5; ++i) {
        kafka::Message m;
        m.key = "k";
        m.value = "v";
        kafka_.Append("t", p, m, TimePoint{});
      }
    }
  }
  // Polls until nothing is left to do at this instant, then moves time on a little.
  std::vector<kafka::Message> PollAll(SimConsumer& c, size_t max = 100) {
    std::vector<kafka::Message> out;
    for (int i = 0; i < 10; ++i) {
      auto got = c.Poll(max, milliseconds(0));
      EXPECT_TRUE(got.ok());
      out.insert(out.end(), got->begin(), got->end());
      world_.AdvanceTo(world_.Now() + milliseconds(20));
    }
    return out;
  }

  World world_;
  Facts facts_;
  SimKafka kafka_;
};

TEST_F(KafkaTest, EagerRebalanceRevokesAllBeforeAssigning) {
  Listener la, lb;
  const Owner a_inc = world_.NewIncarnation(), b_inc = world_.NewIncarnation();
  SimConsumer a(world_, kafka_, a_inc, &la), b(world_, kafka_, b_inc, &lb);
  ASSERT_TRUE(a.Subscribe({"t"}).ok());
  auto got = PollAll(a);
  EXPECT_EQ(got.size(), 20u);
  ASSERT_EQ(la.assigned.size(), 1u);
  EXPECT_EQ(la.assigned[0].size(), 4u);

  ASSERT_TRUE(b.Subscribe({"t"}).ok());
  // b has nothing to revoke; it waits for a's revoke.
  EXPECT_TRUE(b.Poll(10, milliseconds(0))->empty());
  world_.AdvanceTo(world_.Now() + milliseconds(100));
  EXPECT_TRUE(b.Poll(10, milliseconds(0))->empty());
  EXPECT_TRUE(lb.assigned.empty());
  // a's next poll revokes everything, then both get half.
  EXPECT_TRUE(a.Poll(10, milliseconds(0))->empty());
  ASSERT_EQ(la.revoked.size(), 1u);
  EXPECT_EQ(la.revoked[0].size(), 4u);
  PollAll(a);
  PollAll(b);
  ASSERT_EQ(la.assigned.size(), 2u);
  ASSERT_EQ(lb.assigned.size(), 1u);
  EXPECT_EQ(la.assigned[1].size(), 2u);
  EXPECT_EQ(lb.assigned[0].size(), 2u);
}

TEST_F(KafkaTest, PositionsStartAtTheCommittedOffset) {
  Listener la, lb;
  const Owner a_inc = world_.NewIncarnation(), b_inc = world_.NewIncarnation();
  SimConsumer a(world_, kafka_, a_inc, &la);
  ASSERT_TRUE(a.Subscribe({"t"}).ok());
  PollAll(a);
  ASSERT_TRUE(a.CommitOffsets({{"t", 0, 3}, {"t", 1, 5}, {"t", 2, 0}, {"t", 3, 1}}, true).ok());
  SimConsumer b(world_, kafka_, b_inc, &lb);
  ASSERT_TRUE(b.Subscribe({"t"}).ok());
  ASSERT_TRUE(a.Close().ok());
  auto got = PollAll(b);
  EXPECT_EQ(got.size(), 2u + 0u + 5u + 4u);
}

// librdkafka 2.0.2 keeps a partition's pause flag across revoke and assign (issue #1849).
TEST_F(KafkaTest, PauseSurvivesRevokeAndReassign) {
  Listener la, lb;
  const Owner a_inc = world_.NewIncarnation(), b_inc = world_.NewIncarnation();
  SimConsumer a(world_, kafka_, a_inc, &la);
  ASSERT_TRUE(a.Subscribe({"t"}).ok());
  auto first = a.Poll(1, milliseconds(0));  // assigned, one record
  world_.AdvanceTo(world_.Now() + milliseconds(20));
  first = a.Poll(1, milliseconds(0));
  ASSERT_EQ(first->size(), 1u);
  auto assignment = *a.Assignment();
  ASSERT_TRUE(a.Pause(assignment).ok());
  EXPECT_TRUE(a.Poll(10, milliseconds(0))->empty());
  // A member joins and leaves again: a gets every partition back, still paused.
  {
    SimConsumer b(world_, kafka_, b_inc, &lb);
    ASSERT_TRUE(b.Subscribe({"t"}).ok());
    PollAll(a);
    PollAll(b);
    ASSERT_TRUE(b.Close().ok());
  }
  EXPECT_TRUE(PollAll(a).empty()) << "re-assigned partitions must come back paused";
  EXPECT_GE(la.assigned.size(), 3u);
  ASSERT_TRUE(a.Resume(*a.Assignment()).ok());
  EXPECT_FALSE(PollAll(a).empty());
}

TEST_F(KafkaTest, PauseOfAnUnassignedPartitionFails) {
  Listener la;
  SimConsumer a(world_, kafka_, world_.NewIncarnation(), &la);
  ASSERT_TRUE(a.Subscribe({"t"}).ok());
  EXPECT_EQ(a.Pause({{"t", 0}}).code(), StatusCode::kFailedPrecondition);
}

TEST_F(KafkaTest, CrashedMemberHoldsItsPartitionsUntilTheSessionExpires) {
  Listener la, lb;
  const Owner a_inc = world_.NewIncarnation(), b_inc = world_.NewIncarnation();
  auto a = std::make_unique<SimConsumer>(world_, kafka_, a_inc, &la);
  SimConsumer b(world_, kafka_, b_inc, &lb);
  ASSERT_TRUE(a->Subscribe({"t"}).ok());
  ASSERT_TRUE(b.Subscribe({"t"}).ok());
  PollAll(*a);
  PollAll(b);
  ASSERT_EQ(b.Assignment()->size(), 2u);
  world_.Kill(a_inc);
  kafka_.Crash(a_inc);
  a.reset();
  PollAll(b);
  EXPECT_EQ(b.Assignment()->size(), 2u);  // before the session timeout
  world_.AdvanceTo(world_.Now() + seconds(2));
  PollAll(b);
  EXPECT_EQ(b.Assignment()->size(), 4u);
}

TEST_F(KafkaTest, CommitsDuringRevokeApplyAndAfterItFail) {
  Listener la, lb;
  const Owner a_inc = world_.NewIncarnation(), b_inc = world_.NewIncarnation();
  SimConsumer a(world_, kafka_, a_inc, &la);
  ASSERT_TRUE(a.Subscribe({"t"}).ok());
  PollAll(a);
  la.on_revoke = [](kafka::Consumer& c) { EXPECT_TRUE(c.CommitOffsets({{"t", 0, 2}}, true).ok()); };
  SimConsumer b(world_, kafka_, b_inc, &lb);
  ASSERT_TRUE(b.Subscribe({"t"}).ok());
  EXPECT_TRUE(a.Poll(1, milliseconds(0))->empty());  // the revoke
  EXPECT_EQ(kafka_.Committed({"t", 0}), 2);
  EXPECT_FALSE(a.CommitOffsets({{"t", 1}}, true).ok());
  ASSERT_EQ(facts_.commits.size(), 1u);
  EXPECT_TRUE(facts_.commits[0].during_revoke);
}

TEST_F(KafkaTest, DlqAcksFailWhileTheBrokerIsDown) {
  ASSERT_TRUE(kafka_.CreateTopic("t.dlq", 1).ok());
  kafka_.AddUnavailableWindow(At(milliseconds(0)), At(milliseconds(500)));
  const Owner inc = world_.NewIncarnation();
  SimDlqSink sink(world_, kafka_, facts_, inc);
  std::vector<Status> acks;
  ASSERT_TRUE(sink.Produce(kafka::ProducerRecord("t.dlq", "k", "v"),
                           [&](const kafka::DeliveryReport& r) { acks.push_back(r.status); })
                  .ok());
  sink.Flush(milliseconds(100));
  world_.AdvanceTo(At(milliseconds(600)));
  ASSERT_TRUE(sink.Produce(kafka::ProducerRecord("t.dlq", "k", "v"),
                           [&](const kafka::DeliveryReport& r) { acks.push_back(r.status); })
                  .ok());
  sink.Flush(milliseconds(100));
  ASSERT_EQ(acks.size(), 2u);
  EXPECT_EQ(acks[0].code(), StatusCode::kUnavailable);
  EXPECT_TRUE(acks[1].ok());
  ASSERT_EQ(facts_.dlq.size(), 2u);
  EXPECT_FALSE(facts_.dlq[0].landed);
  EXPECT_TRUE(facts_.dlq[1].landed);
}

class OrgTest : public ::testing::Test {
 protected:
  void Make(SimOrgOptions o) {
    o.latency_min = milliseconds(10);
    o.latency_max = milliseconds(10);
    org_ = std::make_unique<SimOrg>(world_, facts_, o);
    inc_ = world_.NewIncarnation();
    port_ = std::make_unique<SimSalesforce>(world_, *org_, inc_);
  }
  Status Auth() {
    Status out = InternalError("no answer");
    port_->Authenticate([&](Status s) { out = s; });
    world_.AdvanceTo(world_.Now() + milliseconds(50));
    return out;
  }
  static std::string Fields(const std::string& id, bool poison = false) {
    return "{\"" + std::string(kEventIdField) + "\":\"" + id + "\",\"" + kKeyField + "\":\"K\"" +
           (poison ? ",\"Sim_Poison__c\":true" : "") + "}";
  }
  salesforce::WriteResult Write(const std::vector<std::pair<std::string, std::string>>& recs,
                                relay::WriteCall call = {relay::Operation::kUpsert, "Contact",
                                                         "Sluice_Key__c"},
                                milliseconds wait = milliseconds(50)) {
    std::vector<salesforce::RecordInput> in;
    for (const auto& [f, ext] : recs) in.push_back({f, ext});
    salesforce::WriteResult out;
    out.http_status = -1;
    port_->Write(call, in, [&](salesforce::WriteResult r) { out = std::move(r); });
    world_.AdvanceTo(world_.Now() + wait);
    return out;
  }

  World world_;
  Facts facts_;
  std::unique_ptr<SimOrg> org_;
  Owner inc_ = kWorld;
  std::unique_ptr<SimSalesforce> port_;
};

TEST_F(OrgTest, WritesFetchATokenWhenNoneIsHeld) {
  Make({});
  auto r = Write({{Fields("e1"), "K"}});
  EXPECT_FALSE(r.request_error);
  EXPECT_EQ(r.attempts, 2);
  r = Write({{Fields("e1"), "K"}});
  EXPECT_EQ(r.attempts, 1);
  EXPECT_FALSE(r.request_error);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_TRUE(r.records[0].success);
  EXPECT_FALSE(r.records[0].created);  // the first write made the record
  ASSERT_TRUE(r.limit_info);
  EXPECT_EQ(r.limit_info->api_used, 2);
  ASSERT_EQ(facts_.ledger.size(), 2u);
  EXPECT_EQ(facts_.ledger[0].event_id, "e1");
  EXPECT_EQ(facts_.ledger[0].key, "K");
}

TEST_F(OrgTest, UpsertsUpdateTheSameRecordAndCreatesMakeNewOnes) {
  Make({});
  ASSERT_TRUE(Auth().ok());
  Write({{Fields("e1"), "K"}});
  auto r = Write({{Fields("e2"), "K"}});
  EXPECT_FALSE(r.records[0].created);
  Write({{Fields("e3"), ""}}, {relay::Operation::kCreate, "Order__c", ""});
  Write({{Fields("e3"), ""}}, {relay::Operation::kCreate, "Order__c", ""});
  ASSERT_EQ(facts_.ledger.size(), 4u);
  EXPECT_EQ(facts_.ledger[0].record_id, facts_.ledger[1].record_id);
  EXPECT_NE(facts_.ledger[2].record_id, facts_.ledger[3].record_id);
}

TEST_F(OrgTest, TimeoutLandsTheWriteButLosesTheAnswer) {
  SimOrgOptions o;
  o.timeout_probability = 1.0;
  o.timeout_after = seconds(2);
  Make(o);
  ASSERT_TRUE(Auth().ok());
  auto r = Write({{Fields("e1"), "K"}}, {relay::Operation::kUpsert, "Contact", "Sluice_Key__c"},
                 milliseconds(1000));
  EXPECT_EQ(r.http_status, -1) << "no answer before the timeout";
  EXPECT_EQ(facts_.ledger.size(), 1u) << "the write landed";
  world_.AdvanceTo(world_.Now() + seconds(2));
  ASSERT_EQ(facts_.calls.size(), 1u);
  EXPECT_TRUE(facts_.calls[0].answer_lost);
  EXPECT_TRUE(facts_.calls[0].answered);
  ASSERT_TRUE(facts_.calls[0].request_error);
  EXPECT_EQ(*facts_.calls[0].request_error, ErrorClass::kRetryableOrg);
}

TEST_F(OrgTest, WindowsAndLimits) {
  SimOrgOptions o;
  o.unavailable = {{At(milliseconds(1000)), At(milliseconds(2000))}};
  o.auth_failing = {{At(milliseconds(3000)), At(milliseconds(4000))}};
  o.api_max = 3;
  o.budget_reset_at = At(milliseconds(6000));
  Make(o);
  ASSERT_TRUE(Auth().ok());
  world_.AdvanceTo(At(milliseconds(1000)));
  auto r = Write({{Fields("e1"), "K"}});
  EXPECT_EQ(r.request_error->error_class, ErrorClass::kRetryableOrg);
  EXPECT_EQ(r.http_status, 503);
  world_.AdvanceTo(At(milliseconds(3000)));
  EXPECT_EQ(Write({{Fields("e1"), "K"}}).request_error->error_class, ErrorClass::kAuth);
  EXPECT_EQ(Auth().code(), StatusCode::kUnauthenticated);
  world_.AdvanceTo(At(milliseconds(4000)));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(Write({{Fields("e1"), "K"}}).request_error);
  r = Write({{Fields("e1"), "K"}});
  EXPECT_EQ(r.request_error->error_class, ErrorClass::kBudgetExhausted);
  EXPECT_NE(r.request_error->message.find("TotalRequests"), std::string::npos);
  salesforce::LimitsResult limits;
  port_->GetLimits([&](salesforce::LimitsResult l) { limits = std::move(l); });
  world_.AdvanceTo(world_.Now() + milliseconds(50));
  EXPECT_EQ(limits.limits["DailyApiRequests"].remaining, 0);
  world_.AdvanceTo(At(milliseconds(6000)));
  EXPECT_FALSE(Write({{Fields("e1"), "K"}}).request_error);
}

TEST_F(OrgTest, SessionExpiryIsRefreshedOnceInsideTheCall) {
  SimOrgOptions o;
  o.session_expiry = {At(milliseconds(500))};
  Make(o);
  ASSERT_TRUE(Auth().ok());
  world_.AdvanceTo(At(milliseconds(600)));
  auto r = Write({{Fields("e1"), "K"}});
  EXPECT_FALSE(r.request_error);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_EQ(Write({{Fields("e1"), "K"}}).attempts, 1);
}

TEST_F(OrgTest, ConcurrencyLimit) {
  SimOrgOptions o;
  o.concurrent_limit = 1;
  Make(o);
  ASSERT_TRUE(Auth().ok());
  std::vector<salesforce::RecordInput> in = {{"{}", "K"}};
  salesforce::WriteResult first, second;
  port_->Write({}, in, [&](salesforce::WriteResult r) { first = std::move(r); });
  port_->Write({}, in, [&](salesforce::WriteResult r) { second = std::move(r); });
  world_.AdvanceTo(world_.Now() + milliseconds(50));
  EXPECT_FALSE(first.request_error);
  ASSERT_TRUE(second.request_error);
  EXPECT_EQ(second.request_error->error_class, ErrorClass::kRetryableOrg);
  EXPECT_EQ(second.request_error->code, "REQUEST_LIMIT_EXCEEDED");
}

TEST_F(OrgTest, PerRecordFailures) {
  Make({});
  ASSERT_TRUE(Auth().ok());
  auto r = Write({{Fields("e1", /*poison=*/true), "A"},
                  {Fields("e2"), "B"},
                  {Fields("e3"), "B"},
                  {Fields("e4"), "C"}});
  ASSERT_EQ(r.records.size(), 4u);
  EXPECT_EQ(r.records[0].error.error_class, ErrorClass::kPermanent);
  EXPECT_EQ(r.records[0].error.code, "FIELD_CUSTOM_VALIDATION_EXCEPTION");
  EXPECT_EQ(r.records[1].error.code, "DUPLICATE_EXTERNAL_ID");
  EXPECT_EQ(r.records[1].error.error_class, ErrorClass::kRetryableRecord);
  EXPECT_EQ(r.records[2].error.code, "DUPLICATE_EXTERNAL_ID");
  EXPECT_TRUE(r.records[3].success);
  EXPECT_EQ(facts_.ledger.size(), 1u);
}

TEST_F(OrgTest, AnswersToACrashedIncarnationAreDroppedButTheWriteLands) {
  Make({});
  ASSERT_TRUE(Auth().ok());
  bool answered = false;
  const std::string fields = Fields("e1");
  std::vector<salesforce::RecordInput> in = {{fields, "K"}};
  port_->Write({}, in, [&](salesforce::WriteResult) { answered = true; });
  world_.Kill(inc_);
  org_->OnCrash(inc_);
  world_.AdvanceTo(world_.Now() + milliseconds(50));
  EXPECT_FALSE(answered);
  EXPECT_EQ(facts_.ledger.size(), 1u);
  ASSERT_TRUE(facts_.calls[0].end);
  EXPECT_FALSE(facts_.calls[0].answered);
}

relay::StoreEntry Entry(const std::string& id, int32_t partition = -1) {
  relay::StoreEntry e;
  e.entry.event_id = id;
  e.source = {"t", partition};
  return e;
}

// Looks `id` up as read from partition `partition` of "t".
bool Seen(SimStore& store, const std::string& id, int32_t partition = -1) {
  auto got = store.CheckBatch({id}, {{"t", partition}});
  EXPECT_TRUE(got.ok());
  return got.ok() && (*got)[0].has_value();
}

TEST(StoreTest, RecordsAreDurableOnlyOnceCompletedAndInOrder) {
  World world;
  Facts facts;
  auto file = std::make_shared<StoreFile>();
  const Owner inc = world.NewIncarnation();
  SimStore store(world, facts, file, inc, 0,
                 {.latency_min = milliseconds(5), .latency_max = milliseconds(20)});
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) {
    store.Record({Entry("e" + std::to_string(i))}, [&order, i](const Status& s) {
      EXPECT_TRUE(s.ok());
      order.push_back(i);
    });
  }
  EXPECT_FALSE(Seen(store, "e0"));
  world.AdvanceTo(world.Now() + milliseconds(100));
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(Seen(store, "e0"));
  // A crash before the completion loses the entry.
  store.Record({Entry("late")}, nullptr);
  world.Kill(inc);
  world.AdvanceTo(world.Now() + milliseconds(100));
  EXPECT_EQ(file->rows[(kafka::TopicPartition{"t", -1})].count("late"), 0u);
  EXPECT_EQ(file->size(), 5u);
}

TEST(StoreTest, TheChangelogCarriesResolutionsToAnotherSlotsStore) {
  World world;
  Facts facts;
  auto changelog = std::make_shared<SimChangelog>();
  auto a_file = std::make_shared<StoreFile>();
  auto b_file = std::make_shared<StoreFile>();
  SimStore a(world, facts, a_file, world.NewIncarnation(), 0, {}, changelog);
  SimStore b(world, facts, b_file, world.NewIncarnation(), 1, {}, changelog);
  a.Record({Entry("p0-event", 0), Entry("p1-event", 1), Entry("no-partition")}, nullptr);
  world.AdvanceTo(world.Now() + milliseconds(100));
  EXPECT_FALSE(Seen(b, "p0-event", 0));
  ASSERT_TRUE(b.Restore({{"t", 0}}).ok());
  EXPECT_TRUE(Seen(b, "p0-event", 0));
  EXPECT_FALSE(Seen(b, "p1-event", 1)) << "only the assigned partition is restored";
  EXPECT_FALSE(Seen(b, "no-partition"));
  // Keyed per partition: an id recorded for partition 0 is not found as read from partition 1.
  EXPECT_FALSE(Seen(b, "p0-event", 1));
  // A restore applies each entry once; the next one reads only what came since.
  EXPECT_EQ(b_file->applied[(kafka::TopicPartition{"t", 0})], 1u);
  a.Record({Entry("p0-later", 0)}, nullptr);
  world.AdvanceTo(world.Now() + milliseconds(100));
  ASSERT_TRUE(b.Restore({{"t", 0}}).ok());
  EXPECT_TRUE(Seen(b, "p0-later", 0));
  EXPECT_EQ(b_file->applied[(kafka::TopicPartition{"t", 0})], 2u);
  // Without the changelog (the option off), nothing crosses.
  SimStoreOptions off;
  off.changelog = false;
  SimStore c(world, facts, std::make_shared<StoreFile>(), world.NewIncarnation(), 2, off,
             changelog);
  ASSERT_TRUE(c.Restore({{"t", 0}}).ok());
  EXPECT_FALSE(Seen(c, "p0-event", 0));
}

}  // namespace
}  // namespace sluice::sim

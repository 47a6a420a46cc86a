// The checker on hand-made facts: each invariant stays quiet on a clean run and fires on its break.
// (broken_engine_test.cc breaks real engines through their parts.)
#include "checker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "sluice/envelope/dlq.h"

namespace sluice::sim {
namespace {

using salesforce::ErrorClass;
using std::chrono::milliseconds;

TimePoint Ms(int64_t ms) { return TimePoint(milliseconds(ms)); }

// Builds the facts of a small run: one topic "t" with one partition, one relay "r0.1".
class FactsBuilder {
 public:
  FactsBuilder() {
    f.limits = Limits{.requests_per_second = 10,
                      .records_per_second = 1000,
                      .max_in_flight = 2,
                      .max_records = 10,
                      .max_buffered_events = 100,
                      .poll_batch = 10,
                      .slots = 1,
                      .store_enabled = true,
                      .event_id_field = "Sim_Event_Id__c",
                      .lock_fields = {}};
    f.instance_ids[1] = "r0.1";
    f.slots[1] = 0;
    f.instance_ids[2] = "r0.2";
    f.slots[2] = 0;
    f.wall_start_ms = 1767225600000;
  }
  // Produces an event on t[0] and hands it to incarnation 1 at 0 ms.
  ProducedRecord& Produce(const std::string& key, EventKind kind = EventKind::kUpsert,
                          bool poison = false) {
    ProducedRecord r;
    r.topic = "t";
    r.partition = 0;
    r.offset = static_cast<int64_t>(f.produced.size());
    r.key = key;
    r.event_id = "event-" + std::to_string(r.offset);
    r.value = "value-" + std::to_string(r.offset);
    r.headers = {{"sim-origin", "scenario"}};
    r.timestamp_ms = f.wall_start_ms;
    r.kind = kind;
    r.poison = poison;
    f.produced.push_back(r);
    f.hand_outs.push_back({Ms(0), 1, "t", 0, r.offset});
    f.log_end[{"t", 0}] = static_cast<int64_t>(f.produced.size());
    return f.produced.back();
  }
  // A call from incarnation `inc` with one record per event, answered at `end_ms`.
  CallFact& Call(int64_t start_ms, int64_t end_ms, const std::vector<std::string>& events,
                 ErrorClass c = ErrorClass::kNone, std::string code = "", Owner inc = 1) {
    CallFact call;
    call.id = f.calls.size() + 1;
    call.incarnation = inc;
    call.slot = 0;
    call.start = Ms(start_ms);
    call.end = Ms(end_ms);
    call.answered = true;
    for (const auto& e : events) call.records.push_back({e, c, code});
    f.calls.push_back(call);
    return f.calls.back();
  }
  // Lands `event` (of the produced record with that id) in call `call_id`.
  void Land(const std::string& event, int64_t at_ms, uint64_t call_id, Owner inc = 1,
            const std::string& record_id = "") {
    LedgerEntry e;
    e.seq = f.ledger.size() + 1;
    e.at = Ms(at_ms);
    e.incarnation = inc;
    e.slot = 0;
    e.call_id = call_id;
    e.event_id = event;
    for (const auto& r : f.produced) {
      if (r.event_id == event) e.key = r.key;
    }
    e.operation = salesforce::Operation::kUpsert;
    e.external_id_field = "Sluice_Key__c";
    e.external_id = e.key;
    e.record_id = record_id.empty() ? "003" + e.key : record_id;
    f.ledger.push_back(e);
  }
  // Delivered: a call answering at at_ms + 5, landing at at_ms, stored at at_ms + 10.
  void Deliver(const std::string& event, int64_t at_ms, Owner inc = 1) {
    const uint64_t c = Call(at_ms - 5, at_ms + 5, {event}, ErrorClass::kNone, "", inc).id;
    Land(event, at_ms, c, inc);
    Store(event, at_ms + 10, inc);
  }
  void Store(const std::string& event, int64_t at_ms, Owner inc = 1) {
    f.stored.push_back({Ms(at_ms), 0, inc, event, idempotency::Outcome::kDelivered});
  }
  void Commit(int64_t offset, int64_t at_ms) {
    f.commits.push_back({Ms(at_ms), 1, "t", 0, offset, false});
    f.final_committed[{"t", 0}] = offset;
  }
  void DeadLetter(const ProducedRecord& r, int64_t at_ms, const std::string& cls,
                  const std::string& code, int64_t attempts, Owner inc = 1) {
    envelope::DlqInfo info;
    info.error_class = cls;
    info.error_code = code;
    info.error_message = "why";
    info.attempts = attempts;
    info.first_attempt_ms = attempts > 0 ? f.wall_start_ms + 1 : -1;
    info.last_attempt_ms = attempts > 0 ? f.wall_start_ms + 2 : -1;
    info.source_topic = r.topic;
    info.source_partition = r.partition;
    info.source_offset = r.offset;
    info.source_timestamp_ms = r.timestamp_ms;
    info.relay_instance = f.instance_ids[inc];
    DlqFact d;
    d.produced_at = Ms(at_ms);
    d.acked_at = Ms(at_ms + 5);
    d.landed = true;
    d.incarnation = inc;
    d.slot = 0;
    d.instance_id = f.instance_ids[inc];
    d.record =
        kafka::ProducerRecord("t.dlq", r.key, r.value, envelope::MakeDlqHeaders(r.headers, info));
    f.dlq.push_back(d);
  }
  std::vector<Violation> Check() { return sim::Check(f); }

  Facts f;
};

TEST(CheckerTest, CleanRunHasNoViolations) {
  FactsBuilder b;
  b.Produce("A");
  b.Produce("B");
  b.Produce("A");
  b.Deliver("event-0", 10);
  b.Deliver("event-1", 20);
  b.Deliver("event-2", 30);
  b.Commit(3, 100);
  b.f.end = Ms(200);
  auto v = b.Check();
  EXPECT_TRUE(v.empty()) << Describe(v);
}

TEST(CheckerTest, CommitPastAnUnresolvedOffset) {
  FactsBuilder b;
  b.Produce("A");
  b.Produce("B");
  b.Deliver("event-0", 10);
  b.Deliver("event-1", 200);  // stored at 210, after the commit
  b.Commit(2, 100);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kCommitResolved)) << Describe(v);
}

TEST(CheckerTest, CommitBeforeTheStoreWrite) {
  FactsBuilder b;
  b.Produce("A");
  const uint64_t c = b.Call(0, 10, {"event-0"}).id;
  b.Land("event-0", 5, c);
  b.Commit(1, 20);
  b.Store("event-0", 30);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kCommitResolved)) << Describe(v);
}

TEST(CheckerTest, LossBelowTheCommit) {
  FactsBuilder b;
  b.Produce("A");
  b.Commit(1, 100);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kNoLoss)) << Describe(v);
}

TEST(CheckerTest, DuplicateWriteOutsideTheWindow) {
  FactsBuilder b;
  b.Produce("A");
  b.Deliver("event-0", 10);
  const uint64_t c = b.Call(50, 60, {"event-0"}).id;
  b.Land("event-0", 55, c);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kNoDuplicateWrites)) << Describe(v);
  EXPECT_FALSE(Fired(v, kNoSecondRecord)) << Describe(v);
}

TEST(CheckerTest, DuplicateWriteAfterALostAnswerIsAllowed) {
  FactsBuilder b;
  b.Produce("A");
  const uint64_t c =
      b.Call(0, 2000, {"event-0"}, ErrorClass::kRetryableOrg, "TRANSPORT_TIMEOUT").id;
  b.f.calls[c - 1].answer_lost = true;
  b.Land("event-0", 5, c);
  b.Deliver("event-0", 2100);
  auto v = b.Check();
  EXPECT_FALSE(Fired(v, kNoDuplicateWrites)) << Describe(v);
}

TEST(CheckerTest, DuplicateWriteAfterACrashDependsOnTheStore) {
  for (bool stored_before : {false, true}) {
    FactsBuilder b;
    b.Produce("A");
    const uint64_t c = b.Call(0, 10, {"event-0"}).id;
    b.Land("event-0", 5, c);
    if (stored_before) b.Store("event-0", 15);
    b.f.crashes.push_back({Ms(20), 0, 1, /*store_kept=*/true});
    b.Deliver("event-0", 500, 2);
    auto v = b.Check();
    EXPECT_EQ(Fired(v, kNoDuplicateWrites), stored_before) << Describe(v);
  }
}

TEST(CheckerTest, SecondRecordFromAnUpsert) {
  FactsBuilder b;
  b.Produce("A");
  const uint64_t c =
      b.Call(0, 2000, {"event-0"}, ErrorClass::kRetryableOrg, "TRANSPORT_TIMEOUT").id;
  b.f.calls[c - 1].answer_lost = true;
  b.Land("event-0", 5, c, 1, "003-first");
  const uint64_t d = b.Call(2100, 2110, {"event-0"}).id;
  b.Land("event-0", 2105, d, 1, "003-second");
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kNoSecondRecord)) << Describe(v);
}

TEST(CheckerTest, UpstreamDuplicateWrittenTwice) {
  FactsBuilder b;
  b.Produce("A");
  auto& dup = b.Produce("A");
  dup.event_id = "event-0";
  dup.upstream_duplicate = true;
  b.Deliver("event-0", 10);
  b.Deliver("event-0", 50);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kUpstreamDuplicates)) << Describe(v);
}

TEST(CheckerTest, KeyOrderAndLatestWins) {
  FactsBuilder b;
  b.Produce("A");
  b.Produce("A");
  b.Deliver("event-1", 10);
  b.Deliver("event-0", 20);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kKeyOrder)) << Describe(v);
  EXPECT_TRUE(Fired(v, kLatestWins)) << Describe(v);
}

TEST(CheckerTest, StaleOverwriteAfterInOrderFirstWrites) {
  FactsBuilder b;
  b.Produce("A");
  b.Produce("A");
  const uint64_t late =
      b.Call(0, 9000, {"event-0"}, ErrorClass::kRetryableOrg, "TRANSPORT_TIMEOUT").id;
  b.f.calls[late - 1].answer_lost = true;
  b.Land("event-0", 5, late);
  b.Deliver("event-0", 100);
  b.Deliver("event-1", 200);
  b.Land("event-0", 300, late);  // a late landing of the older event
  auto v = b.Check();
  EXPECT_FALSE(Fired(v, kKeyOrder)) << Describe(v);
  EXPECT_TRUE(Fired(v, kLatestWins)) << Describe(v);
}

TEST(CheckerTest, Ceilings) {
  FactsBuilder b;
  b.Produce("A");
  // 10 req/s + one burst of max(1, 10/20) = 11 allowed in any second.
  for (int i = 0; i < 12; ++i) b.Call(i * 10, i * 10 + 5, {"event-0"});
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kRequestRate)) << Describe(v);
  EXPECT_FALSE(Fired(v, kInFlight)) << Describe(v);
  FactsBuilder c;
  c.Produce("A");
  for (int i = 0; i < 3; ++i) c.Call(0, 100, {"event-0"});
  v = c.Check();
  EXPECT_TRUE(Fired(v, kInFlight)) << Describe(v);
  EXPECT_FALSE(Fired(v, kRequestRate)) << Describe(v);
}

TEST(CheckerTest, ParentLocks) {
  auto run = [](bool lock_fields_on, int64_t second_start_ms, Owner second_inc,
                const std::string& second_parent) {
    FactsBuilder b;
    b.Produce("A");
    b.Produce("B");
    if (lock_fields_on) b.f.limits.lock_fields = {{"Contact", "AccountId"}};
    CallFact& one = b.Call(0, 100, {"event-0"});
    one.sobject = "Contact";
    one.parents = {"001X"};
    CallFact& two = b.Call(second_start_ms, 150, {"event-1"}, ErrorClass::kNone, "", second_inc);
    two.sobject = "Contact";
    two.parents = {"001W", second_parent};
    return Fired(b.Check(), kParentLocks);
  };
  EXPECT_TRUE(run(true, 50, 1, "001X"));    // overlapping, one parent
  EXPECT_FALSE(run(true, 100, 1, "001X"));  // one after the other
  EXPECT_FALSE(run(true, 50, 1, "001Y"));   // different parents
  EXPECT_FALSE(run(true, 50, 2, "001X"));   // another relay (not coordinated across instances)
  EXPECT_FALSE(run(false, 50, 1, "001X"));  // lock_fields off
}

TEST(CheckerTest, OutageIsNotPoison) {
  FactsBuilder b;
  auto& r = b.Produce("A");
  b.Call(0, 10, {"event-0"}, ErrorClass::kRetryableOrg, "SERVER_UNAVAILABLE");
  b.DeadLetter(r, 20, "permanent", "SERVER_UNAVAILABLE", 0);
  b.Commit(1, 100);
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kOutageNotPoison)) << Describe(v);
  EXPECT_FALSE(Fired(v, kNoLoss)) << Describe(v);
}

TEST(CheckerTest, DeservedDeadLettersAndTrueHeaders) {
  FactsBuilder b;
  const ProducedRecord poison = b.Produce("A", EventKind::kUpsert, true);
  const ProducedRecord locked = b.Produce("B");
  const ProducedRecord invalid = b.Produce("C", EventKind::kInvalid);
  b.Call(0, 10, {"event-0", "event-1"}, ErrorClass::kPermanent,
         "FIELD_CUSTOM_VALIDATION_EXCEPTION");
  b.f.calls.back().records[1] = {"event-1", ErrorClass::kRetryableRecord, "UNABLE_TO_LOCK_ROW"};
  b.Call(20, 30, {"event-1"}, ErrorClass::kRetryableOrg, "SERVER_UNAVAILABLE");
  b.Call(40, 50, {"event-1"}, ErrorClass::kRetryableRecord, "UNABLE_TO_LOCK_ROW");
  b.DeadLetter(poison, 60, "permanent", "FIELD_CUSTOM_VALIDATION_EXCEPTION", 1);
  b.DeadLetter(locked, 60, "retry_exhausted", "UNABLE_TO_LOCK_ROW", 2);
  b.DeadLetter(invalid, 60, "invalid_envelope", "not_json", 0);
  b.Commit(3, 100);
  auto v = b.Check();
  EXPECT_TRUE(v.empty()) << Describe(v);

  // Counting the uncharged 503 as an attempt is a lie.
  b.f.dlq.clear();
  b.DeadLetter(locked, 60, "retry_exhausted", "UNABLE_TO_LOCK_ROW", 3);
  v = b.Check();
  EXPECT_TRUE(Fired(v, kDlqHeaders)) << Describe(v);
}

TEST(CheckerTest, MemoryAndLiveness) {
  FactsBuilder b;
  b.Produce("A");
  b.f.buffered.push_back({1, 111, Ms(5), true});
  b.f.timed_out = true;
  auto v = b.Check();
  EXPECT_TRUE(Fired(v, kMemory)) << Describe(v);
  EXPECT_TRUE(Fired(v, kLiveness)) << Describe(v);
}

}  // namespace
}  // namespace sluice::sim

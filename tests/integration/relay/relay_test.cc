// sluice-relay against a real broker and a real sluice-sfsim: the delivery contract of DESIGN.md.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/envelope/dlq.h"
#include "sluice/testing/relay_harness.h"

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const bool kBrokerRegistered = RegisterKafkaBrokerEnvironment();

// What the ledger says about the events produced.
struct Verdict {
  size_t missing = 0;
  size_t duplicated = 0;     // event ids written more than once
  size_t out_of_order = 0;   // keys whose writes are not in production order
  size_t unexpected = 0;     // ledger entries whose event id was never produced as valid
  size_t created_twice = 0;  // external ids created more than once (duplicate records)
  std::vector<std::string> examples;
};

Verdict Check(const std::vector<TestEvent>& produced, const std::vector<LedgerRow>& ledger) {
  Verdict v;
  std::unordered_map<std::string, size_t> order;  // event id -> production index
  for (size_t i = 0; i < produced.size(); ++i) {
    if (!produced[i].event_id.empty()) order[produced[i].event_id] = i;
  }
  std::unordered_map<std::string, int> seen;
  std::unordered_map<std::string, size_t> last_index_of_key;
  std::unordered_map<std::string, int> creations;
  std::set<std::string> bad_keys;
  for (const auto& row : ledger) {
    if (row.created) ++creations[row.external_id];
    auto it = order.find(row.event_id);
    if (it == order.end()) {
      ++v.unexpected;
      continue;
    }
    if (++seen[row.event_id] > 1) continue;  // order is judged on first writes
    const std::string& key = produced[it->second].key;
    auto last = last_index_of_key.find(key);
    if (last != last_index_of_key.end() && last->second > it->second) bad_keys.insert(key);
    last_index_of_key[key] = it->second;
  }
  for (const auto& [id, index] : order) {
    auto it = seen.find(id);
    if (it == seen.end()) {
      ++v.missing;
      if (v.examples.size() < 5) v.examples.push_back("missing " + id);
    } else if (it->second > 1) {
      ++v.duplicated;
      if (v.examples.size() < 5) v.examples.push_back("duplicated " + id);
    }
  }
  for (const auto& [key, n] : creations) v.created_twice += n > 1 ? 1 : 0;
  v.out_of_order = bad_keys.size();
  return v;
}

std::vector<TestEvent> ContactEvents(int n, int keys, int invalid_every = 0) {
  std::vector<TestEvent> events;
  events.reserve(n);
  for (int i = 0; i < n; ++i) {
    const bool valid = invalid_every == 0 || i % invalid_every != invalid_every - 1;
    events.push_back(MakeContactEvent("K-" + std::to_string(i % keys), i, valid));
  }
  return events;
}

size_t CountValid(const std::vector<TestEvent>& events) {
  return static_cast<size_t>(std::count_if(events.begin(), events.end(), [](const TestEvent& e) {
    return e.value.find("\"LastName\"") != std::string::npos;
  }));
}

std::unique_ptr<RelayHarness> MakeHarness(RelayHarness::Options options = {}) {
  auto h = RelayHarness::Create(options);
  EXPECT_TRUE(h.ok()) << h.status();
  return h.ok() ? std::move(h).value() : nullptr;
}

TEST(RelayTest, DeliversFiftyThousandEventsExactlyOnceInKeyOrder) {
  auto h = MakeHarness();
  ASSERT_NE(h, nullptr);
  auto events = ContactEvents(50'000, 5'000);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay().ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(5))) << "drain did not finish";
  // The relay commits and keeps running; give stragglers a moment, then judge.
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(0, "sluice_relay_delivered_total") >= events.size(); },
      seconds(30)));
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok()) << ledger.status();
  Verdict v = Check(events, *ledger);
  EXPECT_EQ(v.missing, 0u) << ::testing::PrintToString(v.examples);
  EXPECT_EQ(v.duplicated, 0u) << ::testing::PrintToString(v.examples);
  EXPECT_EQ(v.out_of_order, 0u);
  EXPECT_EQ(v.unexpected, 0u);
  EXPECT_EQ(v.created_twice, 0u);
  EXPECT_EQ(ledger->size(), events.size());
  auto dlq = h->ReadDlq(0, Ms(500));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
  // Graceful stop commits everything: a restarted relay finds nothing old to do. Judged after it
  // has provably caught up: sentinels produced after the restart land on every partition, and a
  // partition is consumed in order, so once every sentinel is in the ledger the restarted relay
  // has read (and would have re-sent) anything left uncommitted before them.
  EXPECT_EQ(h->StopRelay(0), 0);
  ASSERT_TRUE(h->StartRelay().ok());
  std::vector<TestEvent> sentinels;
  for (int i = 0; i < 200; ++i)
    sentinels.push_back(MakeContactEvent("sentinel-" + std::to_string(i), i));
  ASSERT_TRUE(h->Produce(sentinels).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size() + sentinels.size(), minutes(2)));
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        return h->MetricValue(0, "sluice_relay_delivered_total").value_or(0) >= sentinels.size();
      },
      seconds(30)));
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_consumed_total").value_or(-1), sentinels.size())
      << "the restarted relay read records the stopped one had resolved";
  // Counted per source topic: the one series of this test's topic holds them all.
  EXPECT_EQ(
      h->MetricValue(0, "sluice_relay_consumed_total{topic=\"" + h->topic() + "\"}").value_or(-1),
      sentinels.size());
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_skipped_duplicates_total").value_or(-1), 0);
  auto stats = h->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ((*stats)["ledger_entries"], events.size() + sentinels.size());
}

TEST(RelayTest, TransientFaultsAreRetriedAndNothingIsDeadLettered) {
  // 10% of requests answer 503, 5% of records fail UNABLE_TO_LOCK_ROW.
  RelayHarness::Options options;
  options.sfsim_flags = {"--unavailable-rate", "0.1", "--lock-row-rate", "0.05"};
  auto h = MakeHarness(options);
  ASSERT_NE(h, nullptr);
  auto events = ContactEvents(10'000, 2'000);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay().ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(5)));
  auto stats = h->Stats();
  ASSERT_TRUE(stats.ok());
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  Verdict v = Check(events, *ledger);
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.duplicated, 0u) << ::testing::PrintToString(v.examples);
  EXPECT_EQ(v.out_of_order, 0u);
  // The faults really happened.
  auto s = h->sfsim().GetStats();
  ASSERT_TRUE(s.ok());
  EXPECT_GT(h->MetricValue(0, "sluice_relay_retries_total").value_or(0), 0);
  auto dlq = h->ReadDlq(0, Ms(500));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty()) << dlq->size() << " records dead-lettered";
}

TEST(RelayTest, ValidationFailuresGoToTheDlqWithTheirCode) {
  auto h = MakeHarness();
  ASSERT_NE(h, nullptr);
  auto events = ContactEvents(5'000, 1'000, /*invalid_every=*/100);  // 1% without LastName
  const size_t valid = CountValid(events);
  const size_t invalid = events.size() - valid;
  ASSERT_EQ(invalid, 50u);
  std::set<std::string> invalid_keys_offsets;
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay().ok());
  auto dlq = h->ReadDlq(invalid, minutes(3));
  ASSERT_TRUE(dlq.ok()) << dlq.status();
  ASSERT_EQ(dlq->size(), invalid);
  std::set<std::string> expected_values;
  for (const auto& e : events) {
    if (e.value.find("\"LastName\"") == std::string::npos) expected_values.insert(e.value);
  }
  for (const auto& row : *dlq) {
    EXPECT_EQ(row.Header(envelope::kHeaderErrorClass), "permanent");
    EXPECT_EQ(row.Header(envelope::kHeaderErrorCode), "REQUIRED_FIELD_MISSING");
    EXPECT_EQ(row.Header(envelope::kHeaderSourceTopic), h->topic());
    EXPECT_EQ(row.Header(envelope::kHeaderAttempts), "1");
    EXPECT_FALSE(row.Header(envelope::kHeaderRelayInstance).empty());
    EXPECT_FALSE(row.Header(envelope::kHeaderSourceOffset).empty());
    EXPECT_EQ(expected_values.count(row.value), 1u) << "original value not kept";
  }
  ASSERT_TRUE(h->WaitForLedger(valid, minutes(3)));
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  std::vector<TestEvent> valid_events;
  for (const auto& e : events) {
    if (e.value.find("\"LastName\"") != std::string::npos) valid_events.push_back(e);
  }
  Verdict v = Check(valid_events, *ledger);
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.duplicated, 0u);
}

TEST(RelayTest, MalformedRecordsAreDeadLetteredAndThePartitionKeepsMoving) {
  RelayHarness::Options options;
  options.partitions = 1;  // everything on one partition: a stuck partition would show
  auto h = MakeHarness(options);
  ASSERT_NE(h, nullptr);
  std::vector<TestEvent> events;
  std::vector<std::string> bad_values = {
      std::string("\xff\xfe\x00garbage", 10),
      "{\"not\":\"an event\"}",
      "[1,2,3]",
      "",
      std::string(2 * 1024 * 1024, 'x'),                         // 2 MB value
      "{\"event_id\":\"not-a-uuid\",\"operation\":\"upsert\"}",  // wrong schema
      std::string(10000, '[') + std::string(10000, ']'),         // deep nesting
  };
  int bad = 0;
  for (int i = 0; i < 700; ++i) {
    if (i % 100 == 50) {
      TestEvent e;
      e.key = "bad-" + std::to_string(i);
      e.value = bad_values[static_cast<size_t>(bad++) % bad_values.size()];
      events.push_back(e);
    }
    events.push_back(MakeContactEvent("K-" + std::to_string(i % 50), i));
  }
  // An idempotency-key header that disagrees with the event id.
  TestEvent mismatched = MakeContactEvent("K-mismatch", 1);
  mismatched.headers = {{"idempotency-key", "00000000-0000-4000-8000-000000000000"}};
  mismatched.event_id.clear();
  events.push_back(mismatched);
  ++bad;
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay().ok());
  auto dlq = h->ReadDlq(static_cast<size_t>(bad), minutes(3));
  ASSERT_TRUE(dlq.ok());
  EXPECT_EQ(dlq->size(), static_cast<size_t>(bad));
  for (const auto& row : *dlq) {
    EXPECT_EQ(row.Header(envelope::kHeaderErrorClass), "invalid_envelope") << row.key;
    EXPECT_FALSE(row.Header(envelope::kHeaderErrorMessage).empty());
  }
  ASSERT_TRUE(h->WaitForLedger(700, minutes(3)));
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  Verdict v = Check(events, *ledger);
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.duplicated, 0u);
  EXPECT_EQ(v.out_of_order, 0u);
  EXPECT_TRUE(h->RelayRunning());
}

TEST(RelayTest, AnOutagePausesTheRelayWithoutDeadLettering) {
  auto h = MakeHarness();
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->StartRelay().ok());
  ASSERT_TRUE(h->sfsim().ScheduleFault(R"({"kind":"unavailable","duration_ms":30000})").ok());
  auto events = ContactEvents(3'000, 500);
  ASSERT_TRUE(h->Produce(events).ok());
  // During the outage the breaker opens and consumption pauses.
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(0, "sluice_relay_circuit_state").value_or(0) > 0; },
      seconds(20)));
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(0, "sluice_relay_paused").value_or(0) == 1; }, seconds(20)));
  // Afterwards it drains everything.
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(3)));
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  Verdict v = Check(events, *ledger);
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.duplicated, 0u);
  auto dlq = h->ReadDlq(0, Ms(500));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_circuit_state").value_or(-1), 0);
}

TEST(RelayTest, TokenExpiryMidRunCausesOneRefresh) {
  auto h = MakeHarness();
  ASSERT_NE(h, nullptr);
  auto first = ContactEvents(2'000, 400);
  ASSERT_TRUE(h->Produce(first).ok());
  ASSERT_TRUE(h->StartRelay().ok());
  ASSERT_TRUE(h->WaitForLedger(first.size(), minutes(2)));
  const double tokens_before = h->MetricValue(0, "sluice_relay_token_requests_total").value_or(-1);
  EXPECT_EQ(tokens_before, 1);
  // Beside the relay's own metrics: the process's, the build's, and the API usage once known.
  EXPECT_GT(h->MetricValue(0, "process_resident_memory_bytes").value_or(0), 0);
  EXPECT_GT(h->MetricValue(0, "process_cpu_seconds_total").value_or(0), 0);
  EXPECT_GT(h->MetricValue(0, "sluice_relay_api_usage_max").value_or(0), 0);
  auto text = h->Metrics(0);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("# TYPE sluice_relay_token_requests_total counter"), std::string::npos);
  EXPECT_NE(text->find("sluice_build_info{"), std::string::npos) << *text;
  EXPECT_NE(text->find(R"(program="sluice-relay")"), std::string::npos);
  EXPECT_NE(text->find("sluice_relay_settings_info{"), std::string::npos) << *text;
  EXPECT_NE(text->find(R"(max_records=")"), std::string::npos);
  ASSERT_TRUE(h->sfsim().ScheduleFault(R"({"kind":"expire_tokens"})").ok());
  auto second = ContactEvents(2'000, 400);
  ASSERT_TRUE(h->Produce(second).ok());
  ASSERT_TRUE(h->WaitForLedger(first.size() + second.size(), minutes(2)));
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_token_requests_total").value_or(-1), tokens_before + 1);
  auto dlq = h->ReadDlq(0, Ms(500));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
}

// Refused credentials are counted, and the relay is not ready while they last: /readyz says why,
// sluice_relay_ready is 0, nothing is sent or dead-lettered. Once a token is had again, it drains.
TEST(RelayTest, RefusedCredentialsCountAndMakeTheRelayUnreadyUntilTheyWork) {
  auto h = MakeHarness();
  ASSERT_NE(h, nullptr);
  auto events = ContactEvents(500, 100);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->sfsim().ScheduleFault(R"({"kind":"refuse_auth","duration":"6s"})").ok());
  ASSERT_TRUE(h->StartRelay().ok());
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        auto r = h->Get(0, "/readyz");
        return r.ok() && r->first == 503 &&
               r->second.find("authentication failing") != std::string::npos;
      },
      seconds(20)))
      << "not unready for refused credentials";
  EXPECT_GE(h->MetricValue(0, "sluice_relay_auth_failures_total").value_or(0), 1);
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_ready").value_or(-1), 0);
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_requests_sent_total").value_or(-1), 0);
  // The refusal ends: the retry (at most 4 s after the last) gets a token and the relay drains.
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(1)));
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        auto r = h->Get(0, "/readyz");
        return r.ok() && r->first == 200;
      },
      seconds(20)));
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_ready").value_or(-1), 1);
  auto dlq = h->ReadDlq(0, Ms(500));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
}

TEST(RelayTest, ExhaustedDailyAllocationPausesWithoutDeadLettering) {
  RelayHarness::Options options;
  options.sfsim_flags = {"--daily-api-requests", "1000000"};
  auto h = MakeHarness(options);
  ASSERT_NE(h, nullptr);
  ASSERT_TRUE(h->StartRelay().ok());
  auto warmup = ContactEvents(200, 50);
  ASSERT_TRUE(h->Produce(warmup).ok());
  ASSERT_TRUE(h->WaitForLedger(warmup.size(), minutes(2)));
  ASSERT_TRUE(h->sfsim().ScheduleFault(R"({"kind":"exhaust_daily"})").ok());
  auto events = ContactEvents(2'000, 400);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(0, "sluice_relay_paused").value_or(0) == 1; }, seconds(30)));
  auto stats = h->Stats();
  ASSERT_TRUE(stats.ok());
  EXPECT_LT((*stats)["ledger_entries"], warmup.size() + events.size());
  auto dlq = h->ReadDlq(0, Ms(1000));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
  // The allocation comes back (the rolling window moved): the relay resumes and drains.
  ASSERT_TRUE(h->sfsim().ScheduleFault(R"({"kind":"reset_usage"})").ok());
  ASSERT_TRUE(h->WaitForLedger(warmup.size() + events.size(), minutes(3)));
}

// The idempotency store is what bounds the re-writes after a kill. Offsets are committed only
// every 20 s here, so each restart reads again everything since the last commit: without the store
// every one of those events would be written again (tens of thousands, far over the bound below);
// with it, only the events whose store write the kill cut off are (checked: with
// idempotency.enabled false this test fails on the bound).
void SigkillDrain(bool store_on, uint64_t* rewrites, bool* bound_held) {
  RelayHarness::Options options;
  options.commit_interval = "20s";
  options.idempotency_enabled = store_on;
  auto h = MakeHarness(options);
  ASSERT_NE(h, nullptr);
  auto events = ContactEvents(100'000, 20'000);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay().ok());
  for (uint64_t stop_at : {15'000u, 40'000u, 70'000u}) {
    ASSERT_TRUE(h->WaitForLedger(stop_at, minutes(5)));
    EXPECT_EQ(h->StopRelay(0, /*kill=*/true), 128 + SIGKILL);
    ASSERT_TRUE(h->StartRelay().ok());
  }
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        auto ledger = h->Ledger();
        return ledger.ok() && Check(events, *ledger).missing == 0;
      },
      minutes(5)));
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  Verdict v = Check(events, *ledger);
  EXPECT_EQ(v.missing, 0u);
  // A kill between Salesforce's answer and the store write makes the next run send that event
  // again, as an upsert of the same record: no second record, no lost write.
  EXPECT_EQ(v.created_twice, 0u);
  EXPECT_EQ(v.unexpected, 0u);
  if (store_on) {
    // The re-reads were skipped by the store, not sent.
    EXPECT_GT(h->MetricValue(0, "sluice_relay_skipped_duplicates_total").value_or(0), 0);
  }
  // Re-writes per kill are bounded by what can be in flight (8 calls x 200 records) plus what the
  // relay lets wait for its store write (as much again).
  *rewrites = v.duplicated;
  *bound_held = v.duplicated <= 3u * 2u * 8u * 200u;
  auto dlq = h->ReadDlq(0, Ms(500));
  ASSERT_TRUE(dlq.ok());
  EXPECT_TRUE(dlq->empty());
}

TEST(RelayTest, SigkillThreeTimesDuringADrainLosesNothing) {
  uint64_t rewrites = 0;
  bool bound_held = false;
  SigkillDrain(/*store_on=*/true, &rewrites, &bound_held);
  RecordProperty("rewrites_after_kills", static_cast<int>(rewrites));
  EXPECT_TRUE(bound_held) << rewrites << " events written again after 3 kills";
}

// The same run with the store switched off breaks the bound: the check above can fail.
TEST(RelayTest, SigkillBoundFailsWithoutTheIdempotencyStore) {
  uint64_t rewrites = 0;
  bool bound_held = true;
  SigkillDrain(/*store_on=*/false, &rewrites, &bound_held);
  RecordProperty("rewrites_after_kills_without_store", static_cast<int>(rewrites));
  EXPECT_FALSE(bound_held) << "only " << rewrites << " re-writes without the store";
}

TEST(RelayTest, TwoInstancesTogetherStayUnderTheRequestRate) {
  RelayHarness::Options options;
  options.partitions = 4;
  options.delivery = {{"requests_per_second", "20"}, {"max_records", "10"}, {"max_in_flight", "4"}};
  auto h = MakeHarness(options);
  ASSERT_NE(h, nullptr);
  auto events = ContactEvents(3'000, 1'000);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(h->StartRelay(1).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(5)));
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  // Distinct write requests per second, as sfsim saw them, over whole seconds in the middle of
  // the drain (the first and last second are partial).
  std::map<int64_t, std::set<uint64_t>> per_second;
  for (const auto& row : *ledger) per_second[row.received_ms / 1000].insert(row.request_id);
  ASSERT_GT(per_second.size(), 4u);
  size_t peak = 0;
  auto it = std::next(per_second.begin());
  for (; std::next(it) != per_second.end(); ++it) peak = std::max(peak, it->second.size());
  // 20 requests/s shared by two instances; a second may hold one bucket burst (1 request).
  EXPECT_LE(peak, 21u);
  EXPECT_GE(peak, 10u) << "the relays never got near the rate: the test proves nothing";
  Verdict v = Check(events, *ledger);
  EXPECT_EQ(v.missing, 0u);
  EXPECT_EQ(v.duplicated, 0u);
  EXPECT_EQ(v.out_of_order, 0u);
}

TEST(RelayTest, CheckConfigRejectsBadFilesWithTheKeyAndLine) {
  auto h = MakeHarness();
  ASSERT_NE(h, nullptr);
  const std::string bad = h->work_dir() + "/bad.yaml";
  {
    std::ofstream out(bad);
    out << "kafka:\n  bootstrap: 127.0.0.1:1\n  topics: [t]\n"
        << "salesforce:\n  login_url: http://127.0.0.1:1\n"
        << "  auth: {flow: client_credentials, client_id: a, client_secret: b}\n"
        << "delivery:\n  requests_per_second: fast\n";
  }
  ChildOptions quiet;
  quiet.stderr_path = h->work_dir() + "/check.log";
  auto r =
      RunCommand({BinPath("sluice-relay"), "--check-config", "--config", bad}, seconds(20), quiet);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 2);
  std::ifstream log(quiet.stderr_path);
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("requests_per_second"), std::string::npos) << text;
  EXPECT_NE(text.find(":8:"), std::string::npos) << "no line number: " << text;
}

}  // namespace
}  // namespace sluice::testing

#include "sluice/flow/key_scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace sluice::flow {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using TimePoint = Clock::TimePoint;

const TimePoint kT0 = TimePoint(seconds(100));

std::unique_ptr<KeyScheduler> Make(KeySchedulerOptions o = {}) {
  auto s = KeyScheduler::Create(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
}

EventId MustAdd(KeyScheduler& s, PartitionId p, int64_t offset, std::optional<std::string_view> key,
                uint64_t payload) {
  auto id = s.Add(p, offset, key, payload);
  EXPECT_TRUE(id.ok()) << id.status();
  return id.ok() ? *id : 0;
}

std::vector<uint64_t> Payloads(const std::vector<Dispatch>& ds) {
  std::vector<uint64_t> out;
  for (const auto& d : ds) out.push_back(d.payload);
  return out;
}

TEST(KeySchedulerTest, OnlyTheHeadOfEachKeyIsReady) {
  auto s = Make();
  MustAdd(*s, 0, 10, "a", 1);
  MustAdd(*s, 0, 11, "a", 2);
  MustAdd(*s, 0, 12, "b", 3);
  MustAdd(*s, 0, 13, "a", 4);
  auto ready = s->NextReady(kT0, 10);
  EXPECT_EQ(Payloads(ready), (std::vector<uint64_t>{1, 3}));
  EXPECT_EQ(ready[0].partition, 0);
  EXPECT_EQ(ready[0].offset, 10);
  EXPECT_EQ(ready[0].attempt, 1);
  EXPECT_EQ(ready[0].first_attempt, kT0);
  EXPECT_TRUE(s->NextReady(kT0, 10).empty());  // Both keys in flight.
  EXPECT_EQ(s->in_flight(), 2u);
  ASSERT_TRUE(s->Complete(ready[0].id).ok());
  EXPECT_EQ(Payloads(s->NextReady(kT0, 10)), (std::vector<uint64_t>{2}));
  EXPECT_EQ(s->buffered(), 3u);
  EXPECT_EQ(s->keys(), 2u);
}

TEST(KeySchedulerTest, OldestFirstAcrossKeysAndBoundedByMax) {
  auto s = Make();
  for (int i = 0; i < 10; ++i) MustAdd(*s, i % 3, i, "k" + std::to_string(i), i);
  EXPECT_EQ(Payloads(s->NextReady(kT0, 3)), (std::vector<uint64_t>{0, 1, 2}));
  EXPECT_EQ(Payloads(s->NextReady(kT0, 3)), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_TRUE(s->NextReady(kT0, 0).empty());
  EXPECT_EQ(Payloads(s->NextReady(kT0, 100)), (std::vector<uint64_t>{6, 7, 8, 9}));
}

TEST(KeySchedulerTest, RetryHoldsOnlyThatKey) {
  auto s = Make();
  MustAdd(*s, 0, 0, "a", 1);
  MustAdd(*s, 0, 1, "a", 2);
  MustAdd(*s, 1, 0, "b", 3);
  MustAdd(*s, 1, 1, "b", 4);
  auto first = s->NextReady(kT0, 10);
  ASSERT_EQ(Payloads(first), (std::vector<uint64_t>{1, 3}));
  ASSERT_TRUE(s->Retry(first[0].id, kT0 + seconds(2)).ok());
  ASSERT_TRUE(s->Complete(first[1].id).ok());
  EXPECT_EQ(s->NextHoldExpiry(), kT0 + seconds(2));
  // "a" waits; "b" flows.
  auto second = s->NextReady(kT0 + seconds(1), 10);
  EXPECT_EQ(Payloads(second), (std::vector<uint64_t>{4}));
  ASSERT_TRUE(s->Complete(second[0].id).ok());
  EXPECT_TRUE(s->NextReady(kT0 + seconds(2) - milliseconds(1), 10).empty());
  auto third = s->NextReady(kT0 + seconds(2), 10);
  ASSERT_EQ(Payloads(third), (std::vector<uint64_t>{1}));
  EXPECT_EQ(third[0].attempt, 2);
  EXPECT_EQ(third[0].first_attempt, kT0);
  EXPECT_FALSE(s->NextHoldExpiry().has_value());
  ASSERT_TRUE(s->Complete(third[0].id).ok());
  EXPECT_EQ(Payloads(s->NextReady(kT0 + seconds(2), 10)), (std::vector<uint64_t>{2}));
}

TEST(KeySchedulerTest, AnExpiredHoldCompetesByAge) {
  auto s = Make();
  MustAdd(*s, 0, 0, "old", 1);
  auto d = s->NextReady(kT0, 1);
  ASSERT_TRUE(s->Retry(d[0].id, kT0 + seconds(1)).ok());
  MustAdd(*s, 0, 1, "young", 2);
  // Once the hold is over, the older head goes first.
  EXPECT_EQ(Payloads(s->NextReady(kT0 + seconds(5), 1)), (std::vector<uint64_t>{1}));
}

TEST(KeySchedulerTest, RequeueChargesNothingAndExcludesParkedTime) {
  auto s = Make();
  MustAdd(*s, 0, 0, "a", 1);
  auto d = s->NextReady(kT0, 1);
  ASSERT_TRUE(s->Retry(d[0].id, kT0 + seconds(1)).ok());  // One per-record failure.
  d = s->NextReady(kT0 + seconds(1), 1);
  ASSERT_EQ(d[0].attempt, 2);
  // The org went down (breaker): requeue at t0+2s, nothing sent for 10 minutes.
  ASSERT_TRUE(s->Requeue(d[0].id, kT0 + seconds(2)).ok());
  d = s->NextReady(kT0 + seconds(602), 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].attempt, 2);
  EXPECT_EQ(d[0].first_attempt, kT0 + seconds(600));
}

TEST(KeySchedulerTest, TheSameKeyOnTwoPartitionsIsOneKey) {
  auto s = Make();
  MustAdd(*s, 0, 5, "shared", 1);
  MustAdd(*s, 7, 9, "shared", 2);
  auto d = s->NextReady(kT0, 10);
  ASSERT_EQ(Payloads(d), (std::vector<uint64_t>{1}));
  EXPECT_EQ(s->keys(), 1u);
  ASSERT_TRUE(s->Complete(d[0].id).ok());
  EXPECT_EQ(Payloads(s->NextReady(kT0, 10)), (std::vector<uint64_t>{2}));
}

TEST(KeySchedulerTest, KeylessEventsAreIndependentAndEmptyIsAKey) {
  auto s = Make();
  MustAdd(*s, 0, 0, std::nullopt, 1);
  MustAdd(*s, 0, 1, std::nullopt, 2);
  MustAdd(*s, 0, 2, "", 3);
  MustAdd(*s, 0, 3, "", 4);
  EXPECT_EQ(Payloads(s->NextReady(kT0, 10)), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(s->keys(), 3u);
}

TEST(KeySchedulerTest, BinaryKeysAreComparedByBytes) {
  auto s = Make();
  const std::string a("k\0a", 3);
  const std::string b("k\0b", 3);
  MustAdd(*s, 0, 0, a, 1);
  MustAdd(*s, 0, 1, b, 2);
  EXPECT_EQ(s->NextReady(kT0, 10).size(), 2u);
}

TEST(KeySchedulerTest, StaleAndWrongIdsAreReported) {
  auto s = Make();
  const EventId queued_behind = [&] {
    MustAdd(*s, 0, 0, "a", 1);
    return MustAdd(*s, 0, 1, "a", 2);
  }();
  auto d = s->NextReady(kT0, 10);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(s->Complete(queued_behind).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s->Retry(queued_behind, kT0).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(s->Complete(d[0].id).ok());
  EXPECT_EQ(s->Complete(d[0].id).code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Requeue(d[0].id, kT0).code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Complete(0).code(), StatusCode::kNotFound);
  EXPECT_EQ(s->Complete(~EventId{0}).code(), StatusCode::kNotFound);
  // A freed slot reused by a new event does not answer to the old id.
  MustAdd(*s, 0, 2, "z", 3);
  EXPECT_EQ(s->Complete(d[0].id).code(), StatusCode::kNotFound);
}

TEST(KeySchedulerTest, DropRemovesAPartitionAndKeepsInFlightEventsUntilReported) {
  auto s = Make();
  MustAdd(*s, 1, 0, "a", 10);  // Will be in flight.
  MustAdd(*s, 1, 1, "a", 11);
  MustAdd(*s, 2, 0, "a", 20);  // Same key, another partition.
  MustAdd(*s, 1, 2, "b", 12);
  MustAdd(*s, 2, 1, "c", 21);
  auto d = s->NextReady(kT0, 1);
  ASSERT_EQ(Payloads(d), (std::vector<uint64_t>{10}));
  EXPECT_EQ(s->buffered(1), 3u);
  EXPECT_EQ(s->buffered(2), 2u);

  auto dropped = s->Drop(1);
  ASSERT_EQ(dropped.size(), 3u);
  EXPECT_EQ(dropped[0].offset, 0);
  EXPECT_TRUE(dropped[0].in_flight);
  EXPECT_EQ(dropped[0].id, d[0].id);
  EXPECT_EQ(dropped[1].offset, 1);
  EXPECT_FALSE(dropped[1].in_flight);
  EXPECT_EQ(dropped[2].payload, 12u);
  EXPECT_FALSE(dropped[2].in_flight);

  // Key "a" is still held by its in-flight (revoked) event; "c" flows.
  EXPECT_EQ(Payloads(s->NextReady(kT0, 10)), (std::vector<uint64_t>{21}));
  EXPECT_EQ(s->buffered(), 3u);  // 10 (in flight), 20, 21.
  // Retry of a revoked event removes it instead of holding the key.
  ASSERT_TRUE(s->Retry(d[0].id, kT0 + seconds(60)).ok());
  EXPECT_EQ(Payloads(s->NextReady(kT0, 10)), (std::vector<uint64_t>{20}));
  EXPECT_EQ(s->buffered(1), 0u);
  EXPECT_TRUE(s->Drop(99).empty());
}

TEST(KeySchedulerTest, DroppingAHeldHeadReleasesTheKeyForItsNextEvent) {
  auto s = Make();
  MustAdd(*s, 1, 0, "a", 10);
  MustAdd(*s, 2, 0, "a", 20);
  auto d = s->NextReady(kT0, 10);
  ASSERT_TRUE(s->Retry(d[0].id, kT0 + seconds(60)).ok());
  auto dropped = s->Drop(1);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_FALSE(dropped[0].in_flight);
  EXPECT_EQ(Payloads(s->NextReady(kT0, 10)), (std::vector<uint64_t>{20}));
  EXPECT_FALSE(s->NextHoldExpiry().has_value());
}

TEST(KeySchedulerTest, PausesAtTheCapAndResumesAtTheLowWaterMark) {
  KeySchedulerOptions o;
  o.max_buffered = 50;  // Low water 40.
  auto s = Make(o);
  EXPECT_EQ(s->low_water_mark(), 40u);
  for (int i = 0; i < 49; ++i) MustAdd(*s, i % 2, i / 2, "k" + std::to_string(i), i);
  EXPECT_FALSE(s->IsFull());
  EXPECT_FALSE(s->ShouldPause());
  MustAdd(*s, 0, 100, "k-last", 49);
  EXPECT_TRUE(s->IsFull());
  EXPECT_TRUE(s->ShouldPause());
  // Records polled before the pause took effect are still accepted.
  MustAdd(*s, 1, 100, "late", 50);
  EXPECT_EQ(s->buffered(), 51u);
  EXPECT_EQ(s->buffered(0) + s->buffered(1), 51u);
  auto d = s->NextReady(kT0, 100);
  ASSERT_EQ(d.size(), 51u);
  int completed = 0;
  for (const auto& e : d) {
    ASSERT_TRUE(s->Complete(e.id).ok());
    ++completed;
    if (s->buffered() > 40) {
      EXPECT_TRUE(s->ShouldPause()) << s->buffered();
      EXPECT_FALSE(s->IsAtOrBelowLowWater());
    } else {
      EXPECT_FALSE(s->ShouldPause()) << s->buffered();
      EXPECT_TRUE(s->IsAtOrBelowLowWater());
    }
  }
  EXPECT_EQ(completed, 51);
  EXPECT_EQ(s->buffered(), 0u);
  EXPECT_EQ(s->keys(), 0u);
}

TEST(KeySchedulerTest, HostileInputsAreRejected) {
  KeySchedulerOptions o;
  o.max_key_bytes = 16;
  auto s = Make(o);
  EXPECT_EQ(s->Add(0, -1, "a", 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s->Add(0, 0, std::string(17, 'x'), 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(s->Add(0, 0, std::string(16, 'x'), 1).ok());
  // A 2 MB key against the default limit.
  auto d = Make();
  EXPECT_EQ(d->Add(0, 0, std::string(2 << 20, 'k'), 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(d->buffered(), 0u);
}

TEST(KeySchedulerTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  struct Case {
    const char* field;
    void (*mutate)(KeySchedulerOptions&);
  };
  const Case cases[] = {
      {"max_buffered", [](KeySchedulerOptions& o) { o.max_buffered = 0; }},
      {"max_buffered", [](KeySchedulerOptions& o) { o.max_buffered = size_t{1} << 40; }},
      {"low_water_fraction", [](KeySchedulerOptions& o) { o.low_water_fraction = 1.0; }},
      {"low_water_fraction", [](KeySchedulerOptions& o) { o.low_water_fraction = -0.5; }},
      {"low_water_fraction", [](KeySchedulerOptions& o) { o.low_water_fraction = std::nan(""); }},
      {"max_key_bytes", [](KeySchedulerOptions& o) { o.max_key_bytes = 0; }},
      {"max_key_bytes", [](KeySchedulerOptions& o) { o.max_key_bytes = size_t{1} << 30; }},
  };
  for (const Case& c : cases) {
    KeySchedulerOptions o;
    c.mutate(o);
    Status st = o.Validate();
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(st.message().find(c.field), std::string::npos) << st;
    EXPECT_FALSE(KeyScheduler::Create(o).ok());
  }
}

// Property test: random adds, dispatches, completes, retries, requeues, drops and clock moves,
// checked against a simple model after every step. The scheduler must hand out exactly the oldest
// eligible heads (never two events of one key at once, never a held key, never out of per-key
// order), and everything must drain in the end.
class SchedulerModel {
 public:
  struct Event {
    uint64_t payload = 0;
    PartitionId partition = 0;
    int64_t offset = 0;
    std::string key;
    uint64_t seq = 0;
    int attempt = 1;
    bool dispatched = false;
    TimePoint first_attempt;
    std::optional<TimePoint> parked_at;
    bool revoked = false;
  };

  void Add(Event e) {
    e.seq = next_seq_++;
    queues_[e.key].push_back(e);
  }

  // Heads eligible at `now`, oldest first.
  std::vector<const Event*> Eligible(TimePoint now) const {
    std::vector<const Event*> out;
    for (const auto& [key, q] : queues_) {
      if (q.empty() || in_flight_keys_.count(key)) continue;
      auto h = holds_.find(key);
      if (h != holds_.end() && h->second > now) continue;
      out.push_back(&q.front());
    }
    std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->seq < b->seq; });
    return out;
  }

  Event& Head(const std::string& key) { return queues_.at(key).front(); }

  std::map<std::string, std::deque<Event>> queues_;
  std::map<std::string, TimePoint> holds_;
  std::set<std::string> in_flight_keys_;
  uint64_t next_seq_ = 0;
};

void RunRandomInterleaving(uint64_t seed) {
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  KeySchedulerOptions o;
  o.max_buffered = 200;
  auto s = Make(o);
  SchedulerModel m;
  std::map<uint64_t, Dispatch> in_flight;  // By payload.
  std::map<uint64_t, std::string> key_of;  // Payload → model key.
  std::map<PartitionId, int64_t> next_offset;
  TimePoint now = kT0;
  uint64_t next_payload = 1;
  uint64_t completed = 0, added = 0;

  auto check_dispatch = [&](const std::vector<Dispatch>& ds, size_t max) {
    auto eligible = m.Eligible(now);
    ASSERT_EQ(ds.size(), std::min(max, eligible.size()));
    for (size_t i = 0; i < ds.size(); ++i) {
      const auto& want = *eligible[i];
      ASSERT_EQ(ds[i].payload, want.payload) << "dispatch " << i;
      ASSERT_EQ(ds[i].partition, want.partition);
      ASSERT_EQ(ds[i].offset, want.offset);
    }
    for (const auto& d : ds) {
      const std::string& key = key_of.at(d.payload);
      ASSERT_TRUE(m.in_flight_keys_.insert(key).second) << "two in flight for one key";
      auto& e = m.Head(key);
      if (!e.dispatched) {
        e.dispatched = true;
        e.first_attempt = now;
      } else if (e.parked_at) {
        e.first_attempt += now - *e.parked_at;
      }
      e.parked_at.reset();
      ASSERT_EQ(d.attempt, e.attempt);
      ASSERT_EQ(d.first_attempt, e.first_attempt);
      m.holds_.erase(key);
      in_flight[d.payload] = d;
    }
  };

  auto finish = [&](uint64_t payload) {
    const std::string& key = key_of.at(payload);
    m.queues_.at(key).pop_front();
    if (m.queues_.at(key).empty()) m.queues_.erase(key);
    m.in_flight_keys_.erase(key);
    in_flight.erase(payload);
    ++completed;
  };

  for (int step = 0; step < 4000; ++step) {
    const int op = pick(100);
    if (op < 35) {  // Add.
      const PartitionId p = pick(4);
      const int64_t offset = next_offset[p]++;
      std::optional<std::string> key;
      std::string mkey;
      if (pick(10) == 0) {
        mkey = "#keyless" + std::to_string(next_payload);
      } else {
        key = "k" + std::to_string(pick(25));
        mkey = *key;
      }
      const uint64_t payload = next_payload++;
      key_of[payload] = mkey;
      ASSERT_TRUE(s->Add(p, offset, key, payload).ok());
      SchedulerModel::Event e;
      e.payload = payload;
      e.partition = p;
      e.offset = offset;
      e.key = mkey;
      m.Add(e);
      ++added;
    } else if (op < 55) {  // Dispatch.
      const size_t max = 1 + pick(8);
      auto ds = s->NextReady(now, max);
      check_dispatch(ds, max);
      if (::testing::Test::HasFatalFailure()) return;
    } else if (op < 85 && !in_flight.empty()) {  // Report an outcome.
      auto it = in_flight.begin();
      std::advance(it, pick(static_cast<int>(in_flight.size())));
      const Dispatch d = it->second;
      const std::string key = key_of.at(d.payload);
      auto& e = m.Head(key);
      const int what = pick(3);
      if (e.revoked || what == 0) {
        const int how = pick(3);  // Any report removes a revoked event.
        if (e.revoked && how == 1) {
          ASSERT_TRUE(s->Retry(d.id, now + milliseconds(100)).ok());
        } else if (e.revoked && how == 2) {
          ASSERT_TRUE(s->Requeue(d.id, now).ok());
        } else {
          ASSERT_TRUE(s->Complete(d.id).ok());
        }
        finish(d.payload);
      } else if (what == 1) {
        const TimePoint until = now + milliseconds(pick(500));
        ASSERT_TRUE(s->Retry(d.id, until).ok());
        ++e.attempt;
        m.holds_[key] = until;
        m.in_flight_keys_.erase(key);
        in_flight.erase(d.payload);
      } else {
        ASSERT_TRUE(s->Requeue(d.id, now).ok());
        e.parked_at = now;
        m.in_flight_keys_.erase(key);
        in_flight.erase(d.payload);
      }
    } else if (op < 97) {  // Time passes.
      now += milliseconds(pick(200));
    } else {  // Revoke a partition.
      const PartitionId p = pick(4);
      auto dropped = s->Drop(p);
      std::vector<std::pair<int64_t, bool>> want;
      for (auto qit = m.queues_.begin(); qit != m.queues_.end();) {
        auto& q = qit->second;
        const bool head_in_flight = m.in_flight_keys_.count(qit->first) > 0;
        const uint64_t old_head = q.front().payload;
        std::deque<SchedulerModel::Event> kept;
        for (size_t i = 0; i < q.size(); ++i) {
          auto& e = q[i];
          if (e.partition != p) {
            kept.push_back(e);
          } else if (i == 0 && head_in_flight) {
            if (!e.revoked) want.emplace_back(e.offset, true);
            e.revoked = true;
            kept.push_back(e);
          } else {
            want.emplace_back(e.offset, false);
            --added;  // Dropped events are not expected to complete.
          }
        }
        q = std::move(kept);
        if (q.empty() || q.front().payload != old_head) m.holds_.erase(qit->first);
        qit = q.empty() ? m.queues_.erase(qit) : std::next(qit);
      }
      std::sort(want.begin(), want.end());
      std::vector<std::pair<int64_t, bool>> got;
      for (const auto& d : dropped) {
        EXPECT_EQ(d.partition, p);
        got.emplace_back(d.offset, d.in_flight);
      }
      ASSERT_EQ(got, want);
      next_offset[p] += 1000;  // Reassigned later from a fresh position.
    }
    size_t model_buffered = 0;
    for (const auto& [k, q] : m.queues_) model_buffered += q.size();
    ASSERT_EQ(s->buffered(), model_buffered);
    ASSERT_EQ(s->in_flight(), in_flight.size());
  }

  // Drain: complete what is in flight, then everything else as holds expire.
  while (!in_flight.empty()) {
    const Dispatch d = in_flight.begin()->second;
    ASSERT_TRUE(s->Complete(d.id).ok());
    finish(d.payload);
  }
  for (int round = 0; round < 100'000 && (s->buffered() > 0); ++round) {
    now += seconds(1);
    auto ds = s->NextReady(now, 50);
    check_dispatch(ds, 50);
    if (::testing::Test::HasFatalFailure()) return;
    for (const auto& d : ds) {
      ASSERT_TRUE(s->Complete(d.id).ok());
      finish(d.payload);
    }
  }
  EXPECT_EQ(s->buffered(), 0u);
  EXPECT_EQ(s->keys(), 0u);
  EXPECT_EQ(completed, added);
}

TEST(KeySchedulerTest, RandomInterleavingsKeepPerKeyOrder) {
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    RunRandomInterleaving(seed);
    if (HasFatalFailure()) return;
  }
}

// 100,000 keys: every call does bounded work and everything drains in per-key order.
TEST(KeySchedulerTest, HundredThousandKeysDrainInOrder) {
  KeySchedulerOptions o;
  o.max_buffered = 300'000;
  auto s = Make(o);
  const int keys = 100'000;
  std::vector<int64_t> next_offset(16, 0);
  for (int round = 0; round < 2; ++round) {
    for (int k = 0; k < keys; ++k) {
      const PartitionId p = k % 16;
      MustAdd(*s, p, next_offset[p]++, "key-" + std::to_string(k),
              static_cast<uint64_t>(round) * keys + k);
    }
  }
  EXPECT_EQ(s->keys(), static_cast<size_t>(keys));
  std::vector<int> seen_rounds(keys, 0);
  size_t total = 0;
  while (s->buffered() > 0) {
    auto ds = s->NextReady(kT0, 1000);
    ASSERT_LE(ds.size(), 1000u);
    ASSERT_FALSE(ds.empty());
    for (const auto& d : ds) {
      const int k = static_cast<int>(d.payload % keys);
      const int round = static_cast<int>(d.payload / keys);
      ASSERT_EQ(seen_rounds[k], round) << "key " << k << " out of order";
      seen_rounds[k]++;
      ASSERT_TRUE(s->Complete(d.id).ok());
      ++total;
    }
  }
  EXPECT_EQ(total, 2u * keys);
  EXPECT_EQ(s->keys(), 0u);
}

TEST(KeySchedulerHasKeyTest, TrueWhileTheKeyHasAnEventBuffered) {
  auto s = KeyScheduler::Create({}).value();
  EXPECT_FALSE(s->HasKey("a"));
  auto id = s->Add(1, 0, std::string_view("a"), 7);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(s->HasKey("a"));
  EXPECT_FALSE(s->HasKey("b"));
  auto ready = s->NextReady(Clock::TimePoint(std::chrono::seconds(1)), 10);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_TRUE(s->HasKey("a"));  // in flight
  ASSERT_TRUE(s->Complete(*id).ok());
  EXPECT_FALSE(s->HasKey("a"));
}

}  // namespace
}  // namespace sluice::flow

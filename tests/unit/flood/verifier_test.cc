#include "sluice/flood/verifier.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace sluice::flood {
namespace {

constexpr int64_t kStart = 1'767'225'600'000'000'000;  // run start, Unix ns
constexpr int64_t kMs = 1'000'000;

TEST(EventIdCodecTest, RoundTrips) {
  EventIdCodec codec(0xabcdef123456);
  for (int64_t i :
       {int64_t{0}, int64_t{1}, int64_t{999999}, int64_t{1} << 48, EventIdCodec::kMaxIndex}) {
    const std::string id = codec.Encode(i);
    ASSERT_EQ(id.size(), 36u);
    EXPECT_EQ(codec.Decode(id), i) << id;
  }
  EXPECT_EQ(codec.Encode(5), "abcdef12-3456-4f10-8000-000000000005");
}

TEST(EventIdCodecTest, LooksLikeAVersion4Uuid) {
  const std::string id = EventIdCodec(7).Encode(123);
  EXPECT_EQ(id[14], '4');                                          // version
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);  // RFC 4122 variant
}

TEST(EventIdCodecTest, RejectsForeignAndMalformedIds) {
  EventIdCodec codec(0x111111111111);
  EventIdCodec other(0x222222222222);
  EXPECT_FALSE(codec.Decode(other.Encode(3)).has_value());
  for (const char* bad :
       {"", "not-a-uuid", "11111111-1111-4f10-8000-00000000000",
        "11111111-1111-4f10-8000-0000000000000", "11111111-1111-4a10-8000-000000000001",
        "11111111-1111-4f10-9000-000000000001", "11111111-1111-4f10-8000-00000000000g",
        "11111111+1111-4f10-8000-000000000001", "C-00001"}) {
    EXPECT_FALSE(codec.Decode(bad).has_value()) << bad;
  }
  EXPECT_FALSE(codec.Decode(std::string(1 << 20, 'a')).has_value());
  EXPECT_FALSE(
      codec.Decode(std::string("11111111-1111-4f10-8000-00000000\0\0\0\0", 36)).has_value());
}

// A small run: `n` events over `keys` keys in round-robin order, intended 10 ms apart.
ProducedLog MakeLog(int64_t n, int64_t keys, uint64_t run = 42) {
  ProducedLog log(run);
  log.Reserve(n);
  std::vector<uint32_t> seq(static_cast<size_t>(keys), 0);
  for (int64_t i = 0; i < n; ++i) {
    ProducedEvent e;
    e.intended_ns = i * 10 * kMs;
    e.key = i % keys;
    e.key_seq = seq[static_cast<size_t>(e.key)]++;
    e.state = ProducedEvent::kAcked;
    EXPECT_EQ(log.Append(e), i);
  }
  return log;
}

LedgerEntry Entry(const ProducedLog& log, int64_t i, int64_t received_after_start_ms) {
  return {log.codec().Encode(i), kStart + received_after_start_ms * kMs};
}

TEST(ProducedLogTest, RefusesToGrowBeyondItsReservation) {
  ProducedLog log(1);
  log.Reserve(2);
  EXPECT_EQ(log.Append({}), 0);
  EXPECT_EQ(log.Append({}), 1);
  EXPECT_EQ(log.Append({}), -1);
}

TEST(VerifierTest, CleanLedgerVerifies) {
  ProducedLog log = MakeLog(100, 10);
  Verifier v(log, {.run_start_unix_ns = kStart});
  for (int64_t i = 0; i < 100; ++i) v.AddLedgerEntry(Entry(log, i, i * 10 + 50));
  Verification r = v.Finish();
  EXPECT_EQ(r.produced, 100);
  EXPECT_EQ(r.acked, 100);
  EXPECT_EQ(r.expected, 100);
  EXPECT_EQ(r.delivered, 100);
  EXPECT_EQ(r.missing, 0);
  EXPECT_EQ(r.duplicates, 0);
  EXPECT_EQ(r.out_of_order, 0);
  EXPECT_EQ(r.latency_us.Count(), 100u);
  EXPECT_EQ(r.latency_us.Min(), 50000u);
  EXPECT_EQ(r.latency_us.Max(), 50000u);
  EXPECT_EQ(r.first_delivery_ns, 50 * kMs);
  EXPECT_EQ(r.last_delivery_ns, 1040 * kMs);
}

TEST(VerifierTest, CountsAndListsMissingDuplicatedAndReordered) {
  ProducedLog log = MakeLog(40, 4);  // key k gets events k, k+4, k+8, ...
  Verifier v(log, {.run_start_unix_ns = kStart});
  // Ledger: everything except 7 and 33; 12 written three times; on key 1, event 9 (seq 2) before
  // event 5 (seq 1).
  std::vector<int64_t> order;
  for (int64_t i = 0; i < 40; ++i) {
    if (i == 7 || i == 33 || i == 5) continue;
    order.push_back(i);
    if (i == 9) order.push_back(5);
  }
  order.push_back(12);
  order.push_back(12);
  for (int64_t i : order) v.AddLedgerEntry(Entry(log, i, 1000));
  Verification r = v.Finish();
  EXPECT_EQ(r.delivered, 38);
  EXPECT_EQ(r.missing, 2);
  EXPECT_EQ(r.missing_ids,
            (std::vector<std::string>{log.codec().Encode(7), log.codec().Encode(33)}));
  EXPECT_EQ(r.duplicates, 2);
  EXPECT_EQ(r.duplicated_events, 1);
  EXPECT_EQ(r.duplicate_ids, std::vector<std::string>{log.codec().Encode(12)});
  ASSERT_EQ(r.out_of_order, 1);
  ASSERT_EQ(r.out_of_order_list.size(), 1u);
  EXPECT_EQ(r.out_of_order_list[0].event_id, log.codec().Encode(5));
  EXPECT_EQ(r.out_of_order_list[0].key, 1);
  EXPECT_EQ(r.out_of_order_list[0].key_seq, 1u);
  EXPECT_EQ(r.out_of_order_list[0].after_key_seq, 2u);
  // Duplicates are not latency samples.
  EXPECT_EQ(r.latency_us.Count(), 38u);
}

TEST(VerifierTest, AGapInAKeyIsNotReordering) {
  ProducedLog log = MakeLog(6, 1);
  Verifier v(log, {.run_start_unix_ns = kStart});
  for (int64_t i : {0, 1, 3, 5}) v.AddLedgerEntry(Entry(log, i, 100));
  Verification r = v.Finish();
  EXPECT_EQ(r.out_of_order, 0);
  EXPECT_EQ(r.missing, 2);
}

TEST(VerifierTest, ReorderedAcrossKeysIsFine) {
  ProducedLog log = MakeLog(10, 10);  // ten keys, one event each
  Verifier v(log, {.run_start_unix_ns = kStart});
  for (int64_t i = 9; i >= 0; --i) v.AddLedgerEntry(Entry(log, i, 100));
  EXPECT_EQ(v.Finish().out_of_order, 0);
}

TEST(VerifierTest, LatencyIsFromTheIntendedTimeNotTheSendTime) {
  ProducedLog log(9);
  log.Reserve(2);
  // Event 1 was intended at 100 ms; however late the generator actually sent it, its latency is
  // measured from 100 ms.
  log.Append({.intended_ns = 0, .key = 0, .key_seq = 0, .state = ProducedEvent::kAcked});
  log.Append({.intended_ns = 100 * kMs, .key = 0, .key_seq = 1, .state = ProducedEvent::kAcked});
  Verifier v(log, {.run_start_unix_ns = kStart});
  v.AddLedgerEntry(Entry(log, 0, 20));
  v.AddLedgerEntry(Entry(log, 1, 2100));
  Verification r = v.Finish();
  EXPECT_EQ(r.latency_us.Min(), 20000u);
  EXPECT_EQ(r.latency_us.Max(), 2000000u);
}

TEST(VerifierTest, InvalidEventsBelongInTheDlq) {
  ProducedLog log(5);
  log.Reserve(6);
  for (int i = 0; i < 6; ++i) {
    log.Append({.intended_ns = 0,
                .key = i,
                .key_seq = 0,
                .state = ProducedEvent::kAcked,
                .valid = i >= 3});
  }
  Verifier v(log, {.run_start_unix_ns = kStart});
  v.AddDlqEventId(log.codec().Encode(0));
  v.AddDlqEventId(log.codec().Encode(0));  // seen twice: counted once
  v.AddDlqEventId(log.codec().Encode(1));
  v.AddDlqEventId(log.codec().Encode(4));  // a valid event parked in the DLQ
  v.AddDlqEventId("garbage");
  v.AddDlqEventId("");
  v.AddLedgerEntry(Entry(log, 2, 5));  // an invalid event that reached Salesforce
  v.AddLedgerEntry(Entry(log, 3, 5));
  v.AddLedgerEntry(Entry(log, 5, 5));
  Verification r = v.Finish();
  EXPECT_EQ(r.invalid_produced, 3);
  EXPECT_EQ(r.invalid_in_dlq, 2);
  EXPECT_EQ(r.invalid_not_in_dlq, 1);
  EXPECT_EQ(r.invalid_not_in_dlq_ids, std::vector<std::string>{log.codec().Encode(2)});
  EXPECT_EQ(r.invalid_delivered, 1);
  EXPECT_EQ(r.valid_in_dlq, 1);
  EXPECT_EQ(r.expected, 3);
  EXPECT_EQ(r.delivered, 2);
  // Event 4 never reached the ledger, but the relay dead-lettered it: it is in the DLQ, not lost.
  EXPECT_EQ(r.missing, 0);
  EXPECT_TRUE(r.missing_ids.empty());
}

TEST(VerifierTest, AValidEventNeitherDeliveredNorDeadLetteredIsMissing) {
  ProducedLog log(9);
  log.Reserve(3);
  for (int i = 0; i < 3; ++i) {
    log.Append({.key = i, .state = ProducedEvent::kAcked});
  }
  Verifier v(log, {.run_start_unix_ns = kStart});
  v.AddLedgerEntry(Entry(log, 0, 5));
  v.AddDlqEventId(log.codec().Encode(1));
  Verification r = v.Finish();
  EXPECT_EQ(r.valid_in_dlq, 1);
  EXPECT_EQ(r.missing, 1);
  EXPECT_EQ(r.missing_ids, std::vector<std::string>{log.codec().Encode(2)});
}

TEST(VerifierTest, DeliveriesAndLatencyAreBinnedByDeliveryTime) {
  ProducedLog log(11);
  log.Reserve(4);
  for (int i = 0; i < 4; ++i) log.Append({.key = i, .state = ProducedEvent::kAcked});
  // 250 ms bins for deliveries, 500 ms bins for latency.
  Verifier v(log,
             {.run_start_unix_ns = kStart, .bin_ns = 250'000'000, .latency_bin_ns = 500'000'000});
  v.AddLedgerEntry({log.codec().Encode(0), kStart + 100'000'000});    // 100 ms
  v.AddLedgerEntry({log.codec().Encode(1), kStart + 200'000'000});    // 200 ms
  v.AddLedgerEntry({log.codec().Encode(2), kStart + 600'000'000});    // 600 ms
  v.AddLedgerEntry({log.codec().Encode(3), kStart + 1'300'000'000});  // 1.3 s
  Verification r = v.Finish();
  EXPECT_EQ(r.delivered_per_bin, (std::vector<int64_t>{2, 0, 1, 0, 0, 1}));
  EXPECT_EQ(r.delivered_per_second, (std::vector<int64_t>{3, 1}));
  ASSERT_EQ(r.latency_us_per_bin.size(), 3u);
  ASSERT_TRUE(r.latency_us_per_bin[0]);
  EXPECT_EQ(r.latency_us_per_bin[0]->Count(), 2u);
  EXPECT_EQ(r.latency_us_per_bin[0]->Max(), 200'000u);
  ASSERT_TRUE(r.latency_us_per_bin[1]);
  EXPECT_EQ(r.latency_us_per_bin[1]->Count(), 1u);
  ASSERT_TRUE(r.latency_us_per_bin[2]);
  EXPECT_EQ(r.latency_us_per_bin[2]->Count(), 1u);
}

TEST(VerifierTest, ProducerFailuresAreNotMissing) {
  ProducedLog log(5);
  log.Reserve(3);
  log.Append({.state = ProducedEvent::kFailed});
  log.Append({.key = 1, .state = ProducedEvent::kUncertain});
  log.Append({.key = 2, .state = ProducedEvent::kAcked});
  Verifier v(log, {.run_start_unix_ns = kStart});
  v.AddLedgerEntry(Entry(log, 2, 1));
  Verification r = v.Finish();
  EXPECT_EQ(r.produce_failed, 1);
  EXPECT_EQ(r.produce_uncertain, 1);
  EXPECT_EQ(r.expected, 2);
  EXPECT_EQ(r.missing, 0);
}

TEST(VerifierTest, ForeignAndHostileLedgerEntriesAreCountedNotTrusted) {
  ProducedLog log = MakeLog(3, 1);
  Verifier v(log, {.run_start_unix_ns = kStart});
  v.AddLedgerEntry({EventIdCodec(43).Encode(0), kStart});  // another run
  v.AddLedgerEntry({log.codec().Encode(1000), kStart});    // index beyond what was produced
  v.AddLedgerEntry({std::string(100000, 'x'), kStart});
  v.AddLedgerEntry({"", kStart});
  v.AddLedgerEntry({log.codec().Encode(0), kStart - 5 * kMs});  // before it was intended
  v.AddLedgerEntry({log.codec().Encode(1), INT64_MAX});
  v.AddLedgerEntry({log.codec().Encode(2), INT64_MIN});
  Verification r = v.Finish();
  EXPECT_EQ(r.foreign_ledger_entries, 4);
  EXPECT_EQ(r.delivered, 3);
  EXPECT_EQ(r.negative_latencies, 2);
  EXPECT_EQ(r.missing, 0);
}

TEST(VerifierTest, ListsAreCappedButCountsAreNot) {
  ProducedLog log = MakeLog(1000, 7);
  Verifier v(log, {.run_start_unix_ns = kStart, .max_listed = 5});
  for (int64_t i = 0; i < 1000; i += 2) {
    v.AddLedgerEntry(Entry(log, i, 1));
    v.AddLedgerEntry(Entry(log, i, 1));
  }
  Verification r = v.Finish();
  EXPECT_EQ(r.missing, 500);
  EXPECT_EQ(r.missing_ids.size(), 5u);
  EXPECT_EQ(r.duplicates, 500);
  EXPECT_EQ(r.duplicate_ids.size(), 5u);
}

TEST(VerifierTest, DeliveredPerSecondBins) {
  ProducedLog log = MakeLog(6, 6);
  Verifier v(log, {.run_start_unix_ns = kStart});
  for (int64_t i : {0, 1}) v.AddLedgerEntry(Entry(log, i, 200));
  for (int64_t i : {2, 3, 4}) v.AddLedgerEntry(Entry(log, i, 2500));
  v.AddLedgerEntry(Entry(log, 5, 2999));
  EXPECT_EQ(v.delivered(), 6);
  Verification r = v.Finish();
  EXPECT_EQ(r.delivered_per_bin, (std::vector<int64_t>{2, 0, 4}));
}

TEST(VerifierTest, SeriesLengthIsBounded) {
  ProducedLog log = MakeLog(2, 2);
  Verifier v(log, {.run_start_unix_ns = kStart, .max_bins = 10});
  v.AddLedgerEntry(Entry(log, 0, 1000LL * 1000 * 1000));  // 11.6 days later
  Verification r = v.Finish();
  EXPECT_EQ(r.delivered_per_bin.size(), 10u);
  EXPECT_EQ(r.delivered_per_bin.back(), 1);
}

}  // namespace
}  // namespace sluice::flood

// The delivered-set changelog on real processes: a partition's delivered-set follows it to another
// instance, a lost or damaged store is rebuilt from the changelog, and bad changelog topics and
// records are refused or skipped. Each guarantee test runs once with the changelog switched off
// as well, to show that its check can fail.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sluice/envelope/dlq.h"
#include "sluice/envelope/event.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/producer.h"
#include "sluice/testing/relay_harness.h"

namespace sluice::testing {
namespace {

namespace fs = std::filesystem;
using Ms = std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

const bool kBrokerRegistered = RegisterKafkaBrokerEnvironment();

// Plain creates of Contacts keyed k<first>.. (see MakePlainContactCreate).
std::vector<TestEvent> Events(int n, int keys, int first = 0) {
  std::vector<TestEvent> out;
  for (int i = 0; i < n; ++i)
    out.push_back(MakePlainContactCreate("k" + std::to_string(first + i % keys)));
  return out;
}

// Event ids the ledger shows more than once, and ids of `events` it does not show at all.
struct Count {
  size_t written_twice = 0;
  size_t missing = 0;
};

Count CountLedger(RelayHarness& h, const std::vector<TestEvent>& events) {
  auto ledger = h.Ledger();
  EXPECT_TRUE(ledger.ok());
  std::map<std::string, int> seen;
  for (const auto& row : *ledger) ++seen[row.event_id];
  Count c;
  for (const auto& [id, n] : seen) c.written_twice += n > 1 ? 1 : 0;
  for (const auto& e : events) c.missing += seen.count(e.event_id) == 0 ? 1 : 0;
  return c;
}

std::unique_ptr<RelayHarness> Harness(bool changelog, int partitions = 6, bool standby = false) {
  RelayHarness::Options options;
  options.partitions = partitions;
  options.changelog_enabled = changelog;
  options.changelog_standby = standby;
  options.event_id_field = "";  // plain writes: only the delivered-set can prevent a second one
  options.sfsim_flags = {"--ledger-event-id-field", "Description"};
  auto h = RelayHarness::Create(options);
  EXPECT_TRUE(h.ok()) << h.status().ToString();
  return h.ok() ? std::move(h).value() : nullptr;
}

// Two relays drain; then one is SIGKILLed and comes back with no local store, a third joins, and
// 10% of the events are published again (copies far from their originals in the log), with new
// events between them. The partitions move to instances that never saw their originals.
size_t DuplicatesAfterHandover(bool changelog) {
  auto h = Harness(changelog);
  if (h == nullptr) return 0;
  auto first = Events(3000, 3000);
  EXPECT_TRUE(h->Produce(first).ok());
  EXPECT_TRUE(h->StartRelay(0).ok());
  EXPECT_TRUE(h->StartRelay(1).ok());
  EXPECT_TRUE(h->WaitForLedger(first.size(), minutes(3)));
  // Let both commit (every 200 ms) before the kill, so the copies below are the only re-reads
  // that matter (others are skipped too with the changelog, and written again without it).
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(h->StopRelay(0, /*kill=*/true), 128 + SIGKILL);
  h->RemoveStore(0);
  EXPECT_EQ(h->StopRelay(1), 0);
  std::vector<TestEvent> second = Events(1000, 1000, 100'000);
  std::vector<TestEvent> replays;
  for (size_t i = 0; i < first.size(); i += 10) {
    replays.push_back(first[i]);
    second.push_back(first[i]);
  }
  EXPECT_TRUE(h->Produce(second).ok());
  // Relay 1 (its store knows half the originals) no longer runs; 0 (no store) and 2 (new) take
  // every partition.
  EXPECT_TRUE(h->StartRelay(0).ok());
  EXPECT_TRUE(h->StartRelay(2).ok());
  std::vector<TestEvent> all = first;
  all.insert(all.end(), second.begin(), second.end() - static_cast<long>(replays.size()));
  EXPECT_TRUE(RelayHarness::WaitFor([&] { return CountLedger(*h, all).missing == 0; }, minutes(3)));
  // The copies are read (skipped or written again) before the run ends.
  EXPECT_TRUE(RelayHarness::WaitFor(
      [&] {
        return h->MetricValue(0, "sluice_relay_consumed_total").value_or(0) +
                   h->MetricValue(2, "sluice_relay_consumed_total").value_or(0) >=
               static_cast<double>(second.size());
      },
      minutes(2)));
  std::this_thread::sleep_for(seconds(2));
  const Count c = CountLedger(*h, all);
  EXPECT_EQ(c.missing, 0u);
  if (changelog) {
    EXPECT_GE(h->MetricValue(0, "sluice_relay_skipped_duplicates_total").value_or(0) +
                  h->MetricValue(2, "sluice_relay_skipped_duplicates_total").value_or(0),
              static_cast<double>(replays.size()));
    EXPECT_GT(h->MetricValue(2, "sluice_relay_changelog_restored_entries_total").value_or(0), 0);
  }
  return c.written_twice;
}

TEST(ChangelogTest, DuplicatesAreSkippedByInstancesThatNeverSawTheOriginals) {
  EXPECT_EQ(DuplicatesAfterHandover(/*changelog=*/true), 0u);
}

TEST(ChangelogTest, WithoutTheChangelogTheSameRunWritesDuplicatesAgain) {
  EXPECT_GT(DuplicatesAfterHandover(/*changelog=*/false), 0u);
}

// Two relays share the partitions; the first stops and its partitions move to the second. Returns
// how many changelog entries the second restored at that handover. With standby copies on, it has
// applied them already while the first owned them, so the restore reads (almost) nothing.
double EntriesRestoredAtHandover(bool standby) {
  auto h = Harness(true, 4, standby);
  if (h == nullptr) return -1;
  auto first = Events(4000, 4000);
  EXPECT_TRUE(h->Produce(first).ok());
  EXPECT_TRUE(h->StartRelay(0).ok());
  EXPECT_TRUE(h->StartRelay(1).ok());
  EXPECT_TRUE(h->WaitForLedger(first.size(), minutes(3)));
  // The second owns partitions (it joined a rebalance and restored them; it may have found
  // nothing left to deliver), and both committed.
  EXPECT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(1, "sluice_relay_changelog_restores_total").value_or(0) > 0; },
      seconds(30)));
  std::this_thread::sleep_for(seconds(3));
  const double before =
      h->MetricValue(1, "sluice_relay_changelog_restored_entries_total").value_or(0);
  const double delivered_by_0 = h->MetricValue(0, "sluice_relay_delivered_total").value_or(0);
  EXPECT_EQ(h->StopRelay(0), 0);
  auto second = Events(400, 400, 100'000);
  EXPECT_TRUE(h->Produce(second).ok());
  EXPECT_TRUE(h->WaitForLedger(first.size() + second.size(), minutes(2)));
  std::vector<TestEvent> all = first;
  all.insert(all.end(), second.begin(), second.end());
  const Count c = CountLedger(*h, all);
  EXPECT_EQ(c.missing, 0u);
  EXPECT_EQ(c.written_twice, 0u);
  const double restored =
      h->MetricValue(1, "sluice_relay_changelog_restored_entries_total").value_or(0) - before;
  const double standby_applied =
      h->MetricValue(1, "sluice_relay_changelog_standby_applied_total").value_or(0);
  fmt::print(
      "standby {}: relay 0 delivered {}, relay 1 restored {} at the handover and applied {} "
      "as standby copies\n",
      standby, delivered_by_0, restored, standby_applied);
  if (standby) {
    EXPECT_GT(standby_applied, 0);
  }
  return restored;
}

TEST(ChangelogTest, StandbyCopiesLeaveAlmostNothingToRestoreAtAHandover) {
  EXPECT_LE(EntriesRestoredAtHandover(/*standby=*/true), 100);
}

TEST(ChangelogTest, WithoutStandbyCopiesTheHandoverRestoresTheMovedPartitions) {
  EXPECT_GE(EntriesRestoredAtHandover(/*standby=*/false), 500);
}

// A DLQ replay (the replay-count header sluice-dlq sets) of an event that another instance
// delivered is skipped and counted as skipped.
TEST(ChangelogTest, AReplayOfAnEventAnotherInstanceDeliveredIsSkipped) {
  auto h = Harness(true, 2);
  ASSERT_NE(h, nullptr);
  auto events = Events(200, 200);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(2)));
  EXPECT_EQ(h->StopRelay(0), 0);
  std::vector<TestEvent> replays(events.begin(), events.begin() + 20);
  for (auto& r : replays) r.headers.emplace_back(std::string(envelope::kHeaderReplayCount), "1");
  ASSERT_TRUE(h->Produce(replays).ok());
  ASSERT_TRUE(h->StartRelay(1).ok());
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(1, "sluice_relay_consumed_total").value_or(0) >= 20; },
      minutes(2)));
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] { return h->MetricValue(1, "sluice_relay_skipped_duplicates_total").value_or(0) >= 20; },
      seconds(30)));
  EXPECT_EQ(CountLedger(*h, events).written_twice, 0u);
}

// Publishes a copy of every one of `events` and `fresh` new events after them, starts relay 0
// again, and checks that everything is delivered, every record read, and nothing written twice.
void PublishAgainAndDrain(RelayHarness& h, const std::vector<TestEvent>& events, int fresh) {
  auto more = Events(fresh, fresh, 50'000);
  std::vector<TestEvent> second = events;
  second.insert(second.end(), more.begin(), more.end());
  ASSERT_TRUE(h.Produce(second).ok());
  ASSERT_TRUE(h.StartRelay(0).ok());
  std::vector<TestEvent> all = events;
  all.insert(all.end(), more.begin(), more.end());
  ASSERT_TRUE(RelayHarness::WaitFor([&] { return CountLedger(h, all).missing == 0; }, minutes(2)));
  ASSERT_TRUE(RelayHarness::WaitFor(
      [&] {
        return h.MetricValue(0, "sluice_relay_consumed_total").value_or(0) >=
               static_cast<double>(second.size());
      },
      minutes(2)));
  std::this_thread::sleep_for(seconds(1));
  EXPECT_EQ(CountLedger(h, all).written_twice, 0u);
}

// The changelog entries of partition `partition` of the harness's changelog topic.
int64_t ChangelogEntries(RelayHarness& h, int partition) {
  kafka::AdminOptions admin_options;
  admin_options.bootstrap = h.bootstrap();
  auto admin = kafka::Admin::Create(admin_options);
  EXPECT_TRUE(admin.ok());
  if (!admin.ok()) return -1;
  auto marks = (*admin)->Watermarks(h.topic() + ".delivered", Ms(10'000));
  EXPECT_TRUE(marks.ok());
  if (!marks.ok()) return -1;
  for (const auto& m : *marks) {
    if (m.partition == partition) return m.high - m.low;
  }
  return -1;
}

// How one partition's store is lost while the relay is stopped.
enum class Loss { kCorrupted, kDeleted };

// One relay drains 3 partitions and stops; partition 1's store file is damaged or deleted; every
// original is published again with new events after them. Only partition 1 is rebuilt from the
// changelog (the others keep their files and restore nothing), and nothing is written twice.
void OnePartitionRebuilt(Loss loss) {
  auto h = Harness(true, 3);
  ASSERT_NE(h, nullptr);
  auto events = Events(1000, 1000);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(2)));
  EXPECT_EQ(h->StopRelay(0), 0);
  const std::string damaged = h->PartitionStorePath(0, 1);
  for (int p = 0; p < 3; ++p) ASSERT_TRUE(fs::exists(h->PartitionStorePath(0, p))) << p;
  if (loss == Loss::kCorrupted) {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    ASSERT_TRUE(f.good());
    const std::string garbage(4096, '\x5a');
    f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
  } else {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(damaged + suffix);
  }
  const int64_t partition_entries = ChangelogEntries(*h, 1);
  ASSERT_GT(partition_entries, 0);
  ASSERT_LT(partition_entries, static_cast<int64_t>(events.size()));
  // Copies of every original, and new events after them.
  ASSERT_NO_FATAL_FAILURE(PublishAgainAndDrain(*h, events, 300));
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_store_rebuilds_total").value_or(-1), 1);
  // Only partition 1 was read back: its changelog entries, not the other partitions'.
  const double restored =
      h->MetricValue(0, "sluice_relay_changelog_restored_entries_total").value_or(-1);
  fmt::print("partition 1: {} changelog entries, {} restored at the restart (of {} events)\n",
             partition_entries, restored, events.size());
  EXPECT_EQ(restored, static_cast<double>(partition_entries));
  std::vector<std::string> aside;
  for (const auto& entry : fs::directory_iterator(h->StorePath(0) + ".d")) {
    const std::string name = entry.path().filename().string();
    if (name.find(".corrupt-") != std::string::npos) aside.push_back(name);
  }
  if (loss == Loss::kCorrupted) {
    ASSERT_FALSE(aside.empty()) << "the damaged file is kept for a post-mortem";
    for (const auto& name : aside) {
      EXPECT_EQ(name.find(h->topic() + "-1.db.corrupt-"), 0u) << name;
    }
  } else {
    EXPECT_TRUE(aside.empty());
  }
}

TEST(ChangelogTest, ACorruptedPartitionStoreIsRebuiltAloneFromTheChangelog) {
  OnePartitionRebuilt(Loss::kCorrupted);
}

TEST(ChangelogTest, APartitionStoreDeletedWhileTheRelayIsStoppedIsRebuiltAlone) {
  OnePartitionRebuilt(Loss::kDeleted);
}

// A relay upgraded from the single store file (one per instance) with the changelog on: the old
// file is moved aside and every partition's store is restored from the changelog, so copies of
// what the old relay delivered are still skipped.
TEST(ChangelogTest, AnUpgradeFromTheSingleStoreFileRestoresThePartitionsFromTheChangelog) {
  auto h = Harness(true, 3);
  ASSERT_NE(h, nullptr);
  auto events = Events(600, 600);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(2)));
  EXPECT_EQ(h->StopRelay(0), 0);
  // The layout an older relay left: one store file at idempotency.path (a valid sluice store; a
  // partition's file serves) with its offsets file, and no per-partition directory.
  fs::copy_file(h->PartitionStorePath(0, 0), h->StorePath(0));
  std::ofstream(h->StorePath(0) + ".changelog.json") << R"({"version":1,"partitions":[]})";
  fs::remove_all(h->StorePath(0) + ".d");
  ASSERT_NO_FATAL_FAILURE(PublishAgainAndDrain(*h, events, 200));
  EXPECT_GE(h->MetricValue(0, "sluice_relay_changelog_restored_entries_total").value_or(0),
            static_cast<double>(events.size()));
  EXPECT_FALSE(fs::exists(h->StorePath(0))) << "the old file is moved aside";
  EXPECT_FALSE(fs::exists(h->StorePath(0) + ".changelog.json"));
  bool kept = false;
  for (const auto& entry : fs::directory_iterator(h->work_dir())) {
    kept |= entry.path().filename().string().find("relay-0.db.pre-partitions-") == 0;
  }
  EXPECT_TRUE(kept) << "the old file is kept beside";
  for (int p = 0; p < 3; ++p) EXPECT_TRUE(fs::exists(h->PartitionStorePath(0, p))) << p;
}

// A changelog topic whose partition count differs from its source's: a clear error at start, and
// nothing consumed.
TEST(ChangelogTest, AChangelogWithTheWrongPartitionCountStopsTheRelayAtStart) {
  auto h = Harness(true, 3);
  ASSERT_NE(h, nullptr);
  kafka::AdminOptions admin_options;
  admin_options.bootstrap = h->bootstrap();
  auto admin = kafka::Admin::Create(admin_options);
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(
      (*admin)->CreateTopic(kafka::TopicSpec(h->topic() + ".delivered", 2), Ms(10'000)).ok());
  ASSERT_TRUE(h->Produce(Events(50, 50)).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(RelayHarness::WaitFor([&] { return !h->RelayRunning(0); }, seconds(60)));
  EXPECT_NE(h->StopRelay(0), 0);
  std::ifstream log(h->work_dir() + "/relay-0.log");
  const std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(text.find("has 2 partitions but its source"), std::string::npos) << text;
  auto ledger = h->Ledger();
  ASSERT_TRUE(ledger.ok());
  EXPECT_TRUE(ledger->empty());
  auto committed = (*admin)->CommittedOffsets(h->topic() + "-group", h->topic(), Ms(10'000));
  ASSERT_TRUE(committed.ok());
  for (const auto& c : *committed) EXPECT_EQ(c.offset, kafka::kOffsetInvalid) << c.partition;
}

// Records on the changelog that are not the relay's are skipped and counted, not applied.
TEST(ChangelogTest, ForeignChangelogRecordsAreSkippedAndCounted) {
  auto h = Harness(true, 1);
  ASSERT_NE(h, nullptr);
  auto events = Events(100, 100);
  ASSERT_TRUE(h->Produce(events).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size(), minutes(2)));
  EXPECT_EQ(h->StopRelay(0), 0);
  kafka::ProducerOptions producer_options;
  producer_options.bootstrap = h->bootstrap();
  auto producer = kafka::Producer::Create(producer_options);
  ASSERT_TRUE(producer.ok());
  const std::string changelog = h->topic() + ".delivered";
  // Claims the next event was delivered, but without our header; and garbage with it.
  auto next = Events(10, 10, 9000);
  ASSERT_TRUE((*producer)
                  ->ProduceAsync(kafka::ProducerRecord(
                      changelog, next[0].event_id,
                      R"({"outcome":"delivered","recorded_ms":1765000000000})"))
                  .get()
                  .status.ok());
  ASSERT_TRUE((*producer)
                  ->ProduceAsync(kafka::ProducerRecord(changelog, "x", "\xff\xfe not json",
                                                       {{"sluice-changelog", "1"}}))
                  .get()
                  .status.ok());
  h->RemoveStore(0);  // restore everything, the foreign records included
  ASSERT_TRUE(h->Produce(next).ok());
  ASSERT_TRUE(h->StartRelay(0).ok());
  ASSERT_TRUE(h->WaitForLedger(events.size() + next.size(), minutes(2)));
  EXPECT_EQ(h->MetricValue(0, "sluice_relay_changelog_foreign_records_total").value_or(-1), 2);
  EXPECT_EQ(CountLedger(*h, next).missing, 0u) << "a foreign record must not make the relay skip";
}

}  // namespace
}  // namespace sluice::testing

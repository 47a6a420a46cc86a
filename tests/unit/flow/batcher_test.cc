#include "sluice/flow/batcher.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace sluice::flow {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using TimePoint = Clock::TimePoint;

const TimePoint kT0 = TimePoint(seconds(50));
const BatchKey kAccounts{"Account", "upsert", "Ext_Id__c"};
const BatchKey kContacts{"Contact", "upsert", "Ext_Id__c"};

std::unique_ptr<Batcher<int>> Make(BatcherOptions o = {}) {
  auto b = Batcher<int>::Create(o);
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(b).value();
}

TEST(BatcherTest, FlushesAfterLingerSinceTheFirstItem) {
  auto b = Make();  // 20 ms.
  b->Add(kAccounts, 1, kT0);
  b->Add(kAccounts, 2, kT0 + milliseconds(15));
  EXPECT_EQ(b->NextDeadline(), kT0 + milliseconds(20));
  EXPECT_TRUE(b->TakeDue(kT0 + milliseconds(20) - nanoseconds(1)).empty());
  auto due = b->TakeDue(kT0 + milliseconds(20));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, kAccounts);
  EXPECT_EQ(due[0].items, (std::vector<int>{1, 2}));
  EXPECT_EQ(due[0].opened, kT0);
  EXPECT_EQ(b->pending(), 0u);
  EXPECT_FALSE(b->NextDeadline().has_value());
}

TEST(BatcherTest, AFullBatchIsDueAtOnce) {
  auto b = Make();
  for (int i = 0; i < 201; ++i) b->Add(kAccounts, i, kT0 + nanoseconds(i));
  EXPECT_EQ(b->NextDeadline(), kT0);  // Already due.
  auto due = b->TakeDue(kT0 + nanoseconds(200));
  ASSERT_EQ(due.size(), 1u);
  ASSERT_EQ(due[0].items.size(), 200u);
  EXPECT_EQ(due[0].items.front(), 0);
  EXPECT_EQ(due[0].items.back(), 199);
  // The 201st opened a new batch at its own time.
  EXPECT_EQ(b->pending(), 1u);
  EXPECT_EQ(b->NextDeadline(), kT0 + nanoseconds(200) + milliseconds(20));
}

TEST(BatcherTest, DifferentKeysNeverShareABatch) {
  auto b = Make();
  const BatchKey create_accounts{"Account", "create", ""};
  const BatchKey other_field{"Account", "upsert", "Other__c"};
  b->Add(kContacts, 1, kT0 + milliseconds(1));
  b->Add(kAccounts, 2, kT0);
  b->Add(create_accounts, 3, kT0 + milliseconds(2));
  b->Add(other_field, 4, kT0 + milliseconds(3));
  b->Add(kAccounts, 5, kT0 + milliseconds(4));
  EXPECT_EQ(b->NextDeadline(), kT0 + milliseconds(20));
  auto due = b->TakeDue(kT0 + seconds(1));
  ASSERT_EQ(due.size(), 4u);
  // Oldest first.
  EXPECT_EQ(due[0].key, kAccounts);
  EXPECT_EQ(due[0].items, (std::vector<int>{2, 5}));
  EXPECT_EQ(due[1].key, kContacts);
  EXPECT_EQ(due[2].key, create_accounts);
  EXPECT_EQ(due[3].key, other_field);
}

TEST(BatcherTest, OnlyDueBatchesAreTaken) {
  auto b = Make();
  b->Add(kAccounts, 1, kT0);
  b->Add(kContacts, 2, kT0 + milliseconds(10));
  auto due = b->TakeDue(kT0 + milliseconds(25));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, kAccounts);
  EXPECT_EQ(b->NextDeadline(), kT0 + milliseconds(30));
  EXPECT_EQ(b->pending(), 1u);
}

TEST(BatcherTest, ZeroLingerFlushesAtTheNextTake) {
  BatcherOptions o;
  o.linger = seconds(0);
  o.max_records = 3;
  auto b = Make(o);
  b->Add(kAccounts, 1, kT0);
  EXPECT_EQ(b->NextDeadline(), kT0);
  EXPECT_EQ(b->TakeDue(kT0).size(), 1u);
  for (int i = 0; i < 7; ++i) b->Add(kAccounts, i, kT0);
  auto due = b->TakeDue(kT0);
  ASSERT_EQ(due.size(), 3u);
  EXPECT_EQ(due[0].items.size(), 3u);
  EXPECT_EQ(due[1].items.size(), 3u);
  EXPECT_EQ(due[2].items.size(), 1u);
}

TEST(BatcherTest, TakeAllEmptiesEverything) {
  auto b = Make();
  b->Add(kAccounts, 1, kT0);
  b->Add(kContacts, 2, kT0);
  EXPECT_EQ(b->TakeAll().size(), 2u);
  EXPECT_EQ(b->pending(), 0u);
  EXPECT_TRUE(b->TakeAll().empty());
}

TEST(BatcherTest, MoveOnlyItems) {
  auto made = Batcher<std::unique_ptr<std::string>>::Create({});
  ASSERT_TRUE(made.ok());
  auto& b = **made;
  b.Add(kAccounts, std::make_unique<std::string>("x"), kT0);
  auto due = b.TakeDue(kT0 + seconds(1));
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(*due[0].items[0], "x");
}

TEST(BatcherTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  for (size_t n : {size_t{0}, size_t{201}, ~size_t{0}}) {
    BatcherOptions o;
    o.max_records = n;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << n;
    EXPECT_NE(s.message().find("max_records"), std::string::npos);
    EXPECT_FALSE(Batcher<int>::Create(o).ok());
  }
  for (auto d : {Clock::Duration(-1), Clock::Duration::min(), Clock::Duration::max(),
                 Clock::Duration(std::chrono::hours(2))}) {
    BatcherOptions o;
    o.linger = d;
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("linger"), std::string::npos);
  }
  BatcherOptions edge;
  edge.max_records = 1;
  edge.linger = seconds(0);
  EXPECT_TRUE(edge.Validate().ok());
}

TEST(BatcherTest, ADueBatchRefusedByItsAdmitterStaysAndKeepsFilling) {
  BatcherOptions o;
  o.max_records = 4;
  auto b = Make(o);
  b->Add(kAccounts, 1, kT0);
  int asked = 0;
  auto refuse = [&](const Batch<int>&) {
    ++asked;
    return false;
  };
  EXPECT_FALSE(b->TakeOldestDueIf(kT0, refuse).has_value());  // not due yet: not even asked
  EXPECT_EQ(asked, 0);
  EXPECT_FALSE(b->TakeOldestDueIf(kT0 + milliseconds(20), refuse).has_value());
  EXPECT_EQ(asked, 1);
  b->Add(kAccounts, 2, kT0 + milliseconds(30));
  b->Add(kAccounts, 3, kT0 + milliseconds(40));
  auto taken = b->TakeOldestDueIf(kT0 + milliseconds(50), [](const Batch<int>&) { return true; });
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->items, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(b->pending(), 0u);
}

TEST(BatcherTest, TakeOldestDueIfPrefersFullBatchesThenTheOldestOpenOne) {
  BatcherOptions o;
  o.max_records = 2;
  auto b = Make(o);
  b->Add(kContacts, 10, kT0);
  b->Add(kAccounts, 1, kT0 + milliseconds(1));
  b->Add(kAccounts, 2, kT0 + milliseconds(2));  // full
  auto all = [](const Batch<int>&) { return true; };
  auto first = b->TakeOldestDueIf(kT0 + milliseconds(2), all);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->key, kAccounts);
  EXPECT_FALSE(b->TakeOldestDueIf(kT0 + milliseconds(2), all).has_value());  // Contact lingers
  auto second = b->TakeOldestDueIf(kT0 + milliseconds(20), all);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->items, (std::vector<int>{10}));
}

}  // namespace
}  // namespace sluice::flow

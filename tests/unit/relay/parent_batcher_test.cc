#include "parent_batcher.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sluice/testing/simulated_clock.h"

namespace sluice::relay {
namespace {

using std::chrono::milliseconds;
using Batcher = ParentBatcher<int, std::string>;

auto Yes() {
  return [](size_t) { return true; };
}

std::vector<std::string> ParentsOf(const std::vector<int>& items,
                                   const std::map<int, std::string>& parent_of) {
  std::vector<std::string> out;
  for (int i : items) out.push_back(parent_of.at(i));
  return out;
}

TEST(ParentValueTest, ReadsAStringFieldAndNothingElse) {
  EXPECT_EQ(ParentValue(R"({"LastName":"Ng","AccountId":"001A"})", "AccountId"), "001A");
  EXPECT_EQ(ParentValue(R"({"AccountId":null})", "AccountId"), "");
  EXPECT_EQ(ParentValue(R"({"AccountId":42})", "AccountId"), "");
  EXPECT_EQ(ParentValue(R"({"AccountId":{"x":"001A"}})", "AccountId"), "");
  EXPECT_EQ(ParentValue(R"({"Other":"001A"})", "AccountId"), "");
  EXPECT_EQ(ParentValue(R"(["AccountId","001A"])", "AccountId"), "");
  EXPECT_EQ(ParentValue("{not json", "AccountId"), "");
  EXPECT_EQ(ParentValue("", "AccountId"), "");
  // An embedded NUL and an escaped quote survive; a long value is kept whole.
  EXPECT_EQ(ParentValue(R"({"AccountId":"a\u0000b\"c"})", "AccountId"), std::string("a\0b\"c", 5));
  const std::string big(100'000, 'x');
  EXPECT_EQ(ParentValue(R"({"AccountId":")" + big + "\"}", "AccountId"), big);
}

TEST(ParentBatcherTest, NoTwoRequestsHoldOneParentAndTheRestWaits) {
  testing::SimulatedClock clock;
  Batcher b(3, milliseconds(0));
  std::map<int, std::string> parent_of;
  // A has 5 children, B 1, C 1, interleaved.
  const std::vector<std::string> order = {"A", "B", "A", "C", "A", "A", "A"};
  for (int i = 0; i < static_cast<int>(order.size()); ++i) {
    parent_of[i] = order[i];
    b.Add("Contact", order[i], i, clock.Now());
  }
  auto first = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(first);
  // A's oldest group goes first and fills the request: three of A's five children.
  EXPECT_EQ(first->items, (std::vector<int>{0, 2, 4}));
  EXPECT_EQ(first->parents, std::vector<std::string>{"A"});
  EXPECT_TRUE(b.holds("A"));
  EXPECT_EQ(b.parent_waits(), 2u);  // A's last two wait for the request
  auto second = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(second);
  // Not A (held): B and C, sorted by parent.
  EXPECT_EQ(ParentsOf(second->items, parent_of), (std::vector<std::string>{"B", "C"}));
  EXPECT_EQ(second->parents, (std::vector<std::string>{"B", "C"}));
  // Nothing else may go while A is held.
  EXPECT_FALSE(b.TakeOldestDueIf(clock.Now(), Yes()));
  EXPECT_FALSE(b.NextDeadline());
  EXPECT_EQ(b.pending(), 2u);
  EXPECT_EQ(b.ready(), 0u);
  // A's request ends: its last two children go, in a later request (over time, not in parallel).
  b.Release(first->parents);
  auto third = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(third);
  EXPECT_EQ(third->items, (std::vector<int>{5, 6}));
  EXPECT_EQ(b.pending(), 0u);
}

TEST(ParentBatcherTest, RecordsWithoutAParentAreNotConstrained) {
  testing::SimulatedClock clock;
  Batcher b(2, milliseconds(0));
  for (int i = 0; i < 4; ++i) b.Add("Contact", "", i, clock.Now());
  auto one = b.TakeOldestDueIf(clock.Now(), Yes());
  auto two = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(one && two);
  EXPECT_EQ(one->items, (std::vector<int>{0, 1}));
  EXPECT_EQ(two->items, (std::vector<int>{2, 3}));
  EXPECT_TRUE(one->parents.empty());
  EXPECT_EQ(b.held_parents(), 0u);
}

TEST(ParentBatcherTest, ItemsWithinARequestAreSortedByParent) {
  testing::SimulatedClock clock;
  Batcher b(10, milliseconds(0));
  std::map<int, std::string> parent_of;
  const std::vector<std::string> order = {"C", "A", "", "B", "A", "C"};
  for (int i = 0; i < static_cast<int>(order.size()); ++i) {
    parent_of[i] = order[i];
    b.Add("Contact", order[i], i, clock.Now());
  }
  auto t = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(t);
  EXPECT_EQ(ParentsOf(t->items, parent_of),
            (std::vector<std::string>{"", "A", "A", "B", "C", "C"}));
  // Within a parent, arrival order.
  EXPECT_EQ(t->items, (std::vector<int>{2, 1, 4, 3, 0, 5}));
}

TEST(ParentBatcherTest, ARefusedAdmissionKeepsEverything) {
  testing::SimulatedClock clock;
  Batcher b(5, milliseconds(0));
  b.Add("Contact", "A", 1, clock.Now());
  b.Add("Contact", "B", 2, clock.Now());
  size_t asked = 0;
  EXPECT_FALSE(b.TakeOldestDueIf(clock.Now(), [&](size_t n) {
    asked = n;
    return false;
  }));
  EXPECT_EQ(asked, 2u);
  EXPECT_EQ(b.held_parents(), 0u);
  EXPECT_EQ(b.ready(), 2u);
  auto t = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(t);
  EXPECT_EQ(t->items.size(), 2u);
}

TEST(ParentBatcherTest, LingerWaitsForMoreUnlessFull) {
  testing::SimulatedClock clock;
  Batcher b(3, milliseconds(20));
  b.Add("Contact", "A", 1, clock.Now());
  EXPECT_FALSE(b.TakeOldestDueIf(clock.Now(), Yes()));
  EXPECT_EQ(b.NextDeadline(), clock.Now() + milliseconds(20));
  clock.Advance(milliseconds(20));
  auto t = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(t);
  // Full at once: due without lingering.
  for (int i = 0; i < 3; ++i) b.Add("Contact", "", 10 + i, clock.Now());
  EXPECT_TRUE(b.TakeOldestDueIf(clock.Now(), Yes()));
}

TEST(ParentBatcherTest, AParentHeldOnOneRouteHoldsItOnAnother) {
  testing::SimulatedClock clock;
  Batcher b(5, milliseconds(0));
  b.Add("Contact", "A", 1, clock.Now());
  b.Add("Opportunity", "A", 2, clock.Now());
  b.Add("Opportunity", "B", 3, clock.Now());
  auto t = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(t);
  std::set<std::string> held(t->parents.begin(), t->parents.end());
  auto u = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(u);
  for (const auto& p : u->parents) EXPECT_EQ(held.count(p), 0u) << p << " held twice";
  EXPECT_FALSE(b.TakeOldestDueIf(clock.Now(), Yes()));
  // Contact's A and Opportunity's B went; Opportunity's A waits for A's request.
  EXPECT_EQ(b.pending(), 1u);
  b.Release(u->parents);
  EXPECT_FALSE(b.TakeOldestDueIf(clock.Now(), Yes()));
  b.Release(t->parents);
  auto v = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->items, std::vector<int>{2});
  EXPECT_EQ(b.pending(), 0u);
}

TEST(ParentBatcherTest, AddToAHeldParentWaitsAndTakeAllHandsEverythingBack) {
  testing::SimulatedClock clock;
  Batcher b(1, milliseconds(0));
  b.Add("Contact", "A", 1, clock.Now());
  auto t = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(t);
  b.Add("Contact", "A", 2, clock.Now());
  b.Add("Contact", "B", 3, clock.Now());
  EXPECT_EQ(b.parent_waits(), 1u);
  EXPECT_EQ(b.ready(), 1u);
  auto all = b.TakeAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(b.pending(), 0u);
  EXPECT_TRUE(b.holds("A"));  // the request in flight still holds it
  for (auto& p : all) b.Add(p.key, p.parent, p.item, clock.Now());
  auto u = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(u);
  EXPECT_EQ(u->items, std::vector<int>{3});
  b.Release(t->parents);
  auto v = b.TakeOldestDueIf(clock.Now(), Yes());
  ASSERT_TRUE(v);
  EXPECT_EQ(v->items, std::vector<int>{2});
}

// Many parents, random sizes, random release order: never two requests in flight on one parent,
// nothing lost or taken twice.
TEST(ParentBatcherTest, RandomisedNeverHoldsAParentTwice) {
  testing::SimulatedClock clock;
  Batcher b(7, milliseconds(0));
  uint64_t x = 12345;
  auto next = [&] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x >> 33;
  };
  std::map<int, std::string> parent_of;
  std::vector<Batcher::Taken> in_flight;
  std::set<int> taken;
  int added = 0;
  for (int round = 0; round < 2000; ++round) {
    const int adds = static_cast<int>(next() % 5);
    for (int i = 0; i < adds; ++i) {
      const uint64_t p = next() % 12;
      parent_of[added] = p == 0 ? "" : "P" + std::to_string(p);
      b.Add(p % 3 == 0 ? "Opportunity" : "Contact", parent_of[added], added, clock.Now());
      ++added;
    }
    if (!in_flight.empty() && next() % 2 == 0) {
      const size_t k = next() % in_flight.size();
      b.Release(in_flight[k].parents);
      in_flight.erase(in_flight.begin() + static_cast<long>(k));
    }
    while (in_flight.size() < 4) {
      auto t = b.TakeOldestDueIf(clock.Now(), Yes());
      if (!t) break;
      std::set<std::string> busy;
      for (const auto& f : in_flight) busy.insert(f.parents.begin(), f.parents.end());
      for (int item : t->items) {
        EXPECT_TRUE(taken.insert(item).second) << item << " taken twice";
        EXPECT_TRUE(parent_of[item].empty() || busy.count(parent_of[item]) == 0)
            << "parent " << parent_of[item] << " in two requests";
      }
      in_flight.push_back(std::move(*t));
    }
  }
  for (auto& f : in_flight) b.Release(f.parents);
  while (auto t = b.TakeOldestDueIf(clock.Now(), Yes())) {
    for (int item : t->items) EXPECT_TRUE(taken.insert(item).second);
    b.Release(t->parents);
  }
  EXPECT_EQ(static_cast<int>(taken.size()), added);
  EXPECT_EQ(b.pending(), 0u);
}

}  // namespace
}  // namespace sluice::relay

#include "send_gate.h"

#include <gtest/gtest.h>

#include "sluice/relay/options.h"
#include "sluice/testing/simulated_clock.h"

namespace sluice::relay {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

std::unique_ptr<SendGate> Make(testing::SimulatedClock& clock, SendGateOptions o = {}) {
  auto g = SendGate::Create(o, clock, flow::SeededUniform(7));
  EXPECT_TRUE(g.ok()) << g.status();
  return std::move(g).value();
}

TEST(SendGateTest, ARefusalKeepsNothing) {
  testing::SimulatedClock clock;
  SendGateOptions o;
  o.requests_per_second = 20;  // burst 1
  o.max_in_flight = 5;
  auto g = Make(clock, o);
  flow::Admission a{};
  ASSERT_EQ(g->Acquire(10, &a), Hold::kNone);
  EXPECT_EQ(g->in_flight(), 1);
  // The request bucket is empty now: refused, and the concurrency slot it would have taken is not
  // kept.
  EXPECT_EQ(g->Acquire(10, &a), Hold::kRequestRate);
  EXPECT_EQ(g->in_flight(), 1);
  EXPECT_EQ(g->Check(10), Hold::kRequestRate);
  auto opening = g->NextOpening(Hold::kRequestRate, 10);
  ASSERT_TRUE(opening.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(*opening - clock.Now()).count(), 0.05, 0.001);
  clock.Advance(milliseconds(50));
  EXPECT_EQ(g->Acquire(10, &a), Hold::kNone);
  EXPECT_EQ(g->in_flight(), 2);
  g->Release();
  g->Release();
  EXPECT_EQ(g->in_flight(), 0);
}

TEST(SendGateTest, ConcurrencyHoldsUntilARelease) {
  testing::SimulatedClock clock;
  SendGateOptions o;
  o.max_in_flight = 1;
  auto g = Make(clock, o);
  flow::Admission a{};
  ASSERT_EQ(g->Acquire(1, &a), Hold::kNone);
  clock.Advance(seconds(1));
  EXPECT_EQ(g->Acquire(1, &a), Hold::kConcurrency);
  EXPECT_FALSE(g->NextOpening(Hold::kConcurrency, 1).has_value());  // only a completion helps
  g->Release();
  EXPECT_EQ(g->Acquire(1, &a), Hold::kNone);
}

TEST(SendGateTest, BudgetReserveHoldsAndProbesOnATimer) {
  testing::SimulatedClock clock;
  SendGateOptions o;
  o.budget_reserve = 0.1;
  auto g = Make(clock, o);
  g->OnLimits(95, 100);
  flow::Admission a{};
  EXPECT_EQ(g->Acquire(1, &a), Hold::kBudget);
  auto next = g->NextBudgetProbe();
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(g->NextOpening(Hold::kBudget, 1), next);
  EXPECT_FALSE(g->TryBudgetProbe());  // not before its time
  clock.AdvanceTo(*next);
  EXPECT_TRUE(g->TryBudgetProbe());
  EXPECT_FALSE(g->TryBudgetProbe());  // one per interval
  g->OnLimits(10, 100);               // a new day
  EXPECT_EQ(g->Acquire(1, &a), Hold::kNone);
}

TEST(SendGateTest, OrgFailuresOpenTheBreakerAndItsOpeningIsBounded) {
  testing::SimulatedClock clock;
  SendGateOptions o;
  o.circuit = RelayOptions::DefaultCircuit();
  o.circuit.failure_threshold = 2;
  auto g = Make(clock, o);
  flow::Admission a{};
  // The first failures wait for a share to be measurable, then count.
  int failures = 0;
  while (g->breaker_state() == flow::BreakerState::kClosed && failures < 10) {
    ASSERT_EQ(g->Acquire(1, &a), Hold::kNone);
    g->Release();
    g->OnOrgFailure(a);
    ++failures;
  }
  EXPECT_EQ(failures, 5);
  EXPECT_EQ(g->breaker_state(), flow::BreakerState::kOpen);
  EXPECT_EQ(g->Check(1), Hold::kBreaker);
  auto opening = g->NextOpening(Hold::kBreaker, 1);
  ASSERT_TRUE(opening.has_value());
  EXPECT_LE(*opening - clock.Now(), seconds(5));
}

TEST(SendGateTest, ScatteredOrgFailuresNeitherCutTheRateNorOpenTheBreaker) {
  testing::SimulatedClock clock;
  SendGateOptions o;
  o.requests_per_second = 100;
  o.circuit.failure_threshold = 1;
  auto g = Make(clock, o);
  flow::Admission a{};
  // One call in ten fails, for a minute.
  for (int i = 0; i < 6000; ++i) {
    clock.Advance(milliseconds(10));
    if (g->Acquire(1, &a) != Hold::kNone) continue;
    g->Release();
    if (i % 10 == 0) {
      g->OnOrgFailure(a);
    } else {
      g->OnAnswered(a);
    }
  }
  EXPECT_EQ(g->breaker_state(), flow::BreakerState::kClosed);
  EXPECT_DOUBLE_EQ(g->aimd().value(), 100);
  // A third failing is pressure: the rate halves.
  for (int i = 0; i < 30; ++i) {
    clock.Advance(milliseconds(10));
    if (g->Acquire(1, &a) != Hold::kNone) continue;
    g->Release();
    if (i % 3 == 0) {
      g->OnOrgFailure(a);
    } else {
      g->OnAnswered(a);
    }
  }
  EXPECT_LT(g->aimd().value(), 100);
}

TEST(SendGateTest, ShareScalesEveryCeiling) {
  testing::SimulatedClock clock;
  SendGateOptions o;
  o.requests_per_second = 100;
  o.records_per_second = 10'000;
  o.max_in_flight = 20;
  auto g = Make(clock, o);
  g->ApplyShare(4, 16);
  EXPECT_DOUBLE_EQ(g->request_rate(), 25);
  EXPECT_DOUBLE_EQ(g->record_rate(), 2'500);
  EXPECT_EQ(g->concurrency_limit(), 5);
  g->ApplyShare(0, 16);  // no partitions: the last share stays
  EXPECT_EQ(g->concurrency_limit(), 5);
}

}  // namespace
}  // namespace sluice::relay

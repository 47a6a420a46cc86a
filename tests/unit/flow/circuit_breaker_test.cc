#include "sluice/flow/circuit_breaker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <thread>
#include <vector>

#include "sluice/testing/simulated_clock.h"

namespace sluice::flow {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::SimulatedClock;

// Jitter source fixed at 0: every open period is exactly its base.
UniformSource Zero() {
  return [] { return 0.0; };
}

std::unique_ptr<CircuitBreaker> Make(const Clock& clock, CircuitBreakerOptions o = {},
                                     UniformSource u = Zero()) {
  auto b = CircuitBreaker::Create(o, clock, std::move(u));
  EXPECT_TRUE(b.ok()) << b.status();
  return std::move(b).value();
}

void FailN(CircuitBreaker& b, int n, FailureKind kind = FailureKind::kOrgWide) {
  for (int i = 0; i < n; ++i) b.OnFailure(Admission::kAllowed, kind);
}

TEST(CircuitBreakerTest, OpensAfterThresholdConsecutiveOrgWideFailures) {
  SimulatedClock clock;
  auto b = Make(clock);
  FailN(*b, 2);
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->Admit(), Admission::kAllowed);
  FailN(*b, 1);
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_EQ(b->Admit(), Admission::kRejected);
  EXPECT_EQ(b->transitions(), 1);
}

TEST(CircuitBreakerTest, ASuccessResetsTheCount) {
  SimulatedClock clock;
  auto b = Make(clock);
  FailN(*b, 2);
  b->OnSuccess(Admission::kAllowed);
  FailN(*b, 2);
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->consecutive_failures(), 2);
}

TEST(CircuitBreakerTest, AHardFailureOpensAtOnce) {
  SimulatedClock clock;
  auto b = Make(clock);
  FailN(*b, 1, FailureKind::kHard);
  EXPECT_EQ(b->state(), BreakerState::kOpen);
}

TEST(CircuitBreakerTest, ExactlyOneProbeAfterTheOpenPeriodAndSuccessCloses) {
  SimulatedClock clock;
  auto b = Make(clock);
  std::vector<BreakerTransition> seen;
  b->SetListener([&](const BreakerTransition& t) { seen.push_back(t); });
  FailN(*b, 3);
  ASSERT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_EQ(b->RemainingOpen(), seconds(1));
  clock.Advance(milliseconds(999));
  EXPECT_EQ(b->Admit(), Admission::kRejected);
  clock.Advance(milliseconds(1));
  EXPECT_EQ(b->Admit(), Admission::kProbe);
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(b->Admit(), Admission::kRejected);
  b->OnSuccess(Admission::kProbe);
  EXPECT_EQ(b->state(), BreakerState::kClosed);
  EXPECT_EQ(b->Admit(), Admission::kAllowed);

  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].from, BreakerState::kClosed);
  EXPECT_EQ(seen[0].to, BreakerState::kOpen);
  EXPECT_EQ(seen[0].open_for, seconds(1));
  EXPECT_EQ(seen[0].consecutive_opens, 1);
  EXPECT_EQ(seen[1].to, BreakerState::kHalfOpen);
  EXPECT_EQ(seen[2].from, BreakerState::kHalfOpen);
  EXPECT_EQ(seen[2].to, BreakerState::kClosed);
  EXPECT_EQ(b->transitions(), 3);
}

TEST(CircuitBreakerTest, ProbeFailureReopensForLongerUpToTheCap) {
  SimulatedClock clock;
  auto b = Make(clock);
  std::vector<Clock::Duration> periods;
  b->SetListener([&](const BreakerTransition& t) {
    if (t.to == BreakerState::kOpen) periods.push_back(t.open_for);
  });
  FailN(*b, 3);
  for (int i = 0; i < 9; ++i) {
    clock.Advance(b->RemainingOpen());
    ASSERT_EQ(b->Admit(), Admission::kProbe) << i;
    b->OnFailure(Admission::kProbe, FailureKind::kOrgWide);
    ASSERT_EQ(b->state(), BreakerState::kOpen);
  }
  const std::vector<Clock::Duration> want = {seconds(1),  seconds(2),  seconds(4),  seconds(8),
                                             seconds(16), seconds(32), seconds(60), seconds(60),
                                             seconds(60), seconds(60)};
  EXPECT_EQ(periods, want);
  // A successful probe resets the growth.
  clock.Advance(b->RemainingOpen());
  ASSERT_EQ(b->Admit(), Admission::kProbe);
  b->OnSuccess(Admission::kProbe);
  FailN(*b, 1, FailureKind::kHard);
  EXPECT_EQ(periods.back(), seconds(1));
}

TEST(CircuitBreakerTest, OpenPeriodJitterStaysInItsBand) {
  SimulatedClock clock;
  auto b = Make(clock, {}, SeededUniform(77));
  std::vector<Clock::Duration> periods;
  b->SetListener([&](const BreakerTransition& t) {
    if (t.to == BreakerState::kOpen) periods.push_back(t.open_for);
  });
  FailN(*b, 3);
  for (int i = 0; i < 6; ++i) {
    clock.Advance(b->RemainingOpen());
    ASSERT_EQ(b->Admit(), Admission::kProbe);
    b->OnFailure(Admission::kProbe, FailureKind::kOrgWide);
  }
  ASSERT_EQ(periods.size(), 7u);
  for (size_t i = 0; i < periods.size(); ++i) {
    const Clock::Duration base = seconds(1) * (1 << i);
    EXPECT_GE(periods[i], base / 2) << i;
    EXPECT_LE(periods[i], base) << i;
  }
}

TEST(CircuitBreakerTest, OutcomesOfRequestsSentBeforeOpeningAreIgnored) {
  SimulatedClock clock;
  auto b = Make(clock);
  FailN(*b, 3);
  // Stragglers from before the opening, success or failure: no change.
  b->OnSuccess(Admission::kAllowed);
  FailN(*b, 5);
  EXPECT_EQ(b->state(), BreakerState::kOpen);
  EXPECT_EQ(b->transitions(), 1);
  clock.Advance(seconds(1));
  ASSERT_EQ(b->Admit(), Admission::kProbe);
  b->OnSuccess(Admission::kAllowed);  // Not the probe.
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
  b->OnFailure(Admission::kAllowed, FailureKind::kHard);
  EXPECT_EQ(b->state(), BreakerState::kHalfOpen);
}

TEST(CircuitBreakerTest, ACancelledProbeCanBeRetaken) {
  SimulatedClock clock;
  auto b = Make(clock);
  FailN(*b, 3);
  clock.Advance(seconds(1));
  ASSERT_EQ(b->Admit(), Admission::kProbe);
  EXPECT_EQ(b->Admit(), Admission::kRejected);
  b->CancelProbe();
  EXPECT_EQ(b->Admit(), Admission::kProbe);
  EXPECT_EQ(b->Admit(), Admission::kRejected);
}

TEST(CircuitBreakerTest, TheListenerMayCallBackIn) {
  SimulatedClock clock;
  auto b = Make(clock);
  std::vector<BreakerState> states;
  b->SetListener([&](const BreakerTransition&) { states.push_back(b->state()); });
  FailN(*b, 3);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0], BreakerState::kOpen);
}

TEST(CircuitBreakerTest, ManyThreadsGetExactlyOneProbe) {
  SimulatedClock clock;
  auto b = Make(clock);
  FailN(*b, 3);
  clock.Advance(seconds(1));
  std::atomic<int> probes{0};
  std::atomic<int> allowed{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 1000; ++i) {
        Admission a = b->Admit();
        if (a == Admission::kProbe) ++probes;
        if (a == Admission::kAllowed) ++allowed;
      }
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(probes.load(), 1);
  EXPECT_EQ(allowed.load(), 0);
}

TEST(CircuitBreakerTest, StateNames) {
  EXPECT_EQ(BreakerStateName(BreakerState::kClosed), "closed");
  EXPECT_EQ(BreakerStateName(BreakerState::kOpen), "open");
  EXPECT_EQ(BreakerStateName(BreakerState::kHalfOpen), "half_open");
}

TEST(CircuitBreakerTest, HostileOptionsAreRejectedWithTheFieldNamed) {
  SimulatedClock clock;
  struct Case {
    const char* field;
    void (*mutate)(CircuitBreakerOptions&);
  };
  const Case cases[] = {
      {"failure_threshold", [](CircuitBreakerOptions& o) { o.failure_threshold = 0; }},
      {"failure_threshold", [](CircuitBreakerOptions& o) { o.failure_threshold = -1; }},
      {"open_initial", [](CircuitBreakerOptions& o) { o.open_initial = seconds(0); }},
      {"open_multiplier", [](CircuitBreakerOptions& o) { o.open_multiplier = std::nan(""); }},
      {"open_multiplier", [](CircuitBreakerOptions& o) { o.open_multiplier = 0.9; }},
      {"open_cap", [](CircuitBreakerOptions& o) { o.open_cap = milliseconds(10); }},
      {"open_cap", [](CircuitBreakerOptions& o) { o.open_cap = Clock::Duration::max(); }},
      {"open_jitter", [](CircuitBreakerOptions& o) { o.open_jitter = 1.5; }},
      {"open_jitter", [](CircuitBreakerOptions& o) { o.open_jitter = -0.1; }},
      {"open_jitter", [](CircuitBreakerOptions& o) { o.open_jitter = std::nan(""); }},
  };
  for (const Case& c : cases) {
    CircuitBreakerOptions o;
    c.mutate(o);
    Status s = o.Validate();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
    EXPECT_FALSE(CircuitBreaker::Create(o, clock, Zero()).ok());
  }
  EXPECT_FALSE(CircuitBreaker::Create({}, clock, UniformSource()).ok());
}

}  // namespace
}  // namespace sluice::flow

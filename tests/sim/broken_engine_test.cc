// The checker must be able to fail: real engines, broken from the outside through their parts
// (nothing in libs/relay changes), and the invariant each break must trip. Each case also runs the
// same scenario unbroken, where that invariant stays quiet.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <utility>

#include "checker.h"
#include "driver.h"
#include "scenario.h"

namespace sluice::sim {
namespace {

using std::chrono::milliseconds;

// Forwards everything to the consumer it wraps. Thread-safety: as the wrapped consumer.
class ForwardingConsumer : public kafka::Consumer {
 public:
  explicit ForwardingConsumer(std::unique_ptr<kafka::Consumer> inner) : inner_(std::move(inner)) {}
  Status Subscribe(const std::vector<std::string>& t) override { return inner_->Subscribe(t); }
  Status Unsubscribe() override { return inner_->Unsubscribe(); }
  Result<std::vector<kafka::Message>> Poll(size_t max, milliseconds timeout) override {
    return inner_->Poll(max, timeout);
  }
  Status StoreOffset(std::string_view topic, int32_t partition, int64_t next) override {
    return inner_->StoreOffset(topic, partition, next);
  }
  Status StoreOffsets(const std::vector<kafka::PartitionOffset>& o) override {
    return inner_->StoreOffsets(o);
  }
  Status Commit(bool sync) override { return inner_->Commit(sync); }
  Status CommitOffsets(const std::vector<kafka::PartitionOffset>& o, bool sync) override {
    return inner_->CommitOffsets(o, sync);
  }
  Result<std::vector<kafka::PartitionOffset>> Committed(const std::vector<kafka::TopicPartition>& p,
                                                        milliseconds timeout) override {
    return inner_->Committed(p, timeout);
  }
  Status Pause(const std::vector<kafka::TopicPartition>& p) override { return inner_->Pause(p); }
  Status Resume(const std::vector<kafka::TopicPartition>& p) override { return inner_->Resume(p); }
  Result<std::vector<kafka::TopicPartition>> Assignment() override { return inner_->Assignment(); }
  Result<kafka::GroupMetadata> CurrentGroupMetadata() override {
    return inner_->CurrentGroupMetadata();
  }
  std::string MemberId() override { return inner_->MemberId(); }
  Status Close() override { return inner_->Close(); }

 protected:
  std::unique_ptr<kafka::Consumer> inner_;
};

// Commits the end of what it has handed out instead of what the engine asks: past unresolved
// offsets.
class CommitPastConsumer final : public ForwardingConsumer {
 public:
  using ForwardingConsumer::ForwardingConsumer;
  Result<std::vector<kafka::Message>> Poll(size_t max, milliseconds timeout) override {
    auto got = inner_->Poll(max, timeout);
    if (got.ok()) {
      for (const auto& m : *got) {
        auto& end = fetched_[{m.topic, m.partition}];
        end = std::max(end, m.offset + 1);
      }
    }
    return got;
  }
  Status CommitOffsets(const std::vector<kafka::PartitionOffset>& offsets, bool sync) override {
    auto past = offsets;
    for (auto& o : past) o.offset = std::max(o.offset, fetched_[{o.topic, o.partition}]);
    return inner_->CommitOffsets(past, sync);
  }
  Status StoreOffsets(const std::vector<kafka::PartitionOffset>& offsets) override {
    auto past = offsets;
    for (auto& o : past) o.offset = std::max(o.offset, fetched_[{o.topic, o.partition}]);
    return inner_->StoreOffsets(past);
  }
  Status StoreOffset(std::string_view topic, int32_t partition, int64_t next) override {
    return StoreOffsets({{std::string(topic), partition, next}});
  }

 private:
  std::map<std::pair<std::string, int32_t>, int64_t> fetched_;
};

// Hands records out without their keys, so the engine no longer serialises per key.
class KeylessConsumer final : public ForwardingConsumer {
 public:
  using ForwardingConsumer::ForwardingConsumer;
  Result<std::vector<kafka::Message>> Poll(size_t max, milliseconds timeout) override {
    auto got = inner_->Poll(max, timeout);
    if (got.ok()) {
      for (auto& m : *got) {
        m.key.clear();
        m.key_is_null = true;
      }
    }
    return got;
  }
};

// Turns an org-wide failure (a 503) into a per-record permanent error.
class OutageIsPoisonPort final : public relay::SalesforcePort {
 public:
  explicit OutageIsPoisonPort(std::unique_ptr<relay::SalesforcePort> inner)
      : inner_(std::move(inner)) {}
  void Write(const relay::WriteCall& call, std::span<const salesforce::RecordInput> records,
             WriteCallback done) override {
    inner_->Write(call, records, [done = std::move(done)](salesforce::WriteResult r) {
      if (r.request_error &&
          r.request_error->error_class == salesforce::ErrorClass::kRetryableOrg) {
        salesforce::SfError e = *r.request_error;
        e.error_class = salesforce::ErrorClass::kPermanent;
        r.request_error.reset();
        for (auto& rec : r.records) {
          rec.success = false;
          rec.error = e;
          rec.errors = {e};
        }
      }
      done(std::move(r));
    });
  }
  void GetLimits(LimitsCallback done) override { inner_->GetLimits(std::move(done)); }
  void Authenticate(AuthCallback done) override { inner_->Authenticate(std::move(done)); }

 private:
  std::unique_ptr<relay::SalesforcePort> inner_;
};

// A fault-free scenario of seed `seed` reshaped: one relay, several calls in flight.
Scenario OneRelay(uint64_t seed) {
  ScenarioOptions so;
  so.faults = false;
  so.min_events = 150;
  so.max_events = 250;
  Scenario s = MakeScenario(seed, so);
  s.slots = 1;
  s.actions = {{Action::Kind::kStart, TimePoint{}, 0, true}};
  s.options.max_in_flight = 6;
  s.options.max_records = 5;
  s.options.requests_per_second = 60;
  s.options.records_per_second = 2000;
  s.options.kafka.commit_interval = milliseconds(200);
  s.options.idempotency.enabled = true;
  s.org.latency_min = milliseconds(5);
  s.org.latency_max = milliseconds(150);
  return s;
}

template <typename Wrapper>
DriverOptions WrapConsumer() {
  DriverOptions o;
  o.decorate = [](int, Owner, relay::RelayParts& parts) {
    auto inner = std::move(parts.make_consumer);
    parts.make_consumer =
        [inner](kafka::RebalanceListener* listener) -> Result<std::unique_ptr<kafka::Consumer>> {
      auto c = inner(listener);
      if (!c.ok()) return c.status();
      return std::unique_ptr<kafka::Consumer>(std::make_unique<Wrapper>(std::move(*c)));
    };
  };
  return o;
}

std::vector<Violation> RunAndCheck(const Scenario& s, const DriverOptions& o = {}) {
  return Check(RunScenario(s, o).facts);
}

TEST(BrokenEngineTest, CommitPastUnresolvedOffsets) {
  const Scenario s = OneRelay(101);
  EXPECT_FALSE(Fired(RunAndCheck(s), kCommitResolved)) << s.summary;
  const auto v = RunAndCheck(s, WrapConsumer<CommitPastConsumer>());
  EXPECT_TRUE(Fired(v, kCommitResolved)) << s.summary << "\n" << Describe(v);
}

TEST(BrokenEngineTest, KeysStrippedBreakPerKeyOrder) {
  Scenario s = OneRelay(102);
  s.options.max_records = 1;
  s.options.max_in_flight = 8;
  s.options.requests_per_second = 200;
  EXPECT_FALSE(Fired(RunAndCheck(s), kKeyOrder)) << s.summary;
  const auto v = RunAndCheck(s, WrapConsumer<KeylessConsumer>());
  EXPECT_TRUE(Fired(v, kKeyOrder)) << s.summary << "\n" << Describe(v);
}

TEST(BrokenEngineTest, OutageTurnedIntoPoison) {
  Scenario s = OneRelay(103);
  s.org.unavailable = {{TimePoint(milliseconds(300)), TimePoint(milliseconds(2500))}};
  s.faults_end = TimePoint(milliseconds(2500));
  EXPECT_FALSE(Fired(RunAndCheck(s), kOutageNotPoison)) << s.summary;
  DriverOptions o;
  o.decorate = [](int, Owner, relay::RelayParts& parts) {
    parts.salesforce = std::make_unique<OutageIsPoisonPort>(std::move(parts.salesforce));
  };
  const auto v = RunAndCheck(s, o);
  EXPECT_TRUE(Fired(v, kOutageNotPoison)) << s.summary << "\n" << Describe(v);
}

TEST(BrokenEngineTest, StoreThatForgetsPlusACrashWritesTwice) {
  Scenario s = OneRelay(104);
  s.options.requests_per_second = 20;
  s.options.kafka.commit_interval = milliseconds(1000);
  s.actions.push_back({Action::Kind::kCrash, TimePoint(milliseconds(1500)), 0, true});
  s.actions.push_back({Action::Kind::kStart, TimePoint(milliseconds(2000)), 0, true});
  s.faults_end = TimePoint(milliseconds(2000));
  EXPECT_FALSE(Fired(RunAndCheck(s), kNoDuplicateWrites)) << s.summary;
  s.store.forget_records = true;
  const auto v = RunAndCheck(s);
  EXPECT_TRUE(Fired(v, kNoDuplicateWrites)) << s.summary << "\n" << Describe(v);
}

// The relay's parent check taken away from the outside: the same scenario with the relay not told
// about the org's parent locks (delivery.lock_fields empty), held to the invariant as if it were.
TEST(BrokenEngineTest, NoParentCheckPutsOneParentInTwoCalls) {
  Scenario s;
  for (uint64_t seed = 105; s.options.lock_fields.empty(); ++seed) s = OneRelay(seed);
  const RunResult good = RunScenario(s);
  EXPECT_TRUE(Check(good.facts).empty()) << s.summary << "\n" << Describe(Check(good.facts));
  EXPECT_EQ(good.facts.parent_lock_errors, 0u) << s.summary;

  const auto lock_fields = s.options.lock_fields;
  s.options.lock_fields.clear();
  RunResult bad = RunScenario(s);
  EXPECT_GT(bad.facts.parent_lock_errors, 0u) << s.summary;
  bad.facts.limits.lock_fields = lock_fields;
  const auto v = Check(bad.facts);
  EXPECT_TRUE(Fired(v, kParentLocks)) << s.summary << "\n" << Describe(v);
}

}  // namespace
}  // namespace sluice::sim

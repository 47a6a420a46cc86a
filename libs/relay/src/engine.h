// Engine: the relay's loop. It owns the partition book and the flow parts, and wires intake, the
// send gate, result routing, the DLQ writer and offset commits together on one thread. Everything
// it touches outside itself comes in through RelayParts (parts.h).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dlq_writer.h"
#include "event_loop.h"
#include "intake.h"
#include "parent_batcher.h"
#include "partition_book.h"
#include "relay_metrics.h"
#include "send_gate.h"
#include "sluice/flow/backoff.h"
#include "sluice/flow/batcher.h"
#include "sluice/flow/key_scheduler.h"
#include "sluice/flow/offset_tracker.h"
#include "sluice/relay/options.h"
#include "sluice/relay/parts.h"
#include "sluice/relay/relay.h"

namespace spdlog {
class logger;
}

namespace sluice::relay {

// Thread-safety: as Relay (relay.h): the loop from one thread; health(), RenderMetrics(),
// assigned_topics() and ReportLag() from any.
class Engine final : public kafka::RebalanceListener {
 public:
  static Result<std::unique_ptr<Engine>> Create(const RelayOptions& options, RelayParts parts);
  ~Engine() override;

  Status Start();
  Status Step(Clock::Duration max_wait);
  Status Finish();
  Clock::TimePoint NextWake() const;

  RelayHealth health() const;
  std::string RenderMetrics() const;
  std::vector<std::string> assigned_topics() const;
  void ReportLag(const std::string& topic, const std::vector<kafka::PartitionLag>& lag);

  // kafka::RebalanceListener (called inside the consumer's Poll on the engine thread).
  void OnAssigned(kafka::Consumer& consumer,
                  const std::vector<kafka::TopicPartition>& partitions) override;
  void OnRevoked(kafka::Consumer& consumer,
                 const std::vector<kafka::TopicPartition>& partitions) override;

 private:
  Engine(const RelayOptions& options, RelayParts parts);
  Status Init();

  // Sending.
  void Dispatch(Clock::TimePoint now);
  // Hands a ready event to the batcher, or to the parent batcher when its sObject has a lock field.
  void AddToBatcher(EventRecord& e, Clock::TimePoint now);
  // `parents`: the parent values the call holds (lock_fields), given back when it ends.
  void Send(const Route& route, std::vector<uint64_t> items, flow::Admission admission,
            std::vector<std::string> parents);
  void OnWriteResult(const std::vector<uint64_t>& seqs, flow::Admission admission,
                     const salesforce::WriteResult& result, Clock::TimePoint sent_at);
  // Events not yet sent, in either batcher, in one size.
  size_t BatchedReady() const { return batcher_->pending() + parents_->ready(); }
  void CountParentWaits();
  void Requeue(EventRecord& e, Clock::TimePoint now);
  // Its partition is being revoked (or was): it is not to be sent again here.
  bool Leaving(const EventRecord& e);
  // Resolution.
  // Records resolutions (delivered, dead-lettered) durably, then resolves their events.
  void RecordResolved(std::vector<uint64_t> seqs, std::vector<StoreEntry> entries);
  static StoreEntry MakeStoreEntry(const EventRecord& e, idempotency::Outcome outcome,
                                   std::string salesforce_id) {
    idempotency::Entry entry;
    entry.event_id = e.event.event_id;
    entry.outcome = outcome;
    entry.salesforce_id = std::move(salesforce_id);
    return StoreEntry{std::move(entry), {e.msg.topic, e.msg.partition}};
  }
  void DeadLetter(EventRecord& e, const std::string& error_class, const std::string& code,
                  const std::string& message);
  void OnDeadLettered(EventRecord& e, const envelope::DlqInfo& info);
  void Resolve(EventRecord& e);
  void Drop(EventRecord& e);  // an abandoned event leaves the book unresolved
  // Housekeeping.
  void MaybeCommit(bool force, const std::set<flow::PartitionId>* only = nullptr);
  void UpdatePause();
  // Why sending is held for the whole relay (both the pause and readiness follow it), or "".
  std::string_view HeldReason() const;
  std::string_view PauseReason() const;
  void ProbeBudget();
  void Authenticate();
  void RecomputeShare();
  // After every assign and revoke: the topics the lag sampler asks about, and the partitions whose
  // lag is exported.
  void PublishAssignment();
  void UpdateHealth();
  // Runs completions until nothing of `only` (every partition when null) is in progress — or, with
  // calls_only, in a Salesforce call — or until `deadline`; true when idle.
  bool WaitIdle(Clock::TimePoint deadline, const std::set<flow::PartitionId>* only,
                bool calls_only = false);
  // Authenticates again after auth_retry_, which doubles (up to 30 s) until a call is answered.
  void RetryAuthLater();
  int64_t NowMillis() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch())
        .count();
  }

  const RelayOptions options_;
  RelayParts parts_;
  Clock& clock_;
  std::shared_ptr<spdlog::logger> log_;
  RelayMetrics metrics_;
  std::unique_ptr<Waiter> own_waiter_;
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<kafka::Consumer> consumer_;

  PartitionBook book_;
  flow::OffsetTracker tracker_;
  std::unique_ptr<flow::KeyScheduler> scheduler_;
  std::unique_ptr<flow::Batcher<uint64_t, Route>> batcher_;
  // Events of sObjects with a lock field (delivery.lock_fields), grouped by parent value.
  std::unique_ptr<ParentBatcher<uint64_t, Route>> parents_;
  uint64_t parent_waits_counted_ = 0;
  // Which batcher Dispatch asks first; alternates so neither starves the other.
  bool parents_first_ = false;
  std::unique_ptr<SendGate> gate_;
  std::unique_ptr<flow::Backoff> backoff_;
  std::unique_ptr<Intake> intake_;
  std::unique_ptr<DlqWriter> dlq_;

  // Why the relay must stop (a restore that failed), returned by the next Step.
  Status fatal_ = Status::Ok();
  bool started_ = false;
  bool finished_ = false;
  bool shutting_down_ = false;
  bool paused_ = false;  // the intent, applied to every assigned partition
  // Credentials refused (a token request or a write): sends wait until a token is had again.
  bool auth_refused_ = false;
  // A token was had, or a write answered: readiness needs it.
  bool has_token_ = false;
  bool auth_pending_ = false;
  Clock::Duration auth_retry_{std::chrono::seconds(1)};
  bool budget_probe_out_ = false;
  Hold last_hold_ = Hold::kNone;
  bool dispatch_blocked_ = false;
  bool feed_blocked_ = false;
  int64_t last_hold_records_ = 0;
  Clock::TimePoint last_commit_;
  std::map<std::string, int> topic_partitions_;

  // Read by other threads.
  mutable std::mutex health_mu_;
  RelayHealth health_;
  std::vector<std::string> assigned_topics_;
};

}  // namespace sluice::relay

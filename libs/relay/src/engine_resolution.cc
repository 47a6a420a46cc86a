// Engine: resolution — recording outcomes (delivered, dead-lettered) in the store and its
// changelog, dead-lettering, and resolving or dropping events in the book. The loop and sending
// are in engine.cc, partitions and health in engine_control.cc.
#include <spdlog/spdlog.h>

#include "engine.h"
#include "sluice/core/logging.h"
#include "sluice/envelope/dlq.h"

namespace sluice::relay {
namespace {

// A store write that failed is tried again after this long.
constexpr std::chrono::milliseconds kStoreRetryDelay{500};

}  // namespace

void Engine::RecordResolved(std::vector<uint64_t> seqs, std::vector<StoreEntry> entries) {
  if (!parts_.store) {
    for (uint64_t seq : seqs) {
      if (EventRecord* e = book_.Get(seq)) Resolve(*e);
    }
    return;
  }
  for (uint64_t seq : seqs) {
    if (EventRecord* e = book_.Get(seq)) book_.SetStage(*e, Stage::kStoring);
  }
  auto shared_seqs = std::make_shared<std::vector<uint64_t>>(std::move(seqs));
  auto shared_entries = std::make_shared<std::vector<StoreEntry>>(entries);
  parts_.store->Record(std::move(entries), [this, shared_seqs, shared_entries](const Status& s) {
    loop_->Post([this, shared_seqs, shared_entries, s] {
      if (!s.ok()) {
        // Resolved but not yet recorded: the offset must not pass it. Record again shortly.
        metrics_.store_errors->Increment();
        LogWith(*log_, spdlog::level::err,
                {{"event", "store_write_failed"},
                 {"error_code", StatusCodeName(s.code())},
                 {"error", s.message()},
                 {"count", shared_seqs->size()}},
                "idempotency store write failed ({}); retrying", s.ToString());
        loop_->PostAfter(kStoreRetryDelay, [this, shared_seqs, shared_entries] {
          RecordResolved(*shared_seqs, *shared_entries);
        });
        return;
      }
      for (uint64_t seq : *shared_seqs) {
        if (EventRecord* e = book_.Get(seq)) Resolve(*e);
      }
    });
  });
}

void Engine::DeadLetter(EventRecord& e, const std::string& error_class, const std::string& code,
                        const std::string& message) {
  if (e.abandoned) {
    Drop(e);
    return;
  }
  envelope::DlqInfo info;
  info.error_class = error_class;
  info.error_code = code;
  info.error_message = message;
  info.attempts = e.charged_attempts;
  info.first_attempt_ms = e.first_attempt_ms;
  info.last_attempt_ms = e.last_attempt_ms;
  info.source_topic = e.msg.topic;
  info.source_partition = e.msg.partition;
  info.source_offset = e.msg.offset;
  info.source_timestamp_ms = e.msg.timestamp_ms;
  info.relay_instance = options_.instance_id;
  LogWith(*log_, spdlog::level::debug,
          {{"event", "dead_lettering"},
           {"topic", e.msg.topic},
           {"partition", e.msg.partition},
           {"offset", e.msg.offset},
           {"error_class", error_class},
           {"error_code", code},
           {"attempts", e.charged_attempts}},
          "dead-lettering {}[{}]@{}: {}/{}", e.msg.topic, e.msg.partition, e.msg.offset,
          error_class, code);
  dlq_->Write(e, std::move(info));
}

void Engine::OnDeadLettered(EventRecord& e, const envelope::DlqInfo& info) {
  if (e.abandoned) {
    Drop(e);
    return;
  }
  metrics_.CountDeadLetter(info.source_topic, info.error_class, info.error_code);
  if (parts_.store && e.valid) {
    // Recorded (and written to the changelog) before its offset is committed, so that neither a
    // restart nor the partition's next owner dead-letters it twice.
    RecordResolved({e.seq}, {MakeStoreEntry(e, idempotency::Outcome::kDeadLettered, "")});
    return;
  }
  Resolve(e);
}

void Engine::Resolve(EventRecord& e) {
  // The outcome is durable (recorded, dead-lettered, or known to the store). An abandoned event's
  // partition is gone, so its offset is not ours to resolve, but its copies still share it.
  if (!e.abandoned) {
    Status s = tracker_.Resolve(e.pid, e.msg.offset);
    if (!s.ok() && s.code() != StatusCode::kNotFound) {
      LogWith(*log_, spdlog::level::warn,
              {{"event", "offset_resolve_failed"},
               {"topic", e.msg.topic},
               {"partition", e.msg.partition},
               {"offset", e.msg.offset},
               {"error_code", StatusCodeName(s.code())},
               {"error", s.message()}},
              "offset {}[{}]@{}: {}", e.msg.topic, e.msg.partition, e.msg.offset, s.ToString());
    }
  }
  if (e.in_scheduler) (void)scheduler_->Complete(e.sched_id);
  const std::vector<uint64_t> followers = book_.TakeFollowers(e);
  book_.Erase(e.seq);
  // Later copies of the same id share its outcome: skipped, as the store would skip them.
  for (uint64_t seq : followers) {
    if (EventRecord* f = book_.Get(seq)) {
      metrics_.skipped->Increment();
      Resolve(*f);
    }
  }
}

void Engine::Drop(EventRecord& e) {
  if (e.in_scheduler) (void)scheduler_->Complete(e.sched_id);
  const std::vector<uint64_t> followers = book_.TakeFollowers(e);
  book_.Erase(e.seq);
  // Copies that wait for it on a partition still ours go on without it: the first becomes the
  // leader, the rest follow it.
  EventRecord* leader = nullptr;
  for (uint64_t seq : followers) {
    EventRecord* f = book_.Get(seq);
    if (f == nullptr) continue;
    const PartitionState* ps = book_.Find(f->pid);
    if (f->abandoned || ps == nullptr || ps->revoking) {
      Drop(*f);
    } else if (leader != nullptr) {
      leader->followers.push_back(seq);
    } else {
      Rejected rejected;
      if (intake_->Admit(*f, &rejected)) {
        leader = f;
      } else {
        DeadLetter(*f, rejected.error_class, rejected.code, rejected.message);
      }
    }
  }
}

}  // namespace sluice::relay

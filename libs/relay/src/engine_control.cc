// Engine: partitions (assign, revoke, pause, commit), the share of the group's ceilings, the
// budget probe, authentication and health. The loop and delivery are in engine.cc.
#include <spdlog/spdlog.h>

#include <regex>

#include "engine.h"
#include "sluice/core/logging.h"

namespace sluice::relay {
namespace {

using Ms = std::chrono::milliseconds;
constexpr Clock::Duration kAuthRetryCap = std::chrono::seconds(30);

// "orders[0],orders[3]": the partitions of a rebalance, for a log field.
std::string PartitionList(const std::vector<kafka::TopicPartition>& parts) {
  std::string out;
  for (const auto& tp : parts) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}[{}]", tp.topic, tp.partition);
  }
  return out;
}

// "orders[0]@1200,orders[3]@88": the offsets of a commit (the next offset to read), for a field.
std::string OffsetList(const std::vector<kafka::PartitionOffset>& offsets) {
  std::string out;
  for (const auto& o : offsets) {
    if (!out.empty()) out += ',';
    out += fmt::format("{}[{}]@{}", o.topic, o.partition, o.offset);
  }
  return out;
}

}  // namespace

void Engine::OnAssigned(kafka::Consumer&, const std::vector<kafka::TopicPartition>& parts) {
  const int64_t now_ms = NowMillis();
  for (const auto& tp : parts) {
    PartitionState& ps = book_.Assign(tp, now_ms);
    ps.paused = paused_;
    dlq_->EnsureTopic(tp.topic);
  }
  LogWith(*log_, spdlog::level::info,
          {{"event", "assigned"},
           {"partitions", PartitionList(parts)},
           {"count", parts.size()},
           {"owned", book_.partitions().size()}},
          "assigned {} partitions (now {})", parts.size(), book_.partitions().size());
  if (parts_.store) {
    // What any instance recorded for them, before anything of them is consumed. An empty
    // assignment too: an instance that owns nothing may still keep standby copies.
    Status restored = parts_.store->Restore(parts);
    if (!restored.ok()) {
      LogWith(*log_, spdlog::level::critical,
              {{"event", "restore_failed"}, {"partitions", PartitionList(parts)}},
              "restoring the delivered-set of the assigned partitions failed: {}",
              restored.ToString());
      fatal_ = restored.WithContext("restore");
      (void)consumer_->Pause(parts);
      return;
    }
  }
  if (!parts.empty()) {
    // Set the state the engine intends on every partition that arrives, resumed ones included:
    // librdkafka keeps a partition's pause flag across a revoke and a re-assign (issue #1849), so
    // a partition paused before a rebalance would otherwise come back paused and never be read.
    Status s = paused_ ? consumer_->Pause(parts) : consumer_->Resume(parts);
    if (!s.ok()) {
      LogWith(*log_, spdlog::level::warn,
              {{"event", "pause_state_failed"},
               {"partitions", PartitionList(parts)},
               {"error_code", StatusCodeName(s.code())},
               {"error", s.message()}},
              "setting the pause state of assigned partitions: {}", s.ToString());
    }
  }
  RecomputeShare();
  PublishAssignment();
}

void Engine::OnRevoked(kafka::Consumer&, const std::vector<kafka::TopicPartition>& parts) {
  std::set<flow::PartitionId> revoked;
  for (const auto& tp : parts) {
    if (PartitionState* ps = book_.Find(tp)) {
      ps->revoking = true;
      revoked.insert(ps->id);
    }
  }
  if (revoked.empty()) return;
  // Not yet sent (in the batcher): give them back.
  const auto now = clock_.Now();
  for (auto& batch : batcher_->TakeAll()) {
    for (uint64_t seq : batch.items) {
      EventRecord* e = book_.Get(seq);
      if (e == nullptr) continue;
      if (revoked.count(e->pid) > 0) {
        Drop(*e);
      } else {
        batcher_->Add(batch.key, seq, now);
      }
    }
  }
  for (auto& p : parents_->TakeAll()) {
    EventRecord* e = book_.Get(p.item);
    if (e == nullptr) continue;
    if (revoked.count(e->pid) > 0) {
      Drop(*e);
    } else {
      parents_->Add(p.key, std::move(p.parent), p.item, now);
    }
  }
  // Queued in the scheduler: drop.
  for (flow::PartitionId pid : revoked) {
    for (const auto& d : scheduler_->Drop(pid)) {
      if (d.in_flight) continue;  // reported later by its Salesforce call
      if (EventRecord* e = book_.Get(d.payload)) {
        e->in_scheduler = false;
        Drop(*e);
      }
    }
  }
  // Salesforce calls of the revoked partitions are waited for until they end, however long the
  // revoke deadline: abandoned, a call could land after the new owner's write of the same key and
  // put an older value over a newer one. Their end is bounded: the HTTP client gives a call up
  // after request_timeout (twice, with a token refresh between).
  const auto start = clock_.Now();
  WaitIdle(start + 2 * options_.salesforce.client.request_timeout + std::chrono::seconds(1),
           &revoked,
           /*calls_only=*/true);
  // The rest in progress (DLQ acks, store writes) within the revoke deadline.
  const bool idle = WaitIdle(std::max(clock_.Now(), start + options_.revoke_deadline), &revoked);
  MaybeCommit(true, &revoked);
  size_t abandoned = 0;
  book_.ForEach([&](EventRecord& e) {
    if (revoked.count(e.pid) > 0) {
      e.abandoned = true;
      ++abandoned;
    }
  });
  for (flow::PartitionId pid : revoked) {
    tracker_.Reset(pid);
    book_.Unassign(pid);
  }
  if (parts_.store) parts_.store->Released(parts);
  LogWith(*log_, spdlog::level::info,
          {{"event", "revoked"},
           {"partitions", PartitionList(parts)},
           {"count", parts.size()},
           {"owned", book_.partitions().size()},
           {"abandoned", abandoned}},
          "revoked {} partitions (now {}){}", parts.size(), book_.partitions().size(),
          idle
              ? std::string()
              : fmt::format("; {} events still in progress were abandoned uncommitted", abandoned));
  RecomputeShare();
  PublishAssignment();
}

void Engine::PublishAssignment() {
  std::set<std::pair<std::string, int32_t>> owned;
  std::vector<std::string> topics;
  for (const auto& [tp, ps] : book_.partitions()) {
    owned.emplace(tp.topic, tp.partition);
    if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
  }
  // Lag is exported for owned partitions only: every instance samples whole topics, and a sum
  // over instances must count each partition once.
  metrics_.SetOwnedPartitions(std::move(owned));
  std::lock_guard lock(health_mu_);
  assigned_topics_ = std::move(topics);
}

void Engine::MaybeCommit(bool force, const std::set<flow::PartitionId>* only) {
  const auto now = clock_.Now();
  if (!force && now - last_commit_ < options_.kafka.commit_interval) return;
  last_commit_ = now;
  std::vector<kafka::PartitionOffset> offsets;
  std::vector<PartitionState*> states;
  for (auto& [tp, ps] : book_.partitions()) {
    if (only != nullptr && only->count(ps.id) == 0) continue;
    auto c = tracker_.Committable(ps.id);
    if (c && *c > ps.committed) {
      offsets.push_back(kafka::PartitionOffset{tp.topic, tp.partition, *c});
      states.push_back(&ps);
    }
  }
  if (offsets.empty()) return;
  Status s = consumer_->CommitOffsets(offsets, /*sync=*/force);
  if (!s.ok()) {
    LogWith(*log_, spdlog::level::warn,
            {{"event", "commit_failed"},
             {"offsets", OffsetList(offsets)},
             {"sync", force},
             {"error_code", StatusCodeName(s.code())},
             {"error", s.message()}},
            "offset commit failed: {}", s.ToString());
    return;
  }
  if (log_->should_log(spdlog::level::debug)) {
    LogWith(*log_, spdlog::level::debug,
            {{"event", "committed"}, {"offsets", OffsetList(offsets)}, {"sync", force}},
            "committed offsets of {} partitions", offsets.size());
  }
  for (size_t i = 0; i < offsets.size(); ++i) states[i]->committed = offsets[i].offset;
  metrics_.commits->Increment();
}

std::string_view Engine::HeldReason() const {
  if (shutting_down_) return "shutting down";
  if (auth_refused_) return "authentication failing";
  if (!gate_->budget_allows()) return "daily API budget reserve reached";
  return {};
}

std::string_view Engine::PauseReason() const {
  if (std::string_view held = HeldReason(); !held.empty()) return held;
  // Only while the breaker's open period runs: once it has passed, events must come in for the
  // half-open probe (with nothing buffered, a breaker that pauses consumption would never close).
  if (gate_->breaker_state() == flow::BreakerState::kOpen &&
      gate_->breaker().RemainingOpen() > Clock::Duration::zero()) {
    return "circuit open";
  }
  if (scheduler_->ShouldPause()) return "buffer full";
  return "";
}

void Engine::UpdatePause() {
  const std::string_view reason = PauseReason();
  const bool want = !reason.empty();
  // Applied per partition, so that every assigned partition is always in the intended state.
  std::vector<kafka::TopicPartition> change;
  for (const auto& [tp, ps] : book_.partitions()) {
    if (ps.paused != want) change.push_back(tp);
  }
  if (!change.empty()) {
    Status s = want ? consumer_->Pause(change) : consumer_->Resume(change);
    if (!s.ok()) {
      LogWith(*log_, spdlog::level::warn,
              {{"event", want ? "pause_failed" : "resume_failed"},
               {"count", change.size()},
               {"error_code", StatusCodeName(s.code())},
               {"error", s.message()}},
              "{} failed: {}", want ? "pause" : "resume", s.ToString());
      return;
    }
    const int64_t now_ms = NowMillis();
    for (const auto& tp : change) {
      PartitionState* ps = book_.Find(tp);
      ps->paused = want;
      if (!want) ps->last_progress_ms = now_ms;
    }
  }
  if (want == paused_) return;
  paused_ = want;
  metrics_.paused->Set(want ? 1 : 0);
  LogWith(*log_, spdlog::level::info,
          {{"event", want ? "paused" : "resumed"}, {"reason", want ? reason : "flowing"}},
          "consumption {} ({})", want ? "paused" : "resumed", want ? reason : "flowing");
}

void Engine::ProbeBudget() {
  if (budget_probe_out_ || !gate_->TryBudgetProbe()) return;
  budget_probe_out_ = true;
  metrics_.budget_probes->Increment();
  parts_.salesforce->GetLimits([this](salesforce::LimitsResult r) {
    loop_->Post([this, r = std::move(r)] {
      budget_probe_out_ = false;
      if (r.limit_info) {
        gate_->OnLimits(r.limit_info->api_used, r.limit_info->api_max);
      } else if (auto it = r.limits.find("DailyApiRequests"); it != r.limits.end()) {
        gate_->OnLimits(it->second.max - it->second.remaining, it->second.max);
      }
      const bool allows = gate_->budget_allows();
      LogWith(*log_, spdlog::level::info, {{"event", "budget_probe"}, {"budget_allows", allows}},
              "budget probe: {}", allows ? "allocation available again" : "still at the reserve");
    });
  });
}

void Engine::Authenticate() {
  if (auth_pending_) return;
  auth_pending_ = true;
  parts_.salesforce->Authenticate([this](Status s) {
    loop_->Post([this, s] {
      auth_pending_ = false;
      if (s.ok()) {
        if (auth_refused_) {
          LogWith(*log_, spdlog::level::info, {{"event", "auth_recovered"}},
                  "authenticated with Salesforce again");
        }
        auth_refused_ = false;
        has_token_ = true;
        return;
      }
      metrics_.auth_failures->Increment();
      // Refused credentials hold every send until a token is had. A token endpoint that is down
      // or unreachable is the org's outage: calls go on (each fetches a token), fail org-wide and
      // open the breaker as any outage does.
      if (s.code() == StatusCode::kUnauthenticated || s.code() == StatusCode::kPermissionDenied) {
        auth_refused_ = true;
      }
      const int64_t retry_ms = std::chrono::duration_cast<Ms>(auth_retry_).count();
      LogWith(*log_, spdlog::level::warn,
              {{"event", "auth_failed"},
               {"error_code", StatusCodeName(s.code())},
               {"error", s.message()},
               {"refused", auth_refused_},
               {"retry_ms", retry_ms}},
              "no Salesforce token: {}; trying again in {} ms", s.ToString(), retry_ms);
      RetryAuthLater();
    });
  });
}

void Engine::RetryAuthLater() {
  loop_->PostAfter(auth_retry_, [this] { Authenticate(); });
  auth_retry_ = std::min<Clock::Duration>(auth_retry_ * 2, kAuthRetryCap);
}

void Engine::RecomputeShare() {
  const auto assigned = static_cast<int64_t>(book_.partitions().size());
  int64_t total = 0;
  std::set<std::string> counted;
  // Asked again on every rebalance, so a topic that grew counts its new partitions (adding
  // partitions to a subscribed topic triggers a rebalance). The last count stands in when the
  // broker cannot answer.
  auto count_topic = [&](const std::string& topic) {
    if (!counted.insert(topic).second) return;
    auto n = parts_.admin->PartitionCount(topic);
    if (n.ok()) topic_partitions_[topic] = *n;
    auto it = topic_partitions_.find(topic);
    if (it != topic_partitions_.end()) total += it->second;
  };
  for (const auto& t : options_.kafka.topics) {
    if (!t.empty() && t[0] == '^') {
      auto topics = parts_.admin->ListTopics();
      if (!topics.ok()) continue;
      try {
        std::regex re(t.substr(1));
        for (const auto& info : *topics) {
          if (std::regex_search(info.name, re) &&
              info.name.find(options_.dlq_suffix) == std::string::npos &&
              counted.insert(info.name).second) {
            topic_partitions_[info.name] = info.partitions;
            total += info.partitions;
          }
        }
      } catch (const std::regex_error&) {
      }
    } else {
      count_topic(t);
    }
  }
  for (const auto& [tp, ps] : book_.partitions()) count_topic(tp.topic);
  if (assigned == 0 || total < assigned) total = std::max<int64_t>(assigned, 1);
  gate_->ApplyShare(assigned, total);
  LogWith(*log_, spdlog::level::info,
          {{"event", "share"},
           {"assigned", assigned},
           {"total", total},
           {"request_rate", gate_->request_rate()},
           {"record_rate", gate_->record_rate()},
           {"in_flight_limit", gate_->concurrency_limit()}},
          "share: {}/{} partitions -> {:.1f} requests/s, {:.0f} records/s, {} in flight", assigned,
          total, gate_->request_rate(), gate_->record_rate(), gate_->concurrency_limit());
}

void Engine::ReportLag(const std::string& topic, const std::vector<kafka::PartitionLag>& lag) {
  metrics_.SetLag(topic, lag);
}

void Engine::UpdateHealth() {
  const int64_t now_ms = NowMillis();
  int64_t stalled = 0;
  std::string stalled_name;
  for (const auto& [tp, ps] : book_.partitions()) {
    if (ps.paused || now_ms - ps.last_progress_ms <= options_.stall_after.count()) continue;
    auto lag = metrics_.Lag(tp.topic, tp.partition);
    if (!lag || *lag <= 0) continue;
    if (++stalled == 1) stalled_name = fmt::format("{}[{}]", tp.topic, tp.partition);
  }
  metrics_.stalled_partitions->Set(static_cast<double>(stalled));
  std::string reason;
  if (!started_) {
    reason = "starting";
  } else if (std::string_view held = HeldReason(); !held.empty()) {
    reason = held;
  } else if (!has_token_) {
    reason = "no Salesforce token yet";
  } else if (gate_->breaker_state() != flow::BreakerState::kClosed) {
    reason = "circuit not closed";
  } else if (stalled > 0) {
    reason =
        fmt::format("{} partition(s) assigned but not consumed, e.g. {}", stalled, stalled_name);
  }
  metrics_.ready->Set(reason.empty() ? 1 : 0);
  std::lock_guard lock(health_mu_);
  health_.last_loop_ms = now_ms;
  health_.ready = reason.empty();
  health_.reason = std::move(reason);
}

RelayHealth Engine::health() const {
  std::lock_guard lock(health_mu_);
  return health_;
}

std::string Engine::RenderMetrics() const { return metrics_.registry->RenderPrometheus(); }

std::vector<std::string> Engine::assigned_topics() const {
  std::lock_guard lock(health_mu_);
  return assigned_topics_;
}

}  // namespace sluice::relay

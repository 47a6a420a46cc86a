#include "engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "result_router.h"
#include "sluice/core/logging.h"
#include "sluice/envelope/dlq.h"

namespace sluice::relay {
namespace {

using Ms = std::chrono::milliseconds;
using salesforce::ErrorClass;

constexpr Ms kMaxWait{100};

}  // namespace

Engine::Engine(const RelayOptions& options, RelayParts parts)
    : options_(options), parts_(std::move(parts)), clock_(*parts_.clock) {}

Engine::~Engine() {
  // The parts' threads finish (or drop) what is in flight, and their callbacks post to the loop,
  // so they stop while the loop still exists.
  parts_.salesforce.reset();
  parts_.store.reset();
  parts_.dlq.reset();
  parts_.parser.reset();
}

Result<std::unique_ptr<Engine>> Engine::Create(const RelayOptions& options, RelayParts parts) {
  RETURN_IF_ERROR(options.Validate());
  if (options.salesforce.event_id_field.empty()) {
    GetLogger("relay")->warn(
        "salesforce.event_id_field is empty and salesforce.accept_duplicates_on_crash is true: "
        "creates go out as plain creates, and a crash between Salesforce's answer and the store "
        "write creates those records a second time");
  }
  if (parts.clock == nullptr || !parts.make_consumer || !parts.dlq || !parts.admin ||
      !parts.salesforce) {
    return InvalidArgumentError(
        "relay parts: clock, make_consumer, dlq, admin and salesforce are required");
  }
  std::unique_ptr<Engine> engine(new Engine(options, std::move(parts)));
  RETURN_IF_ERROR(engine->Init());
  return engine;
}

Status Engine::Init() {
  log_ = GetLogger("relay");
  metrics_.registry = parts_.registry;
  RETURN_IF_ERROR(metrics_.Register());
  if (!parts_.waiter) own_waiter_ = std::make_unique<ConditionWaiter>();
  loop_ = std::make_unique<EventLoop>(clock_, parts_.waiter ? *parts_.waiter : *own_waiter_);
  ASSIGN_OR_RETURN(consumer_, parts_.make_consumer(this));

  ASSIGN_OR_RETURN(scheduler_, flow::KeyScheduler::Create(flow::KeySchedulerOptions{
                                   .max_buffered = options_.max_buffered_events}));
  ASSIGN_OR_RETURN(batcher_, (flow::Batcher<uint64_t, Route>::Create(flow::BatcherOptions{
                                 .max_records = options_.max_records, .linger = options_.linger})));
  parents_ =
      std::make_unique<ParentBatcher<uint64_t, Route>>(options_.max_records, options_.linger);
  SendGateOptions gate_options{.requests_per_second = options_.requests_per_second,
                               .records_per_second = options_.records_per_second,
                               .max_in_flight = options_.max_in_flight,
                               .max_records = options_.max_records,
                               .budget_reserve = options_.budget_reserve,
                               .budget_probe_interval = options_.budget_probe_interval,
                               .circuit = options_.circuit,
                               .pressure_ratio = options_.org_failure_ratio};
  ASSIGN_OR_RETURN(gate_, SendGate::Create(gate_options, clock_, flow::SeededUniform(parts_.seed)));
  ASSIGN_OR_RETURN(backoff_, flow::Backoff::Create(options_.retry,
                                                   flow::SeededUniform(parts_.seed ^ 0x9e3779b9)));
  gate_->breaker().SetListener([this](const flow::BreakerTransition& t) {
    // Runs on the engine thread: breaker calls are made there.
    const int64_t open_ms = std::chrono::duration_cast<Ms>(t.open_for).count();
    const bool opened = t.to == flow::BreakerState::kOpen;
    LogWith(*log_, spdlog::level::warn,
            {{"event", "circuit"},
             {"from", flow::BreakerStateName(t.from)},
             {"to", flow::BreakerStateName(t.to)},
             {"open_ms", opened ? open_ms : int64_t{0}},
             {"consecutive_opens", t.consecutive_opens}},
            "circuit {} -> {}{}", flow::BreakerStateName(t.from), flow::BreakerStateName(t.to),
            opened ? fmt::format(" for {} ms (opening #{})", open_ms, t.consecutive_opens)
                   : std::string());
    metrics_.circuit_transitions->Increment();
  });
  metrics_.BindFlow(&gate_->request_bucket(), &gate_->record_bucket(), &gate_->gate(),
                    &gate_->breaker(), &gate_->aimd());
  intake_ = std::make_unique<Intake>(options_, book_, tracker_, *scheduler_, parts_.store.get(),
                                     parts_.parser.get(), metrics_, log_);
  dlq_ = std::make_unique<DlqWriter>(
      options_, *parts_.dlq, *parts_.admin, book_, *loop_, log_,
      [this](EventRecord& e, const envelope::DlqInfo& info) { OnDeadLettered(e, info); });
  return Status::Ok();
}

// --- the loop -------------------------------------------------------------------------------

Status Engine::Start() {
  RETURN_IF_ERROR(consumer_->Subscribe(options_.kafka.topics));
  LogWith(*log_, spdlog::level::info,
          {{"event", "started"},
           {"group", options_.kafka.group_id},
           {"topics", fmt::format("{}", fmt::join(options_.kafka.topics, ","))}},
          "relay {} started: group {}, topics [{}]", options_.instance_id, options_.kafka.group_id,
          fmt::join(options_.kafka.topics, ", "));
  // A token up front, so that a credentials problem shows at start, not at the first event.
  Authenticate();
  last_commit_ = clock_.Now();
  started_ = true;
  UpdateHealth();
  return Status::Ok();
}

Status Engine::Step(Clock::Duration max_wait) {
  loop_->RunDue();
  const auto now = clock_.Now();
  Dispatch(now);
  MaybeCommit(false);
  if (!gate_->budget_allows()) ProbeBudget();
  UpdatePause();
  UpdateHealth();
  metrics_.buffered->Set(static_cast<double>(scheduler_->buffered()));
  metrics_.in_flight_calls->Set(static_cast<double>(gate_->in_flight()));
  metrics_.parents_in_flight->Set(static_cast<double>(parents_->held_parents()));

  // How long to wait: until the engine's own next deadline, at most max_wait. Rounded up, so a
  // deadline under a millisecond away is not a zero wait that spins the loop.
  // (NextWake is "now" when a completion is already posted.)
  Clock::Duration wait = std::min<Clock::Duration>(max_wait, NextWake() - clock_.Now());
  wait = std::max(wait, Clock::Duration::zero());
  if (paused_ && wait > Clock::Duration::zero()) {
    // Nothing will be fetched: wait where a completion wakes us, then serve the consumer's
    // callbacks (rebalances) without blocking.
    loop_->WaitAndRun(clock_.Now() + wait);
    wait = Clock::Duration::zero();
  } else if (gate_->in_flight() > 0 || book_.InProgress() > 0) {
    // A completion cannot interrupt the consumer's poll: look again soon.
    wait = std::min<Clock::Duration>(wait, Ms(5));
  }
  const Ms poll_wait = std::chrono::ceil<Ms>(wait);
  auto polled = consumer_->Poll(options_.kafka.poll_batch, poll_wait);
  if (!fatal_.ok()) return fatal_;  // nothing polled is taken
  if (!polled.ok()) {
    if (polled.status().code() == StatusCode::kFailedPrecondition) return polled.status();
    LogWith(*log_, spdlog::level::warn,
            {{"event", "poll_failed"},
             {"error_code", StatusCodeName(polled.status().code())},
             {"error", polled.status().message()}},
            "poll: {}", polled.status().ToString());
    return Status::Ok();
  }
  IntakeOutcome outcome;
  intake_->Take(*polled, NowMillis(), &outcome);
  for (const Rejected& r : outcome.dead_letters) {
    if (EventRecord* e = book_.Get(r.seq)) DeadLetter(*e, r.error_class, r.code, r.message);
  }
  for (uint64_t seq : outcome.skipped) {
    if (EventRecord* e = book_.Get(seq)) Resolve(*e);
  }
  return Status::Ok();
}

Clock::TimePoint Engine::NextWake() const {
  const auto now = clock_.Now();
  Clock::TimePoint wake = now + kMaxWait;
  auto consider = [&](std::optional<Clock::TimePoint> t) {
    if (t && *t < wake) wake = std::max(*t, now);
  };
  if (loop_->HasPosted()) return now;
  if (dispatch_blocked_) {
    // nothing of the batcher's can go before a completion
  } else if (last_hold_ == Hold::kNone) {
    consider(batcher_->NextDeadline());
    consider(parents_->NextDeadline());
  } else {
    consider(gate_->NextOpening(last_hold_, last_hold_records_));
  }
  if (!feed_blocked_) consider(scheduler_->NextHoldExpiry());
  consider(loop_->NextTimer());
  if (!gate_->budget_allows()) consider(gate_->NextBudgetProbe());
  consider(last_commit_ + options_.kafka.commit_interval);
  return wake;
}

Status Engine::Finish() {
  if (finished_) return Status::Ok();
  finished_ = true;
  LogWith(*log_, spdlog::level::info,
          {{"event", "shutting_down"},
           {"in_flight_calls", gate_->in_flight()},
           {"in_progress", book_.InProgress()}},
          "shutting down: {} calls, {} events in progress", gate_->in_flight(), book_.InProgress());
  shutting_down_ = true;
  UpdatePause();
  UpdateHealth();
  const bool idle = WaitIdle(clock_.Now() + options_.shutdown_deadline, nullptr);
  MaybeCommit(true);
  if (!idle) {
    LogWith(*log_, spdlog::level::warn,
            {{"event", "shutdown_abandoned"},
             {"in_flight_calls", gate_->in_flight()},
             {"in_progress", book_.InProgress()}},
            "shutdown deadline passed with {} calls and {} events in progress: abandoned "
            "uncommitted (they will be redelivered)",
            gate_->in_flight(), book_.InProgress());
  }
  Status closed = consumer_->Close();
  if (!closed.ok()) {
    LogWith(*log_, spdlog::level::warn,
            {{"event", "consumer_close_failed"},
             {"error_code", StatusCodeName(closed.code())},
             {"error", closed.message()}},
            "consumer close: {}", closed.ToString());
  }
  if (parts_.store) parts_.store->Close();
  parts_.dlq->Flush(Ms(5'000));
  LogWith(*log_, spdlog::level::info, {{"event", "stopped"}}, "relay stopped");
  return Status::Ok();
}

bool Engine::WaitIdle(Clock::TimePoint deadline, const std::set<flow::PartitionId>* only,
                      bool calls_only) {
  auto busy = [&] {
    if (only == nullptr) return book_.InProgress() > 0 || gate_->in_flight() > 0;
    for (flow::PartitionId pid : *only) {
      if ((calls_only ? book_.Sending(pid) : book_.InProgress(pid)) > 0) return true;
    }
    return false;
  };
  while (busy()) {
    const auto now = clock_.Now();
    if (now >= deadline) return false;
    loop_->WaitAndRun(std::min(deadline, now + Ms(5)));
  }
  return true;
}

// --- sending --------------------------------------------------------------------------------

void Engine::Dispatch(Clock::TimePoint now) {
  last_hold_ = Hold::kNone;
  // Held for a reason no timer of the batcher ends: a completion (the store's, the token's)
  // wakes the engine instead.
  dispatch_blocked_ = shutting_down_ || auth_refused_;
  if (dispatch_blocked_) {
    // Nothing is fed either, so an expired retry hold must not wake the engine (it spun there).
    feed_blocked_ = true;
    return;
  }
  // Feed the batcher with what the scheduler says is ready, but only about as much as the gates
  // could send soon: events taken here hold their key until sent.
  const size_t room = static_cast<size_t>(std::max<int64_t>(gate_->concurrency_limit(), 1)) *
                      options_.max_records * 2;
  if (BatchedReady() < room) {
    for (const auto& d : scheduler_->NextReady(now, room - BatchedReady())) {
      EventRecord* e = book_.Get(d.payload);
      if (e == nullptr) continue;
      e->dispatch = d;
      book_.SetStage(*e, Stage::kBatched);
      AddToBatcher(*e, now);
    }
  }
  // While the batchers are full, an expired retry hold waits for a send to make room. (Events
  // waiting for a busy parent do not count: the others still go.)
  feed_blocked_ = BatchedReady() >= room;
  // Delivered events whose store write has not committed yet: a crash re-sends them, so sending
  // stops while there are too many and the window stays bounded.
  const size_t unstored_cap =
      static_cast<size_t>(gate_->concurrency_limit()) * options_.max_records;
  while (true) {
    if (book_.Count(Stage::kStoring) >= unstored_cap) {
      dispatch_blocked_ = true;
      break;
    }
    flow::Admission admission = flow::Admission::kAllowed;
    // A due batch is taken only when a call can go now; until then it keeps filling, so scarce
    // calls are never spent on a few records while many wait.
    auto admit = [&](size_t size) {
      const auto n = static_cast<int64_t>(size);
      last_hold_ = gate_->Acquire(n, &admission);
      last_hold_records_ = n;
      return last_hold_ == Hold::kNone;
    };
    bool sent = false;
    for (int pass = 0; pass < 2 && !sent && last_hold_ == Hold::kNone; ++pass) {
      if ((pass == 0) == parents_first_) {
        if (auto t = parents_->TakeOldestDueIf(now, admit)) {
          CountParentWaits();
          Send(t->key, std::move(t->items), admission, std::move(t->parents));
          sent = true;
        }
      } else if (auto batch = batcher_->TakeOldestDueIf(
                     now, [&](const auto& b) { return admit(b.items.size()); })) {
        Send(batch->key, std::move(batch->items), admission, {});
        sent = true;
      }
    }
    if (!sent) break;
    parents_first_ = !parents_first_;
  }
}

void Engine::AddToBatcher(EventRecord& e, Clock::TimePoint now) {
  if (!options_.lock_fields.empty()) {
    if (auto it = options_.lock_fields.find(e.route.sobject);
        it != options_.lock_fields.end() && e.route.operation != Operation::kPublish) {
      parents_->Add(e.route, ParentValue(e.send_fields, it->second), e.seq, now);
      CountParentWaits();
      return;
    }
  }
  batcher_->Add(e.route, e.seq, now);
}

void Engine::CountParentWaits() {
  const uint64_t waits = parents_->parent_waits();
  if (waits > parent_waits_counted_) {
    metrics_.parent_lock_waits->Increment(waits - parent_waits_counted_);
    parent_waits_counted_ = waits;
  }
}

void Engine::Send(const Route& route, std::vector<uint64_t> items, flow::Admission admission,
                  std::vector<std::string> parents) {
  if (admission == flow::Admission::kProbe) {
    LogWith(*log_, spdlog::level::info, {{"event", "circuit_probe"}, {"count", items.size()}},
            "circuit half-open: sending one probe");
  }
  const int64_t wall = clock_.WallMillis();
  std::vector<salesforce::RecordInput> inputs;
  inputs.reserve(items.size());
  for (uint64_t seq : items) {
    EventRecord& e = *book_.Get(seq);
    if (e.first_attempt_ms < 0) e.first_attempt_ms = wall;
    e.last_attempt_ms = wall;
    book_.SetStage(e, Stage::kSending);
    inputs.push_back(salesforce::RecordInput{e.send_fields, e.send_external});
  }
  metrics_.requests_sent->Increment();
  const auto sent_at = clock_.Now();
  auto seqs = std::make_shared<std::vector<uint64_t>>(std::move(items));
  const WriteCall call{route.operation, route.sobject, route.external_id_field};
  parts_.salesforce->Write(call, inputs,
                           [this, seqs, admission, sent_at,
                            parents = std::move(parents)](salesforce::WriteResult r) mutable {
                             loop_->Post([this, seqs, admission, sent_at,
                                          parents = std::move(parents), r = std::move(r)] {
                               // The call's transaction is over: its parents' locks are free.
                               if (!parents.empty()) parents_->Release(parents);
                               OnWriteResult(*seqs, admission, r, sent_at);
                             });
                           });
}

bool Engine::Leaving(const EventRecord& e) {
  if (e.abandoned) return true;
  const PartitionState* ps = book_.Find(e.pid);
  return ps == nullptr || ps->revoking;
}

void Engine::Requeue(EventRecord& e, Clock::TimePoint now) {
  // The scheduler dropped a revoking partition's events: one coming back from a call leaves.
  if (Leaving(e)) {
    Drop(e);
    return;
  }
  (void)scheduler_->Requeue(e.sched_id, now);
  book_.SetStage(e, Stage::kQueued);
}

void Engine::OnWriteResult(const std::vector<uint64_t>& seqs, flow::Admission admission,
                           const salesforce::WriteResult& result, Clock::TimePoint sent_at) {
  gate_->Release();
  const auto now = clock_.Now();
  metrics_.call_latency->Record(
      static_cast<uint64_t>(std::chrono::duration_cast<Ms>(now - sent_at).count()));
  if (result.limit_info) gate_->OnLimits(result.limit_info->api_used, result.limit_info->api_max);
  metrics_.CountRequest(result.request_error ? result.request_error->error_class
                                             : ErrorClass::kNone);
  const CallVerdict verdict = ClassifyCall(result);
  if (verdict != CallVerdict::kAnswered) {
    const salesforce::SfError& err = *result.request_error;
    switch (verdict) {
      case CallVerdict::kOrgFailure:
        gate_->OnOrgFailure(admission);
        LogWith(*log_, spdlog::level::debug,
                {{"event", "org_failure"},
                 {"error_class", salesforce::ErrorClassName(err.error_class)},
                 {"error_code", err.code},
                 {"count", seqs.size()}},
                "org-wide failure {}: {}", err.code, err.message);
        break;
      case CallVerdict::kBudgetExhausted:
        if (!result.limit_info) gate_->MarkBudgetExhausted();
        gate_->OnAnswered(admission);  // the org answered; the budget guard pauses us
        LogWith(*log_, spdlog::level::warn,
                {{"event", "budget_exhausted"},
                 {"error_class", salesforce::ErrorClassName(err.error_class)},
                 {"error_code", err.code}},
                "daily API allocation exhausted ({}): pausing until it returns", err.message);
        break;
      default:  // kAuthFailure
        gate_->OnAuthFailure(admission);
        metrics_.auth_failures->Increment();
        LogWith(*log_, spdlog::level::err,
                {{"event", "auth_failed"},
                 {"error_class", salesforce::ErrorClassName(err.error_class)},
                 {"error_code", err.code}},
                "authentication failed after a token refresh: {} {}", err.code, err.message);
        if (!auth_refused_) {
          // Sends wait until a token is had again; the wait doubles while writes keep being
          // refused with a token that the token endpoint still hands out.
          auth_refused_ = true;
          RetryAuthLater();
        }
        break;
    }
    // Every record goes back to its key without an attempt charged.
    for (uint64_t seq : seqs) {
      if (EventRecord* e = book_.Get(seq)) Requeue(*e, now);
    }
    return;
  }
  gate_->OnAnswered(admission);
  auth_retry_ = std::chrono::seconds(1);
  has_token_ = true;

  std::vector<uint64_t> delivered;
  std::vector<StoreEntry> entries;
  for (size_t i = 0; i < seqs.size(); ++i) {
    EventRecord* e = book_.Get(seqs[i]);
    if (e == nullptr) continue;
    const salesforce::RecordResult* r = i < result.records.size() ? &result.records[i] : nullptr;
    if (e->abandoned) {
      Drop(*e);
      continue;
    }
    const bool charged_if_failed = r == nullptr || r->success ||
                                   r->error.error_class == ErrorClass::kPermanent ||
                                   r->error.error_class == ErrorClass::kRetryableRecord;
    const int attempts = e->charged_attempts + (charged_if_failed ? 1 : 0);
    RecordRoute route = RouteRecord(r, result.http_status, e->dispatch, attempts, *backoff_, now);
    if (route.charged) e->charged_attempts = attempts;
    switch (route.action) {
      case RecordAction::kDelivered:
        if (e->in_scheduler) {
          (void)scheduler_->Complete(e->sched_id);
          e->in_scheduler = false;
        }
        metrics_.Delivered(e->msg.topic).Increment();
        if (e->msg.timestamp_ms > 0) {
          metrics_.delivery_latency->Record(static_cast<uint64_t>(
              std::max<int64_t>(0, clock_.WallMillis() - e->msg.timestamp_ms)));
        }
        delivered.push_back(e->seq);
        entries.push_back(
            MakeStoreEntry(*e, idempotency::Outcome::kDelivered, r->id.substr(0, 64)));
        break;
      case RecordAction::kRetry:
        if (Leaving(*e)) {
          Drop(*e);
          break;
        }
        metrics_.retries->Increment();
        (void)scheduler_->Retry(e->sched_id, now + route.delay);
        book_.SetStage(*e, Stage::kQueued);
        break;
      case RecordAction::kDeadLetter:
        DeadLetter(*e, route.error_class, route.code, route.message);
        break;
      case RecordAction::kRequeue:
        Requeue(*e, now);
        break;
    }
  }
  if (!delivered.empty()) RecordResolved(std::move(delivered), std::move(entries));
}

}  // namespace sluice::relay

#include "intake.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "sluice/core/logging.h"
#include "sluice/envelope/dlq.h"
#include "sluice/envelope/event.h"

namespace sluice::relay {
namespace {

bool HasHeader(const kafka::Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(),
                     [&](const auto& h) { return h.first == name; });
}

// Adds `"field":"value"` to a compact JSON object unless it already has the key. The envelope
// library produced `fields_json`, so it is compact and its keys appear as `"key":` not preceded
// by a backslash (inside strings a quote is always escaped).
std::string WithField(const std::string& fields_json, const std::string& field,
                      const std::string& value) {
  const std::string needle = "\"" + field + "\":";
  for (size_t pos = fields_json.find(needle); pos != std::string::npos;
       pos = fields_json.find(needle, pos + 1)) {
    if (pos == 0 || fields_json[pos - 1] != '\\') return fields_json;
  }
  std::string out = fields_json.substr(0, fields_json.size() - 1);  // drop the closing brace
  if (out.size() > 1) out += ',';
  out += needle + "\"" + JsonEscape(value) + "\"}";
  return out;
}

}  // namespace

Intake::Intake(const RelayOptions& options, PartitionBook& book, flow::OffsetTracker& tracker,
               flow::KeyScheduler& scheduler, ResolutionStore* store, ParseExecutor* parser,
               RelayMetrics& metrics, std::shared_ptr<spdlog::logger> log)
    : options_(options),
      book_(book),
      tracker_(tracker),
      scheduler_(scheduler),
      store_(store),
      parser_(parser),
      metrics_(metrics),
      log_(std::move(log)) {}

void Intake::ParseAll(const std::vector<EventRecord*>& taken,
                      std::vector<std::optional<envelope::EnvelopeError>>* refusals) {
  refusals->assign(taken.size(), std::nullopt);
  const envelope::EnvelopeOptions& envelope_options = options_.envelope;
  auto parse_range = [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      EventRecord& e = *taken[i];
      if (e.msg.value_is_null) {
        (*refusals)[i] =
            envelope::EnvelopeError{envelope::kCodeNotJson, "", "the record has no value"};
        continue;
      }
      envelope::ParsedEvent event =
          envelope::ParseEvent(e.msg.value, e.msg.headers, envelope_options);
      if (event.ok()) {
        e.event = std::move(event).value();
      } else if (const envelope::EnvelopeError* refused = event.error()) {
        (*refusals)[i] = *refused;
      } else {
        // Not the event's fault, but only an unusable schema gets here, and the relay parses with
        // the one compiled into the binary, which its own tests compile.
        (*refusals)[i] =
            envelope::EnvelopeError{envelope::kCodeSchema, "", event.status().message()};
      }
    }
  };
  // Below this many records a hand-off to the executor costs more than it saves.
  constexpr size_t kMinParallel = 64;
  const size_t workers = parser_ != nullptr ? parser_->workers() : 0;
  if (workers == 0 || taken.size() < kMinParallel) {
    parse_range(0, taken.size());
    return;
  }
  // Contiguous shares, the engine thread taking the first; each record is touched by one thread.
  const size_t shares = std::min(workers + 1, taken.size() / (kMinParallel / 2));
  const size_t per = (taken.size() + shares - 1) / shares;
  parser_->RunShares(shares, [&](size_t s) {
    const size_t begin = std::min(taken.size(), s * per);
    parse_range(begin, std::min(taken.size(), begin + per));
  });
}

void Intake::RouteEvent(EventRecord& e) const {
  const envelope::Event& ev = e.event;
  switch (ev.operation) {
    case envelope::Operation::kUpsert:
      e.route = {Operation::kUpsert, ev.sobject, ev.external_id_field};
      e.send_external = ev.external_id;
      break;
    case envelope::Operation::kCreate:
      if (!options_.salesforce.event_id_field.empty()) {
        // A create becomes an upsert on the event id: Salesforce applies it once.
        e.route = {Operation::kUpsert, ev.sobject, options_.salesforce.event_id_field};
        e.send_external = ev.event_id;
      } else {
        e.route = {Operation::kCreate, ev.sobject, ""};
      }
      break;
    case envelope::Operation::kPublish:
      // Platform events go one per call through their own endpoint.
      e.route = {Operation::kPublish, ev.sobject, ev.event_id};
      break;
  }
  // One copy of the fields per event: memory per buffered event is what bounds the relay.
  if (options_.salesforce.event_id_field.empty() || ev.operation == envelope::Operation::kPublish) {
    e.send_fields = std::move(e.event.fields_json);
  } else {
    e.send_fields = WithField(ev.fields_json, options_.salesforce.event_id_field, ev.event_id);
  }
  std::string().swap(e.event.fields_json);
}

void Intake::Take(std::vector<kafka::Message>& messages, int64_t now_ms, IntakeOutcome* out) {
  std::vector<EventRecord*> taken;
  taken.reserve(messages.size());
  for (auto& msg : messages) {
    if (msg.is_error()) {
      metrics_.kafka_errors->Increment();
      LogWith(*log_, spdlog::level::warn,
              {{"event", "kafka_error"},
               {"topic", msg.topic},
               {"partition", msg.partition},
               {"error_code", StatusCodeName(msg.error.code())},
               {"error", msg.error.message()}},
              "kafka: {}", msg.error.ToString());
      continue;
    }
    PartitionState* ps = book_.Find(kafka::TopicPartition{msg.topic, msg.partition});
    if (ps == nullptr || ps->revoking) continue;  // not ours (any more)
    ps->last_progress_ms = now_ms;
    metrics_.Consumed(msg.topic).Increment();
    if (Status s = tracker_.Track(ps->id, msg.offset); !s.ok()) {
      // A rewind (seek after an error): the first occurrence is still being handled.
      LogWith(*log_, spdlog::level::warn,
              {{"event", "skipped_rewind"},
               {"topic", msg.topic},
               {"partition", msg.partition},
               {"offset", msg.offset},
               {"error", s.message()}},
              "skipping {}[{}]@{}: {}", msg.topic, msg.partition, msg.offset, s.ToString());
      continue;
    }
    auto e = std::make_unique<EventRecord>();
    e->seq = book_.NextSeq();
    e->pid = ps->id;
    e->msg = std::move(msg);
    taken.push_back(&book_.Add(std::move(e)));
  }

  std::vector<std::optional<envelope::EnvelopeError>> refusals;
  ParseAll(taken, &refusals);
  std::vector<EventRecord*> to_check;
  std::vector<std::string> ids;
  std::vector<kafka::TopicPartition> sources;
  for (size_t i = 0; i < taken.size(); ++i) {
    EventRecord& e = *taken[i];
    if (refusals[i]) {
      out->dead_letters.push_back(Rejected{e.seq, envelope::kInvalidEnvelope,
                                           std::move(refusals[i]->code),
                                           std::move(refusals[i]->message)});
      continue;
    }
    e.valid = true;
    to_check.push_back(&e);
    ids.push_back(e.event.event_id);
    sources.push_back({e.msg.topic, e.msg.partition});
  }
  if (to_check.empty()) return;

  std::vector<std::optional<idempotency::Resolution>> seen(to_check.size());
  if (store_ != nullptr) {
    auto checked = store_->CheckBatch(ids, sources);
    if (checked.ok()) {
      seen = std::move(checked).value();
    } else {
      // Cannot tell: send anyway. Salesforce upserts keep a resend harmless.
      LogWith(*log_, spdlog::level::warn,
              {{"event", "store_check_failed"},
               {"count", ids.size()},
               {"error_code", StatusCodeName(checked.status().code())},
               {"error", checked.status().message()}},
              "idempotency check failed: {}", checked.status().ToString());
    }
  }
  for (size_t i = 0; i < to_check.size(); ++i) {
    EventRecord& e = *to_check[i];
    // Already resolved (a replayed dead letter is sent again unless it was delivered since) is
    // skipped — unless it is an upsert and an older event of its key is still here: that one will
    // be written after it, so this one is written again to stay the latest (a partition handed
    // over between instances brings older events that this instance's store has not seen).
    // Creates and platform events have no older value to be overwritten by.
    const bool older_pending =
        e.event.operation == envelope::Operation::kUpsert && book_.KeyPending(e.pid, e.msg);
    if (seen[i] && !older_pending &&
        (seen[i]->outcome == idempotency::Outcome::kDelivered ||
         !HasHeader(e.msg.headers, envelope::kHeaderReplayCount))) {
      metrics_.skipped->Increment();
      book_.SetStage(e, Stage::kResolving);
      out->skipped.push_back(e.seq);
      continue;
    }
    // A second copy of an id in progress (an upstream producer's retry) waits for the first.
    if (EventRecord* leader = book_.Leader(e.event.event_id)) {
      book_.SetStage(e, Stage::kFollowing);
      leader->followers.push_back(e.seq);
      continue;
    }
    Rejected rejected;
    if (!Admit(e, &rejected)) out->dead_letters.push_back(std::move(rejected));
  }
}

bool Intake::Admit(EventRecord& e, Rejected* rejected) {
  if (e.route.sobject.empty()) RouteEvent(e);
  std::optional<std::string_view> key;
  if (!e.msg.key_is_null) key = e.msg.key;
  auto id = scheduler_.Add(e.pid, e.msg.offset, key, e.seq);
  if (!id.ok()) {
    *rejected = Rejected{e.seq, envelope::kInvalidEnvelope, "key_too_long", id.status().message()};
    return false;
  }
  e.sched_id = *id;
  e.in_scheduler = true;
  book_.SetStage(e, Stage::kQueued);
  book_.SetLeader(e);
  book_.Admitted(e);
  return true;
}

}  // namespace sluice::relay

#include "checker.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "checker_index.h"

namespace sluice::sim {

namespace internal {

Index::Index(const Facts& f) : facts(f) {
  for (const auto& r : f.produced) {
    by_coord[CoordOf(r)] = &r;
    by_event[r.event_id].push_back(&r);
  }
  for (const auto& e : f.ledger) landings[e.event_id].push_back(&e);
  for (const auto& d : f.dlq) {
    DlqView v;
    v.fact = &d;
    auto parsed = envelope::ParseDlqHeaders(d.record.headers);
    if (parsed.ok()) v.info = *parsed;
    if (v.info) {
      auto it =
          by_coord.find({v.info->source_topic, v.info->source_partition, v.info->source_offset});
      if (it != by_coord.end() && d.record.value && *d.record.value == it->second->value) {
        v.source = it->second;
      }
    }
    if (v.source == nullptr && d.record.value) {
      for (const auto& r : f.produced) {
        if (r.value == *d.record.value) {
          v.source = &r;
          break;
        }
      }
    }
    if (d.landed && d.acked_at && v.source != nullptr) {
      auto [it, fresh] = dlq_acked_by_event.try_emplace(v.source->event_id, *d.acked_at);
      if (!fresh) it->second = std::min(it->second, *d.acked_at);
      auto [jt, fresh2] = dlq_acked_by_coord.try_emplace(CoordOf(*v.source), *d.acked_at);
      if (!fresh2) jt->second = std::min(jt->second, *d.acked_at);
    }
    dlq.push_back(v);
  }
  for (const auto& s : f.stored) {
    if (!s.kept) continue;
    auto [it, fresh] = first_stored.try_emplace(s.event_id, s.at);
    if (!fresh) it->second = std::min(it->second, s.at);
  }
  for (const auto& c : f.crashes) crash_of[c.incarnation] = &c;
}

bool Index::DeadLettered(const ProducedRecord& r) const {
  if (dlq_acked_by_coord.count(CoordOf(r)) > 0) return true;
  return r.kind != EventKind::kInvalid && dlq_acked_by_event.count(r.event_id) > 0;
}

std::optional<TimePoint> Index::ResolvedAt(const ProducedRecord& r) const {
  std::optional<TimePoint> t;
  auto take = [&t](TimePoint x) { t = t ? std::min(*t, x) : x; };
  if (auto it = dlq_acked_by_coord.find(CoordOf(r)); it != dlq_acked_by_coord.end()) {
    take(it->second);
  }
  if (r.kind == EventKind::kInvalid) return t;
  if (auto it = dlq_acked_by_event.find(r.event_id); it != dlq_acked_by_event.end()) {
    take(it->second);
  }
  if (facts.limits.store_enabled) {
    if (auto it = first_stored.find(r.event_id); it != first_stored.end()) take(it->second);
  } else if (auto it = landings.find(r.event_id); it != landings.end()) {
    take(it->second.front()->at);
  }
  return t;
}

std::string Index::Where(const ProducedRecord& r) const {
  static constexpr const char* kKinds[] = {"upsert", "create", "publish", "invalid"};
  return fmt::format("{}[{}]@{} key {} event {} ({}{}{})", r.topic, r.partition, r.offset, r.key,
                     r.event_id.substr(0, 8), kKinds[static_cast<int>(r.kind)],
                     r.poison ? ", poison" : "", r.upstream_duplicate ? ", upstream dup" : "");
}

void Sink::Add(const std::string& invariant, std::string message) {
  if (++counts_[invariant] <= kKeep) out_->push_back({invariant, std::move(message)});
}

void Sink::Finish() {
  for (const auto& [inv, n] : counts_) {
    if (n > kKeep) out_->push_back({inv, fmt::format("... and {} more", n - kKeep)});
  }
}

}  // namespace internal

namespace {

using internal::Index;
using internal::Sink;

std::string Inc(const Facts& f, Owner o) {
  auto it = f.instance_ids.find(o);
  return it == f.instance_ids.end() ? fmt::format("incarnation {}", o) : it->second;
}

void CheckNoLoss(const Index& ix, Sink& sink) {
  for (const auto& r : ix.facts.produced) {
    auto c = ix.facts.final_committed.find({r.topic, r.partition});
    if (c == ix.facts.final_committed.end() || r.offset >= c->second) continue;
    const bool delivered = r.kind != EventKind::kInvalid && ix.Delivered(r.event_id);
    if (delivered || ix.DeadLettered(r)) continue;
    sink.Add(kNoLoss, fmt::format("{} is below the committed offset {} but was neither "
                                  "delivered nor dead-lettered",
                                  ix.Where(r), c->second));
  }
}

// Whether `slot`'s store had acknowledged `event_id` by `at` (what the engine may rely on, kept or
// not), and was not lost since in a crash that lost the store.
bool StoredAt(const Facts& f, int slot, const std::string& event_id, TimePoint at) {
  TimePoint lost{};
  for (const auto& c : f.crashes) {
    if (c.slot == slot && !c.store_kept && c.at <= at && c.at > lost) lost = c.at;
  }
  for (const auto& s : f.stored) {
    if (s.slot == slot && s.event_id == event_id && s.at <= at && s.at >= lost) {
      return true;
    }
  }
  return false;
}

// Why a second landing of an event is within the documented window, or "".
std::string Excuse(const Index& ix, const LedgerEntry& prev, const LedgerEntry& cur) {
  const Facts& f = ix.facts;
  if (prev.call_id >= 1 && prev.call_id <= f.calls.size() &&
      f.calls[prev.call_id - 1].answer_lost) {
    return "answer lost";
  }
  // A crash after the earlier write was sent (it may land after the crash) and before the later.
  const TimePoint sent = prev.call_id >= 1 && prev.call_id <= f.calls.size()
                             ? f.calls[prev.call_id - 1].start
                             : prev.at;
  for (const auto& crash : f.crashes) {
    if (crash.slot == prev.slot && !crash.store_kept && crash.at >= sent && crash.at <= cur.at) {
      return "store lost in a crash";
    }
  }
  auto c = ix.crash_of.find(prev.incarnation);
  if (c != ix.crash_of.end() && c->second->at >= sent && c->second->at <= cur.at) {
    if (!c->second->store_kept) return "store lost in a crash";
    if (!StoredAt(f, prev.slot, prev.event_id, c->second->at))
      return "crash between the answer and the store write";
  }
  // Each instance has its own store, so a partition handed over brings no record of what its
  // last owner resolved above the committed offset: the new owner writes those events again (as
  // upserts: never a second record). Documented in README and docs/OPERATIONS.md; closing it is
  // the partition-state issue (a delivered-set changelog that follows the partition).
  if (prev.slot != cur.slot) return "a handover to another instance";
  // A revoke whose deadline passed before the store write abandons the event uncommitted
  // (docs/OPERATIONS.md "Rebalances"): when the partition comes back, the record is read again
  // and, unknown to the store, written again.
  if (auto recs = ix.by_event.find(prev.event_id); recs != ix.by_event.end()) {
    for (const ProducedRecord* mine : recs->second) {
      for (const auto& h : f.hand_outs) {
        if (h.topic != mine->topic || h.partition != mine->partition || h.offset != mine->offset ||
            h.at <= prev.at || h.at > cur.at) {
          continue;
        }
        if (!StoredAt(f, prev.slot, prev.event_id, h.at))
          return "read again after a revoke, before its store write";
      }
    }
  }
  // The relay writes an event its store knows again when an older event of its key (same
  // partition) is being written again, so the record ends with the newest value (intake.cc).
  if (auto recs = ix.by_event.find(prev.event_id); recs != ix.by_event.end()) {
    for (const ProducedRecord* mine : recs->second) {
      for (const auto& r : f.produced) {
        if (r.topic != mine->topic || r.partition != mine->partition || r.key != mine->key ||
            r.offset >= mine->offset || r.event_id == prev.event_id) {
          continue;
        }
        auto older = ix.landings.find(r.event_id);
        if (older == ix.landings.end()) continue;
        for (const LedgerEntry* l : older->second) {
          if (l->at > prev.at && l->at <= cur.at) return "an older event of its key written again";
        }
      }
    }
  }
  // A clean stop whose shutdown deadline passed before the store write abandons the event
  // uncommitted (docs/OPERATIONS.md "Shutdown order"): the next incarnation writes it again,
  // unless the store had it by then.
  if (prev.incarnation != cur.incarnation) {
    if (!StoredAt(f, prev.slot, prev.event_id, cur.at)) return "a stop before the store write";
  }
  return "";
}

void CheckDuplicates(const Index& ix, Sink& sink) {
  const Facts& f = ix.facts;
  for (const auto& [event_id, lands] : ix.landings) {
    if (lands.size() < 2) continue;
    bool all_upserts = true;
    std::set<std::string> records;
    for (const auto* l : lands) {
      all_upserts = all_upserts && l->operation == salesforce::Operation::kUpsert;
      records.insert(l->record_id);
    }
    if (all_upserts && records.size() > 1) {
      sink.Add(kNoSecondRecord,
               fmt::format("event {} was written as an upsert {} times and made {} records",
                           event_id.substr(0, 8), lands.size(), records.size()));
    }
    if (!f.limits.store_enabled) continue;  // only upserts keep redeliveries apart then
    auto recs = ix.by_event.find(event_id);
    const bool upstream = recs != ix.by_event.end() && recs->second.size() > 1;
    const std::string where =
        recs != ix.by_event.end() ? ix.Where(*recs->second.front()) : event_id;
    for (size_t k = 1; k < lands.size(); ++k) {
      const LedgerEntry& prev = *lands[k - 1];
      const LedgerEntry& cur = *lands[k];
      if (!Excuse(ix, prev, cur).empty()) continue;
      std::string how = prev.slot != cur.slot ? "a handover to another instance, whose store "
                                                "could not know it"
                        : prev.incarnation != cur.incarnation
                            ? "a restart without a crash"
                            : "the same incarnation wrote it again";
      sink.Add(upstream ? kUpstreamDuplicates : kNoDuplicateWrites,
               fmt::format("{} landed again: first by {} at {} (call {}), again by {} at {} (call "
                           "{}); no documented window applies ({})",
                           where, Inc(f, prev.incarnation), FormatTime(prev.at), prev.call_id,
                           Inc(f, cur.incarnation), FormatTime(cur.at), cur.call_id, how));
    }
  }
}

void CheckOrder(const Index& ix, Sink& sink) {
  // Per (topic, partition, key), distinct events in offset order.
  std::map<std::tuple<std::string, int32_t, std::string>, std::vector<const ProducedRecord*>> keys;
  for (const auto& r : ix.facts.produced) {
    if (r.kind != EventKind::kInvalid) keys[{r.topic, r.partition, r.key}].push_back(&r);
  }
  for (auto& [k, recs] : keys) {
    std::sort(recs.begin(), recs.end(),
              [](const auto* a, const auto* b) { return a->offset < b->offset; });
    std::set<std::string> seen;
    const LedgerEntry* last = nullptr;
    const ProducedRecord* last_rec = nullptr;
    for (const auto* r : recs) {
      if (!seen.insert(r->event_id).second) continue;
      auto it = ix.landings.find(r->event_id);
      if (it == ix.landings.end()) continue;
      const LedgerEntry* first = it->second.front();
      if (last != nullptr && first->seq < last->seq) {
        std::string before;
        bool handover = false;
        if (auto d = ix.dlq_acked_by_event.find(last_rec->event_id);
            d != ix.dlq_acked_by_event.end() && d->second < last->at) {
          before = fmt::format("; it had been dead-lettered at {}", FormatTime(d->second));
          // Dead-lettered by one instance and delivered, after a handover, by another whose store
          // could not know it: the documented handover window (see Excuse).
          handover = first->slot != last->slot;
        }
        if (!handover) {
          sink.Add(kKeyOrder,
                   fmt::format("{} was first written at {} by {}, before the earlier {} (first "
                               "written at {} by {}{})",
                               ix.Where(*r), FormatTime(first->at),
                               Inc(ix.facts, first->incarnation), ix.Where(*last_rec),
                               FormatTime(last->at), Inc(ix.facts, last->incarnation), before));
        }
      }
      if (last == nullptr || first->seq > last->seq) {
        last = first;
        last_rec = r;
      }
    }
  }
}

void CheckLatestWins(const Index& ix, Sink& sink) {
  // Upserts on the record's own external id (the key): the record ends with the newest event.
  std::map<std::string, std::set<std::string>> topics_of_key;
  std::map<std::string, const ProducedRecord*> newest;  // key -> newest landed upsert event
  for (const auto& r : ix.facts.produced) {
    if (r.kind != EventKind::kUpsert) continue;
    topics_of_key[r.key].insert(r.topic);
    if (!ix.Delivered(r.event_id)) continue;
    const ProducedRecord* first = ix.by_event.at(r.event_id).front();
    auto& n = newest[r.key];
    if (n == nullptr || first->offset > n->offset) n = first;
  }
  std::map<std::string, const LedgerEntry*> last_write;
  for (const auto& e : ix.facts.ledger) {
    if (e.operation == salesforce::Operation::kUpsert && e.external_id_field == "Sluice_Key__c") {
      last_write[e.external_id] = &e;
    }
  }
  for (const auto& [key, rec] : newest) {
    if (topics_of_key[key].size() > 1) continue;  // no order across topics
    auto it = last_write.find(key);
    if (it == last_write.end() || it->second->event_id == rec->event_id) continue;
    const LedgerEntry& w = *it->second;
    auto older = ix.by_event.find(w.event_id);
    sink.Add(
        kLatestWins,
        fmt::format("record {} ends with {} written at {} by {} (call {}), not with the "
                    "newest delivered {}",
                    key, older != ix.by_event.end() ? ix.Where(*older->second.front()) : w.event_id,
                    FormatTime(w.at), Inc(ix.facts, w.incarnation), w.call_id, ix.Where(*rec)));
  }
}

void CheckCommits(const Index& ix, Sink& sink) {
  // Per partition: records by offset, and the time every offset below k was resolved.
  std::map<std::pair<std::string, int32_t>, std::vector<const ProducedRecord*>> parts;
  for (const auto& r : ix.facts.produced) parts[{r.topic, r.partition}].push_back(&r);
  for (auto& [tp, recs] : parts) {
    std::sort(recs.begin(), recs.end(),
              [](const auto* a, const auto* b) { return a->offset < b->offset; });
  }
  for (const auto& c : ix.facts.commits) {
    auto it = parts.find({c.topic, c.partition});
    const int64_t end = it == parts.end() ? 0 : static_cast<int64_t>(it->second.size());
    if (c.offset > end) {
      sink.Add(kCommitResolved, fmt::format("{} committed {}[{}]={} past the log end {} at {}",
                                            Inc(ix.facts, c.incarnation), c.topic, c.partition,
                                            c.offset, end, FormatTime(c.at)));
      continue;
    }
    for (int64_t o = 0; o < c.offset; ++o) {
      const ProducedRecord& r = *it->second[static_cast<size_t>(o)];
      const auto t = ix.ResolvedAt(r);
      if (t && *t <= c.at) continue;
      sink.Add(kCommitResolved,
               fmt::format("{} committed {}[{}]={} at {}{} while {} was {}",
                           Inc(ix.facts, c.incarnation), c.topic, c.partition, c.offset,
                           FormatTime(c.at), c.during_revoke ? " (in a revoke)" : "", ix.Where(r),
                           t ? "resolved only at " + FormatTime(*t)
                             : std::string(ix.facts.limits.store_enabled
                                               ? "never recorded in a store nor dead-lettered"
                                               : "never delivered nor dead-lettered")));
      break;
    }
  }
}

void CheckLiveness(const Index& ix, Sink& sink) {
  if (!ix.facts.timed_out) return;
  std::string detail;
  for (const auto& [tp, end] : ix.facts.log_end) {
    auto c = ix.facts.final_committed.find(tp);
    const int64_t committed = c == ix.facts.final_committed.end() ? 0 : c->second;
    if (committed >= end) continue;
    auto r = ix.by_coord.find({tp.first, tp.second, committed});
    std::string state = "?";
    if (r != ix.by_coord.end()) {
      const ProducedRecord& rec = *r->second;
      std::string last_hand;
      for (const auto& h : ix.facts.hand_outs) {
        if (h.topic == tp.first && h.partition == tp.second && h.offset == committed) {
          last_hand = fmt::format("last handed to {} at {}", Inc(ix.facts, h.incarnation),
                                  FormatTime(h.at));
        }
      }
      state = fmt::format("{}: {}, {}", ix.Where(rec),
                          ix.Delivered(rec.event_id) ? "delivered"
                          : ix.DeadLettered(rec)     ? "dead-lettered"
                                                     : "unresolved",
                          last_hand.empty() ? "never handed out" : last_hand);
    }
    detail += fmt::format("\n    {}[{}] committed {} of {}; first uncommitted {}", tp.first,
                          tp.second, committed, end, state);
  }
  for (const auto& line : ix.facts.group_state) detail += "\n    group: " + line;
  for (const auto& line : ix.facts.relay_state) detail += "\n    relay " + line;
  sink.Add(kLiveness, fmt::format("not everything was committed by the time limit ({}):{}",
                                  FormatTime(ix.facts.end), detail));
}

}  // namespace

std::vector<Violation> Check(const Facts& facts) {
  std::vector<Violation> out;
  Index ix(facts);
  Sink sink(&out);
  for (const auto& e : facts.engine_errors) sink.Add(kEngineOk, e);
  CheckNoLoss(ix, sink);
  CheckDuplicates(ix, sink);
  CheckOrder(ix, sink);
  CheckLatestWins(ix, sink);
  CheckCommits(ix, sink);
  internal::CheckCeilings(ix, sink);
  internal::CheckDlq(ix, sink);
  internal::CheckMemory(ix, sink);
  internal::CheckParentLocks(ix, sink);
  CheckLiveness(ix, sink);
  // A handful of rounds is a token bucket's rounding; more is an engine that cannot sleep.
  if (facts.busy_waits > 20) {
    sink.Add(kNoBusyWait,
             fmt::format("{} times a relay's NextWake() stayed at now while its Steps changed "
                         "nothing (first at {}): its Run() loop would spin a core there",
                         facts.busy_waits, FormatTime(facts.first_busy_wait)));
  }
  sink.Finish();
  return out;
}

bool Fired(const std::vector<Violation>& violations, const std::string& invariant) {
  return std::any_of(violations.begin(), violations.end(),
                     [&](const Violation& v) { return v.invariant == invariant; });
}

std::string Describe(const std::vector<Violation>& violations) {
  std::string out;
  for (const auto& v : violations) out += fmt::format("  [{}] {}\n", v.invariant, v.message);
  return out;
}

}  // namespace sluice::sim

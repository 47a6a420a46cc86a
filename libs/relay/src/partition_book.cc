#include "partition_book.h"

#include <utility>

namespace sluice::relay {

PartitionState& PartitionBook::Assign(const kafka::TopicPartition& tp, int64_t now_ms) {
  PartitionState ps;
  ps.tp = tp;
  ps.id = next_pid_++;
  ps.last_progress_ms = now_ms;
  by_id_[ps.id] = tp;
  return partitions_[tp] = ps;
}

PartitionState* PartitionBook::Find(const kafka::TopicPartition& tp) {
  auto it = partitions_.find(tp);
  return it == partitions_.end() ? nullptr : &it->second;
}

PartitionState* PartitionBook::Find(flow::PartitionId pid) {
  auto it = by_id_.find(pid);
  return it == by_id_.end() ? nullptr : Find(it->second);
}

void PartitionBook::Unassign(flow::PartitionId pid) {
  auto it = by_id_.find(pid);
  if (it == by_id_.end()) return;
  partitions_.erase(it->second);
  by_id_.erase(it);
}

EventRecord& PartitionBook::Add(std::unique_ptr<EventRecord> record) {
  EventRecord& e = *record;
  ++totals_[static_cast<size_t>(e.stage)];
  Count(e, 1);
  events_.emplace(e.seq, std::move(record));
  return e;
}

EventRecord* PartitionBook::Get(uint64_t seq) {
  auto it = events_.find(seq);
  return it == events_.end() ? nullptr : it->second.get();
}

void PartitionBook::SetStage(EventRecord& e, Stage stage) {
  if (e.stage == stage) return;
  Count(e, -1);
  --totals_[static_cast<size_t>(e.stage)];
  e.stage = stage;
  ++totals_[static_cast<size_t>(e.stage)];
  Count(e, 1);
}

void PartitionBook::Admitted(EventRecord& e) {
  if (e.admitted || e.msg.key_is_null) return;
  e.admitted = true;
  auto& keys = keys_[e.pid];
  auto k = keys.find(std::string_view(e.msg.key));
  if (k == keys.end()) {
    keys.emplace(e.msg.key, 1);
  } else {
    ++k->second;
  }
}

bool PartitionBook::KeyPending(flow::PartitionId pid, const kafka::Message& msg) const {
  if (msg.key_is_null) return false;
  auto p = keys_.find(pid);
  return p != keys_.end() && p->second.find(std::string_view(msg.key)) != p->second.end();
}

void PartitionBook::Erase(uint64_t seq) {
  auto it = events_.find(seq);
  if (it == events_.end()) return;
  const EventRecord& e = *it->second;
  if (e.admitted) {
    auto p = keys_.find(e.pid);
    if (p != keys_.end()) {
      auto k = p->second.find(std::string_view(e.msg.key));
      if (k != p->second.end() && --k->second == 0) p->second.erase(k);
      if (p->second.empty()) keys_.erase(p);
    }
  }
  if (e.valid) {
    auto l = leaders_.find(e.event.event_id);
    if (l != leaders_.end() && l->second == seq) leaders_.erase(l);
  }
  Count(*it->second, -1);
  --totals_[static_cast<size_t>(it->second->stage)];
  events_.erase(it);
}

EventRecord* PartitionBook::Leader(const std::string& event_id) {
  auto it = leaders_.find(event_id);
  return it == leaders_.end() ? nullptr : Get(it->second);
}

void PartitionBook::SetLeader(EventRecord& e) {
  // The key must view this record's id, not a former leader's.
  leaders_.erase(e.event.event_id);
  leaders_.emplace(e.event.event_id, e.seq);
}

std::vector<uint64_t> PartitionBook::TakeFollowers(EventRecord& e) {
  if (e.valid) {
    auto it = leaders_.find(e.event.event_id);
    if (it != leaders_.end() && it->second == e.seq) leaders_.erase(it);
  }
  return std::exchange(e.followers, {});
}

void PartitionBook::Count(const EventRecord& e, int delta) {
  if (!Counts(e.stage)) return;
  if (e.stage == Stage::kSending) {
    auto& s = sending_[e.pid];
    s += delta;
    if (s == 0) sending_.erase(e.pid);
  }
  auto& n = in_progress_[e.pid];
  n += delta;
  if (n == 0) in_progress_.erase(e.pid);
}

int64_t PartitionBook::InProgress(flow::PartitionId pid) const {
  auto it = in_progress_.find(pid);
  return it == in_progress_.end() ? 0 : it->second;
}

int64_t PartitionBook::Sending(flow::PartitionId pid) const {
  auto it = sending_.find(pid);
  return it == sending_.end() ? 0 : it->second;
}

int64_t PartitionBook::InProgress() const {
  return static_cast<int64_t>(Count(Stage::kSending) + Count(Stage::kStoring) +
                              Count(Stage::kDeadLettering));
}

}  // namespace sluice::relay

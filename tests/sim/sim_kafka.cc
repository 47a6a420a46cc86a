#include "sim_kafka.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <utility>

namespace sluice::sim {

SimKafka::SimKafka(World& world, Facts& facts, const SimKafkaOptions& options)
    : world_(world), facts_(facts), options_(options) {}

Status SimKafka::CreateTopic(const std::string& topic, int partitions) {
  if (partitions_.count(topic) > 0) return AlreadyExistsError("topic " + topic + " exists");
  if (partitions < 1) return InvalidArgumentError("partitions must be at least 1");
  partitions_[topic] = partitions;
  return Status::Ok();
}

Result<int> SimKafka::PartitionCount(std::string_view topic) const {
  auto it = partitions_.find(std::string(topic));
  if (it == partitions_.end()) return NotFoundError("no topic " + std::string(topic));
  return it->second;
}

std::vector<kafka::TopicInfo> SimKafka::ListTopics() const {
  std::vector<kafka::TopicInfo> out;
  for (const auto& [name, n] : partitions_) out.push_back({name, n});
  return out;
}

int64_t SimKafka::Append(const std::string& topic, int32_t partition, kafka::Message record,
                         TimePoint visible_at) {
  source_topics_.insert(topic);
  auto& log = logs_[{topic, partition}];
  record.topic = topic;
  record.partition = partition;
  record.offset = static_cast<int64_t>(log.size());
  log.push_back({std::move(record), visible_at});
  // Consumers poll at least every 100 ms; an event makes the clock stop exactly here.
  world_.Schedule(visible_at, kWorld, [] {});
  return static_cast<int64_t>(log.size()) - 1;
}

int64_t SimKafka::EndOffset(const kafka::TopicPartition& tp) const {
  auto it = logs_.find(tp);
  return it == logs_.end() ? 0 : static_cast<int64_t>(it->second.size());
}

void SimKafka::AppendDlq(const kafka::ProducerRecord& record) {
  dlq_topics_[record.topic].push_back(record);
}

void SimKafka::AddUnavailableWindow(TimePoint start, TimePoint end) {
  unavailable_.emplace_back(start, end);
  facts_.windows.push_back({WindowFact::Kind::kBroker, start, end});
  world_.Schedule(start, kWorld, [this] { world_.Trace("broker unavailable"); });
  world_.Schedule(end, kWorld, [this] { world_.Trace("broker available"); });
}

bool SimKafka::Available() const {
  const TimePoint now = world_.Now();
  for (const auto& [s, e] : unavailable_) {
    if (now >= s && now < e) return false;
  }
  return true;
}

std::string SimKafka::Join(Owner incarnation, std::vector<std::string> topics,
                           kafka::RebalanceListener* listener) {
  std::string id = fmt::format("m{:04d}", next_member_++);
  SimMember& m = members_[id];
  m.id = id;
  m.incarnation = incarnation;
  m.subscription = std::move(topics);
  m.listener = listener;
  world_.Trace(fmt::format("group: {} joins (incarnation {})", id, incarnation));
  StartRebalance(id + " joined");
  return id;
}

void SimKafka::Leave(const std::string& member_id) {
  if (members_.erase(member_id) == 0) return;
  world_.Trace(fmt::format("group: {} leaves", member_id));
  StartRebalance(member_id + " left");
}

void SimKafka::Crash(Owner incarnation) {
  for (auto& [id, m] : members_) {
    if (m.incarnation != incarnation || m.zombie) continue;
    m.zombie = true;
    m.in_revoke = false;
    const std::string member_id = id;
    world_.Schedule(world_.Now() + options_.session_timeout, kWorld, [this, member_id] {
      if (members_.erase(member_id) == 0) return;
      world_.Trace(fmt::format("group: {} expired (session timeout)", member_id));
      StartRebalance(member_id + " expired");
    });
  }
}

SimMember* SimKafka::FindMember(const std::string& member_id) {
  auto it = members_.find(member_id);
  return it == members_.end() ? nullptr : &it->second;
}

void SimKafka::StartRebalance(const std::string& why) {
  ++generation_;
  rebalancing_ = true;
  for (auto& [id, m] : members_) {
    m.pending_assign.reset();
    if (!m.zombie) m.needs_revoke = !m.assigned.empty() && !m.in_revoke;
  }
  world_.Trace(fmt::format("group: rebalance to generation {} ({})", generation_, why));
  TryCompleteRebalance();
}

void SimKafka::RevokeDone(const std::string& member_id) {
  SimMember* m = FindMember(member_id);
  if (m == nullptr) return;
  m->assigned.clear();
  m->position.clear();
  m->stored.clear();
  m->needs_revoke = false;
  m->in_revoke = false;
  TryCompleteRebalance();
}

std::vector<std::string> SimKafka::ResolveTopics(
    const std::vector<std::string>& subscription) const {
  std::set<std::string> out;
  for (const auto& t : subscription) {
    if (!t.empty() && t[0] == '^') {
      std::regex re(t.substr(1));
      for (const auto& [name, n] : partitions_) {
        if (std::regex_search(name, re)) out.insert(name);
      }
    } else if (partitions_.count(t) > 0) {
      out.insert(t);
    }
  }
  return {out.begin(), out.end()};
}

void SimKafka::TryCompleteRebalance() {
  if (!rebalancing_) return;
  for (const auto& [id, m] : members_) {
    if (m.zombie || m.needs_revoke || m.in_revoke) return;
  }
  rebalancing_ = false;
  if (members_.empty()) return;
  // Range assignor, topic by topic, members in id order.
  std::map<std::string, std::vector<std::string>> subscribers;  // topic -> member ids
  for (const auto& [id, m] : members_) {
    for (const auto& t : ResolveTopics(m.subscription)) subscribers[t].push_back(id);
  }
  std::map<std::string, std::vector<kafka::TopicPartition>> plan;
  for (const auto& [id, m] : members_) plan[id];
  for (const auto& [topic, ids] : subscribers) {
    const int n = partitions_.at(topic);
    const int k = static_cast<int>(ids.size());
    int next = 0;
    for (int i = 0; i < k; ++i) {
      const int count = n / k + (i < n % k ? 1 : 0);
      for (int j = 0; j < count; ++j) plan[ids[i]].push_back({topic, next++});
    }
  }
  const TimePoint ready = world_.Now() + options_.rebalance_delay;
  for (auto& [id, m] : members_) {
    m.pending_assign = plan[id];
    m.assign_ready_at = ready;
    world_.Trace(fmt::format("group: generation {} gives {} {} partitions", generation_, id,
                             plan[id].size()));
  }
  world_.Schedule(ready, kWorld, [] {});
}

bool SimKafka::Fetchable(const SimMember& m) const {
  if (!Available()) return false;
  const TimePoint now = world_.Now();
  for (const auto& tp : m.assigned) {
    if (m.paused.count(tp) > 0) continue;
    auto pos = m.position.find(tp);
    auto log = logs_.find(tp);
    if (pos == m.position.end() || log == logs_.end()) continue;
    if (pos->second < static_cast<int64_t>(log->second.size()) &&
        log->second[static_cast<size_t>(pos->second)].visible_at <= now) {
      return true;
    }
  }
  return false;
}

bool SimKafka::HasWork(const std::string& member_id) const {
  auto it = members_.find(member_id);
  if (it == members_.end()) return false;
  const SimMember& m = it->second;
  if (m.zombie) return false;
  if (m.needs_revoke) return true;
  if (m.pending_assign && m.assign_ready_at <= world_.Now()) return true;
  return Fetchable(m);
}

std::vector<kafka::Message> SimKafka::Fetch(SimMember& m, size_t max) {
  std::vector<kafka::Message> out;
  if (!Available() || m.assigned.empty()) return out;
  const TimePoint now = world_.Now();
  // Round-robin: one record per partition per turn, starting after the last partition served.
  bool progress = true;
  while (out.size() < max && progress) {
    progress = false;
    for (size_t i = 0; i < m.assigned.size() && out.size() < max; ++i) {
      const size_t at = (m.fetch_cursor + i) % m.assigned.size();
      const auto& tp = m.assigned[at];
      if (m.paused.count(tp) > 0) continue;
      auto log = logs_.find(tp);
      if (log == logs_.end()) continue;
      int64_t& pos = m.position[tp];
      if (pos >= static_cast<int64_t>(log->second.size())) continue;
      const Stored& s = log->second[static_cast<size_t>(pos)];
      if (s.visible_at > now) continue;
      out.push_back(s.message);
      facts_.hand_outs.push_back({now, m.incarnation, tp.topic, tp.partition, pos});
      ++pos;
      progress = true;
    }
    m.fetch_cursor = (m.fetch_cursor + 1) % std::max<size_t>(m.assigned.size(), 1);
  }
  return out;
}

int64_t SimKafka::Committed(const kafka::TopicPartition& tp) const {
  auto it = committed_.find(tp);
  return it == committed_.end() ? kafka::kOffsetInvalid : it->second;
}

Status SimKafka::Commit(const SimMember& m, const kafka::TopicPartition& tp, int64_t offset) {
  if (!Available()) return UnavailableError("broker unavailable: commit failed");
  if (m.zombie || std::find(m.assigned.begin(), m.assigned.end(), tp) == m.assigned.end()) {
    return FailedPreconditionError(fmt::format("commit {}[{}]: not assigned to {} (generation {})",
                                               tp.topic, tp.partition, m.id, generation_));
  }
  committed_[tp] = offset;
  facts_.commits.push_back(
      {world_.Now(), m.incarnation, tp.topic, tp.partition, offset, m.in_revoke});
  world_.Trace(fmt::format("commit {} {}[{}]={}", m.id, tp.topic, tp.partition, offset));
  return Status::Ok();
}

bool SimKafka::AllCommitted() const {
  const TimePoint now = world_.Now();
  for (const auto& topic : source_topics_) {
    const int n = partitions_.at(topic);
    for (int p = 0; p < n; ++p) {
      auto log = logs_.find({topic, p});
      if (log == logs_.end() || log->second.empty()) continue;
      if (log->second.back().visible_at > now) return false;
      if (Committed({topic, p}) != static_cast<int64_t>(log->second.size())) return false;
    }
  }
  return true;
}

std::vector<std::string> SimKafka::DescribeGroup() const {
  std::vector<std::string> out;
  out.push_back(fmt::format("generation {}{}", generation_, rebalancing_ ? " (rebalancing)" : ""));
  for (const auto& [id, m] : members_) {
    std::string parts;
    for (const auto& tp : m.assigned) {
      parts += fmt::format(" {}[{}]@{}{}", tp.topic, tp.partition,
                           m.position.count(tp) ? m.position.at(tp) : -1,
                           m.paused.count(tp) ? "(paused)" : "");
    }
    out.push_back(fmt::format("{} incarnation {}{}{}{}:{}", id, m.incarnation,
                              m.zombie ? " zombie" : "", m.needs_revoke ? " needs-revoke" : "",
                              m.pending_assign ? " assignment-pending" : "", parts));
  }
  for (const auto& [tp, log] : logs_) {
    out.push_back(fmt::format("{}[{}]: end {} committed {}", tp.topic, tp.partition, log.size(),
                              Committed(tp)));
  }
  return out;
}

void SimKafka::FillFinalOffsets(Facts& facts) const {
  for (const auto& [tp, log] : logs_) {
    facts.log_end[{tp.topic, tp.partition}] = static_cast<int64_t>(log.size());
    const int64_t c = Committed(tp);
    if (c != kafka::kOffsetInvalid) facts.final_committed[{tp.topic, tp.partition}] = c;
  }
}

}  // namespace sluice::sim

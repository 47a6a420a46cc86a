#include "sim_consumer.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sluice::sim {

SimConsumer::SimConsumer(World& world, SimKafka& kafka, Owner incarnation,
                         kafka::RebalanceListener* listener)
    : world_(world), kafka_(kafka), incarnation_(incarnation), listener_(listener) {}

SimConsumer::~SimConsumer() {
  if (closed_ || member_id_.empty()) return;
  if (world_.IsLive(incarnation_)) kafka_.Leave(member_id_);
}

SimMember* SimConsumer::member() {
  return member_id_.empty() ? nullptr : kafka_.FindMember(member_id_);
}

Status SimConsumer::Subscribe(const std::vector<std::string>& topics) {
  if (closed_) return FailedPreconditionError("consumer closed");
  if (topics.empty()) return InvalidArgumentError("no topics");
  for (const auto& t : topics) {
    if (t.empty()) return InvalidArgumentError("empty topic name");
  }
  if (SimMember* m = member()) {
    m->subscription = topics;
    return Status::Ok();
  }
  member_id_ = kafka_.Join(incarnation_, topics, listener_);
  return Status::Ok();
}

Status SimConsumer::Unsubscribe() {
  if (closed_) return FailedPreconditionError("consumer closed");
  if (SimMember* m = member()) {
    if (!m->assigned.empty() && listener_ != nullptr) {
      m->in_revoke = true;
      auto parts = m->assigned;
      listener_->OnRevoked(*this, parts);
    }
    kafka_.Leave(member_id_);
  }
  member_id_.clear();
  return Status::Ok();
}

bool SimConsumer::RunRebalanceStep() {
  SimMember* m = member();
  if (m == nullptr) return true;
  if (m->needs_revoke) {
    m->needs_revoke = false;
    m->in_revoke = true;
    const auto parts = m->assigned;
    world_.Trace(fmt::format("{} revoke {} partitions", member_id_, parts.size()));
    if (listener_ != nullptr && !parts.empty()) listener_->OnRevoked(*this, parts);
    kafka_.RevokeDone(member_id_);
    return true;
  }
  if (m->pending_assign && m->assign_ready_at <= world_.Now()) {
    m->assigned = *m->pending_assign;
    m->pending_assign.reset();
    m->position.clear();
    m->stored.clear();
    std::string paused;
    for (const auto& tp : m->assigned) {
      const int64_t c = kafka_.Committed(tp);
      m->position[tp] = c == kafka::kOffsetInvalid ? 0 : c;
      if (m->paused.count(tp) > 0) paused += fmt::format(" {}[{}]", tp.topic, tp.partition);
    }
    world_.Trace(fmt::format("{} assigned {} partitions{}{}", member_id_, m->assigned.size(),
                             paused.empty() ? "" : ", still paused:", paused));
    if (listener_ != nullptr && !m->assigned.empty()) {
      const auto parts = m->assigned;
      listener_->OnAssigned(*this, parts);
    }
    return false;
  }
  return m->pending_assign.has_value();
}

Result<std::vector<kafka::Message>> SimConsumer::Poll(size_t max_messages,
                                                      std::chrono::milliseconds /*timeout*/) {
  if (closed_) return FailedPreconditionError("consumer closed");
  if (max_messages == 0) return InvalidArgumentError("max_messages must be at least 1");
  if (RunRebalanceStep()) return std::vector<kafka::Message>{};
  SimMember* m = member();
  if (m == nullptr) return std::vector<kafka::Message>{};
  return kafka_.Fetch(*m, max_messages);
}

Status SimConsumer::StoreOffset(std::string_view topic, int32_t partition, int64_t next_offset) {
  SimMember* m = member();
  kafka::TopicPartition tp{std::string(topic), partition};
  if (m == nullptr || std::find(m->assigned.begin(), m->assigned.end(), tp) == m->assigned.end()) {
    return FailedPreconditionError(fmt::format("{}[{}] not assigned", topic, partition));
  }
  m->stored[tp] = next_offset;
  return Status::Ok();
}

Status SimConsumer::StoreOffsets(const std::vector<kafka::PartitionOffset>& offsets) {
  Status first;
  for (const auto& o : offsets) {
    Status s = StoreOffset(o.topic, o.partition, o.offset);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status SimConsumer::Commit(bool /*sync*/) {
  SimMember* m = member();
  if (m == nullptr) return Status::Ok();
  Status first;
  auto stored = std::move(m->stored);
  m->stored.clear();
  for (const auto& [tp, offset] : stored) {
    Status s = kafka_.Commit(*m, tp, offset);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Status SimConsumer::CommitOffsets(const std::vector<kafka::PartitionOffset>& offsets,
                                  bool /*sync*/) {
  SimMember* m = member();
  if (m == nullptr) return FailedPreconditionError("not in the group");
  Status first;
  for (const auto& o : offsets) {
    Status s = kafka_.Commit(*m, {o.topic, o.partition}, o.offset);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

Result<std::vector<kafka::PartitionOffset>> SimConsumer::Committed(
    const std::vector<kafka::TopicPartition>& partitions, std::chrono::milliseconds /*timeout*/) {
  if (!kafka_.Available()) return UnavailableError("broker unavailable");
  std::vector<kafka::PartitionOffset> out;
  for (const auto& tp : partitions) out.push_back({tp.topic, tp.partition, kafka_.Committed(tp)});
  return out;
}

Status SimConsumer::Pause(const std::vector<kafka::TopicPartition>& partitions) {
  SimMember* m = member();
  if (m == nullptr) return FailedPreconditionError("not in the group");
  for (const auto& tp : partitions) {
    if (std::find(m->assigned.begin(), m->assigned.end(), tp) == m->assigned.end()) {
      return FailedPreconditionError(fmt::format("{}[{}] not assigned", tp.topic, tp.partition));
    }
  }
  for (const auto& tp : partitions) m->paused.insert(tp);
  world_.Trace(fmt::format("{} pause {} partitions", member_id_, partitions.size()));
  return Status::Ok();
}

Status SimConsumer::Resume(const std::vector<kafka::TopicPartition>& partitions) {
  SimMember* m = member();
  if (m == nullptr) return FailedPreconditionError("not in the group");
  for (const auto& tp : partitions) {
    if (std::find(m->assigned.begin(), m->assigned.end(), tp) == m->assigned.end()) {
      return FailedPreconditionError(fmt::format("{}[{}] not assigned", tp.topic, tp.partition));
    }
  }
  for (const auto& tp : partitions) m->paused.erase(tp);
  world_.Trace(fmt::format("{} resume {} partitions", member_id_, partitions.size()));
  return Status::Ok();
}

Result<std::vector<kafka::TopicPartition>> SimConsumer::Assignment() {
  SimMember* m = member();
  if (m == nullptr) return std::vector<kafka::TopicPartition>{};
  return m->assigned;
}

Result<kafka::GroupMetadata> SimConsumer::CurrentGroupMetadata() {
  return FailedPreconditionError("no group metadata in the simulation");
}

std::string SimConsumer::MemberId() { return member_id_; }

Status SimConsumer::Close() {
  if (closed_) return Status::Ok();
  if (SimMember* m = member()) {
    if (!m->assigned.empty() && listener_ != nullptr) {
      m->in_revoke = true;
      const auto parts = m->assigned;
      listener_->OnRevoked(*this, parts);
    }
    kafka_.Leave(member_id_);
  }
  closed_ = true;
  return Status::Ok();
}

}  // namespace sluice::sim

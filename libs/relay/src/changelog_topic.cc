#include "changelog_topic.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "sluice/core/logging.h"

namespace sluice::relay {

Result<int> EnsureChangelogTopic(kafka::Admin& admin, Clock& clock, const ChangelogTopicSpec& spec,
                                 const std::string& source, const std::string& topic) {
  using Ms = std::chrono::milliseconds;
  constexpr Ms kAdminTimeout{10'000};
  const std::string& suffix = spec.suffix;
  if (source.size() > suffix.size() && source.ends_with(suffix)) {
    return FailedPreconditionError(
        fmt::format("topic {} is a changelog topic (it ends with {}), assigned as a source: narrow "
                    "kafka.topics so that it matches no changelog topic",
                    source, suffix));
  }
  ASSIGN_OR_RETURN(const int want, admin.PartitionCount(source, kAdminTimeout));
  auto have = admin.PartitionCount(topic, kAdminTimeout);
  if (!have.ok() && have.status().code() == StatusCode::kNotFound) {
    kafka::TopicSpec create(topic, want);
    create.replication = spec.replication;
    create.configs["cleanup.policy"] = "compact,delete";
    create.configs["retention.ms"] = std::to_string(spec.retention.count());
    Status created = admin.CreateTopic(create, kAdminTimeout);
    if (!created.ok() && created.code() != StatusCode::kAlreadyExists) {
      return created.WithContext("creating the changelog topic " + topic);
    }
    if (created.ok())
      GetLogger("relay")->info("created changelog topic {} ({} partitions)", topic, want);
    // A topic just created (here, or by another instance starting at the same time: then
    // AlreadyExists) can be missing from the metadata for a moment.
    const auto deadline = clock.Now() + kAdminTimeout;
    have = admin.PartitionCount(topic, kAdminTimeout);
    while (!have.ok() && have.status().code() == StatusCode::kNotFound && clock.Now() < deadline) {
      clock.SleepUntil(clock.Now() + Ms(200));
      have = admin.PartitionCount(topic, kAdminTimeout);
    }
  }
  if (!have.ok()) return have.status().WithContext("changelog topic " + topic);
  if (*have != want) {
    return FailedPreconditionError(fmt::format(
        "changelog topic {} has {} partitions but its source {} has {}: a changelog partition "
        "must match its source partition. Add partitions to the changelog topic (kafka-topics "
        "--alter --partitions {}) or set changelog.suffix to use another topic",
        topic, *have, source, want, want));
  }
  return want;
}

}  // namespace sluice::relay

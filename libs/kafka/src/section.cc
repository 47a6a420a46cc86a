#include "sluice/kafka/section.h"

#include "sluice/config/config.h"
#include "sluice/config/section.h"
#include "sluice/kafka/properties.h"

namespace sluice::kafka {

Status ConsumerSection::Validate() const {
  if (bootstrap.empty()) return InvalidArgumentError("bootstrap is required");
  if (topics.empty()) return InvalidArgumentError("topics needs at least one topic");
  if (group_id.empty()) return InvalidArgumentError("group_id must not be empty");
  // librdkafka's own check of every name and value, so --check-config finds a misspelling.
  RETURN_IF_ERROR(CheckProperties(properties).WithContext("properties"));
  if (poll_batch < 1 || poll_batch > 100'000) {
    return InvalidArgumentError("poll_batch must be within 1..100000");
  }
  if (consumer_queue_kbytes < 1024 || consumer_queue_kbytes > 2'097'151) {
    return InvalidArgumentError("consumer_queue_kbytes must be within 1024..2097151");
  }
  return Status::Ok();
}

Result<ConsumerSection> ReadConsumerSection(const config::Config& c, std::string_view pointer,
                                            ConsumerSection defaults) {
  using config::SectionKey;
  ConsumerSection s = std::move(defaults);
  const std::string context = c.name() + ": " + config::DottedName(pointer);
  auto bootstrap = c.GetString(SectionKey(pointer, "bootstrap"));
  if (bootstrap.ok()) {
    s.bootstrap = *bootstrap;
  } else if (bootstrap.status().code() != StatusCode::kNotFound || s.bootstrap.empty()) {
    return bootstrap.status();
  }
  s.group_id = c.GetString(SectionKey(pointer, "group_id"), s.group_id);
  const std::string topics = SectionKey(pointer, "topics");
  if (c.Has(topics)) s.topics.clear();
  for (size_t i = 0; i < c.Size(topics); ++i) {
    ASSIGN_OR_RETURN(std::string topic, c.GetString(topics + "/" + std::to_string(i)));
    s.topics.push_back(std::move(topic));
  }
  ASSIGN_OR_RETURN(auto properties, c.GetPropertyMap(SectionKey(pointer, "properties")));
  for (auto& [name, value] : properties) s.properties[name] = std::move(value);
  s.poll_batch = static_cast<size_t>(
      c.GetInt(SectionKey(pointer, "poll_batch"), static_cast<int64_t>(s.poll_batch)));
  RETURN_IF_ERROR(
      config::ReadDuration(c, SectionKey(pointer, "commit_interval"), &s.commit_interval));
  s.consumer_queue_kbytes =
      c.GetInt(SectionKey(pointer, "consumer_queue_kbytes"), s.consumer_queue_kbytes);
  RETURN_IF_ERROR(s.Validate().WithContext(context));
  return s;
}

}  // namespace sluice::kafka

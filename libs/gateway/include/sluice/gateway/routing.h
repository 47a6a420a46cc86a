// Routing: which Kafka topic an event goes to, and under which key.
#pragma once

#include <map>
#include <string>

#include "sluice/envelope/event.h"

namespace sluice::gateway {

// Thread-safety: immutable after construction; any number of threads may call it at once.
class Router {
 public:
  // `topics`: sObject API name -> topic, matched exactly. `default_pattern`: the topic for any
  // other sObject, with "{object}" replaced by the lower-cased sObject name. Default
  // "sf.{object}.events" (Contact -> sf.contact.events).
  explicit Router(std::map<std::string, std::string> topics = {},
                  std::string default_pattern = "sf.{object}.events");

  std::string TopicFor(const std::string& sobject) const;

  // The Kafka key: the ordering key of the envelope, its external_id when it has one (upserts), so
  // that events for the same record keep their order; otherwise its event_id (spread over
  // partitions, and a retry lands on the same partition).
  static const std::string& KeyFor(const envelope::Event& event);

 private:
  std::map<std::string, std::string> topics_;
  std::string default_pattern_;
};

}  // namespace sluice::gateway

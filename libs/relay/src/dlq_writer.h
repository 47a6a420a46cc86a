// DlqWriter: dead letters to the DLQ topic. It names the topic (source + suffix, or the configured
// one), makes sure it exists, writes the record with its DLQ headers and retries until the broker
// has it: a record too large for the DLQ goes again without its value, anything else (a broker
// down) again as it is, a second later.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "event_loop.h"
#include "partition_book.h"
#include "sluice/envelope/dlq.h"
#include "sluice/relay/options.h"
#include "sluice/relay/parts.h"

namespace spdlog {
class logger;
}

namespace sluice::relay {

// Thread-safety: engine thread only (acks come back through the event loop).
class DlqWriter {
 public:
  // Runs on the engine thread when the broker acked the event's DLQ record.
  using Acked = std::function<void(EventRecord& e, const envelope::DlqInfo& info)>;

  DlqWriter(const RelayOptions& options, DlqSink& sink, TopicAdmin& admin, PartitionBook& book,
            EventLoop& loop, std::shared_ptr<spdlog::logger> log, Acked acked);

  std::string TopicFor(const std::string& source_topic) const;
  // Looks the DLQ topic up once and creates it when missing (if allowed).
  void EnsureTopic(const std::string& source_topic);
  // Writes the DLQ record of `e` (stage kDeadLettering until acked). An abandoned event is not
  // written: the new owner of its partition will see it again.
  void Write(EventRecord& e, envelope::DlqInfo info, bool omit_value = false);

 private:
  void RetryLater(uint64_t seq, std::shared_ptr<envelope::DlqInfo> info, bool omit_value,
                  const Status& why);

  const RelayOptions& options_;
  DlqSink& sink_;
  TopicAdmin& admin_;
  PartitionBook& book_;
  EventLoop& loop_;
  std::shared_ptr<spdlog::logger> log_;
  Acked acked_;
  std::set<std::string> ready_;  // DLQ topics known to exist
};

}  // namespace sluice::relay

// AppliedOffsets: how far each changelog partition has been applied to the local store, kept in a
// small JSON file beside the store (<store>.changelog.json):
//
//   {"version":1,"partitions":[{"topic":"sf.contact.events.delivered","partition":0,"next":812}]}
//
// `next` is the next changelog offset to apply. A restore reads from there, so a relay that
// restarts on its own store reads only what others wrote since. The file is a hint: losing it (or
// finding it damaged) costs a longer restore, never a wrong answer, because applying a changelog
// entry twice is harmless. It must never claim more than the store holds, so the relay deletes it
// whenever the store is created afresh or rebuilt.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "sluice/core/status.h"
#include "sluice/kafka/message.h"

namespace sluice::changelog {

// Thread-safety: not thread-safe; the owner serializes calls.
class AppliedOffsets {
 public:
  // Reads `path`. A missing file is empty; a damaged one is empty too, and `*damaged` (when not
  // null) says why, for the log.
  static AppliedOffsets Load(const std::string& path, std::string* damaged = nullptr);

  // The next offset to apply for a changelog partition; 0 when unknown (read from the start).
  int64_t Next(const kafka::TopicPartition& tp) const;
  // Raises the next offset (never lowers it).
  void Advance(const kafka::TopicPartition& tp, int64_t next);
  // Forgets every partition (the store was rebuilt).
  void Clear();
  // Writes the file atomically (a temporary file, fsync, rename). IO errors name the path.
  Status Save() const;
  // Removes the file (and forgets everything). A missing file is Ok.
  static Status Remove(const std::string& path);

  const std::map<kafka::TopicPartition, int64_t>& all() const { return next_; }

 private:
  std::string path_;
  std::map<kafka::TopicPartition, int64_t> next_;
};

}  // namespace sluice::changelog

// The changelog topic of a source topic, as the relay's store part needs it: created when missing
// (compacted, deleted after the store's retention), refused when its partition count differs
// from its source's. See docs/OPERATIONS.md, "Where delivery state lives".
#pragma once

#include <chrono>
#include <string>

#include "sluice/core/clock.h"
#include "sluice/core/status.h"
#include "sluice/kafka/admin.h"

namespace sluice::relay {

struct ChangelogTopicSpec {
  std::string suffix;    // changelog.suffix: a source ending with it is refused
  int replication = -1;  // of a topic created here; -1: the broker's default
  std::chrono::milliseconds retention{0};
};

// The partition count of `topic`, the changelog of `source`, after creating it when missing.
// FailedPrecondition when `source` is itself a changelog topic or the counts differ; the admin
// client's errors otherwise. A topic just created (here or by another instance starting at the
// same time) is waited for while the metadata does not show it yet.
// Thread-safety: a free function; `admin` is thread-safe.
Result<int> EnsureChangelogTopic(kafka::Admin& admin, Clock& clock, const ChangelogTopicSpec& spec,
                                 const std::string& source, const std::string& topic);

}  // namespace sluice::relay

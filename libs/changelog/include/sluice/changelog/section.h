// The delivered-set changelog's "changelog:" config section. The defaults are stated here once
// (the suffix in record.h, the restore timeout in RestoreOptions); a program that wants others
// passes them as `defaults`.
#pragma once

#include <string>
#include <string_view>

#include "sluice/changelog/record.h"
#include "sluice/changelog/restore.h"
#include "sluice/core/status.h"

namespace sluice::config {
class Config;
}  // namespace sluice::config

namespace sluice::changelog {

// Thread-safety: a value type.
struct ChangelogSection {
  // `enabled`: every resolution is also written to a compacted changelog topic per source topic,
  // and an assigned partition is restored from it before it is consumed. Default true.
  bool enabled = true;
  // `suffix`: the changelog of topic T is T + suffix. Default kDefaultSuffix (".delivered").
  std::string suffix{kDefaultSuffix};
  // `replication_factor` of the changelog topics created: -1 or 1..32. Default -1: the broker's
  // default.replication.factor.
  int replication_factor = -1;
  // `restore_timeout` -> restore.timeout (at least 1 s). The rest of RestoreOptions is not in the
  // file.
  RestoreOptions restore;
  // `standby_partitions`: keep warm copies of the changelog partitions of this instance's topics
  // that it does not own (standby copies, as Kafka Streams' standby replicas): they are tailed
  // into the local store (standby.h), so a partition that moves here is restored from seconds of
  // entries, not from its whole retention. Costs one reader and the other instances' write rate
  // into the local store. Default false.
  bool standby_partitions = false;

  // Ok, or InvalidArgument naming the key (without the section's name).
  Status Validate() const;
};

// Reads the section at `pointer` (e.g. "/changelog") over `defaults` and validates it. Errors name
// the file and the key.
Result<ChangelogSection> ReadChangelogSection(const config::Config& config,
                                              std::string_view pointer,
                                              ChangelogSection defaults = {});

}  // namespace sluice::changelog

// The metrics of the relay's store part with the changelog on (store_part.cc).
#pragma once

#include "sluice/core/status.h"
#include "sluice/metrics/registry.h"

namespace sluice::relay {

// Thread-safety: registered once, then the counters and gauges are safe from any thread.
struct ChangelogMetrics {
  metrics::Counter* written = nullptr;
  metrics::Counter* write_errors = nullptr;
  metrics::Counter* restored = nullptr;
  metrics::Counter* restores = nullptr;
  metrics::Counter* foreign = nullptr;
  metrics::Gauge* last_restore_seconds = nullptr;
  metrics::Counter* rebuilds = nullptr;
  metrics::Counter* standby_applied = nullptr;
  metrics::Gauge* standby_partitions = nullptr;

  Status Register(metrics::Registry& r) {
    ASSIGN_OR_RETURN(written,
                     r.AddCounter("sluice_relay_changelog_written_total",
                                  "Resolutions the broker acknowledged on the changelog."));
    ASSIGN_OR_RETURN(
        write_errors,
        r.AddCounter("sluice_relay_changelog_write_errors_total",
                     "Changelog writes that failed (the resolution is written again)."));
    ASSIGN_OR_RETURN(restored, r.AddCounter("sluice_relay_changelog_restored_entries_total",
                                            "Changelog entries applied to the local store."));
    ASSIGN_OR_RETURN(restores, r.AddCounter("sluice_relay_changelog_restores_total",
                                            "Restores run (one per assignment with partitions)."));
    ASSIGN_OR_RETURN(foreign,
                     r.AddCounter("sluice_relay_changelog_foreign_records_total",
                                  "Changelog records that were not the relay's: skipped."));
    ASSIGN_OR_RETURN(last_restore_seconds, r.AddGauge("sluice_relay_changelog_last_restore_seconds",
                                                      "How long the last restore took."));
    ASSIGN_OR_RETURN(rebuilds,
                     r.AddCounter("sluice_relay_store_rebuilds_total",
                                  "Local stores found missing or corrupt and rebuilt from the "
                                  "changelog."));
    ASSIGN_OR_RETURN(standby_applied,
                     r.AddCounter("sluice_relay_changelog_standby_applied_total",
                                  "Changelog entries of partitions this instance does not own "
                                  "applied to the local store (standby copies)."));
    ASSIGN_OR_RETURN(standby_partitions,
                     r.AddGauge("sluice_relay_changelog_standby_partitions",
                                "Changelog partitions followed as standby copies."));
    return Status::Ok();
  }
};

}  // namespace sluice::relay

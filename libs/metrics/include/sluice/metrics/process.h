// Metrics beside a component's own: values that may be unknown, process metrics, and build facts.
//
// Process metrics every sluice service exports, with the names Prometheus client libraries use
// (process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds,
// process_start_time_seconds), read from /proc/self at scrape time.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/metrics/registry.h"

namespace sluice::metrics {

// One series without labels whose value `read()` gives at scrape time; absent from a scrape in
// which it gives nullopt (a value not known yet is left out, not drawn as 0 or -1).
// Thread-safety: as Registry; `read` runs under the registry's lock and must be thread-safe.
Result<CallbackHandle> AddOptionalValue(Registry& registry, std::string_view name,
                                        std::string_view help, MetricType type,
                                        std::function<std::optional<double>()> read);

// Registers the four process metrics on `registry`; they stay registered while the returned
// handles live. Linux only (/proc); a value /proc cannot give is left out of that scrape.
// Thread-safety: as Registry.
Result<std::vector<CallbackHandle>> AddProcessMetrics(Registry& registry);

// Adds `<name>{labels...} 1`, the convention for constant facts about a binary (its version and
// the libraries it runs with). Thread-safety: as Registry.
Status AddInfoMetric(Registry& registry, std::string_view name, std::string_view help,
                     const std::map<std::string, std::string>& labels);

}  // namespace sluice::metrics

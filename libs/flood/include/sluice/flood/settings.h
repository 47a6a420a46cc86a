// What sluice-flood records about the system under test, beside its own inputs: the relay's
// settings (from its /metrics) and sluice-sfsim's latency model (from its /sim/stats). Both are
// read once at the start of a run; both treat their input as hostile (unknown or malformed values
// are left out, never guessed).
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "sluice/flood/report.h"
#include "sluice/flood/sources.h"

namespace sluice::flood {

// The relay's settings from its metrics: sluice_relay_settings_info's labels (mode, max_records,
// linger_ms, max_in_flight, requests_per_second, records_per_second) and the
// sluice_relay_in_flight_limit and sluice_relay_request_rate_limit gauges. nullopt when none of
// them is present.
std::optional<RelaySettings> RelaySettingsFrom(const std::vector<PromSample>& samples);

// sfsim's latency model from /sim/stats JSON (its "latency_model" object); nullopt when absent or
// malformed.
std::optional<SfsimLatencyModel> SfsimLatencyFromStats(std::string_view stats_json);

}  // namespace sluice::flood

// Pass/fail thresholds for sluice-flood runs: `--assert 'drain_time_s<120'`.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::flood {

enum class CompareOp { kLess, kLessEqual, kGreater, kGreaterEqual, kEqual, kNotEqual };

std::string_view CompareOpText(CompareOp op);

// One parsed threshold: METRIC OP NUMBER.
// Thread-safety: a value type.
struct Threshold {
  std::string text;  // as given, for messages
  std::string metric;
  CompareOp op = CompareOp::kLess;
  double value = 0;
};

// Parses "METRIC OP NUMBER" (spaces allowed around the parts; OP one of < <= > >= == !=; NUMBER a
// decimal or exponent literal). `known_metrics` is the set of names a run reports; an unknown name
// is an error that lists the known ones.
Result<Threshold> ParseThreshold(std::string_view text, const std::vector<std::string>& known);

struct ThresholdOutcome {
  Threshold threshold;
  bool passed = false;
  // The measured value; empty when the run did not measure it (e.g. the drain never finished), in
  // which case the threshold fails.
  std::optional<double> actual;
  // "drain_time_s<120: 84.2 (pass)" or "... not measured (fail)".
  std::string message;
};

// Evaluates each threshold against the run's figures (metric name -> value, empty when not
// measured).
std::vector<ThresholdOutcome> EvaluateThresholds(
    const std::vector<Threshold>& thresholds,
    const std::map<std::string, std::optional<double>>& figures);

}  // namespace sluice::flood

// sluice-flood's command line (CLI11) and config file (--config, YAML through libs/config,
// checked against schemas/flood.config.schema.json, which is compiled in).
//
//   sluice-flood [--bootstrap HOST:PORT] [--config FILE] [-X key=value]... COMMAND [options]
//   COMMAND: burst | rate | ramp | backlog | plan
//   sluice-flood compare A.json B.json ... [-o PAGE.html]     (compare.h)
//
// Flags given on the command line win over the config file; the file wins over built-in defaults.
#pragma once

#include <string>
#include <vector>

#include "sluice/cli/tool_flags.h"
#include "sluice/core/status.h"
#include "sluice/flood/compare.h"
#include "sluice/flood/planner.h"
#include "sluice/flood/runner.h"

namespace sluice::flood {

using ProgressMode = cli::ProgressMode;

struct Command {
  enum class Kind { kRun, kPlan, kHelp, kCompare };
  Kind kind = Kind::kHelp;
  // kHelp: the text to print (exit 0): the help, or with --version the version text.
  std::string help;
  // kRun
  RunOptions run;
  ProgressMode progress = ProgressMode::kAuto;
  // kPlan
  PlanInput plan;
  bool plan_json = false;
  std::string calibrate_path;  // applied by the tool (it reads the file)
  // Plan inputs given on the command line (PlanInput field names), which a calibration keeps.
  std::vector<std::string> plan_given;
  // kCompare
  CompareOptions compare;
};

// Parses argv (argv[0] is the program name). InvalidArgument with a message for people (what is
// wrong and how to get help) for anything malformed: unknown flags, missing values, bad numbers,
// durations, distributions, thresholds, -X without '=', an unreadable or invalid config file.
Result<Command> ParseCommandLine(const std::vector<std::string>& argv);

// The embedded schemas/flood.config.schema.json.
std::string_view FloodConfigSchema();

}  // namespace sluice::flood

// sluice-flood: floods a topic, watches the relay drain it, verifies the sfsim ledger, reports.
//
// Exit status: 0 ok; 1 an --assert threshold failed; 2 a bad command line or config file; 3 the
// run could not start or its report could not be written.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/core/logging.h"
#include "sluice/core/shutdown.h"
#include "sluice/flood/cli.h"
#include "sluice/flood/planner.h"
#include "sluice/flood/progress.h"
#include "sluice/flood/runner.h"

namespace {

std::string Join(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

int Plan(const sluice::flood::Command& c) {
  sluice::flood::PlanInput in = c.plan;
  if (!c.calibrate_path.empty()) {
    std::ifstream f(c.calibrate_path);
    if (!f) {
      std::fprintf(stderr, "sluice-flood: --calibrate: cannot read %s\n", c.calibrate_path.c_str());
      return 2;
    }
    std::stringstream text;
    text << f.rdbuf();
    auto cal = sluice::flood::CalibrationFromReport(text.str());
    if (!cal.ok()) {
      std::fprintf(stderr, "sluice-flood: --calibrate %s: %s\n", c.calibrate_path.c_str(),
                   cal.status().message().c_str());
      return 2;
    }
    sluice::flood::ApplyCalibration(*cal, c.plan_given, &in);
  }
  auto r = sluice::flood::Plan(in);
  if (!r.ok()) {
    std::fprintf(stderr, "sluice-flood: plan: %s\n", r.status().message().c_str());
    return 2;
  }
  const std::string out =
      c.plan_json ? sluice::flood::PlanToJson(in, *r) + "\n" : sluice::flood::FormatPlan(in, *r);
  std::fputs(out.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv, argv + argc);
  auto cmd = sluice::flood::ParseCommandLine(args);
  if (!cmd.ok()) {
    std::fprintf(stderr, "sluice-flood: %s\n", cmd.status().message().c_str());
    return 2;
  }
  if (cmd->kind == sluice::flood::Command::Kind::kHelp) {
    std::fputs(cmd->help.c_str(), stdout);
    return 0;
  }
  if (cmd->kind == sluice::flood::Command::Kind::kPlan) return Plan(*cmd);
  if (cmd->kind == sluice::flood::Command::Kind::kCompare) {
    std::string error;
    const int status = sluice::flood::RunCompare(cmd->compare, &error);
    if (status != 0) {
      std::fprintf(stderr, "sluice-flood: compare: %s\n", error.c_str());
    } else {
      std::printf("compare       %s\n", cmd->compare.output.c_str());
    }
    return status;
  }

  // Warnings and errors by default; SLUICE_FLOOD_LOG_LEVEL=debug (or trace, info, ...) shows the
  // libraries' and librdkafka's own lines on stderr.
  sluice::LoggingOptions lo;
  const char* level = std::getenv("SLUICE_FLOOD_LOG_LEVEL");
  lo.level = level != nullptr ? level : "warn";
  if (!sluice::SetupLogging("sluice-flood", lo)) {
    std::fprintf(stderr, "sluice-flood: SLUICE_FLOOD_LOG_LEVEL: unknown level '%s'\n", level);
    return 2;
  }
  auto shutdown = sluice::InstallSignalHandlers();

  sluice::flood::RunOptions run = cmd->run;
  run.command_line = sluice::cli::RedactedCommandLine(args);
  run.tool_version = std::string(sluice::build_info::SluiceVersion());
  const bool tty = isatty(STDOUT_FILENO) == 1;
  std::unique_ptr<sluice::flood::ProgressSink> progress;
  switch (cmd->progress) {
    case sluice::flood::ProgressMode::kNone:
      progress = sluice::flood::MakeSilentProgress();
      break;
    case sluice::flood::ProgressMode::kBar:
      progress = sluice::flood::MakeConsoleProgress(stdout, true);
      break;
    case sluice::flood::ProgressMode::kLines:
      progress = sluice::flood::MakeConsoleProgress(stdout, false);
      break;
    case sluice::flood::ProgressMode::kAuto:
      progress = sluice::flood::MakeConsoleProgress(stdout, tty);
      break;
  }
  auto report = sluice::flood::Run(run, *progress, shutdown.get());
  progress.reset();  // ends the bar's line
  if (!report.ok()) {
    std::fprintf(stderr, "sluice-flood: %s\n", report.status().ToString().c_str());
    return 3;
  }
  std::fputs(sluice::flood::ReportSummary(*report).c_str(), stdout);
  if (!run.report_prefix.empty()) {
    auto paths = sluice::flood::WriteReports(*report, run.report_prefix);
    if (!paths.ok()) {
      std::fprintf(stderr, "sluice-flood: %s\n", paths.status().ToString().c_str());
      return 3;
    }
    std::printf("report        %s\n", Join(*paths).c_str());
  }
  for (const auto& t : report->thresholds) {
    if (!t.passed) return 1;
  }
  return 0;
}

// sluice-dlq's command line (CLI11) and config file (--config, YAML through libs/config, checked
// against a schema compiled into the library; see docs/DLQ.md).
//
//   sluice-dlq [--bootstrap HOST:PORT] [--config FILE] [-X key=value]... [--timeout 10s]
//              COMMAND --topic T [options]
//   COMMAND: stats | list | show | replay
//
// Flags given on the command line win over the config file.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/cli/tool_flags.h"
#include "sluice/core/status.h"
#include "sluice/dlq/filter.h"
#include "sluice/dlq/kafka_io.h"
#include "sluice/dlq/replay.h"

namespace sluice::dlq {

using ProgressMode = cli::ProgressMode;

// Thread-safety: a value type.
struct Command {
  enum class Kind { kHelp, kStats, kList, kShow, kReplay };
  Kind kind = Kind::kHelp;
  std::string help;  // kHelp: the text to print (exit 0): the help, or --version's text
  KafkaOptions kafka;
  std::string topic;
  Filter filter;
  bool json = false;
  int64_t limit = 0;  // list: lines at most (0: all)
  // show
  int32_t partition = -1;
  int64_t offset = -1;
  // replay (options.dlq_topic/filter/limit mirror the fields above)
  ReplayOptions replay;
  std::string group;  // --group; "" → ReplayGroupId
  ProgressMode progress = ProgressMode::kAuto;
};

// Parses argv (argv[0] is the program name). `now_ms` resolves relative --since/--until. Errors
// are InvalidArgument with a message for people (what is wrong, and how to get help): unknown
// commands or flags, missing values, bad numbers or times, -X without '=', an unreadable or
// invalid config file, a missing --topic or bootstrap.
Result<Command> ParseCommandLine(const std::vector<std::string>& argv, int64_t now_ms);

// The config file's schema, schemas/dlq.config.schema.json as compiled in (JSON Schema draft-04).
std::string_view ConfigSchema();

}  // namespace sluice::dlq

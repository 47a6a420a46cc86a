// The sluice-dlq program as a function: parse, run the command, print, return the exit code.
//
// Exit codes: 0 done; 1 partial (records refused by the loop guard or otherwise unreplayable,
// interrupted, or stopped waiting for records); 2 usage, config or connection errors (the message
// says which).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "sluice/core/shutdown.h"

namespace sluice::dlq {

inline constexpr int kExitOk = 0;
inline constexpr int kExitPartial = 1;
inline constexpr int kExitError = 2;

// Where the program writes. Thread-safety: a value type (the streams are not owned).
struct ToolIo {
  std::FILE* out = stdout;  // results (tables, lines, JSON, the replay summary)
  std::FILE* err = stderr;  // errors, warnings and progress
  bool err_is_tty = false;  // progress as a redrawn line (true) or plain lines
  const ShutdownToken* shutdown = nullptr;
};

int RunTool(const std::vector<std::string>& argv, const ToolIo& io);

}  // namespace sluice::dlq

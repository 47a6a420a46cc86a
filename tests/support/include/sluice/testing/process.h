// ChildProcess: runs a program for a test (a broker script, sluice-sfsim, sluice-relay) and makes
// sure it is gone when the test ends, even when the test fails.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::testing {

struct ChildOptions {
  // Extra environment entries, "KEY=VALUE"; the parent's environment is inherited.
  std::vector<std::string> env;
  // Where the child's stderr goes (appended); empty means inherit the test's stderr.
  std::string stderr_path;
  // The child gets its own process group so Kill/Terminate reach its children too. Default true.
  bool own_process_group = true;
};

// A running child with its stdout on a pipe.
// Thread-safety: not thread-safe; owned by one test thread.
class ChildProcess {
 public:
  static Result<std::unique_ptr<ChildProcess>> Start(const std::vector<std::string>& argv,
                                                     const ChildOptions& options = {});
  ~ChildProcess();  // SIGKILL the group if still running, then reap.

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // Reads one line of stdout (without the newline); DeadlineExceeded when none came in time,
  // Unavailable at end of stream.
  Result<std::string> ReadLine(std::chrono::milliseconds timeout);
  // Reads lines until one contains `needle`; returns that line.
  Result<std::string> WaitForLine(const std::string& needle, std::chrono::milliseconds timeout);

  // Sends `sig` to the child (its group when it has one).
  void Signal(int sig);
  // Waits for exit; returns the exit code (128+signal when killed), or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  // SIGTERM, wait up to `grace`, then SIGKILL; returns the exit code.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  bool running();

 private:
  ChildProcess(pid_t pid, int stdout_fd, bool group)
      : pid_(pid), out_fd_(stdout_fd), group_(group) {}

  pid_t pid_;
  int out_fd_;
  bool group_;
  std::optional<int> exit_code_;
  std::string buffer_;
};

// Runs a command to completion; returns its exit code and stdout. Deadline-bounded.
struct CommandResult {
  int exit_code = -1;
  std::string out;
};
Result<CommandResult> RunCommand(const std::vector<std::string>& argv,
                                 std::chrono::milliseconds timeout,
                                 const ChildOptions& options = {});

// RunCommand with stderr captured as well (through a temporary file, removed afterwards; any
// options.stderr_path is replaced). A command that cannot be run or does not finish in time is
// reported as a test failure and comes back with exit_code -1.
struct CapturedRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CapturedRun RunCapturing(const std::vector<std::string>& argv, std::chrono::milliseconds timeout,
                         ChildOptions options = {});

// Path of a built binary in build/bin, or a source-tree file.
std::string BinPath(const std::string& name);
std::string SourcePath(const std::string& relative);

}  // namespace sluice::testing

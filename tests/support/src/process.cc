#include "sluice/testing/process.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;

int DecodeWait(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const std::vector<std::string>& argv,
                                                          const ChildOptions& options) {
  if (argv.empty()) return InvalidArgumentError("empty argv");
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return InternalError(std::strerror(errno));
  // Build everything the child needs before fork: only async-signal-safe calls after it.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
  for (const auto& e : options.env) env_strings.push_back(e);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  int err_fd = -1;
  if (!options.stderr_path.empty()) {
    err_fd = open(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (err_fd < 0)
      return InternalError("open " + options.stderr_path + ": " + std::strerror(errno));
  }
  pid_t pid = fork();
  if (pid < 0) return InternalError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (options.own_process_group) setpgid(0, 0);
    // Undo signal masks inherited from a test that installed shutdown handlers.
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(pipe_fds[1], STDOUT_FILENO);
    if (err_fd >= 0) dup2(err_fd, STDERR_FILENO);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    execvpe(args[0], args.data(), envp.data());
    _exit(127);
  }
  if (options.own_process_group) setpgid(pid, pid);  // both sides, to win the race
  close(pipe_fds[1]);
  if (err_fd >= 0) close(err_fd);
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, pipe_fds[0], options.own_process_group));
}

ChildProcess::~ChildProcess() {
  if (!exit_code_) {
    Signal(SIGKILL);
    Wait(Ms(10000));
  }
  if (out_fd_ >= 0) close(out_fd_);
}

Result<std::string> ChildProcess::ReadLine(Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return DeadlineExceededError("no line from child in time");
    pollfd pfd{out_fd_, POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    char buf[4096];
    ssize_t n = read(out_fd_, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (!buffer_.empty()) {
        std::string line = std::move(buffer_);
        buffer_.clear();
        return line;
      }
      return UnavailableError("child closed stdout");
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

Result<std::string> ChildProcess::WaitForLine(const std::string& needle, Ms timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return DeadlineExceededError("no line containing '" + needle + "'");
    ASSIGN_OR_RETURN(std::string line, ReadLine(left));
    if (line.find(needle) != std::string::npos) return line;
  }
}

void ChildProcess::Signal(int sig) {
  if (exit_code_) return;
  if (group_) {
    kill(-pid_, sig);
  } else {
    kill(pid_, sig);
  }
}

std::optional<int> ChildProcess::Wait(Ms timeout) {
  if (exit_code_) return exit_code_;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = DecodeWait(status);
      return exit_code_;
    }
    if (r < 0 && errno != EINTR) {
      exit_code_ = -1;
      return exit_code_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(Ms(10));  // polling a child's exit; not a test-timing sleep
  }
}

int ChildProcess::Stop(Ms grace) {
  Signal(SIGTERM);
  if (auto code = Wait(grace)) return *code;
  Signal(SIGKILL);
  return Wait(Ms(10000)).value_or(-1);
}

bool ChildProcess::running() { return !Wait(Ms(0)).has_value(); }

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, Ms timeout,
                                 const ChildOptions& options) {
  ASSIGN_OR_RETURN(auto child, ChildProcess::Start(argv, options));
  CommandResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      child->Stop(Ms(2000));
      return DeadlineExceededError("command did not finish in time: " + argv[0]);
    }
    auto line = child->ReadLine(left);
    if (line.ok()) {
      result.out += *line + "\n";
    } else if (line.status().code() == StatusCode::kUnavailable) {
      break;
    }
  }
  auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
  auto code = child->Wait(std::max(left, Ms(1)));
  if (!code) {
    child->Stop(Ms(2000));
    return DeadlineExceededError("command did not exit in time: " + argv[0]);
  }
  result.exit_code = *code;
  return result;
}

CapturedRun RunCapturing(const std::vector<std::string>& argv, Ms timeout, ChildOptions options) {
  static std::atomic<int> counter{0};
  options.stderr_path =
      (std::filesystem::temp_directory_path() / ("sluice-stderr-" + std::to_string(getpid()) + "-" +
                                                 std::to_string(counter.fetch_add(1)) + ".err"))
          .string();
  CapturedRun run;
  auto r = RunCommand(argv, timeout, options);
  EXPECT_TRUE(r.ok()) << r.status();
  if (r.ok()) {
    run.exit_code = r->exit_code;
    run.out = std::move(r->out);
  }
  std::ifstream f(options.stderr_path);
  std::stringstream s;
  s << f.rdbuf();
  run.err = s.str();
  std::filesystem::remove(options.stderr_path);
  return run;
}

std::string BinPath(const std::string& name) { return std::string(SLUICE_BIN_DIR) + "/" + name; }
std::string SourcePath(const std::string& relative) {
  return std::string(SLUICE_SOURCE_DIR) + "/" + relative;
}

}  // namespace sluice::testing

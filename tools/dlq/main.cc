// sluice-dlq: inspect a sluice dead-letter topic and replay chosen records exactly once.
// docs/DLQ.md is the operator guide. Exit status: 0 done, 1 partial, 2 usage or connection error.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "sluice/core/logging.h"
#include "sluice/core/shutdown.h"
#include "sluice/dlq/tool.h"

int main(int argc, char** argv) {
  // The tool reports what matters itself; SLUICE_DLQ_LOG_LEVEL=debug (or info, warn, ...) shows
  // the libraries' and librdkafka's own lines on stderr.
  sluice::LoggingOptions lo;
  const char* level = std::getenv("SLUICE_DLQ_LOG_LEVEL");
  lo.level = level != nullptr ? level : "critical";
  lo.json = false;
  if (!sluice::SetupLogging("sluice-dlq", lo)) {
    lo.level = "critical";
    sluice::SetupLogging("sluice-dlq", lo);
  }
  // The first SIGINT/SIGTERM stops a replay after its current transaction; a second exits at once
  // (still safe: the open transaction is aborted by the next run).
  auto shutdown = sluice::InstallSignalHandlers();
  sluice::dlq::ToolIo io;
  io.err_is_tty = isatty(STDERR_FILENO) == 1;
  io.shutdown = shutdown.get();
  return sluice::dlq::RunTool(std::vector<std::string>(argv, argv + argc), io);
}

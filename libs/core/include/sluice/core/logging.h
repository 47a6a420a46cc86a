// JSON-lines logging on spdlog. Every line is one JSON object:
//   {"ts":"2026-11-21T05:52:18.123Z","level":"info","logger":"relay","msg":"circuit opened"}
// Nothing is logged per event at info level; components count in metrics instead.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace sluice {

struct LoggingOptions {
  // Minimum level: trace, debug, info, warn, error, critical, off. Default: info.
  std::string level = "info";
  // JSON lines (true, default) or spdlog's plain human pattern (false; for terminals).
  bool json = true;
  // Where lines go: "stderr" (default), "stdout", or a file path (appended).
  std::string sink = "stderr";
};

// Sets up the default logger for the process. Returns false (and leaves logging as it was) when the
// level is not one of the names above. Thread-safety: call once from main before threads start.
bool SetupLogging(std::string_view program, const LoggingOptions& options);

// A named logger sharing the default logger's sinks and format, for a component.
// Thread-safety: safe from any thread; loggers themselves are thread-safe.
std::shared_ptr<spdlog::logger> GetLogger(const std::string& name);

// Escapes `in` for use inside a JSON string literal (quotes, backslashes, control characters).
std::string JsonEscape(std::string_view in);

}  // namespace sluice

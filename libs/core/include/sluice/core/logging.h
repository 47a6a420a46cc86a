// JSON-lines logging on spdlog. Every line is one JSON object:
//   {"ts":"2026-11-21T05:52:18.123Z","level":"info","logger":"relay","msg":"circuit opened"}
// A line logged with LogWith also carries typed fields after "msg", for log pipelines to filter on:
//   {"ts":…,"level":"warn","logger":"relay","msg":"offset commit failed: …","topic":"orders",
//    "partition":3,"error":"Timed out"}
// Nothing is logged per event at info level; components count in metrics instead.
#pragma once

#include <spdlog/logger.h>

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

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

// One key/value field of a log line. String values are copied lazily: a LogField lives only for
// the LogWith call it is written in (it views its key and string value). Integers, doubles and
// bools are written as JSON numbers and booleans (NaN and infinities as null); strings are
// JSON-escaped, and bytes that are not UTF-8 become U+FFFD so the line still parses. Keys are
// escaped too; a key that would shadow "ts", "level", "logger" or "msg" is written with a leading
// underscore. Thread-safety: a value type.
class LogField {
 public:
  enum class Kind { kString, kInt, kUint, kDouble, kBool };

  LogField(std::string_view key, std::string_view value)
      : key_(key), kind_(Kind::kString), str_(value) {}
  LogField(std::string_view key, const char* value)
      : LogField(key, std::string_view(value == nullptr ? "" : value)) {}
  LogField(std::string_view key, const std::string& value)
      : LogField(key, std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), kind_(Kind::kBool), int_(value ? 1 : 0) {}
  template <std::signed_integral T>
  LogField(std::string_view key, T value)
      : key_(key), kind_(Kind::kInt), int_(static_cast<int64_t>(value)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), kind_(Kind::kUint), uint_(static_cast<uint64_t>(value)) {}
  LogField(std::string_view key, double value) : key_(key), kind_(Kind::kDouble), double_(value) {}

  // Appends `,"key":value` to `out`.
  void AppendJson(std::string& out) const;
  // Appends ` key=value` to `out` (strings quoted when they hold spaces, quotes or controls).
  void AppendText(std::string& out) const;

 private:
  void AppendJsonValue(std::string& out) const;

  std::string_view key_;
  Kind kind_;
  std::string_view str_;
  int64_t int_ = 0;
  uint64_t uint_ = 0;
  double double_ = 0;
};

namespace logging_internal {
// The fields of the line being logged on this thread; the formatter reads them. Loggers made by
// SetupLogging and GetLogger are synchronous, so a line is formatted on the thread that logs it.
class ScopedFields {
 public:
  explicit ScopedFields(std::initializer_list<LogField> fields);
  ~ScopedFields();
  ScopedFields(const ScopedFields&) = delete;
  ScopedFields& operator=(const ScopedFields&) = delete;

 private:
  const std::initializer_list<LogField>* previous_;
  std::initializer_list<LogField> fields_;
};
}  // namespace logging_internal

// Logs one line with fields, e.g.
//   LogWith(*log_, spdlog::level::warn, {{"topic", t}, {"partition", p}, {"error", s.message()}},
//           "offset commit failed: {}", s.ToString());
// The message still says everything (for the plain format and for people); the fields are what
// a log pipeline filters on. Thread-safety: as the logger (spdlog loggers are thread-safe).
template <typename... Args>
void LogWith(spdlog::logger& logger, spdlog::level::level_enum level,
             std::initializer_list<LogField> fields, spdlog::format_string_t<Args...> fmt,
             Args&&... args) {
  if (!logger.should_log(level)) return;
  logging_internal::ScopedFields scope(fields);
  logger.log(level, fmt, std::forward<Args>(args)...);
}

// Fields written on every line of this process from now on (e.g. {"instance": "relay-1"}), after
// the line's own. Thread-safety: call from main before other threads log.
void SetProcessLogFields(std::initializer_list<LogField> fields);

}  // namespace sluice

#include "sluice/core/logging.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <mutex>

#include "sluice/core/utf8.h"

namespace sluice {
namespace {

thread_local const std::initializer_list<LogField>* t_fields = nullptr;
// Rendered once by SetProcessLogFields; read by the formatters on every line.
std::string g_process_json;
std::string g_process_text;

// JsonEscape of text that may not be UTF-8: each byte that does not start a valid sequence is
// written as U+FFFD, so the line stays valid JSON whatever a peer sent.
void AppendEscapedUtf8(std::string_view in, std::string& out) {
  while (!in.empty()) {
    auto bad = FindInvalidUtf8(in);
    size_t good = bad ? *bad : in.size();
    out += JsonEscape(in.substr(0, good));
    if (!bad) break;
    out += "\ufffd";
    in.remove_prefix(good + 1);
  }
}

bool IsReservedKey(std::string_view key) {
  return key == "ts" || key == "level" || key == "logger" || key == "msg";
}

// Fields of the line (if any), then the process's.
class FieldsFlag final : public spdlog::custom_flag_formatter {
 public:
  explicit FieldsFlag(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string out;
    if (t_fields != nullptr) {
      for (const LogField& f : *t_fields) json_ ? f.AppendJson(out) : f.AppendText(out);
    }
    out += json_ ? g_process_json : g_process_text;
    dest.append(out.data(), out.data() + out.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<FieldsFlag>(json_);
  }

 private:
  bool json_;
};

// spdlog's %v writes the message raw; this flag writes it JSON-escaped so every line parses.
class EscapedMessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string escaped;
    AppendEscapedUtf8(std::string_view(msg.payload.data(), msg.payload.size()), escaped);
    dest.append(escaped.data(), escaped.data() + escaped.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedMessageFlag>();
  }
};

// The level as the config names it ("warn", not spdlog's "warning"), so a line's level can be
// pasted back into logging.level.
class LevelNameFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    std::string_view name = LevelName(msg.level);
    dest.append(name.data(), name.data() + name.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<LevelNameFlag>();
  }

 private:
  static std::string_view LevelName(spdlog::level::level_enum level) {
    switch (level) {
      case spdlog::level::trace:
        return "trace";
      case spdlog::level::debug:
        return "debug";
      case spdlog::level::info:
        return "info";
      case spdlog::level::warn:
        return "warn";
      case spdlog::level::err:
        return "error";
      case spdlog::level::critical:
        return "critical";
      default:
        return "off";
    }
  }
};

std::unique_ptr<spdlog::formatter> MakeFormatter(bool json) {
  auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
  if (json) {
    formatter->add_flag<EscapedMessageFlag>('*')
        .add_flag<LevelNameFlag>('@')
        .add_flag<FieldsFlag>('&', true)
        .set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%@","logger":"%n","msg":"%*"%&})");
  } else {
    formatter->add_flag<LevelNameFlag>('@')
        .add_flag<FieldsFlag>('&', false)
        .set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%@%$ [%n] %v%&");
  }
  return formatter;
}

bool g_json = true;

}  // namespace

std::string JsonEscape(std::string_view in) {
  std::string out;
  out.reserve(in.size() + 8);
  for (unsigned char c : in) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out;
}

void LogField::AppendJson(std::string& out) const {
  out += ",\"";
  if (IsReservedKey(key_)) out += '_';
  AppendEscapedUtf8(key_, out);
  out += "\":";
  AppendJsonValue(out);
}

void LogField::AppendJsonValue(std::string& out) const {
  switch (kind_) {
    case Kind::kString:
      out += '"';
      AppendEscapedUtf8(str_, out);
      out += '"';
      break;
    case Kind::kInt:
      out += std::to_string(int_);
      break;
    case Kind::kUint:
      out += std::to_string(uint_);
      break;
    case Kind::kDouble: {
      if (!std::isfinite(double_)) {
        out += "null";
        break;
      }
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", double_);
      out += buf;
      break;
    }
    case Kind::kBool:
      out += int_ != 0 ? "true" : "false";
      break;
  }
}

void LogField::AppendText(std::string& out) const {
  out += ' ';
  out.append(key_);
  out += '=';
  if (kind_ != Kind::kString) {
    AppendJsonValue(out);
    return;
  }
  bool plain = !str_.empty();
  for (unsigned char c : str_) {
    if (c <= ' ' || c == '"' || c == '\\' || c == '=') plain = false;
  }
  if (plain) {
    out.append(str_);
  } else {
    out += '"';
    AppendEscapedUtf8(str_, out);
    out += '"';
  }
}

namespace logging_internal {
ScopedFields::ScopedFields(std::initializer_list<LogField> fields)
    : previous_(t_fields), fields_(fields) {
  t_fields = &fields_;
}
ScopedFields::~ScopedFields() { t_fields = previous_; }
}  // namespace logging_internal

void SetProcessLogFields(std::initializer_list<LogField> fields) {
  g_process_json.clear();
  g_process_text.clear();
  for (const LogField& f : fields) {
    f.AppendJson(g_process_json);
    f.AppendText(g_process_text);
  }
}

bool SetupLogging(std::string_view program, const LoggingOptions& options) {
  auto level = spdlog::level::from_str(options.level);
  if (level == spdlog::level::off && options.level != "off") return false;
  spdlog::sink_ptr sink;
  if (options.sink == "stderr") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else if (options.sink == "stdout") {
    sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.sink, false);
  }
  g_json = options.json;
  sink->set_formatter(MakeFormatter(options.json));
  auto logger = std::make_shared<spdlog::logger>(std::string(program), sink);
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return true;
}

std::shared_ptr<spdlog::logger> GetLogger(const std::string& name) {
  if (auto existing = spdlog::get(name)) return existing;
  // Two threads can both miss above (e.g. two Kafka clients logging their first connection
  // failure at once), and spdlog::register_logger throws for the second: create under a lock.
  static std::mutex create_mu;
  std::lock_guard lock(create_mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto base = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(name, base->sinks().begin(), base->sinks().end());
  logger->set_level(base->level());
  logger->flush_on(spdlog::level::warn);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace sluice

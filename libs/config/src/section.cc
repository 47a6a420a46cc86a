#include "sluice/config/section.h"

#include <spdlog/common.h>

namespace sluice::config {

std::string SectionKey(std::string_view section, std::string_view key) {
  std::string out(section);
  out += '/';
  out += key;
  return out;
}

std::string DottedName(std::string_view pointer) {
  std::string out(pointer.starts_with('/') ? pointer.substr(1) : pointer);
  for (char& c : out) {
    if (c == '/') c = '.';
  }
  return out;
}

Result<LoggingOptions> ReadLogging(const Config& config, std::string_view pointer,
                                   LoggingOptions defaults) {
  LoggingOptions o = std::move(defaults);
  o.level = config.GetString(SectionKey(pointer, "level"), o.level);
  o.json = config.GetBool(SectionKey(pointer, "json"), o.json);
  // The rule SetupLogging applies, so a level it would refuse fails at load time (--check-config).
  if (spdlog::level::from_str(o.level) != spdlog::level::off || o.level == "off") return o;
  return InvalidArgumentError(config.name() + ": " + SectionKey(pointer, "level") + ": \"" +
                              o.level + "\" is not a log level");
}

}  // namespace sluice::config

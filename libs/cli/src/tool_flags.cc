#include "sluice/cli/tool_flags.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>

#include "sluice/core/duration.h"
#include "sluice/core/logging.h"

namespace sluice::cli {
namespace {

// A word of the command line as an error quotes it: cut, so hostile input cannot flood the
// terminal.
std::string Cut(std::string_view word) {
  constexpr size_t kMax = 100;
  return word.size() <= kMax ? std::string(word) : std::string(word.substr(0, kMax)) + "...";
}

// "a, b or c".
std::string Alternatives(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

}  // namespace

void AddProgressFlag(CLI::App& app, std::string* value) {
  app.add_option("--progress", *value, "auto (default), bar, lines or none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}));
}

ProgressMode ParseProgressMode(std::string_view value) {
  if (value == "bar") return ProgressMode::kBar;
  if (value == "lines") return ProgressMode::kLines;
  if (value == "none") return ProgressMode::kNone;
  return ProgressMode::kAuto;
}

void AddKafkaFlags(CLI::App& app, KafkaFlags* flags, std::string* config_value,
                   const std::string& config_help) {
  app.add_option("--bootstrap", flags->bootstrap, "Kafka bootstrap HOST:PORT");
  app.add_option("--config", *config_value, config_help);
  app.add_option("-X", flags->properties, "librdkafka property key=value (repeatable, as kcat)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
}

std::string ConfigPath(const std::vector<std::string>& argv) {
  for (size_t i = 1; i < argv.size(); ++i) {
    if (argv[i] == "--config" && i + 1 < argv.size()) return argv[i + 1];
    if (argv[i].rfind("--config=", 0) == 0) return argv[i].substr(9);
  }
  return "";
}

Result<config::Config> LoadConfigFile(const std::string& path, std::string_view schema,
                                      config::LoadOptions options) {
  options.schema_json = std::string(schema);
  options.schema_path.clear();
  if (path.empty()) return config::Config::LoadString("{}", options, "(environment)");
  return config::Config::LoadFile(path, options);
}

CLI::Validator DurationValidator() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        auto d = ParseDuration(value);
        return d.ok() ? std::string() : d.status().message();
      },
      "DURATION");
}

std::optional<int> ParseArgs(CLI::App& app, int argc, const char* const* argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);  // --help, --help-all, --version: printed on stdout, exit 0
  } catch (const CLI::ParseError& e) {
    const std::string name = app.get_name().empty() ? "sluice" : app.get_name();
    // One line, no control characters from a hostile argument, at most 300 bytes of it.
    std::string message = e.what();
    if (message.size() > 300) message = message.substr(0, 300) + "...";
    for (char& c : message) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
    }
    std::fprintf(stderr, "%s: %s; run '%s --help'\n", name.c_str(), message.c_str(), name.c_str());
    return 2;
  }
  return std::nullopt;
}

Result<std::map<std::string, std::string>> KafkaProperties(const KafkaFlags& flags) {
  std::map<std::string, std::string> out = flags.config_properties;
  for (const std::string& p : flags.properties) {
    const size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return InvalidArgumentError("-X expects key=value (a librdkafka property), got '" + Cut(p) +
                                  "'");
    }
    std::string key = p.substr(0, eq);
    std::string value = p.substr(eq + 1);
    // -X sasl.password_file=PATH: the secret stays off the command line (and out of `ps`).
    if (key.size() > 5 && key.ends_with("_file")) {
      auto secret = config::ReadSecretFile(value);
      if (!secret.ok()) {
        return Status(secret.status().code(), "-X " + Cut(key) + ": " + secret.status().message());
      }
      key.resize(key.size() - 5);
      value = std::move(secret).value();
    }
    out[key] = std::move(value);
  }
  if (!flags.bootstrap.empty()) {
    out.erase("bootstrap.servers");  // --bootstrap wins
  } else if (!out.count("bootstrap.servers")) {
    return InvalidArgumentError(
        "--bootstrap HOST:PORT is required (or bootstrap: in --config, or -X "
        "bootstrap.servers=...)");
  }
  return out;
}

Status UsageError(const std::vector<std::string>& argv, const std::string& message,
                  const std::vector<std::string_view>& value_flags,
                  const std::vector<std::string_view>& commands, std::string_view hint) {
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (std::find(value_flags.begin(), value_flags.end(), a) != value_flags.end()) {
      ++i;  // its value
      continue;
    }
    if (a.empty() || a[0] == '-') continue;
    if (std::find(commands.begin(), commands.end(), a) == commands.end()) {
      return InvalidArgumentError(fmt::format("unknown command '{}' (expected {}); {}", Cut(a),
                                              Alternatives(commands), hint));
    }
    break;
  }
  return InvalidArgumentError(fmt::format("{}; {}", message, hint));
}

std::string RedactedCommandLine(const std::vector<std::string>& argv) {
  constexpr std::string_view kRedacted = "<redacted>";
  // "name=value" with the value redacted when the name looks secret.
  auto property = [&](std::string_view kv) {
    const size_t eq = kv.find('=');
    if (eq == std::string_view::npos || !config::IsSecretKeyName(kv.substr(0, eq))) {
      return std::string(kv);
    }
    return std::string(kv.substr(0, eq + 1)) + std::string(kRedacted);
  };
  std::string out;
  auto add = [&](std::string_view word) {
    if (!out.empty()) out += ' ';
    out += word;
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string_view a = argv[i];
    if (i == 0) {
      add(a);
    } else if (a == "-X") {
      add(a);
      if (i + 1 < argv.size()) add(property(argv[++i]));
    } else if (a.starts_with("-X=")) {
      add("-X=" + property(a.substr(3)));
    } else if (a.starts_with("-X")) {
      add("-X" + property(a.substr(2)));
    } else if (a.starts_with("--") && config::IsSecretKeyName(a.substr(0, a.find('=')))) {
      const size_t eq = a.find('=');
      if (eq != std::string_view::npos) {
        add(std::string(a.substr(0, eq + 1)) + std::string(kRedacted));
      } else {
        add(a);
        if (i + 1 < argv.size()) {
          ++i;
          add(kRedacted);
        }
      }
    } else {
      add(a);
    }
  }
  return out;
}

int ConfigVerdict(std::string_view program, const std::string& config_path, bool json,
                  const std::string& error) {
  if (json) {
    std::printf("{\"ok\":%s,\"config\":\"%s\"%s}\n", error.empty() ? "true" : "false",
                JsonEscape(config_path).c_str(),
                error.empty() ? "" : (",\"error\":\"" + JsonEscape(error) + "\"").c_str());
  } else if (error.empty()) {
    std::printf("%s: ok\n", config_path.c_str());
  } else {
    std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(program.size()), program.data(),
                 error.c_str());
  }
  return error.empty() ? 0 : 2;
}

}  // namespace sluice::cli

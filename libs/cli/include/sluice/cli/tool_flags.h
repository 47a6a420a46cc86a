// The command-line pieces every sluice tool that talks to Kafka shares, so that sluice-flood and
// sluice-dlq take --bootstrap, --config and -X alike (the way kcat takes them) and word their
// errors alike. CLI11 parses; this adds what CLI11 does not know about sluice.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/config/config.h"
#include "sluice/core/status.h"

namespace sluice::cli {

// --progress: auto (a bar on a terminal, plain lines otherwise), bar, lines or none.
enum class ProgressMode { kAuto, kBar, kLines, kNone };

// Adds `--progress auto|bar|lines|none` to `app`, stored in `value`.
void AddProgressFlag(CLI::App& app, std::string* value);
// The mode a --progress value names; anything else (CLI11 has refused it already) is kAuto.
ProgressMode ParseProgressMode(std::string_view value);

// The Kafka flags, as the command line and the config file give them.
// Thread-safety: a value type.
struct KafkaFlags {
  std::string bootstrap;                                 // --bootstrap, or bootstrap: in the file
  std::vector<std::string> properties;                   // -X key=value, in command-line order
  std::map<std::string, std::string> config_properties;  // kafka: in the config file
};

// Adds --bootstrap, --config and -X to `app`. --config is read before parsing (ConfigPath), so
// CLI11 only accepts it; `config_help` says what the file is.
void AddKafkaFlags(CLI::App& app, KafkaFlags* flags, std::string* config_value,
                   const std::string& config_help);

// The value of --config FILE or --config=FILE in argv (argv[0] is the program), or "" when absent.
// Read before CLI11 parses, so the file's values are defaults that the flags override.
std::string ConfigPath(const std::vector<std::string>& argv);

// Loads the YAML config file at `path` (none when empty: the environment overrides alone), with
// the environment overrides `options` names (env_prefix, e.g. "SLUICE_FLOOD_"), and checks the
// result against `schema` (JSON Schema text). InvalidArgument naming the file, line, column and
// key, or the environment variable.
Result<config::Config> LoadConfigFile(const std::string& path, std::string_view schema,
                                      config::LoadOptions options = {});

// A CLI11 check that the value is a duration (sluice/core/duration.h); the usage error names the
// flag and says what to write, e.g. "--lock-timeout: 30 needs a unit, e.g. 30ms or 30s".
CLI::Validator DurationValidator();

// Parses `argc`/`argv` with `app` and says how the program should end: nullopt to go on; 0 after
// --help (or another of CLI11's "success" exits, such as --version), printed by CLI11; 2 after a
// usage error (unknown flag, missing or bad value), printed on stderr as one line
// "<program>: <CLI11's message>; run '<program> --help'". CLI11's own exit codes (105, 106, 109,
// ...) never reach the shell.
std::optional<int> ParseArgs(CLI::App& app, int argc, const char* const* argv);

// The librdkafka properties: the file's kafka: map, then each -X in order (a later one wins).
// `-X name_file=PATH` sets `name` to the contents of PATH (config::ReadSecretFile; relative to
// the working directory), e.g. -X sasl.password_file=/run/secrets/kafka; the file's `name_file`
// keys were read already (config::Config::GetPropertyMap).
// --bootstrap wins over bootstrap.servers from either, which is then dropped. InvalidArgument
// for a -X that is not key=value, or when no bootstrap is given anywhere.
Result<std::map<std::string, std::string>> KafkaProperties(const KafkaFlags& flags);

// Words a failed parse: when the first word that is not a flag (values of `value_flags` skipped)
// is not one of `commands`, "unknown command 'X' (expected a, b or c)"; otherwise CLI11's
// `message`. Either way followed by "; " and `hint`. Words are cut at 100 characters.
Status UsageError(const std::vector<std::string>& argv, const std::string& message,
                  const std::vector<std::string_view>& value_flags,
                  const std::vector<std::string_view>& commands, std::string_view hint);

// argv joined with spaces, as a report records it, with secrets replaced by <redacted>: the value
// of a -X property whose name looks secret (config::IsSecretKeyName: sasl.password,
// ssl.key.password, ...), in every form CLI11 takes (-X k=v, -Xk=v, -X=k=v), and of a --flag
// whose name looks secret (--flag v, --flag=v). Reports get attached to tickets.
std::string RedactedCommandLine(const std::vector<std::string>& argv);

// A service's --check-config verdict on `config_path`: Ok when `error` is empty. As text ("PATH:
// ok" on stdout, or "PROGRAM: ERROR" on stderr) or, with `json`, as
// {"ok":...,"config":...,"error":...} on stdout. Returns the exit code: 0, or 2 for a bad config.
int ConfigVerdict(std::string_view program, const std::string& config_path, bool json,
                  const std::string& error);

}  // namespace sluice::cli

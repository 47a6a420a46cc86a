// sluice-relay: drains Kafka topics into Salesforce. Wiring only; see libs/relay.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/config/config.h"
#include "sluice/core/logging.h"
#include "sluice/core/shutdown.h"
#include "sluice/relay/options.h"
#include "sluice/relay/real_parts.h"
#include "sluice/relay/relay.h"
#include "sluice/schemas/schemas.h"

int main(int argc, char** argv) {
  CLI::App app{
      "sluice-relay: drains Kafka topics into the Salesforce REST API at the rate the org can "
      "take, with per-key order, retries, an idempotency store and a dead-letter topic.\n"
      "Every config value can be overridden by SLUICE_RELAY_<PATH> environment variables, e.g. "
      "SLUICE_RELAY_DELIVERY__REQUESTS_PER_SECOND=50. See docs/OPERATIONS.md.",
      "sluice-relay"};
  std::string config_path;
  bool check_only = false;
  std::string log_level;
  app.add_option("-c,--config", config_path, "YAML config file (schemas/relay.config.schema.json)")
      ->required();
  bool json = false;
  app.add_flag("--check-config", check_only, "Validate the config file and exit");
  app.add_flag("--json", json,
               "With --check-config: print the verdict as one JSON object on stdout, for scripts");
  app.add_option("--log-level", log_level, "Overrides logging.level");
  sluice::build_info::AddVersionFlag(app, "sluice-relay");
  app.footer(
      "Examples:\n"
      "  sluice-relay --config relay.yaml\n"
      "  sluice-relay --config relay.yaml --check-config\n"
      "  sluice-relay --config relay.yaml --check-config --json\n"
      "  SLUICE_RELAY_KAFKA__COMMIT_INTERVAL=500ms sluice-relay -c relay.yaml --log-level debug\n"
      "  SLUICE_RELAY_KAFKA__PROPERTIES__SECURITY_PROTOCOL=SASL_SSL sluice-relay -c relay.yaml\n"
      "Exit status: 0 stopped cleanly, 1 failed while running, 2 a bad command line or config.");
  if (auto exit_code = sluice::cli::ParseArgs(app, argc, argv)) return *exit_code;

  // Before any thread starts: SIGINT/SIGTERM become a shutdown request; a second one exits.
  auto shutdown = sluice::InstallSignalHandlers();

  sluice::config::LoadOptions load;
  load.schema_json = std::string(sluice::schemas::Get("relay.config.schema.json").value());
  load.schema_name = "relay.config.schema.json";
  sluice::relay::SetEnvOverrides(&load);
  auto verdict = [&](const std::string& error) {
    return sluice::cli::ConfigVerdict("sluice-relay", config_path, json, error);
  };
  auto config = sluice::config::Config::LoadFile(config_path, load);
  if (!config.ok()) return verdict(config.status().message());
  auto options = sluice::relay::RelayOptionsFromConfig(*config);
  if (!options.ok()) return verdict(options.status().message());
  if (check_only) return verdict("");
  if (!log_level.empty()) options->logging.level = log_level;
  if (!sluice::SetupLogging("sluice-relay", options->logging)) {
    std::fprintf(stderr, "sluice-relay: unknown log level '%s'\n", options->logging.level.c_str());
    return 2;
  }
  // Every line names the instance, so lines from many relays can be told apart in one store.
  sluice::SetProcessLogFields({{"instance", options->instance_id}});
  auto fail = [](const sluice::Status& s) {
    std::fprintf(stderr, "sluice-relay: %s\n", s.ToString().c_str());
    return 1;
  };
  auto parts = sluice::relay::MakeRealParts(*options);
  if (!parts.ok()) return fail(parts.status());
  auto relay = sluice::relay::Relay::Create(*options, std::move(parts).value());
  if (!relay.ok()) return fail(relay.status());
  auto surface = sluice::relay::HttpSurface::Start(*options, **relay);
  if (!surface.ok()) return fail(surface.status());
  auto lag = sluice::relay::LagSampler::Start(*options, **relay);
  if (!lag.ok()) return fail(lag.status());
  // Scripts and tests read the metrics port from this line.
  std::printf("sluice-relay metrics on http://%s:%u\n", options->http.host.c_str(),
              (*surface)->port());
  std::fflush(stdout);
  sluice::Status s = (*relay)->Run(*shutdown);
  if (!s.ok()) {
    std::fprintf(stderr, "sluice-relay: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

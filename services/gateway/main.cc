// sluice-gateway: HTTP ingest into Kafka that answers 202 only once the broker has every event.
// Wiring only; see libs/gateway and docs/GATEWAY.md.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/config/config.h"
#include "sluice/core/logging.h"
#include "sluice/core/shutdown.h"
#include "sluice/gateway/auth.h"
#include "sluice/gateway/options.h"
#include "sluice/gateway/service.h"
#include "sluice/schemas/schemas.h"

int main(int argc, char** argv) {
  CLI::App app{
      "sluice-gateway: HTTP ingest into Kafka. POST /v1/events answers 202 only once the broker "
      "acknowledged every event (acks=all, idempotent producer).\n"
      "Every config value can be overridden by SLUICE_GATEWAY_<PATH> environment variables, e.g. "
      "SLUICE_GATEWAY_LIMITS__MAX_EVENTS=500. See docs/GATEWAY.md.",
      "sluice-gateway"};
  std::string config_path;
  bool check_only = false;
  bool json = false;
  bool hash_token = false;
  std::string log_level;
  app.add_option("-c,--config", config_path,
                 "YAML config file (schemas/gateway.config.schema.json)");
  app.add_flag("--check-config", check_only, "Validate the config file and the token file, exit");
  app.add_flag("--json", json,
               "With --check-config: print the verdict as one JSON object on stdout, for scripts");
  app.add_flag("--hash-token", hash_token,
               "Read a token from stdin and print its SHA-256 (for the token file), exit");
  app.add_option("--log-level", log_level, "Overrides logging.level");
  sluice::build_info::AddVersionFlag(app, "sluice-gateway");
  app.footer(
      "Examples:\n"
      "  sluice-gateway --config gateway.yaml\n"
      "  sluice-gateway --config gateway.yaml --check-config\n"
      "  head -c 32 /dev/urandom | base64 | tee token.txt | sluice-gateway --hash-token\n"
      "  SLUICE_GATEWAY_HTTP__LISTEN=127.0.0.1:0 sluice-gateway -c gateway.yaml\n"
      "Exit status: 0 stopped cleanly, 1 failed while running, 2 a bad command line or config.");
  if (auto exit_code = sluice::cli::ParseArgs(app, argc, argv)) return *exit_code;

  if (hash_token) {
    std::string token(std::istreambuf_iterator<char>(std::cin), {});
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) token.pop_back();
    if (token.empty()) {
      std::fprintf(stderr, "sluice-gateway: --hash-token: no token on stdin\n");
      return 2;
    }
    std::printf("%s\n", sluice::gateway::Sha256Hex(token).c_str());
    return 0;
  }
  if (config_path.empty()) {
    std::fprintf(stderr, "sluice-gateway: --config is required; run 'sluice-gateway --help'\n");
    return 2;
  }

  // Before any thread starts: SIGINT/SIGTERM become a shutdown request; a second one exits.
  auto shutdown = sluice::InstallSignalHandlers();

  sluice::config::LoadOptions load;
  load.schema_json = std::string(sluice::schemas::Get("gateway.config.schema.json").value());
  load.schema_name = "gateway.config.schema.json";
  sluice::gateway::SetEnvOverrides(&load);
  auto verdict = [&](const std::string& error) {
    return sluice::cli::ConfigVerdict("sluice-gateway", config_path, json, error);
  };
  auto config = sluice::config::Config::LoadFile(config_path, load);
  if (!config.ok()) return verdict(config.status().message());
  auto options = sluice::gateway::GatewayOptionsFromConfig(*config);
  if (!options.ok()) return verdict(options.status().message());
  // The token file is relative to the config file's directory.
  if (!options->tokens_file.empty() && std::filesystem::path(options->tokens_file).is_relative()) {
    options->tokens_file =
        (std::filesystem::path(config_path).parent_path() / options->tokens_file).string();
  }
  if (!options->tokens_file.empty()) {
    auto tokens = sluice::gateway::TokenStore::LoadFile(options->tokens_file);
    if (!tokens.ok()) return verdict(tokens.status().message());
  }
  if (auto tls = sluice::gateway::CheckTlsFiles(*options); !tls.ok()) {
    return verdict(tls.message());
  }
  if (check_only) return verdict("");
  if (!log_level.empty()) options->logging.level = log_level;
  if (!sluice::SetupLogging("sluice-gateway", options->logging)) {
    std::fprintf(stderr, "sluice-gateway: unknown log level '%s'\n",
                 options->logging.level.c_str());
    return 2;
  }
  auto service = sluice::gateway::GatewayService::Start(*options);
  if (!service.ok()) {
    std::fprintf(stderr, "sluice-gateway: %s\n", service.status().ToString().c_str());
    return 1;
  }
  // Scripts and tests read the port from this line.
  std::printf("sluice-gateway listening on %s\n", (*service)->BaseUrl().c_str());
  std::fflush(stdout);
  sluice::Status s = (*service)->Run(*shutdown);
  if (!s.ok()) {
    std::fprintf(stderr, "sluice-gateway: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}

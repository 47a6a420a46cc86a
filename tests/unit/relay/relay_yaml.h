// The smallest valid relay.yaml, and loading a relay.yaml as sluice-relay does (the compiled-in
// schema, the SLUICE_RELAY_ overrides from `env`), for the options tests.
#pragma once

#include <map>
#include <string>

#include "sluice/config/config.h"
#include "sluice/relay/options.h"
#include "sluice/schemas/schemas.h"

namespace sluice::relay::testing {

inline constexpr char kMinimalRelayYaml[] = R"(
kafka:
  bootstrap: 127.0.0.1:9092
  topics: [sf.contact.events]
salesforce:
  login_url: http://127.0.0.1:8443
  auth:
    flow: client_credentials
    client_id: app
    client_secret: s3cret
)";

// The schema compiled into the binaries (schemas/relay.config.schema.json).
inline std::string RelaySchemaText() {
  return std::string(schemas::Get("relay.config.schema.json").value());
}

inline Result<RelayOptions> LoadRelayYaml(const std::string& yaml,
                                          const std::map<std::string, std::string>& env = {}) {
  config::LoadOptions load;
  load.schema_json = RelaySchemaText();
  SetEnvOverrides(&load);
  load.env = &env;
  auto c = config::Config::LoadString(yaml, load, "relay.yaml");
  if (!c.ok()) return c.status();
  return RelayOptionsFromConfig(*c);
}

}  // namespace sluice::relay::testing

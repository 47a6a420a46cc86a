// schemas/gateway.config.schema.json and GatewayOptions agree on every default, and the defaults
// the gateway takes from its libraries (the envelope's limits, the HTTP server's, logging) are the
// libraries' own unless the gateway overrides them on purpose.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>
#include <string>

#include "sluice/config/config.h"
#include "sluice/gateway/options.h"
#include "sluice/schemas/schemas.h"
#include "sluice/testing/schema_defaults.h"

namespace sluice::gateway {
namespace {

using sluice::testing::DefaultText;

Result<GatewayOptions> LoadMinimal() {
  config::LoadOptions load;
  load.schema_json = std::string(schemas::Get("gateway.config.schema.json").value());
  SetEnvOverrides(&load);
  const std::map<std::string, std::string> env;
  load.env = &env;
  ASSIGN_OR_RETURN(config::Config c,
                   config::Config::LoadString(
                       "kafka: {bootstrap: '127.0.0.1:9092'}\nauth: {tokens_file: t.yaml}\n", load,
                       "gateway.yaml"));
  return GatewayOptionsFromConfig(c);
}

using Accessor = std::function<std::string(const GatewayOptions&)>;

const std::map<std::string, Accessor>& Accessors() {
  static const auto* table = new std::map<std::string, Accessor>{
      {"/http/listen", [](const GatewayOptions& o) { return o.http.ToString(); }},
      {"/http/io_threads", [](const GatewayOptions& o) { return DefaultText(o.io_threads); }},
      {"/http/tls_client_certs", [](const GatewayOptions& o) { return o.tls_client_certs; }},
      {"/routing/default_topic", [](const GatewayOptions& o) { return o.default_topic; }},
      {"/auth/allow_anonymous",
       [](const GatewayOptions& o) { return DefaultText(o.allow_anonymous); }},
      {"/limits/max_body_bytes",
       [](const GatewayOptions& o) { return DefaultText(static_cast<double>(o.max_body_bytes)); }},
      {"/limits/max_events",
       [](const GatewayOptions& o) { return DefaultText(static_cast<double>(o.max_events)); }},
      {"/limits/max_event_bytes",
       [](const GatewayOptions& o) { return DefaultText(static_cast<double>(o.max_event_bytes)); }},
      {"/limits/max_depth", [](const GatewayOptions& o) { return DefaultText(o.max_depth); }},
      {"/limits/max_header_bytes",
       [](const GatewayOptions& o) {
         return DefaultText(static_cast<double>(o.max_header_bytes));
       }},
      {"/limits/max_connections",
       [](const GatewayOptions& o) { return DefaultText(static_cast<double>(o.max_connections)); }},
      {"/limits/read_timeout", [](const GatewayOptions& o) { return DefaultText(o.read_timeout); }},
      {"/limits/idle_timeout", [](const GatewayOptions& o) { return DefaultText(o.idle_timeout); }},
      {"/limits/max_unacked_events",
       [](const GatewayOptions& o) {
         return DefaultText(static_cast<double>(o.max_unacked_events));
       }},
      {"/limits/ack_timeout", [](const GatewayOptions& o) { return DefaultText(o.ack_timeout); }},
      {"/limits/retry_after", [](const GatewayOptions& o) { return DefaultText(o.retry_after); }},
      {"/shutdown_deadline",
       [](const GatewayOptions& o) { return DefaultText(o.shutdown_deadline); }},
      {"/logging/level", [](const GatewayOptions& o) { return o.logging.level; }},
      {"/logging/json", [](const GatewayOptions& o) { return DefaultText(o.logging.json); }},
  };
  return *table;
}

TEST(GatewayOptionsSchemaTest, EverySchemaDefaultIsTheCodeDefault) {
  const auto defaults = sluice::testing::SchemaDefaults(
      std::string(schemas::Get("gateway.config.schema.json").value()));
  ASSERT_GT(defaults.size(), 15u) << "the schema lost its defaults";
  auto loaded = LoadMinimal();
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const GatewayOptions constructed;
  for (const auto& [pointer, text] : defaults) {
    auto it = Accessors().find(pointer);
    if (it == Accessors().end()) {
      ADD_FAILURE() << pointer << " has a schema default but no entry in this test";
      continue;
    }
    EXPECT_EQ(it->second(constructed), text) << pointer << ": GatewayOptions{} vs the schema";
    EXPECT_EQ(it->second(*loaded), text) << pointer << ": loaded from a minimal file vs the schema";
  }
  for (const auto& [pointer, accessor] : Accessors()) {
    EXPECT_EQ(defaults.count(pointer), 1u) << pointer << " has no \"default\" in the schema";
  }
}

// The gateway's keys whose meaning a library owns, with the library's default as text, and whether
// the gateway overrides it (stated, with the reason, in sluice/gateway/options.h).
TEST(GatewayOptionsSchemaTest, LibraryOwnedDefaultsAreTheLibrariesOwnUnlessOverridden) {
  const envelope::EnvelopeOptions envelope;
  const http::ServerOptions server;
  const LoggingOptions logging;
  struct Owned {
    std::string library_default;
    bool overridden;
  };
  const std::map<std::string, Owned> owned = {
      {"/limits/max_event_bytes", {DefaultText(static_cast<double>(envelope.max_bytes)), false}},
      {"/limits/max_depth", {DefaultText(envelope.max_depth), false}},
      {"/limits/max_header_bytes",
       {DefaultText(static_cast<double>(server.max_header_bytes)), false}},
      {"/limits/max_connections",
       {DefaultText(static_cast<double>(server.max_connections)), false}},
      {"/limits/idle_timeout", {DefaultText(server.idle_timeout), false}},
      {"/limits/read_timeout", {DefaultText(server.read_timeout), true}},
      {"/limits/max_body_bytes", {DefaultText(static_cast<double>(server.max_body_bytes)), true}},
      {"/http/io_threads", {DefaultText(server.io_threads), true}},
      {"/logging/level", {logging.level, false}},
      {"/logging/json", {DefaultText(logging.json), false}},
  };
  const GatewayOptions gateway;
  for (const auto& [pointer, o] : owned) {
    const std::string mine = Accessors().at(pointer)(gateway);
    if (o.overridden) {
      EXPECT_NE(mine, o.library_default) << pointer << ": listed as an override but is not one";
    } else {
      EXPECT_EQ(mine, o.library_default) << pointer << ": the gateway departs from its library";
    }
  }
}

}  // namespace
}  // namespace sluice::gateway

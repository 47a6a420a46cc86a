// schemas/relay.config.schema.json and RelayOptions agree: every "default" in the schema is what
// the code uses when the key is absent (both a default-constructed RelayOptions and what the loader
// makes of a minimal file), and the ranges the schema and Validate enforce are the same.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cctype>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "relay_yaml.h"
#include "sluice/config/config.h"
#include "sluice/core/duration.h"
#include "sluice/relay/options.h"
#include "sluice/testing/schema_defaults.h"

namespace sluice::relay {
namespace {

constexpr const char* kMinimal = testing::kMinimalRelayYaml;

Result<RelayOptions> Load(const std::string& yaml,
                          const std::map<std::string, std::string>& env = {}) {
  return testing::LoadRelayYaml(yaml, env);
}

std::string SchemaText() { return testing::RelaySchemaText(); }

template <typename D>
std::string Ms(D d) {
  return sluice::testing::DefaultText(d);
}
std::string Num(double d) { return sluice::testing::DefaultText(d); }
std::string Bool(bool b) { return sluice::testing::DefaultText(b); }

// Every option with a schema default, as text: durations through FormatDuration, numbers through
// ostream, so "120s" and 120000 ms compare equal.
const std::map<std::string, std::function<std::string(const RelayOptions&)>>& Accessors() {
  static const auto* table = new std::map<std::string,
                                          std::function<std::string(const RelayOptions&)>>{
      {"/kafka/group_id", [](const RelayOptions& o) { return o.kafka.group_id; }},
      {"/kafka/poll_batch", [](const RelayOptions& o) { return Num(o.kafka.poll_batch); }},
      {"/kafka/commit_interval", [](const RelayOptions& o) { return Ms(o.kafka.commit_interval); }},
      {"/kafka/consumer_queue_kbytes",
       [](const RelayOptions& o) { return Num(o.kafka.consumer_queue_kbytes); }},
      {"/dlq/suffix", [](const RelayOptions& o) { return o.dlq_suffix; }},
      {"/dlq/create_missing", [](const RelayOptions& o) { return Bool(o.dlq_create_missing); }},
      {"/dlq/max_message_bytes",
       [](const RelayOptions& o) { return Num(o.dlq_max_message_bytes); }},
      {"/salesforce/api_version",
       [](const RelayOptions& o) { return o.salesforce.client.api_version; }},
      {"/salesforce/request_timeout",
       [](const RelayOptions& o) { return Ms(o.salesforce.client.request_timeout); }},
      {"/salesforce/event_id_field",
       [](const RelayOptions& o) { return o.salesforce.event_id_field; }},
      {"/salesforce/accept_duplicates_on_crash",
       [](const RelayOptions& o) { return Bool(o.salesforce.accept_duplicates_on_crash); }},
      {"/salesforce/auth/flow",
       [](const RelayOptions& o) {
         return std::string(o.salesforce.auth.flow == salesforce::AuthFlow::kClientCredentials
                                ? "client_credentials"
                                : "jwt_bearer");
       }},
      {"/delivery/max_records", [](const RelayOptions& o) { return Num(o.max_records); }},
      {"/delivery/linger", [](const RelayOptions& o) { return Ms(o.linger); }},
      {"/delivery/max_in_flight", [](const RelayOptions& o) { return Num(o.max_in_flight); }},
      {"/delivery/requests_per_second",
       [](const RelayOptions& o) { return Num(o.requests_per_second); }},
      {"/delivery/records_per_second",
       [](const RelayOptions& o) { return Num(o.records_per_second); }},
      {"/delivery/budget_reserve", [](const RelayOptions& o) { return Num(o.budget_reserve); }},
      {"/delivery/max_buffered_events",
       [](const RelayOptions& o) { return Num(o.max_buffered_events); }},
      {"/delivery/shutdown_deadline",
       [](const RelayOptions& o) { return Ms(o.shutdown_deadline); }},
      {"/delivery/org_failure_ratio",
       [](const RelayOptions& o) { return Num(o.org_failure_ratio); }},
      {"/delivery/budget_probe_interval",
       [](const RelayOptions& o) { return Ms(o.budget_probe_interval); }},
      {"/delivery/revoke_deadline", [](const RelayOptions& o) { return Ms(o.revoke_deadline); }},
      {"/delivery/stall_after", [](const RelayOptions& o) { return Ms(o.stall_after); }},
      {"/delivery/lock_fields",
       [](const RelayOptions& o) {
         std::string text = "{";
         for (const auto& [sobject, field] : o.lock_fields) text += sobject + ":" + field + ",";
         return text + "}";
       }},
      {"/delivery/circuit/failure_threshold",
       [](const RelayOptions& o) { return Num(o.circuit.failure_threshold); }},
      {"/delivery/circuit/open_initial",
       [](const RelayOptions& o) { return Ms(o.circuit.open_initial); }},
      {"/delivery/circuit/open_multiplier",
       [](const RelayOptions& o) { return Num(o.circuit.open_multiplier); }},
      {"/delivery/circuit/open_cap", [](const RelayOptions& o) { return Ms(o.circuit.open_cap); }},
      {"/delivery/circuit/open_jitter",
       [](const RelayOptions& o) { return Num(o.circuit.open_jitter); }},
      {"/delivery/retry/initial", [](const RelayOptions& o) { return Ms(o.retry.initial); }},
      {"/delivery/retry/multiplier", [](const RelayOptions& o) { return Num(o.retry.multiplier); }},
      {"/delivery/retry/cap", [](const RelayOptions& o) { return Ms(o.retry.cap); }},
      {"/delivery/retry/max_attempts",
       [](const RelayOptions& o) { return Num(o.retry.max_attempts); }},
      {"/delivery/retry/max_elapsed",
       [](const RelayOptions& o) { return Ms(o.retry.max_elapsed); }},
      {"/envelope/max_bytes", [](const RelayOptions& o) { return Num(o.envelope.max_bytes); }},
      {"/envelope/parse_threads", [](const RelayOptions& o) { return Num(o.parse_threads); }},
      {"/idempotency/enabled", [](const RelayOptions& o) { return Bool(o.idempotency.enabled); }},
      {"/idempotency/path", [](const RelayOptions& o) { return o.idempotency.store.path; }},
      {"/idempotency/retention",
       [](const RelayOptions& o) { return Ms(o.idempotency.retention.retention); }},
      {"/idempotency/max_staged_rows",
       [](const RelayOptions& o) { return Num(o.idempotency.store.max_staged_rows); }},
      {"/idempotency/merge_chunk_rows",
       [](const RelayOptions& o) { return Num(o.idempotency.store.merge_chunk_rows); }},
      {"/idempotency/cache_kib",
       [](const RelayOptions& o) { return Num(o.idempotency.store.cache_size_kib); }},
      {"/changelog/enabled", [](const RelayOptions& o) { return Bool(o.changelog.enabled); }},
      {"/changelog/suffix", [](const RelayOptions& o) { return o.changelog.suffix; }},
      {"/changelog/replication_factor",
       [](const RelayOptions& o) { return Num(o.changelog.replication_factor); }},
      {"/changelog/restore_timeout",
       [](const RelayOptions& o) { return Ms(o.changelog.restore.timeout); }},
      {"/changelog/standby_partitions",
       [](const RelayOptions& o) { return Bool(o.changelog.standby_partitions); }},
      {"/http/listen",
       [](const RelayOptions& o) { return o.http.host + ":" + std::to_string(o.http.port); }},
      {"/logging/level", [](const RelayOptions& o) { return o.logging.level; }},
      {"/logging/json", [](const RelayOptions& o) { return Bool(o.logging.json); }},
  };
  return *table;
}

std::map<std::string, std::string> SchemaDefaults() {
  auto out = sluice::testing::SchemaDefaults(SchemaText());
  EXPECT_FALSE(out.empty()) << "the schema does not parse";
  return out;
}

TEST(RelayOptionsSchemaTest, EverySchemaDefaultIsTheCodeDefault) {
  const auto defaults = SchemaDefaults();
  ASSERT_GT(defaults.size(), 40u) << "the schema lost its defaults";
  auto loaded = Load(kMinimal);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const RelayOptions constructed;
  for (const auto& [pointer, text] : defaults) {
    auto it = Accessors().find(pointer);
    if (it == Accessors().end()) {
      ADD_FAILURE() << pointer << " has a schema default but no entry in this test";
      continue;
    }
    EXPECT_EQ(it->second(constructed), text) << pointer << ": RelayOptions{} vs the schema";
    EXPECT_EQ(it->second(*loaded), text) << pointer << ": loaded from a minimal file vs the schema";
  }
  for (const auto& [pointer, accessor] : Accessors()) {
    EXPECT_EQ(defaults.count(pointer), 1u) << pointer << " has no \"default\" in the schema";
  }
}

// RelayOptions with every library-owned part as its library constructs it, before the relay's
// overrides (RelayOptions::DefaultKafka, DefaultStore, DefaultCircuit).
RelayOptions LibraryDefaults() {
  RelayOptions o;
  o.kafka = kafka::ConsumerSection{};
  o.salesforce = salesforce::SalesforceSection{};
  o.envelope = envelope::EnvelopeOptions{};
  o.idempotency = idempotency::StoreSection{};
  o.changelog = changelog::ChangelogSection{};
  o.logging = LoggingOptions{};
  o.retry = flow::BackoffOptions{};
  o.circuit = flow::CircuitBreakerOptions{};
  return o;
}

// Keys whose section a library owns: their defaults are stated in the library.
bool LibraryOwned(const std::string& pointer) {
  for (const char* prefix : {"/kafka/", "/salesforce/", "/idempotency/", "/changelog/", "/logging/",
                             "/delivery/retry/", "/delivery/circuit/"}) {
    if (pointer.starts_with(prefix)) return true;
  }
  return pointer == "/envelope/max_bytes";
}

// Where the relay deliberately departs from its library's default (each stated once, with the
// reason, in libs/relay/src/options.cc). Adding one means adding it here too.
const std::set<std::string>& RelayOverrides() {
  static const auto* overrides = new std::set<std::string>{"/kafka/group_id",
                                                           "/idempotency/path",
                                                           "/idempotency/max_staged_rows",
                                                           "/idempotency/cache_kib",
                                                           "/idempotency/merge_chunk_rows",
                                                           "/delivery/circuit/open_cap"};
  return *overrides;
}

TEST(RelayOptionsSchemaTest, LibraryOwnedDefaultsAreTheLibrariesOwnUnlessTheRelayOverridesThem) {
  const auto defaults = SchemaDefaults();
  const RelayOptions library = LibraryDefaults();
  size_t owned = 0;
  for (const auto& [pointer, text] : defaults) {
    if (!LibraryOwned(pointer)) continue;
    ++owned;
    auto it = Accessors().find(pointer);
    ASSERT_NE(it, Accessors().end()) << pointer;
    if (RelayOverrides().count(pointer) > 0) {
      EXPECT_NE(it->second(library), text)
          << pointer << " is listed as a relay override but is the library's default: drop the "
          << "override";
    } else {
      EXPECT_EQ(it->second(library), text)
          << pointer << ": the library's default vs the schema (an undeclared override?)";
    }
  }
  EXPECT_GT(owned, 30u) << "the library-owned sections lost their schema defaults";
  for (const std::string& pointer : RelayOverrides()) {
    EXPECT_TRUE(LibraryOwned(pointer) && defaults.count(pointer) == 1) << pointer;
  }
}

// pointer -> its schema node, for every property with a "minimum" or "maximum" of its own.
void CollectRanges(const rapidjson::Value& schema, const std::string& pointer,
                   std::map<std::string, const rapidjson::Value*>* out) {
  if (!schema.IsObject()) return;
  if (schema.HasMember("minimum") || schema.HasMember("maximum")) (*out)[pointer] = &schema;
  auto props = schema.FindMember("properties");
  if (props != schema.MemberEnd() && props->value.IsObject()) {
    for (const auto& m : props->value.GetObject()) {
      CollectRanges(m.value, pointer + "/" + m.name.GetString(), out);
    }
  }
}

// "/delivery/max_in_flight" -> "SLUICE_RELAY_DELIVERY__MAX_IN_FLIGHT".
std::string EnvName(const std::string& pointer) {
  std::string out = "SLUICE_RELAY";
  for (char c : pointer) out += c == '/' ? std::string("__") : std::string(1, std::toupper(c));
  return out.replace(0, 14, "SLUICE_RELAY_");
}

TEST(RelayOptionsSchemaTest, EveryBoundTheSchemaAcceptsTheCodeAcceptsToo) {
  const std::string text = SchemaText();
  rapidjson::Document doc;
  doc.Parse(text.c_str());
  ASSERT_FALSE(doc.HasParseError());
  std::map<std::string, const rapidjson::Value*> ranges;
  CollectRanges(doc, "", &ranges);
  ASSERT_GT(ranges.size(), 15u);
  for (const auto& [pointer, node] : ranges) {
    const bool integer = node->HasMember("type") && (*node)["type"].IsString() &&
                         std::string((*node)["type"].GetString()) == "integer";
    const double step = integer ? 1 : 1e-6;
    std::vector<double> bounds;
    for (const char* key : {"minimum", "maximum"}) {
      if (!node->HasMember(key)) continue;
      const bool min = std::string(key) == "minimum";
      const char* exclusive_key = min ? "exclusiveMinimum" : "exclusiveMaximum";
      const bool exclusive = node->HasMember(exclusive_key) && (*node)[exclusive_key].IsTrue();
      double bound = (*node)[key].GetDouble();
      if (exclusive) bound += min ? step : -step;
      bounds.push_back(bound);
    }
    for (double bound : bounds) {
      const std::string value = integer ? std::to_string(static_cast<int64_t>(bound)) : Num(bound);
      auto o = Load(kMinimal, {{EnvName(pointer), value}});
      EXPECT_TRUE(o.ok()) << pointer << " = " << value
                          << " passes the schema but not the code: " << o.status();
    }
  }
}

TEST(RelayOptionsSchemaTest, SchemaAndValidateAgreeOnRanges) {
  // budget_reserve: [0, 1) in both.
  auto o = Load(std::string(kMinimal) + "delivery: {budget_reserve: 1}\n");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("/delivery/budget_reserve"), std::string::npos) << o.status();
  EXPECT_NE(o.status().message().find("expected < 1"), std::string::npos) << o.status();
  EXPECT_TRUE(Load(std::string(kMinimal) + "delivery: {budget_reserve: 0.999}\n").ok());
  EXPECT_TRUE(Load(std::string(kMinimal) + "delivery: {budget_reserve: 0}\n").ok());
  RelayOptions direct = *Load(kMinimal);
  direct.budget_reserve = 1;
  EXPECT_NE(direct.Validate().message().find("budget_reserve"), std::string::npos);
  direct.budget_reserve = 0.999;
  EXPECT_TRUE(direct.Validate().ok());

  // max_in_flight: 1..1000 in both.
  o = Load(std::string(kMinimal) + "delivery: {max_in_flight: 1001}\n");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("/delivery/max_in_flight"), std::string::npos) << o.status();
  EXPECT_TRUE(Load(std::string(kMinimal) + "delivery: {max_in_flight: 1000}\n").ok());
  direct.max_in_flight = 1001;
  EXPECT_NE(direct.Validate().message().find("max_in_flight must be within 1..1000"),
            std::string::npos);
  direct.max_in_flight = 1000;
  EXPECT_TRUE(direct.Validate().ok());
  direct.max_in_flight = 0;
  EXPECT_FALSE(direct.Validate().ok());
}

TEST(RelayOptionsSchemaTest, DurationsOutOfRangeAreErrorsNotDefaults) {
  auto o = Load(std::string(kMinimal) + "idempotency:\n  retention: 99999d\n");
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("relay.yaml:12:3: /idempotency/retention: \"99999d\" is "
                                      "longer than the longest duration"),
            std::string::npos)
      << o.status();
  o = Load(std::string(kMinimal) + "delivery:\n  linger: 5\n");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "relay.yaml:12:3: /delivery/linger: 5 needs a unit, e.g. 5ms or 5s");
  o = Load(std::string(kMinimal) + "delivery:\n  linger: 0\n");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->linger.count(), 0);
}

TEST(RelayOptionsSchemaTest, EnvironmentReachesLibrdkafkaAndKeepsSecretsAsWritten) {
  auto o = Load(kMinimal, {{"SLUICE_RELAY_KAFKA__PROPERTIES__SECURITY_PROTOCOL", "SASL_SSL"},
                           {"SLUICE_RELAY_KAFKA__PROPERTIES__SASL_PASSWORD", "007"},
                           {"SLUICE_RELAY_SALESFORCE__AUTH__CLIENT_SECRET", "123456"},
                           {"SLUICE_RELAY_KAFKA__COMMIT_INTERVAL", "250ms"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(o->kafka.properties.at("sasl.password"), "007");
  EXPECT_EQ(o->kafka.properties.count("security_protocol"), 0u);
  EXPECT_EQ(o->salesforce.auth.client_secret, "123456");
  EXPECT_EQ(o->kafka.commit_interval, std::chrono::milliseconds(250));
  o = Load(kMinimal, {{"SLUICE_RELAY_SALESFORCE__AUTH__CLIENT_SECRET", "007"}});
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->salesforce.auth.client_secret, "007");
  o = Load(kMinimal, {{"SLUICE_RELAY_KAFKA__COMMIT_INTERVAL", "30"}});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().message(),
            "relay.yaml: /kafka/commit_interval (env SLUICE_RELAY_KAFKA__COMMIT_INTERVAL): 30 "
            "needs a unit, e.g. 30ms or 30s");
}

}  // namespace
}  // namespace sluice::relay

// JsonSchema: a compiled JSON Schema (draft-04, RapidJSON 1.1's validator) whose violations come
// back as messages an operator can act on (`expected number, got string "fast"`,
// `unknown key "bootstrapp" (allowed: bootstrap, group_id)`), not as schema-internal pointers.
//
// Shared by libs/config (config files) and libs/envelope (event envelopes). The one RapidJSON type
// in this header, rapidjson::Value, is forward-declared by <rapidjson/fwd.h>.
#pragma once

#include <rapidjson/fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::config {

// One failed check. Thread-safety: a value type.
struct SchemaViolation {
  // JSON pointer of the offending value, e.g. "/rate/requests_per_second"; for a missing required
  // key, the pointer the key would have; "" for the root.
  std::string pointer;
  // The schema keyword that failed: "type", "required", "additionalProperties", "enum", ...
  std::string keyword;
  // What is wrong, without the pointer, e.g. `expected number, got string "fast"`. Values of keys
  // for which IsSecretKeyName holds are shown as <redacted>; long values are cut short.
  std::string message;
};

// A compiled schema.
// Thread-safety: Validate may be called from any number of threads at once; the calls on one
// compiled schema (copies share it) take turns, because RapidJSON 1.1 keeps regex match state in
// the compiled schema.
class JsonSchema {
 public:
  // Compiles `schema_json`. InvalidArgument (naming `name`) when it is not JSON, not an object, or
  // uses a "pattern"/"patternProperties" regex that RapidJSON's engine cannot compile (RapidJSON
  // would otherwise skip such a check silently).
  static Result<JsonSchema> FromString(std::string_view schema_json,
                                       std::string_view name = "<schema>");
  // Reads and compiles a schema file. NotFound when it cannot be read.
  static Result<JsonSchema> FromFile(const std::string& path);

  // The first violation in `document`, or nullopt when it conforms.
  std::optional<SchemaViolation> Validate(const rapidjson::Value& document) const;

  // The JSON types ("string", "integer", ...) the schema's "type" allows at `json_pointer` of a
  // document, following "properties", "additionalProperties", "items" and local "$ref"s; empty
  // when the schema does not say (no "type", a patternProperties or allOf branch, a bad pointer).
  std::vector<std::string> TypesAt(std::string_view json_pointer) const;

 private:
  struct Impl;
  explicit JsonSchema(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sluice::config

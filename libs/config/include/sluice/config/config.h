// Config: a YAML configuration file, validated against a JSON Schema, with environment overrides
// and secrets read from files.
//
// The YAML document is converted to JSON (RapidJSON) once at load time; every accessor takes a
// JSON pointer ("/kafka/bootstrap", "/topics/0"). Scalars follow the YAML 1.2 core schema: plain
// `123`, `-4`, `0x1f`, `0o17` are integers, `1.5`, `2e3` are numbers, `true`/`false` (any of the
// three spellings) are booleans, `null`, `~` and empty values are null, and anything else (and
// every quoted scalar) is a string. YAML 1.1's `yes`/`no`/`on`/`off` stay strings.
//
// Limits guard every load against hostile files (see LoadOptions): file size, node count after
// alias expansion (billion laughs), nesting depth. Duplicate keys, multiple documents, a top level
// that is not a mapping, invalid UTF-8 and control characters are errors. Every error is a Status
// whose message names the file, the line and column, and the key:
//   relay.yaml:12:3: /rate/requests_per_second: expected number, got string "fast"
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::config {

// How to load a config. Thread-safety: a value type.
struct LoadOptions {
  // JSON Schema (draft-04, as RapidJSON 1.1 supports it) to validate the merged document against:
  // the text itself (e.g. from sluice::schemas::Get), named `schema_name` in errors, or a file; at
  // most one of the two. Violations name the file, line and column. A value whose schema says
  // "format": "duration" gets ParseDuration's message ("30 needs a unit, e.g. 30ms or 30s"). The
  // schema also types environment overrides (see env_prefix). Default empty: no validation.
  std::string schema_json;
  std::string schema_name = "<schema>";
  std::string schema_path;

  // Environment variables that start with this prefix override values: with "SLUICE_RELAY_",
  // SLUICE_RELAY_KAFKA__BOOTSTRAP=h:9092 sets /kafka/bootstrap. "__" separates levels, names are
  // lower-cased; a level matches an existing key whose name is equal after lower-casing and
  // turning every character other than [a-z0-9] into '_' (so ..._KAFKA__PROPERTIES__LINGER_MS
  // reaches an existing "linger.ms"). Missing keys are created; under a mapping named in
  // env_dotted_maps a new key has each '_' turned into '.' (see there). The value is read as a
  // YAML scalar ("8" is an integer, "'8'" a string) or a flow collection ("[a, b]"), except that
  // where the schema allows a string but not what the scalar reads as, the text is taken as the
  // string it is (a client_secret of 123456 or 007 stays "123456" or "007"); an empty value is the
  // empty string. Overrides are applied before validation, so they are validated too.
  // Default empty: no overrides.
  std::string env_prefix;

  // JSON pointers of mappings whose keys are librdkafka property names, e.g. "/kafka/properties":
  // an override that creates a key there turns each '_' of its name into '.'
  // (..._KAFKA__PROPERTIES__SECURITY_PROTOCOL sets "security.protocol"), since librdkafka's names
  // use dots. The settable names librdkafka spells with '_' (log_level, enabled_events,
  // enable_sasl_queue; tests/unit/kafka checks the list) keep it, and so does a "_file" suffix
  // (..._SASL_PASSWORD_FILE sets "sasl.password_file"; see GetPropertyMap).
  // Default empty.
  std::set<std::string> env_dotted_maps;

  // The environment to read overrides from (for tests). Default nullptr: the process environment.
  const std::map<std::string, std::string>* env = nullptr;

  // Variables that carry the prefix but are not overrides (e.g. SLUICE_RELAY_CONFIG naming the
  // config file itself). Default empty.
  std::set<std::string> env_ignore;

  // Files larger than this are refused before they are parsed. Default 4 MiB.
  size_t max_file_bytes = 4 * 1024 * 1024;
  // Cap on values in the document, counting every alias expansion. Default 1,000,000.
  size_t max_nodes = 1'000'000;
  // Cap on nesting of mappings and sequences. Default 64.
  int max_depth = 64;
};

// True for key names whose values must never appear in logs or error messages: names containing
// "secret", "password", "passphrase", "token", "private_key" or "credential" (any case).
bool IsSecretKeyName(std::string_view key);

// The contents of a secret file with surrounding whitespace trimmed: NotFound when it is missing,
// InvalidArgument when it is larger than 64 KiB or empty. Messages name the path, never the
// contents. Thread-safety: a function of the file system only.
Result<std::string> ReadSecretFile(const std::string& path);

// An immutable, loaded configuration document.
// Thread-safety: immutable once loaded; any number of threads may read one Config (or copies of
// it, which share the document) at once.
class Config {
 public:
  // Reads, parses and validates `path`; `path` names the file in error messages, and relative
  // `*_file` secrets are resolved against its directory.
  static Result<Config> LoadFile(const std::string& path, const LoadOptions& options);
  // Parses and validates `yaml`; `name` stands for the file in error messages; relative `*_file`
  // secrets are resolved against the working directory.
  static Result<Config> LoadString(std::string_view yaml, const LoadOptions& options,
                                   std::string_view name = "<string>");

  // True when `json_pointer` (e.g. "/kafka/bootstrap", "" for the root) names a value (null too).
  bool Has(std::string_view json_pointer) const;

  // Typed getters: NotFound when absent (or null), InvalidArgument when the value has another type
  // or the pointer is malformed. Messages name the file, line and pointer. The fallback overloads
  // return `fallback` on any error.
  Result<std::string> GetString(std::string_view ptr) const;
  std::string GetString(std::string_view ptr, std::string fallback) const;
  // Integers only (2.0 is not an integer); values beyond int64 are InvalidArgument.
  Result<int64_t> GetInt(std::string_view ptr) const;
  int64_t GetInt(std::string_view ptr, int64_t fallback) const;
  // Integers or numbers.
  Result<double> GetDouble(std::string_view ptr) const;
  double GetDouble(std::string_view ptr, double fallback) const;
  Result<bool> GetBool(std::string_view ptr) const;
  bool GetBool(std::string_view ptr, bool fallback) const;
  // A string in the grammar of sluice/core/duration.h ("250ms", "30s", "1h30m"). A number is
  // InvalidArgument that says which unit to add.
  Result<std::chrono::milliseconds> GetDuration(std::string_view ptr) const;
  std::chrono::milliseconds GetDuration(std::string_view ptr,
                                        std::chrono::milliseconds fallback) const;

  // Elements of the array at `ptr`; 0 when absent or not an array.
  size_t Size(std::string_view ptr) const;
  // Keys of the mapping at `ptr`, in file order (overrides that add keys come last); empty when
  // absent or not a mapping.
  std::vector<std::string> Keys(std::string_view ptr) const;
  // The scalar members of the mapping at `ptr` as strings (numbers in their JSON form, booleans
  // "true"/"false"); nulls, mappings and sequences are skipped. For pass-through properties such
  // as librdkafka's.
  std::map<std::string, std::string> GetStringMap(std::string_view ptr) const;

  // The secret at `ptr`: the string value of `<ptr>`, or, when `<ptr>_file` is set instead, the
  // contents of that file with surrounding whitespace trimmed (at most 64 KiB). NotFound when
  // neither is set or the file is missing, InvalidArgument when both are set or the result is
  // empty. The secret itself never appears in an error message.
  Result<std::string> GetSecret(std::string_view ptr) const;

  // GetStringMap for pass-through properties (librdkafka's) that may hold secrets: a key
  // `<name>_file` is replaced by `<name>`, set to the contents of that file read as GetSecret
  // reads one (trimmed, at most 64 KiB, relative to the config file's directory), so
  // `sasl.password_file: /run/secrets/kafka` sets sasl.password. InvalidArgument (naming the file,
  // line and key, never the contents) when both `<name>` and `<name>_file` are set, or the file
  // is empty or too large; NotFound when it is missing.
  Result<std::map<std::string, std::string>> GetPropertyMap(std::string_view ptr) const;

  // The merged document as compact JSON (for tools and debugging). Includes inline secrets; print
  // ToRedactedJson() instead wherever a person or a log may read it.
  std::string ToJson() const;
  // Like ToJson, with the value of every key for which IsSecretKeyName holds replaced by
  // "<redacted>".
  std::string ToRedactedJson() const;

  // The name the document was loaded under (the path, or LoadString's name).
  const std::string& name() const;

 private:
  struct Impl;
  static Result<Config> Load(std::string_view yaml, const LoadOptions& options,
                             std::string_view name, std::string base_dir);
  explicit Config(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

}  // namespace sluice::config

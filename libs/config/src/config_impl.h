// Config::Impl and the helpers config.cc and env_overrides.cc share. Private to libs/config.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <map>
#include <string>
#include <string_view>

#include "json_util.h"
#include "sluice/config/config.h"
#include "sluice/config/json_schema.h"
#include "yaml_json.h"

namespace sluice::config {
namespace internal {

// Lower-cased ASCII.
std::string Lower(std::string_view s);
// Lower-cased, with every character other than [a-z0-9] turned into '_'.
std::string NormalizeKey(std::string_view s);
// Without leading and trailing whitespace.
std::string Trim(std::string_view s);

}  // namespace internal

using internal::Describe;
using internal::Location;
using internal::LocationMap;

// The loaded document. Thread-safety: immutable once Load returns.
struct Config::Impl {
  std::string name;
  std::string base_dir;  // for relative *_file secrets; empty: the working directory
  rapidjson::Document doc;
  LocationMap locations;

  // "relay.yaml:12:3: /rate/x" (or "relay.yaml: /rate/x (env NAME)"), for messages.
  std::string Where(std::string_view ptr) const {
    std::string p(ptr);
    // The nearest recorded ancestor: values copied by an alias record only the alias.
    std::string probe = p;
    while (true) {
      auto it = locations.find(probe);
      if (it != locations.end()) {
        const Location& loc = it->second;
        if (!loc.env.empty()) return name + ": " + p + " (env " + loc.env + ")";
        return name + ":" + std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": " +
               (p.empty() ? "/" : p);
      }
      if (probe.empty()) break;
      probe.resize(probe.rfind('/'));
    }
    return name + ": " + (p.empty() ? "/" : p);
  }

  Result<const rapidjson::Value*> Find(std::string_view ptr) const {
    rapidjson::Pointer pointer(ptr.data(), ptr.size());
    if (!pointer.IsValid()) {
      return InvalidArgumentError(name + ": \"" + std::string(ptr) +
                                  "\" is not a JSON pointer (expected e.g. \"/kafka/bootstrap\")");
    }
    const rapidjson::Value* v = pointer.Get(doc);
    if (v == nullptr || v->IsNull()) return NotFoundError(Where(ptr) + ": not set");
    return v;
  }

  Status WrongType(std::string_view ptr, std::string_view expected,
                   const rapidjson::Value& v) const {
    bool redact = IsSecretKeyName(internal::LastToken(ptr));
    return InvalidArgumentError(Where(ptr) + ": expected " + std::string(expected) + ", got " +
                                Describe(v, redact));
  }

  Status ApplyOverrides(const LoadOptions& options, const std::map<std::string, std::string>& env,
                        const JsonSchema* schema);
};

}  // namespace sluice::config

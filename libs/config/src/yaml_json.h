// YAML text -> RapidJSON document, with the source position of every value. Private to libs/config.
#pragma once

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

#include "sluice/core/status.h"

namespace sluice::config::internal {

// Where a value came from: a line and column in the file (1-based), or an environment variable.
struct Location {
  int line = 0;
  int column = 0;
  std::string env;  // non-empty: the variable that set the value
};

// JSON pointer ("" for the root, "/kafka/bootstrap") -> Location. Values copied in by an alias have
// only the alias itself recorded, so the map stays as small as the file.
using LocationMap = std::unordered_map<std::string, Location>;

struct YamlLimits {
  size_t max_nodes = 1'000'000;
  int max_depth = 64;
};

// Rejects text that is not valid UTF-8 or holds characters YAML forbids (C0/C1 controls other
// than tab, CR, LF, NEL; DEL; U+FFFE/U+FFFF). The message is "<name>:<line>:<column>: ...".
Status CheckYamlText(std::string_view text, std::string_view name);

// Parses one YAML document into `out` (allocating from `allocator`). `pointer_prefix` is prepended
// to recorded locations. Errors read "<name>:<line>:<column>: <pointer>: <problem>" or
// "<name>:<line>:<column>: <problem>". A file with no document is an error; so is more than one.
Status YamlToJson(std::string_view text, std::string_view name, const YamlLimits& limits,
                  rapidjson::Value* out, rapidjson::Document::AllocatorType& allocator,
                  LocationMap* locations);

// Resolves a plain (unquoted) YAML scalar by the YAML 1.2 core schema into `out`.
void ResolvePlainScalar(const std::string& text, rapidjson::Value* out,
                        rapidjson::Document::AllocatorType& allocator);

}  // namespace sluice::config::internal

// Environment overrides (LoadOptions::env_prefix): names to JSON pointers, librdkafka's dotted
// names, and values typed by the schema.
#include <algorithm>
#include <cctype>
#include <charconv>

#include "config_impl.h"

namespace sluice::config {

using internal::EscapeToken;
using internal::Lower;
using internal::NormalizeKey;
using internal::Trim;

namespace internal {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lower-cased, with every character other than [a-z0-9] turned into '_'.
std::string NormalizeKey(std::string_view s) {
  std::string out = Lower(s);
  for (char& c : out) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '_';
  }
  return out;
}

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

}  // namespace internal

namespace {

// librdkafka's settable properties whose names have '_' rather than '.'.
bool KeepsUnderscores(std::string_view name) {
  return name == "log_level" || name == "enabled_events" || name == "enable_sasl_queue";
}

// The override's text as a JSON value: a YAML scalar or flow collection; block structures
// ("a: b") stay plain text. Where `types` (the schema's, possibly empty) allow a string but not
// what the scalar reads as, the text itself is the string.
Status OverrideValue(const std::string& text, const std::string& where,
                     const internal::YamlLimits& limits, const std::vector<std::string>& types,
                     rapidjson::Value* value, rapidjson::Document::AllocatorType& allocator) {
  const std::string trimmed = Trim(text);
  internal::LocationMap ignored;
  if (text.empty()) {
    value->SetString("", allocator);
    return Status::Ok();
  }
  if (!trimmed.empty() && (trimmed[0] == '[' || trimmed[0] == '{')) {
    return internal::YamlToJson(text, where, limits, value, allocator, &ignored);
  }
  Status parsed = internal::YamlToJson(text, where, limits, value, allocator, &ignored);
  if (!parsed.ok() || value->IsObject() || value->IsArray()) {
    value->SetString(text, allocator);
    return Status::Ok();
  }
  if (types.empty() || value->IsString()) return Status::Ok();
  auto allows = [&](std::string_view t) {
    return std::find(types.begin(), types.end(), t) != types.end();
  };
  const std::string_view type = internal::TypeName(*value);
  const bool fits = allows(type) || (type == "integer" && allows("number"));
  if (!fits && allows("string")) value->SetString(text, allocator);
  return Status::Ok();
}

}  // namespace

// Applies every `prefix`-named variable of `env` to `doc` (see LoadOptions::env_prefix).
Status Config::Impl::ApplyOverrides(const LoadOptions& options,
                                    const std::map<std::string, std::string>& env,
                                    const JsonSchema* schema) {
  Impl* impl = this;
  auto& allocator = impl->doc.GetAllocator();
  internal::YamlLimits limits{options.max_nodes, options.max_depth};
  for (const auto& [var, text] : env) {
    if (var.size() <= options.env_prefix.size() || var.rfind(options.env_prefix, 0) != 0) continue;
    if (options.env_ignore.count(var) > 0) continue;
    const std::string where = impl->name + ": env " + var;
    std::vector<std::string> path;
    std::string_view rest = std::string_view(var).substr(options.env_prefix.size());
    while (true) {
      size_t sep = rest.find("__");
      std::string segment = Lower(rest.substr(0, sep));
      if (segment.empty() ||
          segment.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
        return InvalidArgumentError(where + ": malformed override name (expected " +
                                    options.env_prefix + "LEVEL__LEVEL with [A-Z0-9_] levels)");
      }
      path.push_back(std::move(segment));
      if (sep == std::string_view::npos) break;
      rest.remove_prefix(sep + 2);
    }
    if (text.size() > options.max_file_bytes) {
      return InvalidArgumentError(where + ": value larger than " +
                                  std::to_string(options.max_file_bytes) + " bytes");
    }
    RETURN_IF_ERROR(internal::CheckYamlText(text, where));

    // Walk (and create) the path.
    rapidjson::Value* node = &impl->doc;
    std::string pointer;
    bool in_dotted_map = false;  // the value is a member of a mapping in env_dotted_maps
    for (size_t i = 0; i < path.size(); ++i) {
      const bool last = i + 1 == path.size();
      rapidjson::Value* child = nullptr;
      std::string key = path[i];
      if (node->IsObject()) {
        for (auto& m : node->GetObject()) {
          std::string_view name(m.name.GetString(), m.name.GetStringLength());
          if (name == path[i]) {
            child = &m.value;
            key = std::string(name);
            break;
          }
          if (child == nullptr && NormalizeKey(name) == path[i]) {
            child = &m.value;
            key = std::string(name);
          }
        }
        in_dotted_map = last && options.env_dotted_maps.count(pointer) > 0;
        if (child == nullptr && in_dotted_map && !KeepsUnderscores(key)) {
          // "sasl_password_file" is sasl.password read from a file (Config::GetPropertyMap):
          // the suffix keeps its '_'.
          const bool file = key.size() > 5 && key.ends_with("_file");
          std::replace(key.begin(), key.end() - (file ? 5 : 0), '_', '.');
          for (auto& m : node->GetObject()) {
            if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == key) {
              child = &m.value;
            }
          }
        }
        pointer += "/" + EscapeToken(key);
        if (child == nullptr) {
          node->AddMember(rapidjson::Value(key, allocator),
                          last ? rapidjson::Value() : rapidjson::Value(rapidjson::kObjectType),
                          allocator);
          child = &(node->MemberEnd() - 1)->value;
        }
      } else if (node->IsArray()) {
        size_t index = 0;
        auto r = std::from_chars(key.data(), key.data() + key.size(), index);
        if (r.ec != std::errc() || r.ptr != key.data() + key.size() || index >= node->Size()) {
          return InvalidArgumentError(where + ": " + (pointer.empty() ? "/" : pointer) +
                                      " is an array of " + std::to_string(node->Size()) +
                                      " items; \"" + key + "\" is not an index in it");
        }
        pointer += "/" + key;
        child = &(*node)[static_cast<rapidjson::SizeType>(index)];
      } else {
        return InvalidArgumentError(where + ": " + (pointer.empty() ? "/" : pointer) + " is " +
                                    std::string(internal::TypeName(*node)) +
                                    ", not a mapping, so it has no \"" + key + "\"");
      }
      node = child;
      if (!last && node->IsNull()) node->SetObject();
    }
    rapidjson::Value value;
    if (in_dotted_map) {
      value.SetString(text, allocator);  // librdkafka takes every value as text, as written
    } else {
      RETURN_IF_ERROR(
          OverrideValue(text, where, limits,
                        schema != nullptr ? schema->TypesAt(pointer) : std::vector<std::string>{},
                        &value, allocator));
    }
    *node = value;  // moves
    // Positions of what the override replaced no longer apply.
    for (auto it = impl->locations.begin(); it != impl->locations.end();) {
      if (it->first.rfind(pointer + "/", 0) == 0) {
        it = impl->locations.erase(it);
      } else {
        ++it;
      }
    }
    impl->locations[pointer] = Location{0, 0, var};
  }
  return Status::Ok();
}

}  // namespace sluice::config

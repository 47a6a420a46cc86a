#include "sluice/config/config.h"

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <utility>

#include "json_util.h"
#include "sluice/config/json_schema.h"
#include "yaml_json.h"

extern char** environ;

namespace sluice::config {

using internal::Describe;
using internal::EscapeToken;
using internal::Location;
using internal::LocationMap;

namespace {

constexpr size_t kMaxSecretBytes = 64 * 1024;

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

// Reads at most `limit` bytes of `path`; `*too_large` reports a longer file.
Result<std::string> ReadCapped(const std::string& path, size_t limit, bool* too_large) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(std::strerror(errno));
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return InvalidArgumentError("is a directory");
  std::string text;
  text.resize(limit + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  *too_large = text.size() > limit;
  if (*too_large) text.resize(limit);
  return text;
}

std::string Trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  size_t b = s.find_first_not_of(ws);
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(ws);
  return std::string(s.substr(b, e - b + 1));
}

void Redact(rapidjson::Value& v, rapidjson::Document::AllocatorType& allocator) {
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      if (IsSecretKeyName(std::string_view(m.name.GetString(), m.name.GetStringLength())) &&
          !m.value.IsObject() && !m.value.IsArray()) {
        m.value.SetString("<redacted>", allocator);
      } else {
        Redact(m.value, allocator);
      }
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) Redact(e, allocator);
  }
}

}  // namespace

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

  Status ApplyOverrides(const LoadOptions& options, const std::map<std::string, std::string>& env);
};

// Applies every `prefix`-named variable of `env` to `doc` (see LoadOptions::env_prefix).
Status Config::Impl::ApplyOverrides(const LoadOptions& options,
                                    const std::map<std::string, std::string>& env) {
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

    // The value: a YAML scalar or flow collection; block structures ("a: b") stay plain text.
    rapidjson::Value value;
    std::string trimmed = Trim(text);
    if (text.empty()) {
      value.SetString("", allocator);
    } else if (!trimmed.empty() && (trimmed[0] == '[' || trimmed[0] == '{')) {
      internal::LocationMap ignored;
      RETURN_IF_ERROR(internal::YamlToJson(text, where, limits, &value, allocator, &ignored));
    } else {
      internal::LocationMap ignored;
      Status parsed = internal::YamlToJson(text, where, limits, &value, allocator, &ignored);
      if (!parsed.ok() || value.IsObject() || value.IsArray()) value.SetString(text, allocator);
    }

    // Walk (and create) the path.
    rapidjson::Value* node = &impl->doc;
    std::string pointer;
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

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  auto bad = [&] {
    return InvalidArgumentError("\"" + std::string(internal::CutUtf8(text, 64)) +
                                "\" is not a duration (expected e.g. \"250ms\", \"20s\", \"5m\", "
                                "\"2h\", \"7d\")");
  };
  size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::string_view whole = text.substr(0, i);
  std::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    size_t start = ++i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    fraction = text.substr(start, i - start);
    if (fraction.empty()) return bad();
  }
  if (whole.empty()) return bad();
  std::string_view unit = text.substr(i);
  int64_t unit_ms = 0;
  if (unit.empty() && fraction.empty()) {
    unit_ms = 1;  // a bare integer counts milliseconds, as an unquoted number does
  } else if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60'000;
  } else if (unit == "h") {
    unit_ms = 3'600'000;
  } else if (unit == "d") {
    unit_ms = 86'400'000;
  } else {
    return bad();
  }
  int64_t count = 0;
  auto r = std::from_chars(whole.data(), whole.data() + whole.size(), count);
  if (r.ec != std::errc() || count > std::numeric_limits<int64_t>::max() / unit_ms) {
    return InvalidArgumentError("\"" + std::string(internal::CutUtf8(text, 64)) +
                                "\" is too long a duration");
  }
  int64_t ms = count * unit_ms;
  // At most 9 fraction digits matter: a fraction of a day below 1e-9 is under a millisecond.
  fraction = fraction.substr(0, std::min<size_t>(fraction.size(), 9));
  if (!fraction.empty()) {
    int64_t numerator = 0;
    std::from_chars(fraction.data(), fraction.data() + fraction.size(), numerator);
    int64_t denominator = 1;
    for (size_t k = 0; k < fraction.size(); ++k) denominator *= 10;
    int64_t extra = numerator * unit_ms / denominator;  // < 1e9 * 8.64e7: fits
    if (ms > std::numeric_limits<int64_t>::max() - extra) return bad();
    ms += extra;
  }
  return std::chrono::milliseconds(ms);
}

bool IsSecretKeyName(std::string_view key) {
  std::string k = Lower(key);
  for (const char* word :
       {"secret", "password", "passphrase", "token", "private_key", "privatekey", "credential"}) {
    if (k.find(word) != std::string::npos) return true;
  }
  return false;
}

Result<Config> Config::LoadFile(const std::string& path, const LoadOptions& options) {
  bool too_large = false;
  auto text = ReadCapped(path, options.max_file_bytes, &too_large);
  if (!text.ok()) {
    return Status(text.status().code(), path + ": cannot read: " + text.status().message());
  }
  if (too_large) {
    std::error_code ec;
    auto size = std::filesystem::file_size(path, ec);
    return InvalidArgumentError(path + ": file is " +
                                (ec ? std::string("over") : std::to_string(size)) +
                                " bytes, more than the " + std::to_string(options.max_file_bytes) +
                                "-byte limit for config files");
  }
  return Load(*text, options, path, std::filesystem::path(path).parent_path().string());
}

Result<Config> Config::LoadString(std::string_view yaml, const LoadOptions& options,
                                  std::string_view name) {
  return Load(yaml, options, name, "");
}

Result<Config> Config::Load(std::string_view yaml, const LoadOptions& options,
                            std::string_view name, std::string base_dir) {
  auto impl = std::make_shared<Impl>();
  impl->name = std::string(name);
  impl->base_dir = std::move(base_dir);
  if (yaml.size() > options.max_file_bytes) {
    return InvalidArgumentError(impl->name + ": document is " + std::to_string(yaml.size()) +
                                " bytes, more than the " + std::to_string(options.max_file_bytes) +
                                "-byte limit for config files");
  }
  if (yaml.substr(0, 3) == "\xEF\xBB\xBF") yaml.remove_prefix(3);  // UTF-8 byte order mark
  RETURN_IF_ERROR(internal::CheckYamlText(yaml, impl->name));
  internal::YamlLimits limits{options.max_nodes, options.max_depth};
  RETURN_IF_ERROR(internal::YamlToJson(yaml, impl->name, limits, &impl->doc,
                                       impl->doc.GetAllocator(), &impl->locations));
  if (!impl->doc.IsObject()) {
    return InvalidArgumentError(impl->Where("") +
                                ": the top level must be a mapping of keys, not " +
                                std::string(internal::TypeName(impl->doc)));
  }

  if (!options.env_prefix.empty()) {
    std::map<std::string, std::string> process_env;
    const std::map<std::string, std::string>* env = options.env;
    if (env == nullptr) {
      for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view entry(*e);
        size_t eq = entry.find('=');
        if (eq == std::string_view::npos) continue;
        process_env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
      }
      env = &process_env;
    }
    RETURN_IF_ERROR(impl->ApplyOverrides(options, *env));
  }

  if (!options.schema_json.empty() || !options.schema_path.empty()) {
    if (!options.schema_json.empty() && !options.schema_path.empty()) {
      return InvalidArgumentError("LoadOptions: schema_json and schema_path are both set");
    }
    auto schema = options.schema_json.empty()
                      ? JsonSchema::FromFile(options.schema_path)
                      : JsonSchema::FromString(options.schema_json, options.schema_name);
    if (!schema.ok()) return schema.status();
    if (auto violation = schema->Validate(impl->doc)) {
      return InvalidArgumentError(impl->Where(violation->pointer) + ": " + violation->message);
    }
  }
  return Config(std::move(impl));
}

const std::string& Config::name() const { return impl_->name; }

bool Config::Has(std::string_view json_pointer) const {
  rapidjson::Pointer pointer(json_pointer.data(), json_pointer.size());
  return pointer.IsValid() && pointer.Get(impl_->doc) != nullptr;
}

Result<std::string> Config::GetString(std::string_view ptr) const {
  ASSIGN_OR_RETURN(const rapidjson::Value* v, impl_->Find(ptr));
  if (!v->IsString()) return impl_->WrongType(ptr, "string", *v);
  return std::string(v->GetString(), v->GetStringLength());
}

std::string Config::GetString(std::string_view ptr, std::string fallback) const {
  auto r = GetString(ptr);
  return r.ok() ? std::move(r).value() : std::move(fallback);
}

Result<int64_t> Config::GetInt(std::string_view ptr) const {
  ASSIGN_OR_RETURN(const rapidjson::Value* v, impl_->Find(ptr));
  if (!v->IsInt64()) return impl_->WrongType(ptr, "integer (64-bit)", *v);
  return v->GetInt64();
}

int64_t Config::GetInt(std::string_view ptr, int64_t fallback) const {
  return GetInt(ptr).value_or(fallback);
}

Result<double> Config::GetDouble(std::string_view ptr) const {
  ASSIGN_OR_RETURN(const rapidjson::Value* v, impl_->Find(ptr));
  if (!v->IsNumber()) return impl_->WrongType(ptr, "number", *v);
  return v->GetDouble();
}

double Config::GetDouble(std::string_view ptr, double fallback) const {
  return GetDouble(ptr).value_or(fallback);
}

Result<bool> Config::GetBool(std::string_view ptr) const {
  ASSIGN_OR_RETURN(const rapidjson::Value* v, impl_->Find(ptr));
  if (!v->IsBool()) return impl_->WrongType(ptr, "boolean", *v);
  return v->GetBool();
}

bool Config::GetBool(std::string_view ptr, bool fallback) const {
  return GetBool(ptr).value_or(fallback);
}

Result<std::chrono::milliseconds> Config::GetDuration(std::string_view ptr) const {
  ASSIGN_OR_RETURN(const rapidjson::Value* v, impl_->Find(ptr));
  if (v->IsInt64() && v->GetInt64() >= 0) return std::chrono::milliseconds(v->GetInt64());
  if (v->IsString()) {
    auto d = ParseDuration(std::string_view(v->GetString(), v->GetStringLength()));
    if (d.ok()) return d;
    return InvalidArgumentError(impl_->Where(ptr) + ": " + d.status().message());
  }
  return impl_->WrongType(ptr, "a duration (\"250ms\", \"20s\", ...) or milliseconds >= 0", *v);
}

std::chrono::milliseconds Config::GetDuration(std::string_view ptr,
                                              std::chrono::milliseconds fallback) const {
  return GetDuration(ptr).value_or(fallback);
}

size_t Config::Size(std::string_view ptr) const {
  auto v = impl_->Find(ptr);
  return v.ok() && (*v)->IsArray() ? (*v)->Size() : 0;
}

std::vector<std::string> Config::Keys(std::string_view ptr) const {
  std::vector<std::string> keys;
  auto v = impl_->Find(ptr);
  if (!v.ok() || !(*v)->IsObject()) return keys;
  for (const auto& m : (*v)->GetObject()) {
    keys.emplace_back(m.name.GetString(), m.name.GetStringLength());
  }
  return keys;
}

std::map<std::string, std::string> Config::GetStringMap(std::string_view ptr) const {
  std::map<std::string, std::string> out;
  auto v = impl_->Find(ptr);
  if (!v.ok() || !(*v)->IsObject()) return out;
  for (const auto& m : (*v)->GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    if (m.value.IsString()) {
      out[key] = std::string(m.value.GetString(), m.value.GetStringLength());
    } else if (m.value.IsBool() || m.value.IsNumber()) {
      out[key] = internal::ToCompactJson(m.value);
    }
  }
  return out;
}

Result<std::string> Config::GetSecret(std::string_view ptr) const {
  const std::string file_ptr = std::string(ptr) + "_file";
  auto inline_value = impl_->Find(ptr);
  auto file_value = impl_->Find(file_ptr);
  if (!inline_value.ok() && inline_value.status().code() != StatusCode::kNotFound) {
    return inline_value.status();
  }
  if (inline_value.ok() && file_value.ok()) {
    return InvalidArgumentError(impl_->Where(ptr) + ": set either " + std::string(ptr) + " or " +
                                file_ptr + ", not both");
  }
  if (inline_value.ok()) {
    const rapidjson::Value* v = *inline_value;
    // Never echo the value: it is a secret even when it has the wrong type.
    if (!v->IsString()) {
      return InvalidArgumentError(impl_->Where(ptr) + ": expected string, got " +
                                  std::string(internal::TypeName(*v)));
    }
    if (v->GetStringLength() == 0) return InvalidArgumentError(impl_->Where(ptr) + ": is empty");
    return std::string(v->GetString(), v->GetStringLength());
  }
  if (!file_value.ok()) {
    if (file_value.status().code() == StatusCode::kNotFound) {
      return NotFoundError(impl_->name + ": " + std::string(ptr) + ": not set (set " +
                           std::string(ptr) + " or " + file_ptr + ")");
    }
    return file_value.status();
  }
  const rapidjson::Value* f = *file_value;
  if (!f->IsString() || f->GetStringLength() == 0) {
    return impl_->WrongType(file_ptr, "a file path", *f);
  }
  std::filesystem::path path(std::string(f->GetString(), f->GetStringLength()));
  if (path.is_relative() && !impl_->base_dir.empty()) path = impl_->base_dir / path;
  bool too_large = false;
  auto contents = ReadCapped(path.string(), kMaxSecretBytes, &too_large);
  if (!contents.ok()) {
    return Status(contents.status().code(), impl_->Where(file_ptr) +
                                                ": cannot read secret file \"" + path.string() +
                                                "\": " + contents.status().message());
  }
  if (too_large) {
    return InvalidArgumentError(impl_->Where(file_ptr) + ": secret file \"" + path.string() +
                                "\" is larger than " + std::to_string(kMaxSecretBytes) + " bytes");
  }
  std::string secret = Trim(*contents);
  if (secret.empty()) {
    return InvalidArgumentError(impl_->Where(file_ptr) + ": secret file \"" + path.string() +
                                "\" is empty");
  }
  return secret;
}

std::string Config::ToJson() const { return internal::ToCompactJson(impl_->doc); }

std::string Config::ToRedactedJson() const {
  rapidjson::Document copy;
  copy.CopyFrom(impl_->doc, copy.GetAllocator());
  Redact(copy, copy.GetAllocator());
  return internal::ToCompactJson(copy);
}

}  // namespace sluice::config

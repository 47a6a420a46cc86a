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
#include <optional>
#include <utility>

#include "config_impl.h"
#include "json_util.h"
#include "sluice/config/json_schema.h"
#include "sluice/core/duration.h"
#include "yaml_json.h"

extern char** environ;

namespace sluice::config {

using internal::Lower;
using internal::Trim;

namespace {

constexpr size_t kMaxSecretBytes = 64 * 1024;

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

  std::optional<JsonSchema> schema;
  if (!options.schema_path.empty() || !options.schema_json.empty()) {
    if (!options.schema_json.empty() && !options.schema_path.empty()) {
      return InvalidArgumentError("LoadOptions: schema_json and schema_path are both set");
    }
    auto compiled = options.schema_path.empty()
                        ? JsonSchema::FromString(options.schema_json, options.schema_name)
                        : JsonSchema::FromFile(options.schema_path);
    if (!compiled.ok()) return compiled.status();
    schema = std::move(*compiled);
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
    RETURN_IF_ERROR(impl->ApplyOverrides(options, *env, schema ? &*schema : nullptr));
  }

  if (schema) {
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
  if (v->IsString() || v->IsNumber()) {
    const std::string text = v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                           : internal::ToCompactJson(*v);
    auto d = ParseDuration(text);
    if (d.ok()) return d;
    return InvalidArgumentError(impl_->Where(ptr) + ": " + d.status().message());
  }
  return impl_->WrongType(ptr, "a duration (\"250ms\", \"30s\", \"1h30m\")", *v);
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
  auto secret = ReadSecretFile(path.string());
  if (!secret.ok()) {
    return Status(secret.status().code(),
                  impl_->Where(file_ptr) + ": " + secret.status().message());
  }
  return secret;
}

Result<std::map<std::string, std::string>> Config::GetPropertyMap(std::string_view ptr) const {
  std::map<std::string, std::string> out = GetStringMap(ptr);
  constexpr std::string_view kSuffix = "_file";
  std::vector<std::string> file_keys;
  for (const auto& [key, value] : out) {
    if (key.size() > kSuffix.size() && key.ends_with(kSuffix)) file_keys.push_back(key);
  }
  for (const std::string& file_key : file_keys) {
    const std::string name = file_key.substr(0, file_key.size() - kSuffix.size());
    const std::string member_ptr = std::string(ptr) + "/" + internal::EscapeToken(file_key);
    if (out.count(name) > 0) {
      return InvalidArgumentError(impl_->Where(member_ptr) + ": set either " + name + " or " +
                                  file_key + ", not both");
    }
    std::filesystem::path path(out[file_key]);
    if (path.is_relative() && !impl_->base_dir.empty()) path = impl_->base_dir / path;
    auto value = ReadSecretFile(path.string());
    if (!value.ok()) {
      return Status(value.status().code(),
                    impl_->Where(member_ptr) + ": " + value.status().message());
    }
    out.erase(file_key);
    out[name] = std::move(value).value();
  }
  return out;
}

Result<std::string> ReadSecretFile(const std::string& path) {
  bool too_large = false;
  auto contents = ReadCapped(path, kMaxSecretBytes, &too_large);
  if (!contents.ok()) {
    return Status(contents.status().code(),
                  "cannot read secret file \"" + path + "\": " + contents.status().message());
  }
  if (too_large) {
    return InvalidArgumentError("secret file \"" + path + "\" is larger than " +
                                std::to_string(kMaxSecretBytes) + " bytes");
  }
  std::string secret = Trim(*contents);
  if (secret.empty()) return InvalidArgumentError("secret file \"" + path + "\" is empty");
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

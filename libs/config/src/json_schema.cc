#include "sluice/config/json_schema.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/internal/regex.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "json_util.h"
#include "sluice/config/config.h"
#include "sluice/core/duration.h"

namespace sluice::config {

using internal::Describe;
using internal::EscapeToken;
using internal::LastToken;
using internal::PointerString;
using internal::Preview;

struct JsonSchema::Impl {
  rapidjson::Document schema_doc;
  std::unique_ptr<rapidjson::SchemaDocument> compiled;
  std::string name;
  // RapidJSON 1.1's compiled "pattern" regexes keep their match state in the schema document
  // (GenericRegex's mutable state sets), so two validations at once corrupt each other and can
  // crash. Validate holds this for the whole validation.
  mutable std::mutex validate_mu;
};

namespace {

constexpr size_t kMaxSchemaBytes = 4 * 1024 * 1024;
constexpr int kMaxSchemaDepth = 128;

// RapidJSON 1.1 drops a pattern its regex engine cannot compile and then never checks it; refuse
// such a schema instead so a typo cannot switch a check off.
Status CheckPatterns(const rapidjson::Value& node, const std::string& where, int depth) {
  if (depth > kMaxSchemaDepth) return InvalidArgumentError(where + ": schema nested too deeply");
  if (node.IsArray()) {
    for (rapidjson::SizeType i = 0; i < node.Size(); ++i) {
      RETURN_IF_ERROR(CheckPatterns(node[i], where + "/" + std::to_string(i), depth + 1));
    }
    return Status::Ok();
  }
  if (!node.IsObject()) return Status::Ok();
  // RapidJSON 1.1 rejects valid documents when both are present (keys matching a pattern are
  // reported as "type" errors), so refuse the combination rather than validate wrongly.
  auto additional = node.FindMember("additionalProperties");
  if (node.HasMember("patternProperties") && additional != node.MemberEnd() &&
      additional->value.IsFalse()) {
    return InvalidArgumentError(
        (where.empty() ? "/" : where) +
        ": \"patternProperties\" with \"additionalProperties\": false is "
        "mis-validated by RapidJSON 1.1; use an additionalProperties schema "
        "or check key names in code");
  }
  for (const auto& member : node.GetObject()) {
    std::string key(member.name.GetString(), member.name.GetStringLength());
    std::string path = where + "/" + EscapeToken(key);
    if (key == "pattern" && member.value.IsString()) {
      rapidjson::internal::GenericRegex<rapidjson::UTF8<>> regex(member.value.GetString());
      if (!regex.IsValid()) {
        return InvalidArgumentError(path + ": pattern \"" + member.value.GetString() +
                                    "\" is not supported by RapidJSON's regex engine");
      }
    }
    if (key == "patternProperties" && member.value.IsObject()) {
      for (const auto& p : member.value.GetObject()) {
        rapidjson::internal::GenericRegex<rapidjson::UTF8<>> regex(p.name.GetString());
        if (!regex.IsValid()) {
          return InvalidArgumentError(path + ": pattern \"" + p.name.GetString() +
                                      "\" is not supported by RapidJSON's regex engine");
        }
      }
    }
    RETURN_IF_ERROR(CheckPatterns(member.value, path, depth + 1));
  }
  return Status::Ok();
}

std::string JoinPreviews(const rapidjson::Value& array, size_t max_items) {
  std::string out;
  for (rapidjson::SizeType i = 0; i < array.Size(); ++i) {
    if (i == max_items) {
      out += ", ...";
      break;
    }
    if (i > 0) out += ", ";
    out += Preview(array[i]);
  }
  return out;
}

std::string NumberText(const rapidjson::Value& v) { return v.IsNumber() ? Preview(v) : "?"; }

const rapidjson::Value* Member(const rapidjson::Value* schema, const char* name) {
  if (schema == nullptr || !schema->IsObject()) return nullptr;
  auto it = schema->FindMember(name);
  return it == schema->MemberEnd() ? nullptr : &it->value;
}

// Turns RapidJSON's (schema pointer, keyword, document pointer) triple into a readable message.
SchemaViolation Explain(const rapidjson::Value* schema, const std::string& keyword,
                        std::string pointer, const rapidjson::Value* value) {
  SchemaViolation v{std::move(pointer), keyword, ""};
  const bool redact = IsSecretKeyName(LastToken(v.pointer));
  const std::string got = value != nullptr ? Describe(*value, redact) : "nothing";
  const rapidjson::Value* arg = Member(schema, keyword.c_str());

  // Durations: the grammar's own message says what to write ("30 needs a unit, e.g. 30ms or
  // 30s"), which a type or pattern failure would not.
  const rapidjson::Value* format = Member(schema, "format");
  if (format != nullptr && format->IsString() &&
      std::string_view(format->GetString()) == "duration" && value != nullptr &&
      (value->IsString() || value->IsNumber())) {
    const std::string text = value->IsString()
                                 ? std::string(value->GetString(), value->GetStringLength())
                                 : internal::ToCompactJson(*value);
    auto parsed = ParseDuration(text);
    if (!parsed.ok()) {
      v.message = parsed.status().message();
      return v;
    }
  }

  if (keyword == "type") {
    std::string expected;
    if (arg != nullptr && arg->IsString()) {
      expected = arg->GetString();
    } else if (arg != nullptr && arg->IsArray()) {
      for (rapidjson::SizeType i = 0; i < arg->Size(); ++i) {
        if (!(*arg)[i].IsString()) continue;
        if (!expected.empty()) expected += i + 1 == arg->Size() ? " or " : ", ";
        expected += (*arg)[i].GetString();
      }
    }
    v.message = "expected " + expected + ", got " + got;
  } else if (keyword == "enum" && arg != nullptr && arg->IsArray()) {
    v.message = "expected one of " + JoinPreviews(*arg, 20) + ", got " + got;
  } else if (keyword == "required" && arg != nullptr && arg->IsArray() && value != nullptr &&
             value->IsObject()) {
    for (const auto& name : arg->GetArray()) {
      if (name.IsString() && !value->HasMember(name)) {
        v.pointer += "/" + EscapeToken(name.GetString());
        v.message = std::string("missing required key \"") + name.GetString() + "\"";
        break;
      }
    }
    if (v.message.empty()) v.message = "missing a required key";
  } else if (keyword == "additionalProperties") {
    // RapidJSON 1.1 points at the unknown key itself (and `value` is that key's value).
    std::string key = LastToken(v.pointer);
    const rapidjson::Value* properties = Member(schema, "properties");
    v.message = "unknown key \"" + std::string(internal::CutUtf8(key, 64)) + "\"";
    if (properties != nullptr && properties->IsObject() && properties->MemberCount() > 0) {
      std::vector<std::string> names;
      for (const auto& m : properties->GetObject()) names.emplace_back(m.name.GetString());
      std::sort(names.begin(), names.end());
      v.message += " (allowed: ";
      for (size_t i = 0; i < names.size() && i < 40; ++i) {
        if (i > 0) v.message += ", ";
        v.message += names[i];
      }
      if (names.size() > 40) v.message += ", ...";
      v.message += ")";
    }
  } else if (keyword == "pattern" && arg != nullptr && arg->IsString()) {
    v.message = got + " does not match pattern " + arg->GetString();
  } else if (keyword == "minimum" || keyword == "maximum") {
    bool min = keyword == "minimum";
    const rapidjson::Value* exclusive =
        Member(schema, min ? "exclusiveMinimum" : "exclusiveMaximum");
    bool strict = exclusive != nullptr && exclusive->IsTrue();
    v.message = std::string("expected ") +
                (min ? (strict ? "> " : ">= ") : (strict ? "< " : "<= ")) +
                (arg != nullptr ? NumberText(*arg) : "?") + ", got " + got;
  } else if (keyword == "multipleOf") {
    v.message =
        "expected a multiple of " + (arg != nullptr ? NumberText(*arg) : "?") + ", got " + got;
  } else if (keyword == "minLength" || keyword == "maxLength") {
    v.message = std::string("expected ") + (keyword == "minLength" ? "at least " : "at most ") +
                (arg != nullptr ? NumberText(*arg) : "?") + " characters, got " + got;
  } else if (keyword == "minItems" || keyword == "maxItems") {
    v.message = std::string("expected ") + (keyword == "minItems" ? "at least " : "at most ") +
                (arg != nullptr ? NumberText(*arg) : "?") + " items, got " +
                (value != nullptr && value->IsArray() ? std::to_string(value->Size()) : "?");
  } else if (keyword == "minProperties" || keyword == "maxProperties") {
    v.message =
        std::string("expected ") + (keyword == "minProperties" ? "at least " : "at most ") +
        (arg != nullptr ? NumberText(*arg) : "?") + " keys, got " +
        (value != nullptr && value->IsObject() ? std::to_string(value->MemberCount()) : "?");
  } else if (keyword == "uniqueItems") {
    v.message = "repeats an earlier item; items must be unique";
  } else if (keyword == "not") {
    v.message = got + " matches a schema it must not match";
  } else {
    // allOf/anyOf/oneOf/dependencies: RapidJSON 1.1 does not say which branch failed.
    v.message = got + " does not satisfy \"" + keyword + "\"";
  }
  return v;
}

// Follows local "$ref"s ("#/definitions/x") from `node`; nullptr on a bad or looping reference.
const rapidjson::Value* Resolve(const rapidjson::Document& root, const rapidjson::Value* node) {
  for (int hops = 0; node != nullptr && node->IsObject(); ++hops) {
    const rapidjson::Value* ref = Member(node, "$ref");
    if (ref == nullptr) return node;
    if (hops > 16 || !ref->IsString() || ref->GetString()[0] != '#') return nullptr;
    rapidjson::Pointer pointer(ref->GetString() + 1, ref->GetStringLength() - 1);
    if (!pointer.IsValid()) return nullptr;
    node = pointer.Get(root);
  }
  return node;
}

// RapidJSON 1.1 recurses without end (and crashes) on "$ref"s that only point at each other, so
// such a schema is refused before it is compiled.
Status CheckRefs(const rapidjson::Document& root, const rapidjson::Value& node,
                 const std::string& where, int depth) {
  if (depth > kMaxSchemaDepth) return InvalidArgumentError(where + ": schema nested too deeply");
  if (node.IsArray()) {
    for (rapidjson::SizeType i = 0; i < node.Size(); ++i) {
      RETURN_IF_ERROR(CheckRefs(root, node[i], where + "/" + std::to_string(i), depth + 1));
    }
  }
  if (!node.IsObject()) return Status::Ok();
  if (Member(&node, "$ref") != nullptr && Resolve(root, &node) == nullptr) {
    return InvalidArgumentError((where.empty() ? "/" : where) +
                                ": \"$ref\" loops or points at nothing in this schema");
  }
  for (const auto& member : node.GetObject()) {
    RETURN_IF_ERROR(CheckRefs(root, member.value,
                              where + "/" + EscapeToken(member.name.GetString()), depth + 1));
  }
  return Status::Ok();
}

}  // namespace

Result<JsonSchema> JsonSchema::FromString(std::string_view schema_json, std::string_view name) {
  auto impl = std::make_shared<Impl>();
  impl->name = std::string(name);
  impl->schema_doc.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(
      schema_json.data(), schema_json.size());
  if (impl->schema_doc.HasParseError()) {
    return InvalidArgumentError(impl->name + ": schema is not JSON: " +
                                rapidjson::GetParseError_En(impl->schema_doc.GetParseError()) +
                                " at byte " + std::to_string(impl->schema_doc.GetErrorOffset()));
  }
  if (!impl->schema_doc.IsObject()) {
    return InvalidArgumentError(impl->name + ": schema is not a JSON object");
  }
  Status patterns = CheckPatterns(impl->schema_doc, "", 0);
  if (!patterns.ok()) return patterns.WithContext(impl->name);
  Status refs = CheckRefs(impl->schema_doc, impl->schema_doc, "", 0);
  if (!refs.ok()) return refs.WithContext(impl->name);
  impl->compiled = std::make_unique<rapidjson::SchemaDocument>(impl->schema_doc);
  return JsonSchema(std::move(impl));
}

Result<JsonSchema> JsonSchema::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError(path + ": cannot read schema");
  std::string text;
  text.resize(kMaxSchemaBytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxSchemaBytes) {
    return InvalidArgumentError(path + ": schema larger than " + std::to_string(kMaxSchemaBytes) +
                                " bytes");
  }
  return FromString(text, path);
}

std::optional<SchemaViolation> JsonSchema::Validate(const rapidjson::Value& document) const {
  std::lock_guard lock(impl_->validate_mu);
  rapidjson::SchemaValidator validator(*impl_->compiled);
  if (document.Accept(validator)) return std::nullopt;
  const rapidjson::Value* schema = validator.GetInvalidSchemaPointer().Get(impl_->schema_doc);
  const rapidjson::Pointer document_pointer = validator.GetInvalidDocumentPointer();
  const rapidjson::Value* value = document_pointer.Get(document);
  return Explain(schema, validator.GetInvalidSchemaKeyword(), PointerString(document_pointer),
                 value);
}

}  // namespace sluice::config

namespace sluice::config {

std::vector<std::string> JsonSchema::TypesAt(std::string_view json_pointer) const {
  const rapidjson::Document& root = impl_->schema_doc;
  rapidjson::Pointer pointer(json_pointer.data(), json_pointer.size());
  if (!pointer.IsValid()) return {};
  const rapidjson::Value* node = Resolve(root, &root);
  for (size_t i = 0; node != nullptr && i < pointer.GetTokenCount(); ++i) {
    const auto& token = pointer.GetTokens()[i];
    const rapidjson::Value* properties = Member(node, "properties");
    const rapidjson::Value* additional = Member(node, "additionalProperties");
    const rapidjson::Value* items = Member(node, "items");
    const rapidjson::Value* next = nullptr;
    if (properties != nullptr && properties->IsObject()) {
      auto it = properties->FindMember(rapidjson::StringRef(token.name, token.length));
      if (it != properties->MemberEnd()) next = &it->value;
    }
    if (next == nullptr && Member(node, "patternProperties") != nullptr) return {};
    if (next == nullptr && additional != nullptr && additional->IsObject()) next = additional;
    if (next == nullptr && items != nullptr && items->IsObject()) next = items;
    node = Resolve(root, next);
  }
  std::vector<std::string> types;
  const rapidjson::Value* type = Member(node, "type");
  if (type != nullptr && type->IsString()) types.emplace_back(type->GetString());
  if (type != nullptr && type->IsArray()) {
    for (const auto& t : type->GetArray()) {
      if (t.IsString()) types.emplace_back(t.GetString());
    }
  }
  return types;
}

}  // namespace sluice::config

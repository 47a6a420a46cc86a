// The "default" of every property of a JSON Schema (schemas/*.config.schema.json), as text that
// compares equal to the code's value written through the helpers below: durations through
// FormatDuration ("120s" and 120000 ms agree), numbers through ostream, booleans as true/false.
// For the tests that check a program's schema against its Options structs.
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <iomanip>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>

#include "sluice/core/duration.h"

namespace sluice::testing {

template <typename T>
requires(std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) std::string DefaultText(T n) {
  std::ostringstream out;
  out << std::setprecision(17) << static_cast<double>(n);
  return out.str();
}
inline std::string DefaultText(bool b) { return b ? "true" : "false"; }
template <typename Rep, typename Period>
std::string DefaultText(std::chrono::duration<Rep, Period> d) {
  return FormatDuration(std::chrono::duration_cast<std::chrono::milliseconds>(d));
}

// pointer -> the schema's "default" as text, for every property that has one, found by walking
// "properties" from `schema`.
inline void CollectSchemaDefaults(const rapidjson::Value& schema, const std::string& pointer,
                                  std::map<std::string, std::string>* out) {
  if (!schema.IsObject()) return;
  auto d = schema.FindMember("default");
  if (d != schema.MemberEnd()) {
    const rapidjson::Value& v = d->value;
    const bool duration = schema.HasMember("$ref") && schema["$ref"].IsString() &&
                          std::string(schema["$ref"].GetString()) == "#/definitions/duration";
    std::string text;
    if (v.IsString() && duration) {
      auto parsed = ParseDuration(v.GetString());
      text = parsed.ok() ? FormatDuration(*parsed) : "<bad duration " + std::string(v.GetString());
    } else if (v.IsString()) {
      text = v.GetString();
    } else if (v.IsBool()) {
      text = DefaultText(v.GetBool());
    } else if (v.IsNumber()) {
      text = DefaultText(v.GetDouble());
    } else if (v.IsObject() && v.ObjectEmpty()) {
      text = "{}";
    } else {
      text = "<unsupported default>";
    }
    (*out)[pointer] = text;
  }
  auto props = schema.FindMember("properties");
  if (props != schema.MemberEnd() && props->value.IsObject()) {
    for (const auto& m : props->value.GetObject()) {
      CollectSchemaDefaults(m.value, pointer + "/" + m.name.GetString(), out);
    }
  }
}

// Every default of the schema text `schema_json`; empty when it does not parse.
inline std::map<std::string, std::string> SchemaDefaults(const std::string& schema_json) {
  rapidjson::Document doc;
  doc.Parse(schema_json.c_str());
  std::map<std::string, std::string> out;
  if (!doc.HasParseError()) CollectSchemaDefaults(doc, "", &out);
  return out;
}

}  // namespace sluice::testing

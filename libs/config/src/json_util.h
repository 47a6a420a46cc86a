// Small helpers over RapidJSON values shared by the config sources. Private to libs/config.
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>

#include <string>
#include <string_view>

namespace sluice::config::internal {

// "object", "array", "string", "integer", "number", "boolean" or "null" (JSON Schema's names).
std::string_view TypeName(const rapidjson::Value& value);

// The value as compact JSON, cut to about `max_bytes` at a UTF-8 boundary ("..." marks a cut).
std::string Preview(const rapidjson::Value& value, size_t max_bytes = 64);

// `<type> <preview>` (e.g. `string "fast"`), or `<type>` alone for objects and arrays.
std::string Describe(const rapidjson::Value& value, bool redact);

// The pointer as "/a/b" with "~0"/"~1" escapes; "" for the root.
std::string PointerString(const rapidjson::Pointer& pointer);

// Escapes one reference token for a JSON pointer ("~" -> "~0", "/" -> "~1").
std::string EscapeToken(std::string_view token);

// The unescaped last reference token of `pointer` ("" for the root).
std::string LastToken(std::string_view pointer);

// Compact JSON of `value`.
std::string ToCompactJson(const rapidjson::Value& value);

// Cuts `text` to at most `max_bytes` bytes without splitting a UTF-8 sequence.
std::string_view CutUtf8(std::string_view text, size_t max_bytes);

}  // namespace sluice::config::internal

#include "json_util.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sluice/config/config.h"

namespace sluice::config::internal {

std::string_view TypeName(const rapidjson::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType:
      return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType:
      return "boolean";
    case rapidjson::kObjectType:
      return "object";
    case rapidjson::kArrayType:
      return "array";
    case rapidjson::kStringType:
      return "string";
    case rapidjson::kNumberType:
      return (value.IsInt64() || value.IsUint64()) ? "integer" : "number";
  }
  return "unknown";
}

std::string_view CutUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  size_t end = max_bytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a sequence boundary.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string ToCompactJson(const rapidjson::Value& value) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string Preview(const rapidjson::Value& value, size_t max_bytes) {
  std::string json = ToCompactJson(value);
  if (json.size() <= max_bytes) return json;
  std::string out(CutUtf8(json, max_bytes));
  out += "...";
  return out;
}

std::string Describe(const rapidjson::Value& value, bool redact) {
  std::string out(TypeName(value));
  if (value.IsObject() || value.IsArray() || value.IsNull()) return out;
  out += ' ';
  out += redact ? "<redacted>" : Preview(value);
  return out;
}

std::string PointerString(const rapidjson::Pointer& pointer) {
  rapidjson::StringBuffer buffer;
  pointer.Stringify(buffer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string EscapeToken(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string LastToken(std::string_view pointer) {
  size_t slash = pointer.rfind('/');
  if (slash == std::string_view::npos) return "";
  std::string out;
  std::string_view token = pointer.substr(slash + 1);
  for (size_t i = 0; i < token.size(); ++i) {
    if (token[i] == '~' && i + 1 < token.size()) {
      out += token[i + 1] == '1' ? '/' : '~';
      ++i;
    } else {
      out += token[i];
    }
  }
  return out;
}

}  // namespace sluice::config::internal

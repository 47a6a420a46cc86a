#include "parent_batcher.h"

#include <rapidjson/document.h>

namespace sluice::relay {

std::string ParentValue(std::string_view fields_json, const std::string& field) {
  rapidjson::Document doc;
  doc.Parse(fields_json.data(), fields_json.size());
  if (doc.HasParseError() || !doc.IsObject()) return "";
  auto it = doc.FindMember(
      rapidjson::Value(field.data(), static_cast<rapidjson::SizeType>(field.size())));
  if (it == doc.MemberEnd() || !it->value.IsString()) return "";
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

}  // namespace sluice::relay

#include "json_util.h"

#include <rapidjson/error/en.h>
#include <rapidjson/reader.h>
#include <rapidjson/writer.h>

#include "sluice/core/utf8.h"

namespace sluice::salesforce::internal {
namespace {

// RapidJSON output stream appending to a std::string. Thread-safety: one per writer.
struct StringAppender {
  using Ch = char;
  std::string* out;
  void Put(char c) { out->push_back(c); }
  void Flush() {}
};

// SAX handler that tracks depth and looks at the top-level members.
// Thread-safety: not thread-safe; one per parse.
class FieldsHandler : public rapidjson::BaseReaderHandler<rapidjson::UTF8<>, FieldsHandler> {
 public:
  FieldsHandler(std::string_view external_id_field, int max_depth)
      : external_id_field_(external_id_field), max_depth_(max_depth) {}

  bool Default() { return Scalar(false, {}); }
  bool String(const char* s, rapidjson::SizeType n, bool) {
    return Scalar(true, std::string_view(s, n));
  }
  bool StartObject() {
    if (depth_ == 0) root_is_object_ = true;
    return Enter();
  }
  bool EndObject(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool StartArray() {
    if (depth_ == 1 && expecting_external_id_) return Fail("external id field is not a string");
    return Enter();
  }
  bool EndArray(rapidjson::SizeType) {
    --depth_;
    return true;
  }
  bool Key(const char* s, rapidjson::SizeType n, bool) {
    if (depth_ != 1) return true;
    std::string_view key(s, n);
    if (key == "attributes") return Fail("fields must not contain \"attributes\"");
    if (!external_id_field_.empty() && key == external_id_field_) {
      if (check_.has_external_id) return Fail("external id field appears twice");
      expecting_external_id_ = true;
    }
    return true;
  }

  const std::string& error() const { return error_; }
  bool root_is_object() const { return root_is_object_; }
  FieldsCheck& check() { return check_; }

 private:
  bool Enter() {
    if (depth_ == 1 && expecting_external_id_) return Fail("external id field is not a string");
    if (++depth_ > max_depth_) return Fail("fields nested deeper than the limit");
    return true;
  }
  bool Scalar(bool is_string, std::string_view value) {
    if (depth_ == 0) return Fail("fields must be a JSON object");
    if (depth_ == 1 && expecting_external_id_) {
      expecting_external_id_ = false;
      if (!is_string) return Fail("external id field is not a string");
      check_.has_external_id = true;
      check_.external_id_value.assign(value);
    }
    return true;
  }
  bool Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return false;
  }

  std::string_view external_id_field_;
  int max_depth_;
  int depth_ = 0;
  bool root_is_object_ = false;
  bool expecting_external_id_ = false;
  std::string error_;
  FieldsCheck check_;
};

}  // namespace

bool AppendJsonString(std::string& out, std::string_view value) {
  size_t before = out.size();
  StringAppender stream{&out};
  rapidjson::Writer<StringAppender, rapidjson::UTF8<>, rapidjson::UTF8<>, rapidjson::CrtAllocator,
                    rapidjson::kWriteValidateEncodingFlag>
      writer(stream);
  if (!writer.String(value.data(), static_cast<rapidjson::SizeType>(value.size()))) {
    out.resize(before);
    return false;
  }
  return true;
}

Result<FieldsCheck> ValidateFieldsObject(std::string_view json, std::string_view external_id_field,
                                         int max_depth) {
  if (json.size() > 0xFFFFFFF0u) return InvalidArgumentError("fields too large");
  // One pass over the bytes instead of RapidJSON's kParseValidateEncodingFlag, which checks each
  // string character by character and was ~5% of the relay's CPU in the drain.
  if (auto bad = FindInvalidUtf8(json)) {
    return InvalidArgumentError("fields are not valid UTF-8 at offset " + std::to_string(*bad));
  }
  FieldsHandler handler(external_id_field, max_depth);
  rapidjson::Reader reader;
  rapidjson::MemoryStream stream(json.data(), json.size());
  rapidjson::ParseResult ok = reader.Parse<rapidjson::kParseIterativeFlag>(stream, handler);
  if (!ok) {
    if (!handler.error().empty()) return InvalidArgumentError(handler.error());
    return InvalidArgumentError(std::string("fields are not valid JSON: ") +
                                rapidjson::GetParseError_En(ok.Code()) + " at offset " +
                                std::to_string(ok.Offset()));
  }
  if (!handler.root_is_object()) return InvalidArgumentError("fields must be a JSON object");
  FieldsCheck check = std::move(handler.check());
  // Valid JSON whose root is an object: the first and last non-blank characters are the braces.
  std::string_view s = json;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  s.remove_prefix(1);
  s.remove_suffix(1);
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  check.members = s;
  return check;
}

std::string Excerpt(std::string_view s, size_t max) {
  if (s.size() > max) {
    size_t cut = max;
    // Do not split a UTF-8 sequence: back up over continuation bytes.
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
    s = s.substr(0, cut);
  }
  std::string out(s);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

bool IsApiName(std::string_view s) {
  if (s.empty() || s.size() > 80) return false;
  auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!alpha(s[0])) return false;
  for (char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

}  // namespace sluice::salesforce::internal

#include "yaml_json.h"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <limits>
#include <sstream>
#include <utility>
#include <vector>

#include "json_util.h"

namespace sluice::config::internal {
namespace {

constexpr char kTagStr[] = "tag:yaml.org,2002:str";
constexpr char kTagPrefix[] = "tag:yaml.org,2002:";

// Thrown from the event handler to stop yaml-cpp's parser; caught in YamlToJson.
struct BuildError : std::exception {
  BuildError(YAML::Mark m, std::string p, std::string msg)
      : mark(m), pointer(std::move(p)), message(std::move(msg)) {}
  const char* what() const noexcept override { return message.c_str(); }
  YAML::Mark mark;
  std::string pointer;
  std::string message;
};

bool IsDigits(std::string_view s, bool hex = false) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [hex](char c) {
    return (c >= '0' && c <= '9') || (hex && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')));
  });
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool LooksLikeFloat(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  size_t int_digits = 0, frac_digits = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++frac_digits;
  }
  if (int_digits == 0 && frac_digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    size_t exp_digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i, ++exp_digits;
    if (exp_digits == 0) return false;
  }
  return i == s.size();
}

struct Anchored {
  rapidjson::Value value;
  size_t nodes = 0;
  int height = 0;  // containers on the deepest path, the value itself included
};

struct Frame {
  rapidjson::Value value;
  bool is_map = false;
  bool have_key = false;
  std::string key;
  YAML::Mark key_mark;
  YAML::Mark mark;
  YAML::anchor_t anchor = 0;
  size_t nodes = 1;
  int height = 1;
  std::string pointer;
  std::unordered_map<std::string, int> seen_keys;  // key -> 1-based line of first occurrence
};

// Builds a RapidJSON value from yaml-cpp's parse events. yaml-cpp's own Node tree resolves neither
// scalar types (YAML 1.2 core schema) nor limits on alias expansion, so events are handled here.
class Builder : public YAML::EventHandler {
 public:
  Builder(const YamlLimits& limits, rapidjson::Value* out,
          rapidjson::Document::AllocatorType& allocator, LocationMap* locations)
      : limits_(limits), out_(out), allocator_(allocator), locations_(locations) {}

  bool done() const { return done_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_) throw BuildError(mark, "", "more than one YAML document; only one is allowed");
    started_ = true;
  }
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (ExpectingKey()) throw BuildError(mark, Top().pointer, "a key is null or empty");
    Count(mark, 1);
    rapidjson::Value v;
    Add(std::move(v), mark, anchor, 1, 0);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      throw BuildError(mark, CurrentPointer(), "alias refers to an anchor that is not complete");
    }
    const Anchored& a = it->second;
    if (ExpectingKey()) {
      if (!a.value.IsString()) throw BuildError(mark, Top().pointer, "keys must be scalars");
      SetKey(std::string(a.value.GetString(), a.value.GetStringLength()), mark);
      return;
    }
    if (static_cast<int>(stack_.size()) + a.height > limits_.max_depth) {
      throw BuildError(mark, CurrentPointer(),
                       "alias nests deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Count(mark, a.nodes);
    rapidjson::Value copy(a.value, allocator_);
    Add(std::move(copy), mark, 0, a.nodes, a.height);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& text) override {
    if (ExpectingKey()) {
      if (tag != "?" && tag != "!" && tag != kTagStr) {
        throw BuildError(mark, Top().pointer, "unsupported tag \"" + tag + "\" on a key");
      }
      Count(mark, 0);
      if (anchor != 0) anchors_[anchor] = Anchored{rapidjson::Value(text, allocator_), 1, 0};
      SetKey(text, mark);
      return;
    }
    Count(mark, 1);
    rapidjson::Value v;
    if (tag == "?") {
      ResolvePlainScalar(text, &v, allocator_);
    } else if (tag == "!" || tag == kTagStr) {
      v.SetString(text, allocator_);
    } else if (tag == std::string(kTagPrefix) + "int" || tag == std::string(kTagPrefix) + "float" ||
               tag == std::string(kTagPrefix) + "bool" || tag == std::string(kTagPrefix) + "null") {
      std::string type = tag.substr(sizeof(kTagPrefix) - 1);
      ResolvePlainScalar(text, &v, allocator_);
      bool ok = (type == "int" && (v.IsInt64() || v.IsUint64())) ||
                (type == "float" && v.IsNumber()) || (type == "bool" && v.IsBool()) ||
                (type == "null" && v.IsNull());
      if (type == "float" && v.IsNumber()) v.SetDouble(v.GetDouble());
      if (!ok) throw BuildError(mark, CurrentPointer(), "value does not fit its tag !!" + type);
    } else {
      throw BuildError(mark, CurrentPointer(), "unsupported tag \"" + tag + "\"");
    }
    Add(std::move(v), mark, anchor, 1, 0);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Push(mark, tag, anchor, false);
  }
  void OnSequenceEnd() override { Pop(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Push(mark, tag, anchor, true);
  }
  void OnMapEnd() override { Pop(); }

 private:
  bool ExpectingKey() const {
    return !stack_.empty() && stack_.back().is_map && !stack_.back().have_key;
  }
  Frame& Top() { return stack_.back(); }

  // Pointer of the value about to be added.
  std::string CurrentPointer() const {
    if (stack_.empty()) return "";
    const Frame& f = stack_.back();
    if (f.is_map) return f.pointer + "/" + EscapeToken(f.key);
    return f.pointer + "/" + std::to_string(f.value.Size());
  }

  void Count(const YAML::Mark& mark, size_t nodes) {
    total_nodes_ += nodes;
    if (total_nodes_ > limits_.max_nodes) {
      throw BuildError(mark, CurrentPointer(),
                       "document expands to more than " + std::to_string(limits_.max_nodes) +
                           " values (aliases included)");
    }
  }

  void SetKey(std::string key, const YAML::Mark& mark) {
    Frame& f = Top();
    auto [it, inserted] = f.seen_keys.emplace(key, mark.line + 1);
    if (!inserted) {
      throw BuildError(mark, f.pointer + "/" + EscapeToken(key),
                       "duplicate key \"" + std::string(CutUtf8(key, 64)) + "\" (first on line " +
                           std::to_string(it->second) + ")");
    }
    f.key = std::move(key);
    f.key_mark = mark;
    f.have_key = true;
  }

  void Push(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor, bool is_map) {
    if (ExpectingKey()) throw BuildError(mark, Top().pointer, "keys must be scalars");
    if (tag != "?" && tag != "!" && tag != std::string(kTagPrefix) + (is_map ? "map" : "seq")) {
      throw BuildError(mark, CurrentPointer(), "unsupported tag \"" + tag + "\"");
    }
    if (static_cast<int>(stack_.size()) + 1 > limits_.max_depth) {
      throw BuildError(mark, CurrentPointer(),
                       "nested deeper than " + std::to_string(limits_.max_depth) + " levels");
    }
    Count(mark, 1);
    Frame f;
    f.pointer = CurrentPointer();
    f.is_map = is_map;
    f.mark = mark;
    f.anchor = anchor;
    if (is_map) {
      f.value.SetObject();
    } else {
      f.value.SetArray();
    }
    stack_.push_back(std::move(f));
  }

  void Pop() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    Add(std::move(f.value), f.mark, f.anchor, f.nodes, f.height);
  }

  // Attaches a finished value to its parent (or makes it the root) and records where it came from.
  void Add(rapidjson::Value v, const YAML::Mark& mark, YAML::anchor_t anchor, size_t nodes,
           int height) {
    if (anchor != 0) {
      anchors_[anchor] = Anchored{rapidjson::Value(v, allocator_), nodes, height};
    }
    if (stack_.empty()) {
      *out_ = std::move(v);
      (*locations_)[""] = Location{mark.line + 1, mark.column + 1, ""};
      done_ = true;
      return;
    }
    Frame& parent = Top();
    std::string pointer = CurrentPointer();
    if (parent.is_map) {
      (*locations_)[pointer] = Location{parent.key_mark.line + 1, parent.key_mark.column + 1, ""};
      parent.value.AddMember(rapidjson::Value(parent.key, allocator_), v, allocator_);
      parent.have_key = false;
    } else {
      (*locations_)[pointer] = Location{mark.line + 1, mark.column + 1, ""};
      parent.value.PushBack(v, allocator_);
    }
    parent.nodes += nodes;
    parent.height = std::max(parent.height, height + 1);
  }

  const YamlLimits& limits_;
  rapidjson::Value* out_;
  rapidjson::Document::AllocatorType& allocator_;
  LocationMap* locations_;
  std::vector<Frame> stack_;
  std::unordered_map<YAML::anchor_t, Anchored> anchors_;
  size_t total_nodes_ = 0;
  bool started_ = false;
  bool done_ = false;
};

std::string Where(std::string_view name, const YAML::Mark& mark) {
  std::string out(name);
  if (mark.line >= 0) {
    out += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
  }
  return out;
}

}  // namespace

void ResolvePlainScalar(const std::string& text, rapidjson::Value* out,
                        rapidjson::Document::AllocatorType& allocator) {
  const std::string_view s = text;
  if (s == "true" || s == "True" || s == "TRUE") return void(out->SetBool(true));
  if (s == "false" || s == "False" || s == "FALSE") return void(out->SetBool(false));
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL")
    return void(out->SetNull());
  std::string_view body = s;
  bool negative = false;
  if (!body.empty() && (body[0] == '-' || body[0] == '+')) {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (IsDigits(body)) {
    int64_t i = 0;
    std::string_view signed_text = negative ? s : body;
    auto r = std::from_chars(signed_text.data(), signed_text.data() + signed_text.size(), i);
    if (r.ec == std::errc() && r.ptr == signed_text.data() + signed_text.size()) {
      return void(out->SetInt64(i));
    }
    uint64_t u = 0;
    r = std::from_chars(body.data(), body.data() + body.size(), u);
    if (!negative && r.ec == std::errc() && r.ptr == body.data() + body.size()) {
      return void(out->SetUint64(u));
    }
    // Beyond 64 bits: fall through to a (lossy) double below.
  } else if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
    std::string_view digits = s.substr(2);
    bool hex = s[1] == 'x';
    bool valid = hex ? IsDigits(digits, true)
                     : std::all_of(digits.begin(), digits.end(),
                                   [](char c) { return c >= '0' && c <= '7'; });
    uint64_t u = 0;
    auto r = std::from_chars(digits.data(), digits.data() + digits.size(), u, hex ? 16 : 8);
    if (valid && r.ec == std::errc() && r.ptr == digits.data() + digits.size()) {
      if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
        return void(out->SetInt64(static_cast<int64_t>(u)));
      }
      return void(out->SetUint64(u));
    }
    out->SetString(text, allocator);
    return;
  }
  if (LooksLikeFloat(s)) {
    double d = 0;
    std::string_view unsigned_text = (!s.empty() && s[0] == '+') ? s.substr(1) : s;
    auto r = std::from_chars(unsigned_text.data(), unsigned_text.data() + unsigned_text.size(), d);
    if (r.ec == std::errc() && r.ptr == unsigned_text.data() + unsigned_text.size()) {
      return void(out->SetDouble(d));
    }
  }
  // Everything else, including .inf and .nan (JSON has no such numbers), stays a string.
  out->SetString(text, allocator);
}

Status CheckYamlText(std::string_view text, std::string_view name) {
  rapidjson::MemoryStream stream(text.data(), text.size());
  int line = 1;
  size_t line_start = 0;
  while (stream.Tell() < text.size()) {
    size_t at = stream.Tell();
    auto where = [&] {
      return std::string(name) + ":" + std::to_string(line) + ":" +
             std::to_string(at - line_start + 1) + ": ";
    };
    unsigned char byte = static_cast<unsigned char>(text[at]);
    unsigned code_point = 0;
    if (byte < 0x80) {
      stream.Take();
      code_point = byte;
    } else if (!rapidjson::UTF8<>::Decode(stream, &code_point) || stream.Tell() > text.size()) {
      return InvalidArgumentError(where() + "invalid UTF-8 (byte " + std::to_string(at) + ")");
    }
    bool allowed = code_point == '\t' || code_point == '\n' || code_point == '\r' ||
                   (code_point >= 0x20 && code_point < 0x7F) || code_point == 0x85 ||
                   (code_point >= 0xA0 && code_point <= 0xD7FF) ||
                   (code_point >= 0xE000 && code_point <= 0xFFFD) ||
                   (code_point >= 0x10000 && code_point <= 0x10FFFF);
    if (!allowed) {
      char hex[16];
      std::snprintf(hex, sizeof(hex), "U+%04X", code_point);
      return InvalidArgumentError(where() + "character " + hex + " is not allowed in YAML");
    }
    if (code_point == '\n') {
      ++line;
      line_start = stream.Tell();
    }
  }
  return Status::Ok();
}

Status YamlToJson(std::string_view text, std::string_view name, const YamlLimits& limits,
                  rapidjson::Value* out, rapidjson::Document::AllocatorType& allocator,
                  LocationMap* locations) {
  std::istringstream in{std::string(text)};
  Builder builder(limits, out, allocator, locations);
  try {
    YAML::Parser parser(in);
    if (!parser.HandleNextDocument(builder) || !builder.done()) {
      return InvalidArgumentError(std::string(name) + ": no YAML document (the file is empty)");
    }
    // A second document makes OnDocumentStart throw.
    parser.HandleNextDocument(builder);
  } catch (const BuildError& e) {
    std::string message = Where(name, e.mark) + ": ";
    if (!e.pointer.empty()) message += e.pointer + ": ";
    return InvalidArgumentError(message + e.message);
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(Where(name, e.mark) + ": YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string(name) + ": cannot parse YAML: " + e.what());
  }
  return Status::Ok();
}

}  // namespace sluice::config::internal

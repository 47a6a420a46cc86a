#include "text.h"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "sluice/envelope/dlq.h"

namespace sluice::envelope {
namespace internal {

std::string EscapeControls(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\u%04x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  return out;
}

std::string ToLowerAscii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace internal

std::string SanitizeUtf8(std::string_view text, size_t max_bytes) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  static constexpr std::string_view kEllipsis = "...";
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + kReplacement.size());
  size_t pos = 0;
  // Stop as soon as the output is over the limit: the rest would be cut anyway.
  while (pos < text.size() && out.size() <= max_bytes) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      out += text[pos++];
      continue;
    }
    rapidjson::MemoryStream stream(text.data() + pos, text.size() - pos);
    unsigned code_point = 0;
    if (rapidjson::UTF8<>::Decode(stream, &code_point)) {
      out.append(text.substr(pos, stream.Tell()));
      pos += stream.Tell();
    } else {
      out += kReplacement;  // and resume right after the offending byte
      ++pos;
    }
  }
  if (out.size() <= max_bytes && pos == text.size()) return out;
  size_t end = max_bytes >= kEllipsis.size() ? max_bytes - kEllipsis.size() : max_bytes;
  while (end > 0 && (static_cast<unsigned char>(out[end]) & 0xC0) == 0x80) --end;
  out.resize(end);
  if (max_bytes >= kEllipsis.size()) out += kEllipsis;
  return out;
}

}  // namespace sluice::envelope

#include "sluice/core/utf8.h"

#include <rapidjson/encodings.h>
#include <rapidjson/memorystream.h>

#include <cstdint>
#include <cstring>

namespace sluice {

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  size_t at = 0;
  while (at < text.size()) {
    // Every envelope passes through here, and they are mostly ASCII: skip 8 such bytes at a time.
    if (at + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, text.data() + at, sizeof word);
      if ((word & kHighBits) == 0) {
        at += 8;
        continue;
      }
    }
    if (static_cast<unsigned char>(text[at]) < 0x80) {
      ++at;
      continue;
    }
    rapidjson::MemoryStream stream(text.data() + at, text.size() - at);
    unsigned code_point = 0;
    if (!rapidjson::UTF8<>::Decode(stream, &code_point)) return at;
    at += stream.Tell();
  }
  return std::nullopt;
}

}  // namespace sluice

// UTF-8 validation, one decoder for every boundary that takes text (envelopes, request bodies).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace sluice {

// Byte offset of the first byte that does not start a valid UTF-8 sequence; nullopt when all of
// `text` is valid (RapidJSON's decoder: no overlongs, surrogates or code points past U+10FFFF).
// Runs of ASCII are skipped 8 bytes at a time, so it is cheaper than a JSON parser's own check.
// Thread-safety: a pure function.
std::optional<size_t> FindInvalidUtf8(std::string_view text);

}  // namespace sluice

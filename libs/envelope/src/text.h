// UTF-8 and string helpers shared by the envelope sources. Private to libs/envelope.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::envelope::internal {

// Byte offset of the first byte that does not start a valid UTF-8 sequence; nullopt when all of
// `text` is valid (RapidJSON's decoder: no overlongs, surrogates or code points past U+10FFFF).
std::optional<size_t> FindInvalidUtf8(std::string_view text);

// Escapes control characters (and DEL) as \u00XX so hostile text cannot break a log line or a
// terminal. Other bytes pass through.
std::string EscapeControls(std::string_view text);

std::string ToLowerAscii(std::string_view text);

}  // namespace sluice::envelope::internal

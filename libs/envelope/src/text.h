// UTF-8 and string helpers shared by the envelope sources. Private to libs/envelope.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::envelope::internal {

// Escapes control characters (and DEL) as \u00XX so hostile text cannot break a log line or a
// terminal. Other bytes pass through.
std::string EscapeControls(std::string_view text);

std::string ToLowerAscii(std::string_view text);

}  // namespace sluice::envelope::internal

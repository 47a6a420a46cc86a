// The one duration grammar of every sluice config file, environment override and command-line
// flag: a number and its unit written out, largest unit first.
//
//   duration := "0" | part+
//   part     := digits ["." digits] unit
//   unit     := "ms" | "s" | "m" | "h" | "d"        (d is 24 h; no month or year)
//
// e.g. 250ms, 30s, 1.5s, 5m, 1h30m, 7d. Units go from largest to smallest, each at most once. A
// bare number other than 0 is an error that says which unit to add ("30 needs a unit, e.g. 30ms
// or 30s"): the relay once read a bare 30 as milliseconds and sluice-flood as seconds. No sign,
// no spaces, no upper case; at most 64 characters; at most 100 years; whole milliseconds only
// (1.5ms is an error, not 1ms).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice {

// The longest duration ParseDuration accepts: 100 years of 365 days.
inline constexpr std::chrono::milliseconds kMaxDuration{100LL * 365 * 86'400'000};

// Parses `text` by the grammar above. InvalidArgument with a message that quotes the text (cut to
// 64 bytes) and says what to write instead; the caller adds the key or flag.
// Thread-safety: a pure function.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// Text that ParseDuration reads back as `d`, in whole units, largest first: "0s", "250ms",
// "1h30m", "7d", "1m0s500ms" never ("1m500ms"). Negative values are written as "0s".
// Thread-safety: a pure function.
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace sluice

// Helpers for the Prometheus text exposition format 0.0.4.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice::metrics::internal {

// [a-zA-Z_:][a-zA-Z0-9_:]*
bool IsValidMetricName(std::string_view name);
// [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (reserved by Prometheus).
bool IsValidLabelName(std::string_view name);

// Replaces invalid UTF-8 with U+FFFD and cuts the result to at most `max_bytes` at a character
// boundary. Hand-written: a dozen lines, where a Unicode library (ICU) would be a heavy dependency.
std::string SanitizeUtf8(std::string_view in, size_t max_bytes);

// True when SanitizeUtf8(in, max_bytes) would return `in` unchanged.
bool IsCleanUtf8(std::string_view in, size_t max_bytes);

// Label value escaping: backslash, double quote and newline become \\, \" and \n.
void AppendEscapedLabelValue(std::string_view in, std::string* out);
// HELP escaping: backslash and newline become \\ and \n.
void AppendEscapedHelp(std::string_view in, std::string* out);

// A sample value as Prometheus parses it: shortest round-trip decimal, "+Inf", "-Inf", "NaN".
std::string FormatValue(double value);

}  // namespace sluice::metrics::internal

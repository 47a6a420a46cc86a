// CSV as Bulk API 2.0 takes it (RFC 4180 with Salesforce's delimiter and line-ending options):
// parsing uploaded job data and writing result files.
//
// Thread-safety: free functions without shared state, safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::csv {

enum class CsvLineEnding { kLf, kCrlf };

struct CsvOptions {
  char delimiter = ',';                            // default ','
  CsvLineEnding line_ending = CsvLineEnding::kLf;  // default LF
  // A field longer than this (bytes, after unquoting) is an error. Default 131,072 × 4:
  // Salesforce's 131,072-character field limit in 4-byte UTF-8 characters.
  size_t max_field_bytes = 131072 * 4;
  // A header with more columns than this is an error. Default 5,000.
  size_t max_columns = 5000;
};

struct CsvTable {
  std::vector<std::string> header;             // column names, as written
  std::vector<std::vector<std::string>> rows;  // each exactly header.size() fields
};

// Parses a whole upload. InvalidArgument, naming the row (1 = header) and what is wrong, for:
// invalid UTF-8, a quote inside an unquoted field, text after a closing quote, an unterminated
// quoted field, a row ending other than options.line_ending, a row whose field count differs from
// the header's, an empty or repeated column name, an empty upload, a field or header over the
// limits. A UTF-8 byte order mark at the start is skipped; a final row ending is optional; empty
// quoted ("") and empty unquoted fields both parse as "".
Result<CsvTable> ParseCsv(std::string_view text, const CsvOptions& options = {});

// One row of a result file: every field quoted (quotes doubled), joined by `delimiter`, ended by
// the line ending. Quoting every field keeps a value that starts with '=' or holds newlines one
// field in any reader.
std::string CsvRow(const std::vector<std::string>& fields, char delimiter,
                   CsvLineEnding line_ending);

}  // namespace sluice::csv

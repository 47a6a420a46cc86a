// A small RFC 4180 reader and writer, written here rather than taken from Debian: the one C
// library packaged there (libcsv 3.0.3, upstream unchanged since 2013) trims blanks around
// unquoted fields unless told otherwise, takes a lone CR or LF alike as a row end and skips empty
// rows, while Bulk API 2.0 fails a job whose rows end other than its declared lineEnding and must
// never merge or drop rows; configuring those away would cost more than these ~150 lines, plus a
// new runtime dependency for the .deb and the images.
#include "sluice/csv/csv.h"

#include <cstdint>

#include "sluice/core/utf8.h"

namespace sluice::csv {
namespace {

Status RowError(size_t row, const std::string& what) {
  return InvalidArgumentError("CSV row " + std::to_string(row) + ": " + what);
}

}  // namespace

Result<CsvTable> ParseCsv(std::string_view text, const CsvOptions& options) {
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  if (auto bad = FindInvalidUtf8(text)) {
    size_t row = 1;
    for (size_t i = 0; i < *bad; ++i) row += text[i] == '\n';
    return RowError(row, "not valid UTF-8 (byte offset " + std::to_string(*bad) + ")");
  }
  if (text.empty()) return InvalidArgumentError("CSV upload is empty: it needs a header row");
  const char delim = options.delimiter;
  const bool crlf = options.line_ending == CsvLineEnding::kCrlf;
  const std::string ending_name = crlf ? "CRLF" : "LF";
  CsvTable table;
  std::vector<std::string> row;
  std::string field;
  size_t row_no = 1;
  size_t i = 0;
  const size_t n = text.size();

  auto end_row = [&]() -> Status {
    if (row_no == 1) {
      if (row.size() > options.max_columns) {
        return RowError(1, "more than " + std::to_string(options.max_columns) + " columns");
      }
      for (size_t a = 0; a < row.size(); ++a) {
        if (row[a].empty()) return RowError(1, "column " + std::to_string(a + 1) + " has no name");
        for (size_t b = 0; b < a; ++b) {
          if (row[a] == row[b]) return RowError(1, "column " + row[a] + " appears twice");
        }
      }
      table.header = std::move(row);
    } else {
      if (row.size() != table.header.size()) {
        return RowError(row_no, "has " + std::to_string(row.size()) + " fields, the header has " +
                                    std::to_string(table.header.size()));
      }
      table.rows.push_back(std::move(row));
    }
    row.clear();
    ++row_no;
    return Status::Ok();
  };
  auto too_long = [&]() {
    return RowError(row_no,
                    "a field is longer than " + std::to_string(options.max_field_bytes) + " bytes");
  };

  while (true) {
    // At the start of a field.
    field.clear();
    if (i < n && text[i] == '"') {
      ++i;
      while (true) {
        if (i >= n) return RowError(row_no, "a quoted field is not closed");
        size_t q = text.find('"', i);
        if (q == std::string_view::npos) return RowError(row_no, "a quoted field is not closed");
        field.append(text.substr(i, q - i));
        if (field.size() > options.max_field_bytes) return too_long();
        i = q + 1;
        if (i < n && text[i] == '"') {
          field += '"';
          ++i;
          continue;
        }
        break;
      }
      if (i < n && text[i] != delim && text[i] != '\n' && text[i] != '\r') {
        return RowError(row_no, "text after the closing quote of a field");
      }
    } else {
      size_t j = i;
      while (j < n && text[j] != delim && text[j] != '\n' && text[j] != '\r') {
        if (text[j] == '"') {
          return RowError(row_no,
                          "a quote inside an unquoted field (quote the field, double the quote)");
        }
        ++j;
      }
      if (j - i > options.max_field_bytes) return too_long();
      field.assign(text.substr(i, j - i));
      i = j;
    }
    row.push_back(std::move(field));
    if (i >= n) {
      // End of data without a final row ending.
      RETURN_IF_ERROR(end_row());
      break;
    }
    const char c = text[i];
    if (c == delim) {
      ++i;
      continue;
    }
    // A row ending.
    if (c == '\r') {
      if (!crlf || i + 1 >= n || text[i + 1] != '\n') {
        return RowError(row_no, "ends with CR; the job's lineEnding is " + ending_name);
      }
      i += 2;
    } else {  // '\n'
      if (crlf) return RowError(row_no, "ends with LF alone; the job's lineEnding is CRLF");
      ++i;
    }
    RETURN_IF_ERROR(end_row());
    if (i >= n) break;
  }
  return table;
}

std::string CsvRow(const std::vector<std::string>& fields, char delimiter,
                   CsvLineEnding line_ending) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += delimiter;
    out += '"';
    for (char c : fields[i]) {
      if (c == '"') out += '"';
      out += c;
    }
    out += '"';
  }
  out += line_ending == CsvLineEnding::kCrlf ? "\r\n" : "\n";
  return out;
}

}  // namespace sluice::csv

// Bulk API 2.0 CSV: job uploads from records' JSON fields, and result files back to rows.
#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <set>
#include <unordered_set>

#include "json_util.h"
#include "sluice/core/utf8.h"
#include "sluice/csv/csv.h"
#include "sluice/salesforce/bulk.h"

namespace sluice::salesforce {
namespace {

SfError Rejected(std::string message) {
  SfError e;
  e.error_class = ErrorClass::kPermanent;
  e.code = "INVALID_RECORD_INPUT";
  e.message = std::move(message);
  return e;
}

// A scalar as Salesforce reads it in CSV: strings as they are, null as #N/A, the rest as JSON
// writes them.
std::string Cell(const rapidjson::Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsNull()) return "#N/A";
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// Salesforce's longest field value, in characters; a longer cell would fail the whole job's
// parse, so the record is refused on its own instead.
constexpr size_t kMaxFieldChars = 131072;

size_t Utf8Chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

// The record's cells by column, or why it cannot be written.
Result<std::map<std::string, std::string>> Cells(std::string_view fields_json,
                                                 std::string_view key_column) {
  if (FindInvalidUtf8(fields_json)) return InvalidArgumentError("fields are not valid UTF-8");
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseIterativeFlag>(fields_json.data(), fields_json.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return InvalidArgumentError("fields are not a JSON object");
  }
  std::map<std::string, std::string> cells;
  for (const auto& m : doc.GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (!internal::IsApiName(name)) {
      return InvalidArgumentError("field name \"" + internal::Excerpt(name, 80) +
                                  "\" is not an API name");
    }
    if (name == key_column) {
      return InvalidArgumentError("field " + name + " is the job's key column");
    }
    if (m.value.IsArray()) return InvalidArgumentError("field " + name + " is an array");
    if (!m.value.IsObject()) {
      cells[name] = Cell(m.value);
      continue;
    }
    // A relationship by external id: {"Account": {"Ext__c": "A1"}} -> Account.Ext__c.
    for (const auto& r : m.value.GetObject()) {
      const std::string sub(r.name.GetString(), r.name.GetStringLength());
      if (!internal::IsApiName(sub) || r.value.IsObject() || r.value.IsArray()) {
        return InvalidArgumentError("field " + name + " nests deeper than a relationship");
      }
      cells[name + "." + sub] = Cell(r.value);
    }
  }
  for (const auto& [name, value] : cells) {
    if (value.size() > kMaxFieldChars && Utf8Chars(value) > kMaxFieldChars) {
      return InvalidArgumentError(
          fmt::format("field {} is over Salesforce's {} characters", name, kMaxFieldChars));
    }
  }
  return cells;
}

}  // namespace

BulkCsv EncodeBulkCsv(std::span<const BulkRecord> records, std::string_view key_column,
                      size_t max_record_bytes) {
  BulkCsv out;
  std::vector<std::map<std::string, std::string>> accepted;
  std::set<std::string> columns;
  std::unordered_set<std::string_view> keys;
  for (size_t i = 0; i < records.size(); ++i) {
    const BulkRecord& r = records[i];
    if (r.fields_json.size() > max_record_bytes) {
      out.rejected[i] = Rejected(fmt::format("fields over {} bytes", max_record_bytes));
      continue;
    }
    if (r.key.empty() || FindInvalidUtf8(r.key)) {
      out.rejected[i] = Rejected("the key is empty or not UTF-8");
      continue;
    }
    if (!keys.insert(r.key).second) {
      out.rejected[i] = Rejected("the key appears twice in one job");
      continue;
    }
    auto cells = Cells(r.fields_json, key_column);
    if (!cells.ok()) {
      keys.erase(r.key);
      out.rejected[i] = Rejected(cells.status().message());
      continue;
    }
    for (const auto& [c, v] : *cells) columns.insert(c);
    (*cells)[std::string(key_column)] = std::string(r.key);
    accepted.push_back(std::move(cells).value());
    out.rows.push_back(i);
  }
  if (accepted.empty()) return out;
  std::vector<std::string> header = {std::string(key_column)};
  header.insert(header.end(), columns.begin(), columns.end());
  out.text = csv::CsvRow(header, ',', csv::CsvLineEnding::kLf);
  std::vector<std::string> row(header.size());
  for (const auto& cells : accepted) {
    for (size_t c = 0; c < header.size(); ++c) {
      auto it = cells.find(header[c]);
      row[c] = it == cells.end() ? std::string() : it->second;
    }
    out.text += csv::CsvRow(row, ',', csv::CsvLineEnding::kLf);
  }
  return out;
}

Result<std::vector<BulkResultRow>> ParseBulkResults(std::string_view text) {
  std::vector<BulkResultRow> out;
  if (text.empty()) return out;  // unprocessedrecords of a job that processed everything
  csv::CsvOptions options;
  // Result files repeat what was uploaded, which Salesforce took: no field cap of its own.
  options.max_field_bytes = text.size();
  auto table = csv::ParseCsv(text, options);
  if (!table.ok()) return table.status().WithContext("result file");
  out.reserve(table->rows.size());
  for (auto& cells : table->rows) {
    BulkResultRow row;
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string& name = table->header[c];
      if (name == "sf__Id") {
        row.id = std::move(cells[c]);
      } else if (name == "sf__Created") {
        row.created = cells[c] == "true";
      } else if (name == "sf__Error") {
        row.error = std::move(cells[c]);
      } else {
        row.fields[name] = std::move(cells[c]);
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

bool BulkJobInfo::terminal() const {
  return state == "JobComplete" || state == "Failed" || state == "Aborted";
}

}  // namespace sluice::salesforce

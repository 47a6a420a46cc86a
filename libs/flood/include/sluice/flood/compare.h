// `sluice-flood compare A.json B.json ...`: one HTML page that sets runs side by side (their
// settings, rates, latency percentiles and outcomes), from the JSON reports the runs wrote.
//
// Each report is hostile input: a file larger than kMaxCompareReportBytes, text that is not JSON,
// JSON that does not match schemas/flood-report.schema.json (sluice.flood.report/v1) are refused
// with an error naming the file and what is wrong.
//
// Thread-safety: pure functions (ReadReportFile reads the file system).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::flood {

// The largest report compare reads: a 24-hour run sampled every 250 ms is ~100 MB of JSON.
inline constexpr uint64_t kMaxCompareReportBytes = 256ull << 20;
// At most this many reports on one page.
inline constexpr size_t kMaxCompareReports = 20;

struct CompareOptions {
  std::vector<std::string> reports;  // paths of report JSON files, 2..kMaxCompareReports
  // Where the page goes. Default "flood-compare.html".
  std::string output = "flood-compare.html";
};

// Parses `sluice-flood compare ...` (argv[0] the program, argv[1] "compare"). InvalidArgument for
// usage errors; `help` is set (and the result empty) for --help.
Result<CompareOptions> ParseCompareCommandLine(const std::vector<std::string>& argv,
                                               std::string* help);

// The text of a report file: NotFound when it cannot be opened, InvalidArgument when it is not a
// regular file or larger than `max_bytes`.
Result<std::string> ReadReportFile(const std::string& path,
                                   uint64_t max_bytes = kMaxCompareReportBytes);

// A compare input: a display name (the file name) and its JSON text.
struct ReportText {
  std::string name;
  std::string json;
};

// The page for these reports. InvalidArgument naming the report when one is not JSON or does not
// match the report schema.
Result<std::string> CompareReportsToHtml(const std::vector<ReportText>& reports);

// Reads the files, writes the page. Returns the exit status sluice-flood uses: 0 written, 2 a bad
// input (missing, unreadable, oversized, malformed or wrong-schema report), 3 the page could not
// be written; the message goes to `error`.
int RunCompare(const CompareOptions& options, std::string* error);

}  // namespace sluice::flood

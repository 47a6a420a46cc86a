// Bulk API 2.0 ingest: the CSV of a job's records, and a client for the job's life (create,
// upload, close or abort, poll, results). The relay's bulk delivery mode is to build on it; today
// sluice-relay writes through sObject Collections only (client.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/http/client.h"
#include "sluice/salesforce/auth.h"
#include "sluice/salesforce/errors.h"
#include "sluice/salesforce/stats.h"

namespace sluice::salesforce {

// One record of a job: its fields as one JSON object (as RecordInput's), and the value of the
// column results are mapped back by (the event id).
struct BulkRecord {
  std::string_view fields_json;
  std::string_view key;
};

// The upload of a job. Thread-safety: a value type.
struct BulkCsv {
  std::string text;  // header and one row per accepted record, LF line endings
  // Index into the records given of each row, in row order.
  std::vector<size_t> rows;
  // Records not encoded (never uploaded), with why: kPermanent, code INVALID_RECORD_INPUT.
  std::map<size_t, SfError> rejected;
};

// Encodes `records` as Bulk API 2.0 CSV. Columns: `key_column` first (each record's key), then
// every field any record has, sorted. A field is written as Salesforce reads it: strings as they
// are, numbers and booleans as JSON writes them, null as #N/A (sets the field to null), an absent
// field as an empty cell (leaves it alone), and a one-level object as relationship columns
// ({"Account": {"Ext__c": "A1"}} -> "Account.Ext__c"). Every field is quoted with quotes doubled,
// so commas, quotes, newlines and values that start with '=' stay one cell of one row (Salesforce
// stores them as text; nothing evaluates them). Rejected, each on its own: fields that are not a
// JSON object or not UTF-8, arrays, deeper objects, a field named like the key column, an empty key
// or a key seen earlier in the same job, a value over Salesforce's 131,072 characters (it would
// fail the whole job's parse), and a record over `max_record_bytes`.
BulkCsv EncodeBulkCsv(std::span<const BulkRecord> records, std::string_view key_column,
                      size_t max_record_bytes = 1u << 20);

// One row of a result file. Thread-safety: a value type.
struct BulkResultRow {
  std::string id;        // sf__Id (empty when Salesforce gave none)
  bool created = false;  // sf__Created, successful results only
  std::string error;     // sf__Error, failed results only: "CODE:message" as Salesforce writes it
  std::map<std::string, std::string> fields;  // the uploaded columns, by name
};

// Parses a successfulResults, failedResults or unprocessedrecords file. InvalidArgument naming the
// row for anything that is not CSV.
Result<std::vector<BulkResultRow>> ParseBulkResults(std::string_view csv);

// A job as Salesforce describes it. Thread-safety: a value type.
struct BulkJobInfo {
  std::string id;
  std::string state;  // Open, UploadComplete, InProgress, JobComplete, Failed, Aborted
  std::string object;
  std::string operation;
  int64_t records_processed = 0;
  int64_t records_failed = 0;
  std::string error_message;  // set when the job Failed
  // JobComplete, Failed or Aborted: nothing will change any more.
  bool terminal() const;
};

// The outcome of one Bulk API call. Thread-safety: a value type.
struct BulkAnswer {
  // Set when the call failed (transport, non-2xx, auth, an answer that is not what the API
  // documents), classified as client.h's calls are.
  std::optional<SfError> error;
  int http_status = 0;
  BulkJobInfo job;                  // create, close, abort, info
  std::vector<BulkResultRow> rows;  // results
};

struct BulkClientOptions {
  // REST API version, "<major>.<minor>". Default "62.0" (Bulk API 2.0 needs >= 41.0).
  std::string api_version = "62.0";
  // Deadline of one HTTP request. Default 120 s.
  std::chrono::milliseconds request_timeout{120'000};
  // The largest upload sent; a larger one is refused without sending. Default 100,000,000 bytes
  // (Salesforce takes 150 MB after base64 encoding, which adds a third).
  int64_t max_upload_bytes = 100'000'000;
  // A result file over this many bytes is not parsed (MALFORMED_RESPONSE). Default 256 MiB.
  size_t max_response_bytes = 256u << 20;
};

// What a job is for.
struct BulkJobSpec {
  std::string object;             // e.g. "Contact"
  std::string operation;          // "insert", "upsert" or "update"
  std::string external_id_field;  // upserts
};

// The Bulk API 2.0 ingest client, with the shared TokenProvider's token (one retry after a 401).
// Every call completes through its callback exactly once, on the transport's thread or inline when
// it is refused before sending. The *Sync forms wait (not from a transport callback).
// Thread-safety: all methods are safe from any number of threads at once.
class BulkClient {
 public:
  using Callback = std::function<void(BulkAnswer)>;
  static Result<std::unique_ptr<BulkClient>> Create(BulkClientOptions options,
                                                    http::HttpTransport& transport,
                                                    TokenProvider& tokens,
                                                    SalesforceStats* stats = nullptr);
  ~BulkClient();

  // POST .../jobs/ingest (contentType CSV, lineEnding LF).
  void CreateJob(const BulkJobSpec& spec, Callback done);
  // PUT .../jobs/ingest/{id}/batches with `csv` (text/csv).
  void Upload(const std::string& job_id, std::string csv, Callback done);
  // PATCH .../jobs/ingest/{id} {"state": "UploadComplete"} or {"state": "Aborted"}.
  void Close(const std::string& job_id, Callback done);
  void Abort(const std::string& job_id, Callback done);
  // GET .../jobs/ingest/{id}
  void GetJob(const std::string& job_id, Callback done);
  // GET .../jobs/ingest/{id}/successfulResults, failedResults or unprocessedrecords.
  enum class Results { kSuccessful, kFailed, kUnprocessed };
  void GetResults(const std::string& job_id, Results which, Callback done);

  BulkAnswer CreateJobSync(const BulkJobSpec& spec);
  BulkAnswer UploadSync(const std::string& job_id, std::string csv);
  BulkAnswer CloseSync(const std::string& job_id);
  BulkAnswer AbortSync(const std::string& job_id);
  BulkAnswer GetJobSync(const std::string& job_id);
  BulkAnswer GetResultsSync(const std::string& job_id, Results which);

 private:
  class Impl;
  explicit BulkClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::salesforce

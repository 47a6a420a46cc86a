// Options of the Salesforce simulator: the org, its objects, limits, latency, faults, ledger.
//
// Every field says its default. The same names (snake_case, grouped as below) are the keys of the
// YAML config file (schemas/sfsim.config.schema.json) and, with dashes, the command-line flags of
// sluice-sfsim (docs/SFSIM.md lists them all).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"

namespace sluice::sfsim {

enum class FieldType {
  kString,    // string, textarea, email, phone, url, picklist: a JSON string up to `length`
  kBoolean,   // JSON true/false (or "true"/"false")
  kInt,       // a JSON integer (or a string holding one)
  kDouble,    // double, currency, percent: a JSON number (or a string holding one)
  kDate,      // "YYYY-MM-DD"
  kDateTime,  // "YYYY-MM-DDThh:mm:ss[.sss](Z|+hh:mm|+hhmm)"
  kReference  // a 15- or 18-character record id
};

// "string", "boolean", "int", "double", "date", "datetime", "reference" and the Salesforce
// aliases (text, textarea, email, phone, url, picklist, checkbox, number, currency, percent,
// id/lookup). InvalidArgument for anything else.
Result<FieldType> ParseFieldType(std::string_view name);
std::string_view FieldTypeName(FieldType type);

struct FieldDef {
  std::string name;                     // API name, e.g. "LastName", "Sluice_Key__c"
  FieldType type = FieldType::kString;  // default string
  int length = 255;                     // max characters for strings; default 255
  bool required = false;                // must be set (non-null) on create; default false
  bool unique = false;                  // no two records share a value; default false
  bool external_id = false;             // usable as an upsert key; default false
};

struct ObjectDef {
  std::string name;             // e.g. "Contact", "Order_Event__e"
  std::string key_prefix;       // 3 characters, e.g. "003"; record ids start with it
  bool platform_event = false;  // publish-only (create), answered with OPERATION_ENQUEUED
  std::vector<FieldDef> fields;
};

// Account, Contact, Lead (their usual required fields, a unique external id Sluice_Key__c and a
// Sluice_Event_Id__c text field on each) and the platform event Sluice_Event__e.
std::vector<ObjectDef> DefaultObjects();

struct OrgOptions {
  // 18-character org id (tokens start with its first 15 characters). Default 00D5g00000SLUICEA5.
  std::string org_id = "00D5g00000SLUICEA5";
  // The integration user's id. Default 0055g00000SLUICAA5.
  std::string user_id = "0055g00000SLUICAA5";
  // Usernames accepted as the JWT `sub`. Default {"sluice@example.com"}.
  std::vector<std::string> usernames = {"sluice@example.com"};
  // Connected app consumer key (client_id, and the JWT `iss`). Default "sluice-sfsim-client".
  std::string client_id = "sluice-sfsim-client";
  // Connected app consumer secret. Default "sluice-sfsim-secret".
  std::string client_secret = "sluice-sfsim-secret";
  // PEM certificate or public key that verifies JWT bearer assertions (RS256). Default empty:
  // the JWT bearer flow answers invalid_grant.
  std::string jwt_public_key_file;
  // Accepted JWT `aud` values, besides the simulator's own base URL. Default login/test.
  std::vector<std::string> jwt_audiences = {"https://login.salesforce.com",
                                            "https://test.salesforce.com"};
  // instance_url handed out by the token endpoint. Default empty: the server's own base URL.
  std::string instance_url;
  // Tokens stop working this long after they were issued (401 INVALID_SESSION_ID). Default 2 h.
  std::chrono::milliseconds session_timeout{2 * 3600 * 1000};
  // Supported API versions, inclusive. Default 20.0 .. 62.0.
  double api_min_version = 20.0;
  double api_max_version = 62.0;
  // Objects of the org. Default DefaultObjects().
  std::vector<ObjectDef> objects = DefaultObjects();
};

struct LimitOptions {
  // Rolling 24-hour API allocation; past it 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit
  // exceeded.". Collections count one call. Default 100,000.
  int64_t daily_api_requests = 100000;
  // A request in flight at least this long counts as long-running. Default 20 s.
  std::chrono::milliseconds long_running_threshold{20000};
  // Long-running requests allowed at once; over it new requests get 403 REQUEST_LIMIT_EXCEEDED
  // "ConcurrentPerOrgLongTxn Limit exceeded.". Default 25.
  int64_t max_long_running = 25;
  // A write waits at most this long for a record locked by an overlapping write, then that record
  // fails with UNABLE_TO_LOCK_ROW. Default 10 s.
  std::chrono::milliseconds lock_timeout{10000};
  // Records per collections request. Default 200 (Salesforce's).
  int max_collection_records = 200;
  // Lookup fields whose write locks the parent record for the length of the transaction, as
  // "Object.Field" (a reference field). Contention on the parent waits up to lock_timeout, then
  // fails with UNABLE_TO_LOCK_ROW, in collections and bulk batches alike. Empty: no parent locks.
  // Default {"Contact.AccountId"}.
  std::vector<std::string> parent_lock_fields = {"Contact.AccountId"};
  // Largest JSON request body (413 REQUEST_ENTITY_TOO_LARGE above). services/sfsim sets it from
  // server.max_body_bytes; Bulk API uploads have bulk.max_upload_bytes instead. Default 50,000,000.
  int64_t max_body_bytes = 50 * 1000 * 1000;
};

// Bulk API 2.0 ingest jobs and how fast the org processes them.
struct BulkOptions {
  // Records per second one job is processed at, over all its parallel batches. Default 5,000.
  double records_per_second = 5000;
  // Records per internal batch. Default 10,000 (Salesforce's).
  int batch_size = 10000;
  // Internal batches of one job processed at once; a job runs in waves of this many. Default 5.
  int parallel_batches = 5;
  // Time from UploadComplete to InProgress. Default 1 s.
  std::chrono::milliseconds queue_delay{1000};
  // Largest upload (PUT …/batches); 413 above. Default 150,000,000 bytes.
  int64_t max_upload_bytes = 150 * 1000 * 1000;
  // Records uploaded per rolling 24 h; a job over it fails with ExceededQuota. Default 150,000,000.
  int64_t daily_records = 150 * 1000 * 1000;
  // Internal batches per rolling 24 h (DailyBulkApiBatches); a job over it fails with
  // ExceededQuota. Default 15,000.
  int64_t daily_batches = 15000;
};

// Time a request takes: base + per_record * records + lognormal tail, capped at max.
struct LatencyOptions {
  double base_ms = 0;        // default 0
  double per_record_ms = 0;  // default 0
  // Median of the lognormal tail; 0 (default) turns the tail off.
  double tail_median_ms = 0;
  // Shape (sigma of the underlying normal) of the tail. Default 1.0.
  double tail_sigma = 1.0;
  // Cap on the total (Salesforce times API calls out after 10 minutes). Default 600,000 ms.
  double max_ms = 600000;
};

// Random faults, each a probability per request (per record for lock_row_rate) in [0, 1].
struct FaultOptions {
  double unavailable_rate = 0;  // 503 SERVER_UNAVAILABLE; default 0
  // Share of those 503s that carry the HTML maintenance page instead of JSON. Default 0.
  double unavailable_html_fraction = 0;
  double reset_rate = 0;  // connection reset before anything is written; default 0
  // Connection reset after the write was applied (the client cannot know it succeeded). Default 0.
  double reset_after_write_rate = 0;
  double slow_rate = 0;      // adds slow_ms to the latency; default 0
  double slow_ms = 5000;     // default 5,000
  double lock_row_rate = 0;  // per record UNABLE_TO_LOCK_ROW; default 0
  // Seed of the simulator's random numbers (faults, latency tail, ids). Default 1.
  uint64_t seed = 1;
};

struct LedgerOptions {
  // Field whose value each ledger entry records as the event id. Default "Sluice_Event_Id__c".
  std::string event_id_field = "Sluice_Event_Id__c";
  // SQLite file that also receives every entry. Default empty: memory only.
  std::string sqlite_path;
  // Entries kept in memory; older ones are dropped from memory (still counted; still in SQLite).
  // 0 = unlimited. Default 0.
  uint64_t max_memory_entries = 0;
};

struct SimOptions {
  OrgOptions org;
  LimitOptions limits;
  LatencyOptions latency;
  FaultOptions faults;
  LedgerOptions ledger;
  BulkOptions bulk;
};

// Checks ranges and object definitions (prefixes, duplicate names, field names). Returns the
// first problem as InvalidArgument.
Status Validate(const SimOptions& options);

// Applies a JSON document shaped like the config file (see schemas/sfsim.config.schema.json:
// groups org, limits, latency, faults, ledger, bulk, objects) onto `options`. Unknown keys are
// InvalidArgument. Durations are strings in the grammar of sluice/core/duration.h ("20s", "500ms").
// `objects` replaces the default objects unless org.keep_default_objects is true (then same-named
// objects are replaced and new ones added).
Status ApplyConfigJson(std::string_view json, SimOptions* options);

// One object definition from JSON: {"name":"X","key_prefix":"a01","platform_event":false,
// "fields":[{"name":"F","type":"string","length":80,"required":true,"unique":false,
// "external_id":false}]}.
Result<ObjectDef> ParseObjectJson(std::string_view json);

// Replaces the same-named object or appends it.
void UpsertObject(std::vector<ObjectDef>* objects, ObjectDef def);

}  // namespace sluice::sfsim

// The Salesforce REST client used by the relay: sObject Collections upsert/create in batches of up
// to 200 records, single-record upsert/create, platform event publish and /limits, each answer
// mapped to per-record results with error classes (errors.h).
#pragma once

#include <chrono>
#include <cstddef>
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
#include "sluice/salesforce/limit_info.h"
#include "sluice/salesforce/stats.h"

namespace sluice::salesforce {

// One record to write. The views need only live until the call that takes them returns (the
// request body is built before it returns).
// Thread-safety: a value type (the views it holds must not change while a call reads them).
struct RecordInput {
  // The record's field values as one JSON object, e.g. {"LastName":"Ng","Email":"a@b.c"}. It is
  // validated (well-formed, UTF-8, an object, nesting ≤ 64) and spliced into the request body
  // without re-serialising. It must not hold "attributes"; it may hold the external id field only
  // with the same string value as `external_id`.
  std::string_view fields_json;
  // Upserts: the external id value (a string, any UTF-8). Ignored by creates.
  std::string_view external_id;
};

// The outcome of one record. Thread-safety: a value type.
struct RecordResult {
  bool success = false;
  std::string id;        // Salesforce record id, when the answer gave one
  bool created = false;  // upserts: inserted (true) or updated (false)
  // On failure, the error that decided the class (see Classifier::Worse); kNone on success.
  SfError error;
  // Every error Salesforce listed, including informational OPERATION_ENQUEUED.
  std::vector<SfError> errors;
};

// The outcome of one write call. Thread-safety: a value type.
struct WriteResult {
  // Set when the request as a whole failed (transport, non-2xx, auth, budget, an answer that
  // cannot be mapped to the records such as a result-count mismatch): its class applies to every
  // record of the call. Records rejected locally before sending are still reported one by one in
  // `records`.
  std::optional<SfError> request_error;
  // One result per input record, in input order. When request_error is set, the records that
  // were sent carry a copy of it (so records[i].error is always the thing to act on).
  std::vector<RecordResult> records;
  int http_status = 0;                  // of the last answer; 0 when none
  std::optional<LimitInfo> limit_info;  // Sforce-Limit-Info of the last answer, if parseable
  int attempts = 0;                     // HTTP requests made (2 after a 401 and a refresh)
};

// One entry of GET /limits. Thread-safety: a value type.
struct OrgLimit {
  int64_t max = 0;
  int64_t remaining = 0;
};

// The outcome of GetLimits. Thread-safety: a value type.
struct LimitsResult {
  std::optional<SfError> request_error;
  std::map<std::string, OrgLimit> limits;  // e.g. "DailyApiRequests" -> {15000, 14998}
  int http_status = 0;
  std::optional<LimitInfo> limit_info;
};

struct SalesforceClientOptions {
  // REST API version, "<major>.<minor>". Default "62.0" (collections upsert needs ≥ 46.0).
  std::string api_version = "62.0";
  // Deadline of one HTTP request. Default 120 s (Salesforce itself times calls out at 10 min).
  std::chrono::milliseconds request_timeout{120'000};
  // Largest batch accepted by the collection calls; Salesforce's ceiling is 200. Default 200.
  size_t max_batch_records = 200;
  // Collections `allOrNone`. Default false: each record succeeds or fails on its own.
  bool all_or_none = false;
  // A record's fields_json over this many bytes is rejected locally (kPermanent,
  // RECORD_TOO_LARGE). Default 1 MiB.
  size_t max_record_bytes = 1u << 20;
  // A 2xx body over this many bytes is not parsed (MALFORMED_RESPONSE). Default 32 MiB.
  size_t max_response_bytes = 32u << 20;
  ClassifierOptions classifier;
};

// Writes records through the Salesforce REST API with the shared TokenProvider's token. A 401 is
// answered once by Invalidate + a fresh token + the same request again; a second 401 (or a failed
// refresh) is an auth error. Every call completes through its callback exactly once — on the
// transport's thread, or inline before the call returns when nothing needs sending (local
// rejections, empty batches). The *Sync forms wait for it (not from a transport callback).
//
// Local rejections (never sent, class kPermanent, code INVALID_RECORD_INPUT / RECORD_TOO_LARGE):
// fields_json not a JSON object, invalid UTF-8, "attributes" in it, an external id that is empty
// or differs from the one in the fields. Calls with more than max_batch_records records, or an
// sObject/field name that is not an identifier, are refused as a whole (request_error kPermanent,
// code INVALID_REQUEST) — the caller's bug, reported without sending.
//
// Lifetime: the client, TokenProvider and transport must outlive every call in flight; shut the
// transport down first (it completes what is in flight), then destroy the client.
// Thread-safety: all methods are safe from any number of threads at once.
class SalesforceClient {
 public:
  using WriteCallback = std::function<void(WriteResult)>;
  using LimitsCallback = std::function<void(LimitsResult)>;

  // InvalidArgument for a malformed api_version or max_batch_records outside 1..200.
  static Result<std::unique_ptr<SalesforceClient>> Create(SalesforceClientOptions options,
                                                          http::HttpTransport& transport,
                                                          TokenProvider& tokens,
                                                          SalesforceStats* stats = nullptr);
  ~SalesforceClient();

  // PATCH /services/data/vXX.X/composite/sobjects/{sobject}/{external_id_field}
  void UpsertCollection(std::string_view sobject, std::string_view external_id_field,
                        std::span<const RecordInput> records, WriteCallback done);
  // POST /services/data/vXX.X/composite/sobjects (every record of type `sobject`; this is also how
  // to publish a batch of platform events: sobject "Name__e").
  void CreateCollection(std::string_view sobject, std::span<const RecordInput> records,
                        WriteCallback done);
  // PATCH /services/data/vXX.X/sobjects/{sobject}/{external_id_field}/{external_id}; the body is
  // the record's fields_json as given.
  void Upsert(std::string_view sobject, std::string_view external_id_field,
              const RecordInput& record, WriteCallback done);
  // POST /services/data/vXX.X/sobjects/{sobject}/
  void Create(std::string_view sobject, std::string_view fields_json, WriteCallback done);
  // POST /services/data/vXX.X/sobjects/{event_name}/ — an answer whose errors are only
  // OPERATION_ENQUEUED is success.
  void Publish(std::string_view event_name, std::string_view fields_json, WriteCallback done);
  // GET /services/data/vXX.X/limits — also a cheap probe for a circuit breaker.
  void GetLimits(LimitsCallback done);

  WriteResult UpsertCollectionSync(std::string_view sobject, std::string_view external_id_field,
                                   std::span<const RecordInput> records);
  WriteResult CreateCollectionSync(std::string_view sobject, std::span<const RecordInput> records);
  WriteResult UpsertSync(std::string_view sobject, std::string_view external_id_field,
                         const RecordInput& record);
  WriteResult CreateSync(std::string_view sobject, std::string_view fields_json);
  WriteResult PublishSync(std::string_view event_name, std::string_view fields_json);
  LimitsResult GetLimitsSync();

  const Classifier& classifier() const;

 private:
  class Impl;
  explicit SalesforceClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::salesforce

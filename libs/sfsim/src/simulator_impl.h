// The simulator's state and the declaration of Simulator::Impl, whose methods are defined by
// concern in simulator.cc (request entry and routing), resources.cc (OAuth, limits, describe),
// write_plan.cc (validation, conflicts, locks, commit), sobject_handlers.cc (sObject and
// collections writes), limits_faults.cc and admin.cc (/sim/). Private to libs/sfsim/src.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bulk_job.h"
#include "sim_util.h"
#include "sluice/sfsim/auth.h"
#include "sluice/sfsim/latency.h"
#include "sluice/sfsim/ledger.h"
#include "sluice/sfsim/simulator.h"
#include "sluice/sfsim/usage.h"

namespace sluice::sfsim {
namespace detail {
struct RecordState {
  TimePoint locked_until{};
  uint32_t writes = 0;
  std::vector<std::string> keys;  // value per indexed slot ("" = none)
};

struct ObjectState {
  ObjectDef def;
  std::vector<int> slot_of_field;  // field index → slot, or -1
  std::vector<int> field_of_slot;
  // Per slot: 64-bit hash of a value → records holding it (the record's own copy of the value
  // settles hash collisions). Hash keys keep the table's nodes small and string-free.
  std::vector<std::unordered_multimap<uint64_t, uint32_t>> index;
  std::vector<RecordState> records;     // record number n is records[n - 1]
  std::vector<int> parent_lock_fields;  // reference fields whose write locks the parent
  uint64_t events_published = 0;        // platform events have no stored records

  // Case-insensitive, as Salesforce matches field names; a scan beats hashing a lower-cased copy
  // for the dozen fields an object has.
  int FieldIndex(std::string_view name) const {
    for (size_t i = 0; i < def.fields.size(); ++i) {
      if (IEq(def.fields[i].name, name)) return static_cast<int>(i);
    }
    return -1;
  }
  // Records whose slot holds `value`.
  std::vector<uint32_t> Lookup(int slot, const std::string& value) const {
    std::vector<uint32_t> out;
    auto [b, e] = index[static_cast<size_t>(slot)].equal_range(KeyHash(value));
    for (auto it = b; it != e; ++it) {
      if (records[it->second].keys[static_cast<size_t>(slot)] == value) out.push_back(it->second);
    }
    return out;
  }
};

enum class WriteMode { kCreate, kUpsert, kUpdate };

// One record's planned write, decided before anything is applied (so allOrNone can refuse all).
struct Plan {
  ObjectState* obj = nullptr;
  bool create = true;
  uint32_t record = 0;  // index into obj->records when updating
  std::string key_value;
  std::vector<std::pair<int, std::string>> keys;  // slot → new value ("" clears)
  std::string event_id;
  // Parent records this write locks (LimitOptions::parent_lock_fields).
  std::vector<std::pair<ObjectState*, uint32_t>> parents;
  std::optional<RecordError> error;
  std::string record_id;  // filled on commit
};

struct ScheduledFault {
  std::string kind;
  TimePoint until;
  double rate = 1.0;
  bool html = false;
  double slow_ms = 0;
};

}  // namespace detail

using namespace detail;  // NOLINT: private header, included only by the simulator's sources

// Thread-safety: not thread-safe by itself; Simulator serializes every call on mu_.
class Simulator::Impl {
 public:
  Impl(const SimOptions& options, Clock& clock, std::unique_ptr<Ledger> ledger,
       std::unique_ptr<JwtVerifier> jwt);

  Outcome Handle(http::ServerRequest& req);

  void Complete(uint64_t ticket);

  void SetBaseUrl(const std::string& url);

  std::string StatsJson();

 private:
  // What the current request decided, applied after the latency is known.
  struct RequestContext {
    TimePoint now{};
    int64_t wall_ms = 0;
    uint64_t request_id = 0;
    bool api = false;              // a /services/data/vXX.X call: gets Sforce-Limit-Info
    bool latency_applies = false;  // the org did work: latency model applies
    int records = 0;
    Duration lock_wait{0};
    double slow_ms = 0;
    std::vector<Plan*> commits;  // successful plans to apply
    bool applied = false;
    std::string bulk_job_id;  // set while a bulk job's batch runs: its ledger entries are bulk
  };

  // ---- routing ----

  std::string Route(http::ServerRequest& req, http::ServerResponse* res);

  std::string Api(http::ServerRequest& req, const std::vector<std::string>& seg,
                  http::ServerResponse* res);

  static std::string Set(http::ServerResponse* res, http::ServerResponse value, std::string route);

  ObjectState* FindObject(std::string_view name);

  // ---- OAuth ----

  http::ServerResponse OAuthToken(const http::ServerRequest& req);

  std::string InstanceUrl() const;

  // ---- read-only resources ----

  http::ServerResponse Versions();

  http::ServerResponse Resources(double v);

  http::ServerResponse Limits();

  http::ServerResponse DescribeGlobal();

  void WriteObjectSummary(Writer& w, const ObjectState& o);

  http::ServerResponse DescribeBasic(const ObjectState& o);

  http::ServerResponse Describe(const ObjectState& o);

  // ---- writes ----

  // Parses `body` in place; on failure fills `res` with Salesforce's JSON_PARSER_ERROR.
  bool ParseBody(std::string& body, rapidjson::Document* doc, http::ServerResponse* res);

  // Validates one record's fields and works out what writing it would do. `key_field` (a field
  // index, or -1 for "Id") and `key_value` are the upsert key; for kCreate they are unused.
  void PlanRecord(Plan* p, const Value& rec, WriteMode mode, int key_field,
                  const std::optional<std::string>& key_value);

  std::optional<RecordError> CheckValue(const FieldDef& f, const Value& v);

  // Unique values, lock waits and lock faults, checked in request order against the store and
  // against earlier records of the same request.
  void CheckConflicts(std::vector<Plan>& plans);

  RecordError LockError(const ObjectState& obj, uint32_t record);

  static std::string RecordId(const ObjectState& obj, uint32_t record);

  // Applies the successful plans; their records stay locked until `end`.
  void Commit(TimePoint end);

  // The shared start of the one-record writes (create, upsert, update): parses the body, refuses
  // anything but a JSON object, and plans it as plans_[0] (`prepare` may set the plan up first).
  // Returns the error answer, or nullopt with plans_[0] planned.
  std::optional<http::ServerResponse> PlanOne(http::ServerRequest& req, ObjectState* obj,
                                              WriteMode mode, int key_field,
                                              const std::optional<std::string>& key_value,
                                              const std::function<void(Plan&)>& prepare = {});

  // POST /sobjects/{S}/: one record.
  http::ServerResponse CreateOne(http::ServerRequest& req, ObjectState* obj, double v);

  void WriteEnqueued(Writer& w);

  std::string Uuid();

  // The field an upsert matches on: -1 for Id, a field index for an external id field of a
  // record object, kNoKeyField for anything else (unknown, not an external id, platform events).
  static constexpr int kNoKeyField = -2;
  static int KeyFieldIndex(ObjectState* obj, const std::string& field);
  static http::ServerResponse UnknownKeyField(const std::string& field);

  // PATCH /sobjects/{S}/{Field}/{value}.
  http::ServerResponse UpsertOne(http::ServerRequest& req, ObjectState* obj,
                                 const std::string& field, const std::string& value, double v);

  // PATCH /sobjects/{S}/{id}: update by id, 204.
  http::ServerResponse UpdateById(http::ServerRequest& req, ObjectState* obj,
                                  const std::string& id);

  // POST /composite/sobjects (obj == nullptr) and PATCH /composite/sobjects/{S}/{Field}.
  http::ServerResponse Collection(http::ServerRequest& req, ObjectState* upsert_obj,
                                  const std::string& field, double v);

  // A response that can only be written once the commit has assigned ids: Handle() commits, then
  // calls the builder.
  http::ServerResponse Deferred(std::function<http::ServerResponse()> build);

 public:
  // Completes a deferred response after Commit (called by Handle).
  void FinishDeferred(http::ServerResponse* res);

 private:
  // ---- Bulk API 2.0 ingest (bulk_api.cc: endpoints; bulk_processing.cc: the processing model)

  std::string BulkRoute(http::ServerRequest& req, const std::vector<std::string>& rest, double v,
                        http::ServerResponse* res);
  http::ServerResponse BulkCreate(http::ServerRequest& req, double v);
  http::ServerResponse BulkUpload(http::ServerRequest& req, BulkJob& job);
  http::ServerResponse BulkPatch(http::ServerRequest& req, BulkJob& job);
  http::ServerResponse BulkInfo(const BulkJob& job, int status = 200);
  http::ServerResponse BulkList();
  http::ServerResponse BulkDelete(const std::string& id);
  http::ServerResponse BulkResults(const BulkJob& job, const std::string& kind);
  void WriteJobInfo(Writer& w, const BulkJob& job);
  // Parses the upload, checks columns and the daily record allocation, at UploadComplete.
  void CloseJob(BulkJob& job);
  // Runs every job event (start, waves of batches, completion) due by `now`, in time order.
  void AdvanceJobs(TimePoint now);
  void StartJob(BulkJob& job);
  void RunWave(BulkJob& job);
  void RunBatch(BulkJob& job, BulkBatch& batch, TimePoint start);
  void FailJob(BulkJob& job, TimePoint at, std::string message);
  bool BatchVisible(const BulkJob& job, const BulkBatch& b) const;
  // Records of `job` counted as processed (and failed) by now.
  void JobCounts(const BulkJob& job, int64_t* processed, int64_t* failed) const;

  // ---- parent locks (write_plan.cc) ----

  // Fills p->parents from the record's locking lookup values.
  void PlanParents(Plan* p, const Value& rec);

  // ---- limits ----

  int64_t LongRunning(TimePoint now);

  void UpdateLongRunningPeak(TimePoint now);

  // ---- faults ----

  double Uniform();

  bool FaultRoll(const char* kind, double rate);

  std::optional<http::ServerResponse> UnavailableFault();

  bool SlowFault();

  bool LockFault();

  // ---- admin API ----

  http::ServerResponse AdminJson(int status, std::string body);

  http::ServerResponse AdminError(int status, const std::string& message);

  http::ServerResponse HandleAdmin(http::ServerRequest& req, TimePoint now);

  http::ServerResponse ScheduleFault(std::string& body, TimePoint now);

  std::string FaultsJson();

  void ResetData(TimePoint now);

  void CountRequest(const std::string& route, int status);

  std::string StatsJsonLocked();

  std::mutex mu_;
  SimOptions options_;
  Clock& clock_;
  std::mt19937_64 rng_;
  LatencyModel latency_;
  TokenStore tokens_;
  DailyUsage usage_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<JwtVerifier> jwt_;
  std::string base_url_;

  std::vector<std::unique_ptr<ObjectState>> objects_;
  std::unordered_map<std::string, ObjectState*> objects_by_lower_;
  std::vector<ScheduledFault> scheduled_;

  RequestContext ctx_;
  std::vector<Plan> plans_;
  std::function<http::ServerResponse()> deferred_;

  std::unordered_map<std::string, ObjectState*> objects_by_prefix_;
  std::map<std::string, std::unique_ptr<BulkJob>> jobs_;  // by id; ids grow, so in creation order
  uint64_t job_seq_ = 0;
  DailyUsage bulk_records_;
  DailyUsage bulk_batches_;
  uint64_t bulk_jobs_created_ = 0, bulk_records_processed_ = 0, bulk_records_failed_ = 0,
           bulk_batches_run_ = 0, parent_lock_waits_ = 0, parent_lock_timeouts_ = 0;

  uint64_t request_seq_ = 0;
  uint64_t ticket_seq_ = 0;
  std::map<uint64_t, TimePoint> in_flight_;  // ticket → start; tickets grow with time
  uint64_t peak_in_flight_ = 0;
  int64_t peak_long_running_ = 0;

  std::map<std::string, std::map<int, uint64_t>> requests_;
  uint64_t requests_total_ = 0;
  uint64_t records_written_ = 0, records_created_ = 0, records_updated_ = 0, records_failed_ = 0;
  uint64_t duplicate_keys_ = 0, duplicate_writes_ = 0, duplicate_event_ids_ = 0;
  // Writes per event id, keyed by the id's 64-bit hash (a collision among a few million ids is
  // vanishingly unlikely, and would only over-count duplicates).
  std::unordered_map<uint64_t, uint32_t> event_ids_;
  uint64_t locks_waited_ = 0, locks_timed_out_ = 0;
  uint64_t faults_reset_ = 0, faults_reset_after_write_ = 0, faults_unavailable_ = 0,
           faults_slow_ = 0, faults_lock_rows_ = 0, faults_scheduled_ = 0;
};

}  // namespace sluice::sfsim

// Bulk API 2.0 ingest endpoints under /services/data/vXX.X/jobs/ingest: create, upload, close or
// abort, info, list, delete, and the three result files.
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstdio>
#include <ctime>

#include "simulator_impl.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {
namespace {

constexpr std::string_view kCsvType = "text/csv";

http::ServerResponse CsvResponse(std::string body) {
  http::ServerResponse res;
  res.status = 200;
  res.headers.Add("Content-Type", std::string(kCsvType));
  res.body = std::move(body);
  return res;
}

// ISO 8601 with milliseconds and +0000, as Salesforce writes job dates.
std::string IsoTime(int64_t wall_ms) {
  const time_t secs = static_cast<time_t>(wall_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(wall_ms % 1000));
  return buf;
}

bool Delimiter(std::string_view name, char* out) {
  static const std::pair<const char*, char> kNames[] = {{"COMMA", ','}, {"TAB", '\t'},
                                                        {"PIPE", '|'},  {"SEMICOLON", ';'},
                                                        {"CARET", '^'}, {"BACKQUOTE", '`'}};
  for (const auto& [n, c] : kNames) {
    if (name == n) {
      *out = c;
      return true;
    }
  }
  return false;
}

}  // namespace

std::string Simulator::Impl::BulkRoute(http::ServerRequest& req,
                                       const std::vector<std::string>& rest, double v,
                                       http::ServerResponse* res) {
  const std::string& m = req.method;
  // Uploads have bulk.max_upload_bytes (BulkUpload); everything else is a JSON body.
  const bool upload = rest.size() == 4 && rest[3] == "batches";
  if (!upload && static_cast<int64_t>(req.body.size()) > options_.limits.max_body_bytes) {
    return Set(res,
               ErrorResponse(413, "Request body exceeds the limit of " +
                                      std::to_string(options_.limits.max_body_bytes) + " bytes"),
               "too_large");
  }
  if (rest.size() == 2) {
    if (m == "POST") return Set(res, BulkCreate(req, v), "bulk_create");
    if (m == "GET") return Set(res, BulkList(), "bulk_list");
    return Set(res, MethodNotAllowed(m, "GET,HEAD,POST"), "bulk_create");
  }
  auto it = jobs_.find(rest[2]);
  if (it == jobs_.end()) return Set(res, NotFound(), "not_found");
  BulkJob& job = *it->second;
  if (rest.size() == 3) {
    if (m == "GET") return Set(res, BulkInfo(job), "bulk_info");
    if (m == "PATCH") return Set(res, BulkPatch(req, job), "bulk_state");
    if (m == "DELETE") return Set(res, BulkDelete(rest[2]), "bulk_delete");
    return Set(res, MethodNotAllowed(m, "GET,HEAD,PATCH,DELETE"), "bulk_info");
  }
  if (rest.size() == 4 && rest[3] == "batches") {
    if (m != "PUT") return Set(res, MethodNotAllowed(m, "PUT"), "bulk_upload");
    return Set(res, BulkUpload(req, job), "bulk_upload");
  }
  if (rest.size() == 4 && (rest[3] == "successfulResults" || rest[3] == "failedResults" ||
                           rest[3] == "unprocessedrecords")) {
    if (m != "GET") return Set(res, MethodNotAllowed(m, "GET,HEAD"), "bulk_results");
    return Set(res, BulkResults(job, rest[3]), "bulk_results");
  }
  return Set(res, NotFound(), "not_found");
}

http::ServerResponse Simulator::Impl::BulkCreate(http::ServerRequest& req, double v) {
  rapidjson::Document doc;
  http::ServerResponse res;
  if (!ParseBody(req.body, &doc, &res)) return res;
  if (!doc.IsObject()) return ApiError(400, "JSON_PARSER_ERROR", "the job must be a JSON object");
  auto str = [&](const char* key) -> std::optional<std::string> {
    auto it = doc.FindMember(key);
    if (it == doc.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (!it->value.IsString()) return std::string("\x01");  // not a string: refused below
    return std::string(Str(it->value));
  };
  auto invalid = [](const std::string& message) { return ApiError(400, "INVALIDJOB", message); };
  auto object = str("object");
  auto operation = str("operation");
  if (!object || object->empty()) return invalid("InvalidJob : Object is required");
  if (!operation || operation->empty()) return invalid("InvalidJob : Operation is required");
  ObjectState* obj = FindObject(*object);
  if (!obj) return invalid("InvalidJob : Unable to find object: " + Truncate(*object));
  if (obj->def.platform_event) {
    return invalid("InvalidJob : Entity '" + obj->def.name + "' is not supported by the Bulk API.");
  }
  if (*operation == "delete" || *operation == "hardDelete") {
    return ApiError(
        400, "FEATURENOTENABLED",
        "sluice-sfsim does not simulate " + *operation + " (records are never removed)");
  }
  if (*operation != "insert" && *operation != "update" && *operation != "upsert") {
    return invalid("InvalidJob : Invalid operation: " + Truncate(*operation));
  }
  auto job = std::make_unique<BulkJob>();
  job->obj = obj;
  job->object_name = obj->def.name;
  job->operation = *operation;
  if (*operation == "upsert") {
    auto ext = str("externalIdFieldName");
    if (!ext || ext->empty()) {
      return invalid("InvalidJob : External ID was blank for " + obj->def.name +
                     ". An External ID must be specified for upsert.");
    }
    job->key_field = KeyFieldIndex(obj, *ext);
    if (job->key_field == kNoKeyField) {
      return invalid("InvalidJob : Field name provided, " + Truncate(*ext) +
                     " is not an External ID or indexed field for " + obj->def.name);
    }
    job->external_id_field =
        job->key_field >= 0 ? obj->def.fields[static_cast<size_t>(job->key_field)].name : "Id";
  }
  if (auto ct = str("contentType"); ct && *ct != "CSV") {
    return invalid("InvalidJob : contentType must be CSV");
  }
  if (auto le = str("lineEnding")) {
    if (*le != "LF" && *le != "CRLF") return invalid("InvalidJob : lineEnding must be LF or CRLF");
    job->line_ending_name = *le;
  }
  job->csv.line_ending =
      job->line_ending_name == "CRLF" ? CsvLineEnding::kCrlf : CsvLineEnding::kLf;
  if (auto cd = str("columnDelimiter")) {
    if (!Delimiter(*cd, &job->csv.delimiter)) {
      return invalid(
          "InvalidJob : columnDelimiter must be one of BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON, "
          "TAB");
    }
    job->delimiter_name = *cd;
  }
  job->api_version = v;
  job->created_wall_ms = job->modstamp_wall_ms = ctx_.wall_ms;
  job->id = MakeRecordId("750", ++job_seq_);
  bulk_jobs_created_++;
  BulkJob& ref = *job;
  jobs_.emplace(job->id, std::move(job));
  return BulkInfo(ref);
}

http::ServerResponse Simulator::Impl::BulkUpload(http::ServerRequest& req, BulkJob& job) {
  auto ct = req.headers.Get("Content-Type");
  std::string type = ct ? Lower(std::string(*ct)) : "";
  if (type.rfind(kCsvType, 0) != 0) {
    return ApiError(400, "INVALIDCONTENTTYPE", "Content-Type must be text/csv for CSV job data");
  }
  if (static_cast<int64_t>(req.body.size()) > options_.bulk.max_upload_bytes) {
    return ErrorResponse(413, "Job data exceeds the upload limit of " +
                                  std::to_string(options_.bulk.max_upload_bytes) + " bytes");
  }
  if (job.state != JobState::kOpen) {
    return ApiError(409, "INVALIDJOBSTATE",
                    "Job " + job.id + " is " + JobStateName(job.state) +
                        ": data can be uploaded only to an Open job");
  }
  job.uploads++;
  job.data = std::move(req.body);
  job.modstamp_wall_ms = ctx_.wall_ms;
  http::ServerResponse res;
  res.status = 201;
  return res;
}

http::ServerResponse Simulator::Impl::BulkPatch(http::ServerRequest& req, BulkJob& job) {
  rapidjson::Document doc;
  http::ServerResponse res;
  if (!ParseBody(req.body, &doc, &res)) return res;
  auto st = doc.IsObject() ? doc.FindMember("state") : doc.MemberEnd();
  if (!doc.IsObject() || st == doc.MemberEnd() || !st->value.IsString()) {
    return ApiError(400, "INVALIDJOBSTATE", "state must be UploadComplete or Aborted");
  }
  const std::string want(Str(st->value));
  if (want == "UploadComplete") {
    if (job.state != JobState::kOpen) {
      return ApiError(400, "INVALIDJOBSTATE",
                      "Job " + job.id + " is " + JobStateName(job.state) + ", not Open");
    }
    if (job.uploads > 1) {
      return ApiError(400, "INVALIDJOB",
                      "Found multiple contents for job: <" + job.id +
                          ">, please 'Close' / 'Abort' / 'Delete' the current Job then create a "
                          "new Job and make sure you only do 'PUT' once on a given Job.");
    }
    job.close_request_id = ctx_.request_id;
    job.modstamp_wall_ms = ctx_.wall_ms;
    CloseJob(job);
    return BulkInfo(job);
  }
  if (want == "Aborted") {
    if (JobTerminal(job.state)) {
      return ApiError(
          400, "INVALIDJOBSTATE",
          "Job " + job.id + " is " + JobStateName(job.state) + " and cannot be aborted");
    }
    job.state = JobState::kAborted;
    job.finished_at = ctx_.now;
    job.modstamp_wall_ms = ctx_.wall_ms;
    job.data.clear();
    return BulkInfo(job);
  }
  return ApiError(400, "INVALIDJOBSTATE",
                  "state must be UploadComplete or Aborted, not " + Truncate(want));
}

void Simulator::Impl::JobCounts(const BulkJob& job, int64_t* processed, int64_t* failed) const {
  *processed = *failed = 0;
  for (const auto& b : job.batches) {
    if (!BatchVisible(job, b)) continue;
    *processed += static_cast<int64_t>(b.count);
    for (size_t r = b.first; r < b.first + b.count; ++r) *failed += job.results[r].ok ? 0 : 1;
  }
}

bool Simulator::Impl::BatchVisible(const BulkJob& job, const BulkBatch& b) const {
  return b.run && (b.end <= ctx_.now || JobTerminal(job.state));
}

void Simulator::Impl::WriteJobInfo(Writer& w, const BulkJob& job) {
  auto s = [&](const char* k, const std::string& v) {
    w.Key(k);
    w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
  };
  s("id", job.id);
  s("operation", job.operation);
  s("object", job.object_name);
  s("createdById", options_.org.user_id);
  s("createdDate", IsoTime(job.created_wall_ms));
  s("systemModstamp", IsoTime(job.modstamp_wall_ms));
  s("state", JobStateName(job.state));
  if (!job.external_id_field.empty()) s("externalIdFieldName", job.external_id_field);
  s("concurrencyMode", "Parallel");
  s("contentType", "CSV");
  w.Key("apiVersion");
  w.Double(job.api_version);
  s("jobType", "V2Ingest");
  if (job.state == JobState::kOpen) {
    s("contentUrl",
      "services/data/v" + VersionText(job.api_version) + "/jobs/ingest/" + job.id + "/batches");
  }
  s("lineEnding", job.line_ending_name);
  s("columnDelimiter", job.delimiter_name);
}

http::ServerResponse Simulator::Impl::BulkInfo(const BulkJob& job, int status) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  WriteJobInfo(w, job);
  int64_t processed = 0, failed = 0;
  JobCounts(job, &processed, &failed);
  w.Key("numberRecordsProcessed");
  w.Int64(processed);
  w.Key("numberRecordsFailed");
  w.Int64(failed);
  w.Key("retries");
  w.Int64(job.retries);
  int64_t ms = 0;
  for (const auto& b : job.batches) {
    if (BatchVisible(job, b)) {
      ms += std::chrono::duration_cast<std::chrono::milliseconds>(b.end - b.start).count();
    }
  }
  w.Key("totalProcessingTime");
  w.Int64(ms);
  w.Key("apiActiveProcessingTime");
  w.Int64(ms);
  w.Key("apexProcessingTime");
  w.Int64(0);
  if (job.state == JobState::kFailed) {
    w.Key("errorMessage");
    w.String(job.error_message.c_str());
  }
  w.EndObject();
  return Json(status, std::string(buf.GetString(), buf.GetSize()));
}

http::ServerResponse Simulator::Impl::BulkList() {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("done");
  w.Bool(true);
  w.Key("records");
  w.StartArray();
  for (const auto& [id, job] : jobs_) {
    w.StartObject();
    WriteJobInfo(w, *job);
    w.EndObject();
  }
  w.EndArray();
  w.Key("nextRecordsUrl");
  w.Null();
  w.EndObject();
  return Json(200, std::string(buf.GetString(), buf.GetSize()));
}

http::ServerResponse Simulator::Impl::BulkDelete(const std::string& id) {
  auto it = jobs_.find(id);
  if (!JobTerminal(it->second->state)) {
    return ApiError(400, "INVALIDJOBSTATE",
                    "Job " + id + " is " + JobStateName(it->second->state) +
                        ": only a JobComplete, Failed or Aborted job can be deleted");
  }
  jobs_.erase(it);
  http::ServerResponse res;
  res.status = 204;
  return res;
}

http::ServerResponse Simulator::Impl::BulkResults(const BulkJob& job, const std::string& kind) {
  const char d = job.csv.delimiter;
  const CsvLineEnding le = job.csv.line_ending;
  if (!job.table) {
    // Nothing parsed (still Open, or the upload was not CSV): no rows to report.
    if (kind == "unprocessedrecords") return CsvResponse("");
    std::vector<std::string> head = {"sf__Id",
                                     kind == "successfulResults" ? "sf__Created" : "sf__Error"};
    return CsvResponse(CsvRow(head, d, le));
  }
  const CsvTable& t = *job.table;
  std::vector<std::string> head;
  if (kind == "successfulResults") head = {"sf__Id", "sf__Created"};
  if (kind == "failedResults") head = {"sf__Id", "sf__Error"};
  head.insert(head.end(), t.header.begin(), t.header.end());
  std::string out = CsvRow(head, d, le);
  std::vector<std::string> row;
  auto emit = [&](size_t r, std::vector<std::string> prefix) {
    row = std::move(prefix);
    row.insert(row.end(), t.rows[r].begin(), t.rows[r].end());
    out += CsvRow(row, d, le);
  };
  if (kind == "unprocessedrecords") {
    // Rows of batches that never ran, once the job has stopped (failed or aborted).
    if (!JobTerminal(job.state)) return CsvResponse(std::move(out));
    for (const auto& b : job.batches) {
      if (b.run) continue;
      for (size_t r = b.first; r < b.first + b.count; ++r) emit(r, {});
    }
    return CsvResponse(std::move(out));
  }
  const bool want_ok = kind == "successfulResults";
  for (const auto& b : job.batches) {
    if (!BatchVisible(job, b)) continue;
    for (size_t r = b.first; r < b.first + b.count; ++r) {
      const BulkRowResult& res = job.results[r];
      if (res.ok != want_ok) continue;
      emit(r, {res.id, want_ok ? (res.created ? "true" : "false") : res.error});
    }
  }
  return CsvResponse(std::move(out));
}

}  // namespace sluice::sfsim

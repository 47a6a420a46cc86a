// How the org processes a closed Bulk API 2.0 job, on the injected clock:
//
//   UploadComplete --queue_delay--> InProgress --waves of batches--> JobComplete (or Failed)
//
// At UploadComplete the upload is parsed and split into internal batches of bulk.batch_size rows.
// Batches run in waves of bulk.parallel_batches; a batch of n rows takes
// n / (records_per_second / parallel_batches) seconds plus any lock wait. A batch is planned,
// checked (validation, unique values, record and parent locks, lock faults) and committed when it
// starts, holding its records' and parents' locks until it ends; its results count from its end.
// Parallel batches of one wave run in order at the same instant, so a later batch sharing a parent
// with an earlier one waits for it, or fails that row with UNABLE_TO_LOCK_ROW past lock_timeout.
// Nothing runs on a timer: AdvanceJobs(now), called on every request, plays every event due.
// Jobs are forgotten 7 days after they finished, as Salesforce deletes them.
#include <algorithm>
#include <limits>

#include "simulator_impl.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {
namespace {

constexpr auto kBulkJobRetention = std::chrono::hours(7 * 24);

std::string SfError(const RecordError& e) {
  std::string fields;
  for (const auto& f : e.fields) fields += (fields.empty() ? "" : ",") + f;
  return e.code + ":" + e.message + ":" + (fields.empty() ? "--" : fields);
}

}  // namespace

void Simulator::Impl::CloseJob(BulkJob& job) {
  job.state = JobState::kUploadComplete;
  job.ready_at = ctx_.now + options_.bulk.queue_delay;
  if (job.uploads == 0) {
    job.error_message = "InvalidBatch : No data was uploaded for this job";
    return;
  }
  auto parsed = ParseCsv(job.data, job.csv);
  std::string().swap(job.data);
  if (!parsed.ok()) {
    job.error_message = "ClientInputError : " + parsed.status().message();
    return;
  }
  job.table = std::move(*parsed);
  const CsvTable& t = *job.table;
  for (const auto& name : t.header) {
    if (IEq(name, "Id")) continue;
    if (job.obj->FieldIndex(name) < 0) {
      job.error_message = "InvalidBatch : Field name not found : " + Truncate(name);
      break;
    }
  }
  const auto rows = static_cast<int64_t>(t.rows.size());
  if (job.error_message.empty()) {
    if (bulk_records_.Used(ctx_.now) + rows > options_.bulk.daily_records) {
      job.error_message = "ExceededQuota : the org's 24-hour Bulk API record allocation (" +
                          std::to_string(options_.bulk.daily_records) + ") would be exceeded";
    } else {
      bulk_records_.Add(ctx_.now, rows);
    }
  }
  job.results.assign(t.rows.size(), BulkRowResult{});
  const auto size = static_cast<size_t>(options_.bulk.batch_size);
  for (size_t first = 0; first < t.rows.size(); first += size) {
    BulkBatch b;
    b.first = first;
    b.count = std::min(size, t.rows.size() - first);
    job.batches.push_back(b);
  }
}

void Simulator::Impl::FailJob(BulkJob& job, TimePoint at, std::string message) {
  job.state = JobState::kFailed;
  job.error_message = std::move(message);
  job.finished_at = at;
}

void Simulator::Impl::AdvanceJobs(TimePoint now) {
  auto next_event = [](const BulkJob& j, TimePoint* at) {
    if (j.state == JobState::kUploadComplete) {
      *at = j.ready_at;
      return true;
    }
    if (j.state != JobState::kInProgress) return false;
    if (j.next_batch < j.batches.size()) {
      *at = j.next_wave_at;
      return true;
    }
    TimePoint end = j.next_wave_at;
    for (const auto& b : j.batches) end = std::max(end, b.end);
    *at = end;
    return true;
  };
  // Salesforce deletes jobs 7 days after they reached a terminal state.
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const BulkJob& j = *it->second;
    it = JobTerminal(j.state) && now - j.finished_at >= kBulkJobRetention ? jobs_.erase(it)
                                                                          : std::next(it);
  }
  while (true) {
    BulkJob* due = nullptr;
    TimePoint due_at{};
    for (auto& [id, job] : jobs_) {
      TimePoint at{};
      if (next_event(*job, &at) && at <= now && (!due || at < due_at)) {
        due = job.get();
        due_at = at;
      }
    }
    if (!due) return;
    if (due->state == JobState::kUploadComplete) {
      StartJob(*due);
    } else if (due->next_batch < due->batches.size()) {
      RunWave(*due);
    } else {
      due->state = JobState::kJobComplete;
      due->finished_at = due_at;
    }
  }
}

void Simulator::Impl::StartJob(BulkJob& job) {
  if (!job.error_message.empty()) return FailJob(job, job.ready_at, job.error_message);
  job.state = JobState::kInProgress;
  job.next_wave_at = job.ready_at;
}

void Simulator::Impl::RunWave(BulkJob& job) {
  const TimePoint start = job.next_wave_at;
  const size_t wave = std::min(static_cast<size_t>(options_.bulk.parallel_batches),
                               job.batches.size() - job.next_batch);
  TimePoint wave_end = start;
  for (size_t i = 0; i < wave; ++i) {
    if (bulk_batches_.Used(start) >= options_.bulk.daily_batches) {
      return FailJob(job, start,
                     "ExceededQuota : the org's 24-hour Bulk API batch allocation (" +
                         std::to_string(options_.bulk.daily_batches) + ") is used up");
    }
    BulkBatch& b = job.batches[job.next_batch];
    RunBatch(job, b, start);
    wave_end = std::max(wave_end, b.end);
    job.next_batch++;
  }
  job.next_wave_at = wave_end;
}

void Simulator::Impl::RunBatch(BulkJob& job, BulkBatch& batch, TimePoint start) {
  RequestContext saved = std::move(ctx_);
  ctx_ = RequestContext{};
  ctx_.now = start;
  ctx_.wall_ms =
      clock_.WallMillis() -
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now() - start).count();
  ctx_.request_id = job.close_request_id;
  ctx_.bulk_job_id = job.id;

  const CsvTable& t = *job.table;
  ObjectState* obj = job.obj;
  const std::string key_name =
      job.key_field >= 0 ? obj->def.fields[static_cast<size_t>(job.key_field)].name : "Id";
  std::vector<Plan> plans(batch.count);
  std::vector<std::optional<std::string>> keys(batch.count);
  std::unordered_map<std::string_view, int> key_count;
  // One pool for the batch's records; names and values point into the parsed upload, which
  // outlives them (a Document per row would take a 64 KB chunk each).
  rapidjson::MemoryPoolAllocator<> pool;
  std::vector<rapidjson::Value> recs;
  recs.reserve(batch.count);
  for (size_t i = 0; i < batch.count; ++i) {
    const auto& row = t.rows[batch.first + i];
    rapidjson::Value& rec = recs.emplace_back(rapidjson::kObjectType);
    for (size_t c = 0; c < t.header.size(); ++c) {
      const std::string& name = t.header[c];
      const std::string& v = row[c];
      if (v.empty()) continue;  // an empty field leaves the value as it is
      const bool is_id = IEq(name, "Id");
      if (job.operation == "upsert" && IEq(name, key_name)) keys[i] = v;
      if (is_id && job.operation != "insert") {
        if (job.operation == "update") keys[i] = v;
        continue;  // the key, not a field to write (an insert with an Id is refused by the plan)
      }
      rapidjson::Value n(rapidjson::StringRef(name.data(), name.size()));
      rapidjson::Value val;
      if (v == "#N/A") {
        val.SetNull();  // Bulk API's way of writing null
      } else {
        val.SetString(rapidjson::StringRef(v.data(), v.size()));
      }
      rec.AddMember(n, val, pool);
    }
    if (job.operation == "upsert" && keys[i]) key_count[*keys[i]]++;
  }
  for (size_t i = 0; i < batch.count; ++i) {
    Plan& p = plans[i];
    p.obj = obj;
    if (job.operation == "insert") {
      PlanRecord(&p, recs[i], WriteMode::kCreate, -1, std::nullopt);
    } else if (job.operation == "update") {
      const std::optional<std::string>& id = keys[i];
      auto n = id ? ParseRecordNumber(*id, obj->def.key_prefix) : std::nullopt;
      if (!id) {
        p.error = RecordError{"MISSING_ARGUMENT", "Id not specified in an update call", {}};
      } else if (!IsValidRecordId(*id)) {
        p.error =
            RecordError{"MALFORMED_ID", "Id: id value of incorrect type: " + Truncate(*id), {"Id"}};
      } else if (!n || *n == 0 || *n > obj->records.size()) {
        p.error = RecordError{"INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", {}};
      } else {
        p.create = false;
        p.record = static_cast<uint32_t>(*n - 1);
        PlanRecord(&p, recs[i], WriteMode::kUpdate, -1, std::nullopt);
      }
    } else if (keys[i] && key_count[*keys[i]] > 1) {
      p.key_value = *keys[i];
      p.error = RecordError{
          "DUPLICATE_EXTERNAL_ID", "Duplicate external id specified: " + Truncate(*keys[i]), {}};
    } else if (job.key_field == -1 && !keys[i]) {
      PlanRecord(&p, recs[i], WriteMode::kCreate, -1, std::nullopt);  // upsert on Id, no Id
    } else {
      PlanRecord(&p, recs[i], WriteMode::kUpsert, job.key_field, keys[i]);
    }
  }
  CheckConflicts(plans);
  const double per_batch_rate =
      options_.bulk.records_per_second / static_cast<double>(options_.bulk.parallel_batches);
  const Duration work = std::chrono::duration_cast<Duration>(
      std::chrono::duration<double>(static_cast<double>(batch.count) / per_batch_rate));
  const TimePoint end = start + work + ctx_.lock_wait;
  uint64_t failed = 0;
  for (auto& p : plans) {
    if (p.error) {
      failed++;
    } else {
      ctx_.commits.push_back(&p);
    }
  }
  Commit(end);
  for (size_t i = 0; i < batch.count; ++i) {
    const Plan& p = plans[i];
    BulkRowResult& r = job.results[batch.first + i];
    if (p.error) {
      r.ok = false;
      r.error = SfError(*p.error);
      if (job.operation == "update" && keys[i]) r.id = *keys[i];
    } else {
      r.ok = true;
      r.created = p.create;
      r.id = p.record_id;
    }
  }
  records_failed_ += failed;
  bulk_records_processed_ += batch.count;
  bulk_records_failed_ += failed;
  bulk_batches_run_++;
  bulk_batches_.Add(start);
  batch.run = true;
  batch.start = start;
  batch.end = end;
  ctx_ = std::move(saved);
}

}  // namespace sluice::sfsim

#include "sim_salesforce.h"

#include <fmt/format.h>

#include <algorithm>
#include <utility>

namespace sluice::sim {

using salesforce::ErrorClass;
using salesforce::Operation;

namespace {

salesforce::SfError MakeError(ErrorClass c, std::string code, std::string message, int http) {
  salesforce::SfError e;
  e.error_class = c;
  e.code = std::move(code);
  e.message = std::move(message);
  e.http_status = http;
  return e;
}

// The whole call failed: every record carries the error.
void FailAll(salesforce::WriteResult* r, size_t n, const salesforce::SfError& e) {
  r->request_error = e;
  r->http_status = e.http_status;
  r->records.assign(n, salesforce::RecordResult{});
  for (auto& rec : r->records) {
    rec.error = e;
    rec.errors = {e};
  }
}

std::string_view OpName(Operation op) {
  switch (op) {
    case Operation::kUpsert:
      return "upsert";
    case Operation::kCreate:
      return "create";
    case Operation::kPublish:
      return "publish";
    default:
      return "other";
  }
}

}  // namespace

std::string FieldValue(std::string_view fields_json, std::string_view field) {
  const std::string needle = fmt::format("\"{}\":\"", field);
  const size_t at = fields_json.find(needle);
  if (at == std::string_view::npos) return "";
  const size_t start = at + needle.size();
  const size_t end = fields_json.find('"', start);
  if (end == std::string_view::npos) return "";
  return std::string(fields_json.substr(start, end - start));
}

SimOrg::SimOrg(World& world, Facts& facts, const SimOrgOptions& options)
    : world_(world), facts_(facts), options_(options), api_used_(options.api_used) {
  for (const auto& [s, e] : options_.unavailable) {
    facts_.windows.push_back({WindowFact::Kind::kOrg503, s, e});
    world_.Schedule(s, kWorld, [this] { world_.Trace("org: 503 window starts"); });
    world_.Schedule(e, kWorld, [this] { world_.Trace("org: 503 window ends"); });
  }
  for (const auto& [s, e] : options_.auth_failing) {
    facts_.windows.push_back({WindowFact::Kind::kAuth, s, e});
    world_.Schedule(s, kWorld, [this] { world_.Trace("org: credentials refused"); });
    world_.Schedule(e, kWorld, [this] { world_.Trace("org: credentials accepted again"); });
  }
  for (TimePoint t : options_.session_expiry) {
    world_.Schedule(t, kWorld, [this] {
      ++auth_epoch_;
      world_.Trace("org: sessions expire");
    });
  }
  if (options_.budget_reset_at) {
    facts_.windows.push_back({WindowFact::Kind::kBudget, TimePoint{}, *options_.budget_reset_at});
    world_.Schedule(*options_.budget_reset_at, kWorld, [this] {
      api_used_ = 0;
      world_.Trace("org: daily allocation starts afresh");
    });
  }
}

bool SimOrg::InWindow(const std::vector<std::pair<TimePoint, TimePoint>>& windows) const {
  const TimePoint now = world_.Now();
  for (const auto& [s, e] : windows) {
    if (now >= s && now < e) return true;
  }
  return false;
}

std::string SimOrg::NewId(const relay::WriteCall& call) {
  const char* prefix = call.operation == Operation::kPublish ? "e00"
                       : call.sobject == "Contact"           ? "003"
                                                             : "a01";
  return fmt::format("{}{:015d}", prefix, next_record_++);
}

void SimOrg::Write(Owner incarnation, const std::shared_ptr<uint64_t>& token,
                   const relay::WriteCall& call, std::span<const salesforce::RecordInput> records,
                   relay::SalesforcePort::WriteCallback done) {
  const uint64_t index = facts_.calls.size();
  CallFact fact;
  fact.id = index + 1;
  fact.incarnation = incarnation;
  fact.slot = facts_.slots.count(incarnation) ? facts_.slots.at(incarnation) : -1;
  fact.start = world_.Now();
  fact.operation = call.operation;
  fact.sobject = call.sobject;
  std::vector<Input> inputs;
  inputs.reserve(records.size());
  const auto lock_field = options_.parent_lock_fields.find(call.sobject);
  for (const auto& r : records) {
    inputs.push_back({std::string(r.fields_json), std::string(r.external_id)});
    fact.records.push_back({FieldValue(r.fields_json, kEventIdField), ErrorClass::kNone, ""});
    if (lock_field != options_.parent_lock_fields.end()) {
      std::string parent = FieldValue(r.fields_json, lock_field->second);
      if (!parent.empty()) fact.parents.push_back(std::move(parent));
    }
  }
  std::sort(fact.parents.begin(), fact.parents.end());
  fact.parents.erase(std::unique(fact.parents.begin(), fact.parents.end()), fact.parents.end());
  const std::vector<std::string> parents = fact.parents;
  std::string which;
  for (size_t i = 0; i < records.size() && i < 6; ++i) {
    which += fmt::format(" {}:{}", FieldValue(records[i].fields_json, kKeyField),
                         fact.records[i].event_id.substr(0, 8));
  }
  if (records.size() > 6) which += " ...";
  facts_.calls.push_back(std::move(fact));
  world_.Trace(fmt::format("call {} from {}: {} {} x{}{}", index + 1, incarnation,
                           OpName(call.operation), call.sobject, records.size(), which));

  const TimePoint now = world_.Now();
  auto latency = world_.UniformDuration(options_.latency_min, options_.latency_max);
  if (world_.Chance(options_.slow_probability)) {
    latency = Clock::Duration(
        static_cast<int64_t>(static_cast<double>(latency.count()) * options_.slow_factor));
  }
  auto result = std::make_shared<salesforce::WriteResult>();
  result->attempts = 1;
  const size_t n = inputs.size();
  auto refuse = [&](ErrorClass c, std::string code, std::string message, int http) {
    FailAll(result.get(), n, MakeError(c, std::move(code), std::move(message), http));
    AnswerWith(index, incarnation, now + latency / 4, result, std::move(done));
  };
  if (AuthFailing()) {
    return refuse(ErrorClass::kAuth, "INVALID_SESSION_ID", "Session expired or invalid", 401);
  }
  if (*token != auth_epoch_) {
    // No token, or an expired one: a 401, a token request and the same call again.
    *token = auth_epoch_;
    result->attempts = 2;
    latency += options_.latency_max;
  }
  if (Unavailable()) {
    if (world_.Chance(0.5)) {
      return refuse(ErrorClass::kRetryableOrg, "SERVER_UNAVAILABLE", "Server too busy", 503);
    }
    return refuse(ErrorClass::kRetryableOrg, "HTTP_503", "<html>Maintenance</html>", 503);
  }
  if (api_used_ >= options_.api_max) {
    return refuse(ErrorClass::kBudgetExhausted, "REQUEST_LIMIT_EXCEEDED",
                  "TotalRequests Limit exceeded.", 403);
  }
  ++api_used_;
  if (options_.concurrent_limit > 0 && in_progress_ >= options_.concurrent_limit) {
    return refuse(ErrorClass::kRetryableOrg, "REQUEST_LIMIT_EXCEEDED",
                  "ConcurrentRequests (Concurrent API Requests) Limit exceeded.", 403);
  }
  ++in_progress_;
  // The transaction takes its parents' locks; one already held by another transaction is
  // contended (the real org waits out its lock timeout, then refuses those records).
  std::vector<std::string> contended;
  for (const auto& p : parents) {
    if (parent_locks_[p]++ > 0) contended.push_back(p);
  }
  const bool timeout = world_.Chance(options_.timeout_probability);
  const TimePoint land_at = now + latency * 8 / 10;
  world_.Schedule(land_at, kWorld,
                  [this, index, call, inputs = std::move(inputs), result, timeout, parents,
                   contended = std::move(contended)] {
                    Land(index, call, inputs, contended, result.get());
                    for (const auto& p : parents) {
                      if (--parent_locks_[p] == 0) parent_locks_.erase(p);
                    }
                    if (timeout) --in_progress_;
                  });
  if (timeout) {
    facts_.calls[index].answer_lost = true;
    auto lost = std::make_shared<salesforce::WriteResult>();
    lost->attempts = 1;
    FailAll(lost.get(), n,
            MakeError(ErrorClass::kRetryableOrg, "TRANSPORT_TIMEOUT",
                      "request timed out (the write may have landed)", 0));
    AnswerWith(index, incarnation, now + options_.timeout_after, lost, std::move(done));
    return;
  }
  world_.Schedule(now + latency, kWorld, [this] { --in_progress_; });
  AnswerWith(index, incarnation, now + latency, result, std::move(done));
}

void SimOrg::Land(uint64_t call_index, const relay::WriteCall& call,
                  const std::vector<Input>& records, const std::vector<std::string>& contended,
                  salesforce::WriteResult* result) {
  CallFact& fact = facts_.calls[call_index];
  const auto lock_field = options_.parent_lock_fields.find(call.sobject);
  result->http_status = 200;
  result->records.assign(records.size(), salesforce::RecordResult{});
  std::map<std::string, int> ext_count;
  if (call.operation == Operation::kUpsert) {
    for (const auto& r : records) ext_count[r.external_id]++;
  }
  int landed = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    const Input& in = records[i];
    salesforce::RecordResult& out = result->records[i];
    auto fail = [&](ErrorClass c, std::string code, std::string message) {
      out.success = false;
      out.error = MakeError(c, std::move(code), std::move(message), 200);
      out.errors = {out.error};
    };
    if (call.operation == Operation::kUpsert && ext_count[in.external_id] > 1) {
      // Not in errors.h's table: unknown codes default to kRetryableRecord.
      fail(ErrorClass::kRetryableRecord, "DUPLICATE_EXTERNAL_ID",
           "Duplicate external id specified: " + in.external_id);
      continue;
    }
    if (in.fields.find(fmt::format("\"{}\":true", kPoisonField)) != std::string::npos) {
      fail(ErrorClass::kPermanent, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
           "Simulated validation rule refuses this record");
      continue;
    }
    if (!contended.empty() && lock_field != options_.parent_lock_fields.end() &&
        std::binary_search(contended.begin(), contended.end(),
                           FieldValue(in.fields, lock_field->second))) {
      ++facts_.parent_lock_errors;
      fail(ErrorClass::kRetryableRecord, "UNABLE_TO_LOCK_ROW",
           "unable to obtain exclusive access to this record or 1 records: parent locked");
      continue;
    }
    if (world_.Chance(options_.lock_probability)) {
      fail(ErrorClass::kRetryableRecord, "UNABLE_TO_LOCK_ROW",
           "unable to obtain exclusive access to this record");
      continue;
    }
    LedgerEntry e;
    e.seq = next_ledger_++;
    e.at = world_.Now();
    e.incarnation = fact.incarnation;
    e.slot = fact.slot;
    e.call_id = fact.id;
    e.event_id = FieldValue(in.fields, kEventIdField);
    e.key = FieldValue(in.fields, kKeyField);
    e.operation = call.operation;
    e.sobject = call.sobject;
    if (call.operation == Operation::kUpsert) {
      e.external_id_field = call.external_id_field;
      e.external_id = in.external_id;
      auto [it, inserted] =
          external_ids_.try_emplace({call.sobject, call.external_id_field, in.external_id}, "");
      if (inserted) it->second = NewId(call);
      e.record_id = it->second;
      e.created = inserted;
    } else {
      e.record_id = NewId(call);
      e.created = true;
    }
    out.success = true;
    out.id = e.record_id;
    out.created = e.created;
    facts_.ledger.push_back(std::move(e));
    ++landed;
  }
  world_.Trace(fmt::format("call {} lands {}/{}", fact.id, landed, records.size()));
}

void SimOrg::AnswerWith(uint64_t call_index, Owner incarnation, TimePoint at,
                        std::shared_ptr<salesforce::WriteResult> result,
                        relay::SalesforcePort::WriteCallback done) {
  world_.Schedule(at, incarnation, [this, call_index, result, done = std::move(done)] {
    result->limit_info = limit_info();
    CallFact& f = facts_.calls[call_index];
    f.end = world_.Now();
    f.answered = true;
    if (result->request_error) f.request_error = result->request_error->error_class;
    for (size_t i = 0; i < f.records.size() && i < result->records.size(); ++i) {
      f.records[i].error_class = result->records[i].error.error_class;
      f.records[i].code = result->records[i].error.code;
    }
    std::string outcome;
    if (result->request_error) {
      outcome = result->request_error->code;
    } else {
      int ok = 0;
      for (const auto& r : result->records) {
        if (r.success) {
          ++ok;
        } else {
          outcome += " " + r.error.code;
        }
      }
      outcome = fmt::format("{} ok{}", ok, outcome);
    }
    world_.Trace(fmt::format("call {} answered: {}", f.id, outcome));
    if (done) done(std::move(*result));
  });
}

void SimOrg::OnCrash(Owner incarnation) {
  for (auto& f : facts_.calls) {
    if (f.incarnation == incarnation && !f.end) f.end = world_.Now();
  }
}

SimSalesforce::SimSalesforce(World& world, SimOrg& org, Owner incarnation)
    : world_(world), org_(org), incarnation_(incarnation) {}

void SimSalesforce::Write(const relay::WriteCall& call,
                          std::span<const salesforce::RecordInput> records, WriteCallback done) {
  org_.Write(incarnation_, token_, call, records, std::move(done));
}

void SimSalesforce::GetLimits(LimitsCallback done) {
  const auto latency =
      world_.UniformDuration(org_.options().latency_min, org_.options().latency_max);
  world_.Schedule(
      world_.Now() + latency, incarnation_,
      [&world = world_, &org = org_, token = token_, done = std::move(done)] {
        salesforce::LimitsResult r;
        if (org.Unavailable()) {
          r.request_error =
              MakeError(ErrorClass::kRetryableOrg, "SERVER_UNAVAILABLE", "Server too busy", 503);
          r.http_status = 503;
        } else if (org.AuthFailing()) {
          r.request_error =
              MakeError(ErrorClass::kAuth, "INVALID_SESSION_ID", "Session expired or invalid", 401);
          r.http_status = 401;
        } else {
          *token = org.auth_epoch();  // refreshed when it had expired
          const auto info = org.limit_info();
          r.limits["DailyApiRequests"] = {info.api_max,
                                          std::max<int64_t>(0, info.api_max - info.api_used)};
          r.http_status = 200;
          r.limit_info = info;
        }
        world.Trace(fmt::format(
            "limits answered: {}",
            r.request_error ? r.request_error->code
                            : fmt::format("used {}/{}", org.api_used(), org.options().api_max)));
        if (done) done(std::move(r));
      });
}

void SimSalesforce::Authenticate(AuthCallback done) {
  const auto latency =
      world_.UniformDuration(org_.options().latency_min, org_.options().latency_max);
  world_.Schedule(world_.Now() + latency, incarnation_,
                  [&world = world_, &org = org_, token = token_, done = std::move(done)] {
                    if (org.AuthFailing()) {
                      world.Trace("auth refused");
                      if (done) done(UnauthenticatedError("invalid_client: credentials refused"));
                      return;
                    }
                    *token = org.auth_epoch();
                    world.Trace("auth ok");
                    if (done) done(Status::Ok());
                  });
}

}  // namespace sluice::sim

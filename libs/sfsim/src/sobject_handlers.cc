// The sObject and collections write endpoints.
#include <openssl/hmac.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "simulator_impl.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {

// POST /sobjects/{S}/: one record.
http::ServerResponse Simulator::Impl::CreateOne(http::ServerRequest& req, ObjectState* obj,
                                                double v) {
  if (auto error = PlanOne(req, obj, WriteMode::kCreate, -1, std::nullopt)) return *error;
  Plan& p = plans_[0];
  CheckConflicts(plans_);
  if (p.error) {
    records_failed_++;
    return Json(400, ErrorArray({*p.error}));
  }
  ctx_.commits.push_back(&p);
  // The id is known only at commit; commit now (the lock end is set again below).
  return Deferred([this, obj, v]() {
    Plan& q = plans_[0];
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("id");
    w.String(q.record_id.c_str());
    w.Key("success");
    w.Bool(true);
    w.Key("errors");
    w.StartArray();
    if (obj->def.platform_event && v >= kOperationEnqueuedMinVersion) WriteEnqueued(w);
    w.EndArray();
    w.EndObject();
    return Json(201, std::string(buf.GetString(), buf.GetSize()));
  });
}

void Simulator::Impl::WriteEnqueued(Writer& w) {
  std::string uuid = Uuid();
  w.StartObject();
  w.Key("statusCode");
  w.String("OPERATION_ENQUEUED");
  w.Key("message");
  w.String(uuid.c_str());
  w.Key("fields");
  w.StartArray();
  w.EndArray();
  w.EndObject();
}

std::string Simulator::Impl::Uuid() {
  uint64_t a = rng_(), b = rng_();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char out[37];
  std::snprintf(out, sizeof(out), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return out;
}

int Simulator::Impl::KeyFieldIndex(ObjectState* obj, const std::string& field) {
  if (obj->def.platform_event) return kNoKeyField;
  if (IEq(field, "Id")) return -1;
  const int fi = obj->FieldIndex(field);
  return fi >= 0 && obj->def.fields[static_cast<size_t>(fi)].external_id ? fi : kNoKeyField;
}

http::ServerResponse Simulator::Impl::UnknownKeyField(const std::string& field) {
  return ApiError(404, "NOT_FOUND",
                  "Provided external ID field does not exist or is not accessible: " + field);
}

// PATCH /sobjects/{S}/{Field}/{value}.
http::ServerResponse Simulator::Impl::UpsertOne(http::ServerRequest& req, ObjectState* obj,
                                                const std::string& field, const std::string& value,
                                                double v) {
  const int key_field = KeyFieldIndex(obj, field);
  if (key_field == kNoKeyField) return UnknownKeyField(field);
  if (auto error = PlanOne(req, obj, WriteMode::kUpsert, key_field, value)) return *error;
  Plan& p = plans_[0];
  if (p.error && p.error->code == "MULTIPLE_RECORDS_FOUND") {
    records_failed_++;
    // 300 with the matching records' URLs.
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    int slot = obj->slot_of_field[static_cast<size_t>(key_field)];
    for (uint32_t r : obj->Lookup(slot, value)) {
      std::string url = "/services/data/v" + VersionText(v) + "/sobjects/" + obj->def.name + "/" +
                        RecordId(*obj, r);
      w.String(url.c_str());
    }
    w.EndArray();
    return Json(300, std::string(buf.GetString(), buf.GetSize()));
  }
  if (p.error && p.error->code == "NOT_FOUND") {
    records_failed_++;
    return NotFound();
  }
  CheckConflicts(plans_);
  if (p.error) {
    records_failed_++;
    return Json(400, ErrorArray({*p.error}));
  }
  ctx_.commits.push_back(&p);
  return Deferred([this, v]() {
    Plan& q = plans_[0];
    if (!q.create && v < kUpsertCreatedFlagMinVersion) {
      http::ServerResponse r;
      r.status = 204;
      return r;
    }
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    w.Key("id");
    w.String(q.record_id.c_str());
    w.Key("success");
    w.Bool(true);
    w.Key("errors");
    w.StartArray();
    w.EndArray();
    w.Key("created");
    w.Bool(q.create);
    w.EndObject();
    return Json(q.create ? 201 : 200, std::string(buf.GetString(), buf.GetSize()));
  });
}

// PATCH /sobjects/{S}/{id}: update by id, 204.
http::ServerResponse Simulator::Impl::UpdateById(http::ServerRequest& req, ObjectState* obj,
                                                 const std::string& id) {
  if (obj->def.platform_event) return NotFound();
  if (!IsValidRecordId(id)) {
    return ApiError(400, "MALFORMED_ID",
                    obj->def.name + " ID: id value of incorrect type: " + Truncate(id), {"Id"});
  }
  auto n = ParseRecordNumber(id, obj->def.key_prefix);
  if (!n || *n == 0 || *n > obj->records.size()) return NotFound();
  const auto record = static_cast<uint32_t>(*n - 1);
  if (auto error = PlanOne(req, obj, WriteMode::kUpdate, -1, std::nullopt, [&](Plan& q) {
        q.create = false;
        q.record = record;
      })) {
    return *error;
  }
  Plan& p = plans_[0];
  CheckConflicts(plans_);
  if (p.error) {
    records_failed_++;
    return Json(400, ErrorArray({*p.error}));
  }
  ctx_.commits.push_back(&p);
  http::ServerResponse ok;
  ok.status = 204;
  return ok;
}

// POST /composite/sobjects (obj == nullptr) and PATCH /composite/sobjects/{S}/{Field}.
http::ServerResponse Simulator::Impl::Collection(http::ServerRequest& req, ObjectState* upsert_obj,
                                                 const std::string& field, double v) {
  int key_field = kNoKeyField;
  if (upsert_obj) {
    key_field = KeyFieldIndex(upsert_obj, field);
    if (key_field == kNoKeyField) return UnknownKeyField(field);
  }
  rapidjson::Document doc;
  http::ServerResponse res;
  if (!ParseBody(req.body, &doc, &res)) return res;
  if (!doc.IsObject()) {
    return ApiError(400, "JSON_PARSER_ERROR",
                    "Cannot deserialize instance of SObjectCollectionRequest from a non-object");
  }
  bool all_or_none = false;
  auto aon = doc.FindMember("allOrNone");
  if (aon != doc.MemberEnd()) {
    if (!aon->value.IsBool()) {
      return ApiError(400, "JSON_PARSER_ERROR", "allOrNone must be true or false");
    }
    all_or_none = aon->value.GetBool();
  }
  auto recs = doc.FindMember("records");
  if (recs == doc.MemberEnd() || !recs->value.IsArray()) {
    return ApiError(400, "JSON_PARSER_ERROR", "records must be an array of records");
  }
  const auto& arr = recs->value.GetArray();
  if (arr.Size() > static_cast<unsigned>(options_.limits.max_collection_records)) {
    return ApiError(400, "EXCEEDED_ID_LIMIT",
                    "record limit reached. cannot submit more than " +
                        std::to_string(options_.limits.max_collection_records) +
                        " records into this call");
  }
  // Types: every record names a known type; upserts all name the path's type; creates use at
  // most 10 chunks (runs of one type).
  int chunks = 0;
  const ObjectState* prev = nullptr;
  std::vector<ObjectState*> types;
  types.reserve(arr.Size());
  for (const auto& r : arr) {
    if (!r.IsObject()) {
      return ApiError(400, "JSON_PARSER_ERROR", "each record must be a JSON object");
    }
    auto attrs = r.FindMember("attributes");
    const Value* type = nullptr;
    if (attrs != r.MemberEnd() && attrs->value.IsObject()) {
      auto t = attrs->value.FindMember("type");
      if (t != attrs->value.MemberEnd() && t->value.IsString()) type = &t->value;
    }
    if (!type) {
      return ApiError(400, "INVALID_TYPE", "Must send a concrete entity type.");
    }
    ObjectState* obj = FindObject(Str(*type));
    if (!obj) {
      return ApiError(400, "INVALID_TYPE",
                      "sObject type '" + Truncate(Str(*type)) + "' is not supported.");
    }
    if (upsert_obj && obj != upsert_obj) {
      return ApiError(400, "INVALID_TYPE",
                      "Record type " + obj->def.name + " does not match the URL's sObject " +
                          upsert_obj->def.name);
    }
    if (obj != prev) ++chunks;
    prev = obj;
    types.push_back(obj);
  }
  if (chunks > kMaxCollectionChunks) {
    return ApiError(400, "INVALID_OPERATION",
                    "Cannot have more than 10 chunks in a single operation. Please rearrange "
                    "the data to reduce chunking.");
  }
  ctx_.records = static_cast<int>(arr.Size());
  plans_.assign(arr.Size(), Plan{});
  // Upsert keys repeated inside one request fail on every record that repeats them.
  std::unordered_map<std::string_view, int> key_count;
  std::vector<std::optional<std::string>> keys(arr.Size());
  if (upsert_obj) {
    const std::string key_name = key_field >= 0
                                     ? upsert_obj->def.fields[static_cast<size_t>(key_field)].name
                                     : std::string("Id");
    for (unsigned i = 0; i < arr.Size(); ++i) {
      const Value& r = arr[i];
      for (const auto& m : r.GetObject()) {
        if (IEq(Str(m.name), key_name) && !m.value.IsNull() && !m.value.IsObject() &&
            !m.value.IsArray()) {
          keys[i] = ValueText(m.value);
          break;
        }
      }
    }
    for (const auto& k : keys) {
      if (k && !k->empty()) key_count[*k]++;
    }
  }
  for (unsigned i = 0; i < arr.Size(); ++i) {
    Plan& p = plans_[i];
    p.obj = types[i];
    if (upsert_obj) {
      if (keys[i] && !keys[i]->empty() && key_count[*keys[i]] > 1) {
        p.key_value = *keys[i];
        p.error = RecordError{
            "DUPLICATE_EXTERNAL_ID", "Duplicate external id specified: " + Truncate(*keys[i]), {}};
        continue;
      }
      if (key_field == -1 && !keys[i]) {
        PlanRecord(&p, arr[i], WriteMode::kCreate, -1, std::nullopt);  // no Id: a create
      } else {
        PlanRecord(&p, arr[i], WriteMode::kUpsert, key_field, keys[i]);
      }
    } else {
      PlanRecord(&p, arr[i], WriteMode::kCreate, -1, std::nullopt);
    }
  }
  CheckConflicts(plans_);
  bool any_error =
      std::any_of(plans_.begin(), plans_.end(), [](const Plan& p) { return p.error.has_value(); });
  bool rolled_back = all_or_none && any_error;
  for (auto& p : plans_) {
    if (p.error) {
      records_failed_++;
    } else if (!rolled_back) {
      ctx_.commits.push_back(&p);
    }
  }
  bool upsert = upsert_obj != nullptr;
  return Deferred([this, rolled_back, upsert, v]() {
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartArray();
    for (auto& p : plans_) {
      w.StartObject();
      if (p.error || rolled_back) {
        w.Key("success");
        w.Bool(false);
        w.Key("errors");
        w.StartArray();
        w.StartObject();
        RecordError e = p.error ? *p.error
                                : RecordError{"ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                              "Record rolled back because not all records "
                                              "were valid and the request was using AllOrNone "
                                              "header",
                                              {}};
        w.Key("statusCode");
        w.String(e.code.c_str());
        w.Key("message");
        w.String(e.message.data(), static_cast<rapidjson::SizeType>(e.message.size()));
        WriteFields(w, e.fields);
        w.EndObject();
        w.EndArray();
      } else {
        w.Key("id");
        w.String(p.record_id.c_str());
        w.Key("success");
        w.Bool(true);
        w.Key("errors");
        w.StartArray();
        if (p.obj->def.platform_event && v >= kOperationEnqueuedMinVersion) WriteEnqueued(w);
        w.EndArray();
        if (upsert) {
          w.Key("created");
          w.Bool(p.create);
        }
      }
      w.EndObject();
    }
    w.EndArray();
    return Json(200, std::string(buf.GetString(), buf.GetSize()));
  });
}

// A response that can only be written once the commit has assigned ids: Handle() commits, then
// calls the builder.
http::ServerResponse Simulator::Impl::Deferred(std::function<http::ServerResponse()> build) {
  deferred_ = std::move(build);
  ctx_.applied = true;
  http::ServerResponse placeholder;
  placeholder.status = -1;
  return placeholder;
}

// Completes a deferred response after Commit (called by Handle).
void Simulator::Impl::FinishDeferred(http::ServerResponse* res) {
  if (res->status != -1 || !deferred_) return;
  auto headers = std::move(res->headers);
  *res = deferred_();
  for (const auto& [k, v] : headers.fields()) res->headers.Add(k, v);
  deferred_ = nullptr;
}

}  // namespace sluice::sfsim

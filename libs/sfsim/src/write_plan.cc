// Planning writes: field validation, unique values, record locks, and the commit to the store
// and ledger.
#include <openssl/hmac.h>
#include <rapidjson/error/en.h>

#include <algorithm>
#include <cstring>

#include "simulator_impl.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/sfsim/record_id.h"

namespace sluice::sfsim {

// Parses `body` in place; on failure fills `res` with Salesforce's JSON_PARSER_ERROR.
bool Simulator::Impl::ParseBody(std::string& body, rapidjson::Document* doc,
                                http::ServerResponse* res) {
  if (body.empty()) {
    *res = ApiError(400, "JSON_PARSER_ERROR",
                    "The HTTP entity body is required, but this request has no entity body.");
    return false;
  }
  doc->ParseInsitu<kParseFlags>(body.data());
  if (doc->HasParseError()) {
    *res = ApiError(400, "JSON_PARSER_ERROR",
                    std::string(rapidjson::GetParseError_En(doc->GetParseError())) +
                        " at [line:1, column:" + std::to_string(doc->GetErrorOffset() + 1) + "]");
    return false;
  }
  return true;
}

// Validates one record's fields and works out what writing it would do. `key_field` (a field
// index, or -1 for "Id") and `key_value` are the upsert key; for kCreate they are unused.
void Simulator::Impl::PlanRecord(Plan* p, const Value& rec, WriteMode mode, int key_field,
                                 const std::optional<std::string>& key_value) {
  ObjectState& obj = *p->obj;
  const ObjectDef& def = obj.def;
  std::vector<bool> seen(def.fields.size(), false);
  std::vector<std::string> missing;
  for (const auto& m : rec.GetObject()) {
    std::string_view name = Str(m.name);
    if (name == "attributes") continue;
    if (IEq(name, "Id")) {
      if (mode == WriteMode::kCreate || mode == WriteMode::kUpdate || key_field >= 0) {
        p->error = RecordError{"INVALID_FIELD_FOR_INSERT_UPDATE",
                               "Unable to create/update fields: Id. Please check the security "
                               "settings of this field and verify that it is read/write for "
                               "your profile or permission set.",
                               {"Id"}};
        return;
      }
      continue;  // upsert on Id: the key, handled below
    }
    int fi = obj.FieldIndex(name);
    if (fi < 0) {
      p->error =
          RecordError{"INVALID_FIELD",
                      "No such column '" + std::string(name) + "' on sobject of type " + def.name,
                      {}};
      return;
    }
    const FieldDef& f = def.fields[static_cast<size_t>(fi)];
    seen[static_cast<size_t>(fi)] = true;
    const Value& v = m.value;
    bool is_null = v.IsNull() || (v.IsString() && v.GetStringLength() == 0);
    if (is_null) {
      if (f.required) missing.push_back(f.name);
      if (obj.slot_of_field[static_cast<size_t>(fi)] >= 0) {
        p->keys.emplace_back(obj.slot_of_field[static_cast<size_t>(fi)], "");
      }
      continue;
    }
    if (auto e = CheckValue(f, v)) {
      p->error = std::move(e);
      return;
    }
    if (f.name == options_.ledger.event_id_field) p->event_id = ValueText(v);
    int slot = obj.slot_of_field[static_cast<size_t>(fi)];
    if (slot >= 0) p->keys.emplace_back(slot, ValueText(v));
  }
  // The upsert key.
  if (mode == WriteMode::kUpsert) {
    if (!key_value || key_value->empty()) {
      std::string kf = key_field >= 0 ? def.fields[static_cast<size_t>(key_field)].name : "Id";
      p->error = RecordError{"MISSING_ARGUMENT", kf + " not specified", {}};
      return;
    }
    p->key_value = *key_value;
    if (key_field < 0) {
      auto n = ParseRecordNumber(*key_value, def.key_prefix);
      if (!IsValidRecordId(*key_value)) {
        p->error = RecordError{
            "MALFORMED_ID", "Id: id value of incorrect type: " + Truncate(*key_value), {"Id"}};
        return;
      }
      if (!n || *n == 0 || *n > obj.records.size()) {
        p->error = RecordError{"NOT_FOUND", "The requested resource does not exist", {}};
        return;
      }
      p->create = false;
      p->record = static_cast<uint32_t>(*n - 1);
    } else {
      int slot = obj.slot_of_field[static_cast<size_t>(key_field)];
      // The key value wins over a same-named body field.
      p->keys.erase(std::remove_if(p->keys.begin(), p->keys.end(),
                                   [&](const auto& k) { return k.first == slot; }),
                    p->keys.end());
      p->keys.emplace_back(slot, *key_value);
      seen[static_cast<size_t>(key_field)] = true;
      auto matches = obj.Lookup(slot, *key_value);
      if (matches.size() > 1) {
        std::string ids;
        for (auto r : matches) {
          if (!ids.empty()) ids += ", ";
          ids += RecordId(obj, r);
        }
        p->error = RecordError{"MULTIPLE_RECORDS_FOUND",
                               "More than 1 record found for external id field: [" + ids + "]",
                               {}};
        return;
      }
      p->create = matches.empty();
      if (!matches.empty()) p->record = matches[0];
    }
  } else if (mode == WriteMode::kUpdate) {
    p->create = false;
  }
  if (p->create) {
    for (size_t i = 0; i < def.fields.size(); ++i) {
      if (def.fields[i].required && !seen[i]) missing.push_back(def.fields[i].name);
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& f : missing) list += (list.empty() ? "" : ", ") + f;
    p->error = RecordError{"REQUIRED_FIELD_MISSING", "Required fields are missing: [" + list + "]",
                           missing};
    return;
  }
  PlanParents(p, rec);
}

void Simulator::Impl::PlanParents(Plan* p, const Value& rec) {
  const ObjectState& obj = *p->obj;
  for (int fi : obj.parent_lock_fields) {
    const std::string& name = obj.def.fields[static_cast<size_t>(fi)].name;
    for (const auto& m : rec.GetObject()) {
      if (!IEq(Str(m.name), name) || !m.value.IsString()) continue;
      const std::string id(Str(m.value));
      auto owner = objects_by_prefix_.find(id.substr(0, 3));
      if (owner == objects_by_prefix_.end() || owner->second->def.platform_event) break;
      ObjectState* parent = owner->second;
      auto n = ParseRecordNumber(id, parent->def.key_prefix);
      // A parent the org does not hold locks nothing (sfsim does not check references).
      if (!n || *n == 0 || *n > parent->records.size()) break;
      const auto r = static_cast<uint32_t>(*n - 1);
      const std::pair<ObjectState*, uint32_t> key{parent, r};
      if (std::find(p->parents.begin(), p->parents.end(), key) == p->parents.end()) {
        p->parents.push_back(key);
      }
      break;
    }
  }
}

std::optional<RecordError> Simulator::Impl::CheckValue(const FieldDef& f, const Value& v) {
  auto wrong_type = [&]() {
    return RecordError{"INVALID_TYPE_ON_FIELD_IN_RECORD",
                       f.name + ": value not of required type: " + Truncate(ValueText(v)),
                       {f.name}};
  };
  if (v.IsObject() || v.IsArray()) return wrong_type();
  switch (f.type) {
    case FieldType::kString: {
      if (v.IsString()) {
        std::string_view s = Str(v);
        if (Utf8Length(s) > static_cast<size_t>(f.length)) {
          return RecordError{"STRING_TOO_LONG",
                             f.name + ": data value too large: " + Truncate(s) +
                                 " (max length=" + std::to_string(f.length) + ")",
                             {f.name}};
        }
      }
      return std::nullopt;
    }
    case FieldType::kBoolean:
      if (v.IsBool()) return std::nullopt;
      if (v.IsString() && (IEq(Str(v), "true") || IEq(Str(v), "false"))) return std::nullopt;
      return wrong_type();
    case FieldType::kInt:
      if (v.IsInt64() || v.IsUint64()) return std::nullopt;
      if (v.IsDouble() && std::floor(v.GetDouble()) == v.GetDouble()) return std::nullopt;
      if (v.IsString() && ParseIntText(Str(v))) return std::nullopt;
      return wrong_type();
    case FieldType::kDouble:
      if (v.IsNumber()) return std::nullopt;
      if (v.IsString() && ParseDoubleText(Str(v))) return std::nullopt;
      return wrong_type();
    case FieldType::kDate:
      if (v.IsString() && Str(v).size() == 10 && ValidDate(Str(v))) return std::nullopt;
      return wrong_type();
    case FieldType::kDateTime:
      if (v.IsString() && ValidDateTime(Str(v))) return std::nullopt;
      return wrong_type();
    case FieldType::kReference:
      if (v.IsString() && IsValidRecordId(Str(v))) return std::nullopt;
      return RecordError{"MALFORMED_ID",
                         f.name + ": id value of incorrect type: " + Truncate(ValueText(v)),
                         {f.name}};
  }
  return std::nullopt;
}

// Unique values, lock waits and lock faults, checked in request order against the store and
// against earlier records of the same request.
void Simulator::Impl::CheckConflicts(std::vector<Plan>& plans) {
  std::unordered_set<std::string> claimed;  // "slot\x1fvalue" claimed by earlier records
  for (auto& p : plans) {
    if (p.error) continue;
    ObjectState& obj = *p.obj;
    for (const auto& [slot, value] : p.keys) {
      if (value.empty()) continue;
      const FieldDef& f = obj.def.fields[static_cast<size_t>(obj.field_of_slot[slot])];
      if (!f.unique && !f.external_id) continue;
      if (!f.unique) continue;  // external ids that are not unique may repeat
      std::string claim = obj.def.name + '\x1f' + std::to_string(slot) + '\x1f' + value;
      bool taken_here = claimed.count(claim) > 0;
      uint32_t other = 0;
      bool taken_store = false;
      for (uint32_t r : obj.Lookup(slot, value)) {
        if (p.create || r != p.record) {
          taken_store = true;
          other = r;
          break;
        }
      }
      if (taken_here || taken_store) {
        std::string who = taken_store ? RecordId(obj, other) : "(a record in this request)";
        p.error = RecordError{
            "DUPLICATE_VALUE",
            "duplicate value found: " + f.name + " duplicates value on record with id: " + who,
            {f.name}};
        break;
      }
    }
    if (p.error) continue;
    for (const auto& [slot, value] : p.keys) {
      if (!value.empty()) {
        claimed.insert(obj.def.name + '\x1f' + std::to_string(slot) + '\x1f' + value);
      }
    }
    // Record locks: a write overlapping an earlier one on the same record waits for it.
    if (!p.create) {
      const RecordState& rs = obj.records[p.record];
      if (rs.locked_until > ctx_.now) {
        Duration wait = rs.locked_until - ctx_.now;
        Duration timeout = options_.limits.lock_timeout;
        if (wait > timeout) {
          ctx_.lock_wait = std::max(ctx_.lock_wait, timeout);
          p.error = LockError(obj, p.record);
          locks_timed_out_++;
          continue;
        }
        ctx_.lock_wait = std::max(ctx_.lock_wait, wait);
        locks_waited_++;
      }
    }
    // Parent locks: a child write also locks the parents of its locking lookups.
    bool parent_timed_out = false;
    for (const auto& [pobj, prec] : p.parents) {
      const RecordState& ps = pobj->records[prec];
      if (ps.locked_until <= ctx_.now) continue;
      const Duration wait = ps.locked_until - ctx_.now;
      const Duration timeout = options_.limits.lock_timeout;
      if (wait > timeout) {
        ctx_.lock_wait = std::max(ctx_.lock_wait, timeout);
        p.error = LockError(*pobj, prec);
        locks_timed_out_++;
        parent_lock_timeouts_++;
        parent_timed_out = true;
        break;
      }
      ctx_.lock_wait = std::max(ctx_.lock_wait, wait);
      locks_waited_++;
      parent_lock_waits_++;
    }
    if (parent_timed_out) continue;
    if (LockFault()) {
      faults_lock_rows_++;
      p.error = LockError(obj, p.create ? UINT32_MAX : p.record);
    }
  }
}

RecordError Simulator::Impl::LockError(const ObjectState& obj, uint32_t record) {
  std::string id = record == UINT32_MAX ? MakeRecordId(obj.def.key_prefix, obj.records.size() + 1)
                                        : RecordId(obj, record);
  return RecordError{"UNABLE_TO_LOCK_ROW",
                     "unable to obtain exclusive access to this record or 1 records: " + id,
                     {}};
}

std::string Simulator::Impl::RecordId(const ObjectState& obj, uint32_t record) {
  return MakeRecordId(obj.def.key_prefix, static_cast<uint64_t>(record) + 1);
}

// Applies the successful plans; their records stay locked until `end`.
void Simulator::Impl::Commit(TimePoint end) {
  for (Plan* p : ctx_.commits) {
    ObjectState& obj = *p->obj;
    bool created = p->create;
    if (obj.def.platform_event) {
      obj.events_published++;
      p->record_id = MakeRecordId(obj.def.key_prefix, obj.events_published);
    } else if (created) {
      RecordState rs;
      rs.locked_until = end;
      rs.writes = 1;
      rs.keys.assign(obj.field_of_slot.size(), std::string());
      uint32_t r = static_cast<uint32_t>(obj.records.size());
      for (auto& [slot, value] : p->keys) {
        if (value.empty()) continue;
        obj.index[static_cast<size_t>(slot)].emplace(KeyHash(value), r);
        rs.keys[static_cast<size_t>(slot)] = value;
      }
      obj.records.push_back(std::move(rs));
      p->record = r;
      p->record_id = RecordId(obj, r);
    } else {
      RecordState& rs = obj.records[p->record];
      for (auto& [slot, value] : p->keys) {
        std::string& old = rs.keys[static_cast<size_t>(slot)];
        if (old == value) continue;
        auto& idx = obj.index[static_cast<size_t>(slot)];
        if (!old.empty()) {
          auto [b, e] = idx.equal_range(KeyHash(old));
          for (auto it = b; it != e; ++it) {
            if (it->second == p->record) {
              idx.erase(it);
              break;
            }
          }
        }
        if (!value.empty()) idx.emplace(KeyHash(value), p->record);
        old = value;
      }
      rs.writes++;
      if (rs.writes == 2) duplicate_keys_++;
      duplicate_writes_++;
      rs.locked_until = std::max(rs.locked_until, end);
      p->record_id = RecordId(obj, p->record);
    }
    for (const auto& [pobj, prec] : p->parents) {
      RecordState& ps = pobj->records[prec];
      ps.locked_until = std::max(ps.locked_until, end);
    }
    records_written_++;
    (created ? records_created_ : records_updated_)++;
    if (!p->event_id.empty()) {
      auto& n = event_ids_[KeyHash(p->event_id)];
      if (++n == 2) duplicate_event_ids_++;
    }
    if (p->key_value.empty()) {
      // A create that sets an external id: the ledger keys it by that value too.
      for (const auto& [slot, value] : p->keys) {
        if (!value.empty() &&
            obj.def.fields[static_cast<size_t>(obj.field_of_slot[static_cast<size_t>(slot)])]
                .external_id) {
          p->key_value = value;
          break;
        }
      }
    }
    LedgerEntry e;
    e.received_ms = ctx_.wall_ms;
    e.sobject = obj.def.name;
    e.external_id = p->key_value;
    e.record_id = p->record_id;
    e.event_id = p->event_id;
    e.request_id = ctx_.request_id;
    e.created = created;
    e.bulk_job_id = ctx_.bulk_job_id;
    ledger_->Append(std::move(e));
  }
  (void)ledger_->Flush();
}

// The shared start of the one-record writes (create, upsert, update): parses the body, refuses
// anything but a JSON object, and plans it as plans_[0] (`prepare` may set the plan up first).
// Returns the error answer, or nullopt with plans_[0] planned.
std::optional<http::ServerResponse> Simulator::Impl::PlanOne(
    http::ServerRequest& req, ObjectState* obj, WriteMode mode, int key_field,
    const std::optional<std::string>& key_value, const std::function<void(Plan&)>& prepare) {
  rapidjson::Document doc;
  http::ServerResponse res;
  if (!ParseBody(req.body, &doc, &res)) return res;
  if (!doc.IsObject()) {
    return ApiError(400, "JSON_PARSER_ERROR",
                    "Cannot deserialize instance of " + obj->def.name + " from a non-object");
  }
  ctx_.records = 1;
  plans_.assign(1, Plan{});
  Plan& p = plans_[0];
  p.obj = obj;
  if (prepare) prepare(p);
  PlanRecord(&p, doc, mode, key_field, key_value);
  return std::nullopt;
}

}  // namespace sluice::sfsim

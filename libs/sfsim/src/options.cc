#include "sluice/sfsim/options.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "sluice/core/duration.h"

namespace sluice::sfsim {
namespace {

using rapidjson::Value;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

FieldDef Field(std::string name, FieldType type, int length, bool required = false,
               bool unique = false, bool external_id = false) {
  FieldDef f;
  f.name = std::move(name);
  f.type = type;
  f.length = length;
  f.required = required;
  f.unique = unique;
  f.external_id = external_id;
  return f;
}

// The fields every default object carries for sluice.
void AddSluiceFields(ObjectDef* o) {
  o->fields.push_back(Field("Sluice_Key__c", FieldType::kString, 255, false, true, true));
  // Unique and an External ID, as the relay's default salesforce.event_id_field needs.
  o->fields.push_back(Field("Sluice_Event_Id__c", FieldType::kString, 255, false, true, true));
}

// Reads group members with typed setters; collects the first error.
class GroupReader {
 public:
  GroupReader(const Value& group, std::string name) : group_(group), name_(std::move(name)) {}

  Status status() const { return status_; }

  void String(const char* key, std::string* out) {
    if (const Value* v = Find(key)) {
      if (!v->IsString()) return Error(key, "expected a string");
      *out = std::string(v->GetString(), v->GetStringLength());
    }
  }
  void Strings(const char* key, std::vector<std::string>* out) {
    if (const Value* v = Find(key)) {
      if (!v->IsArray()) return Error(key, "expected an array of strings");
      out->clear();
      for (const auto& e : v->GetArray()) {
        if (!e.IsString()) return Error(key, "expected an array of strings");
        out->emplace_back(e.GetString(), e.GetStringLength());
      }
    }
  }
  void Double(const char* key, double* out, double min, double max) {
    if (const Value* v = Find(key)) {
      if (!v->IsNumber()) return Error(key, "expected a number");
      double d = v->GetDouble();
      if (!(d >= min && d <= max)) return Error(key, "out of range");
      *out = d;
    }
  }
  template <typename Int>
  void Integer(const char* key, Int* out, int64_t min, int64_t max) {
    if (const Value* v = Find(key)) {
      if (!v->IsInt64()) return Error(key, "expected an integer");
      int64_t i = v->GetInt64();
      if (i < min || i > max) return Error(key, "out of range");
      *out = static_cast<Int>(i);
    }
  }
  void Bool(const char* key, bool* out) {
    if (const Value* v = Find(key)) {
      if (!v->IsBool()) return Error(key, "expected true or false");
      *out = v->GetBool();
    }
  }
  void Duration(const char* key, std::chrono::milliseconds* out) {
    if (const Value* v = Find(key)) {
      if (v->IsString() || v->IsInt64()) {  // an integer: 0, or the error saying which unit
        auto d = ParseDuration(v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                             : std::to_string(v->GetInt64()));
        if (!d.ok()) return Error(key, d.status().message());
        *out = *d;
      } else {
        return Error(key,
                     "expected a duration such as \"20s\" or \"250ms\" (the unit written out)");
      }
    }
  }
  // Every member must be one of `known`.
  void OnlyKnown(std::initializer_list<const char*> known) {
    if (!group_.IsObject()) return;
    for (const auto& m : group_.GetObject()) {
      std::string_view k(m.name.GetString(), m.name.GetStringLength());
      if (std::none_of(known.begin(), known.end(), [&](const char* x) { return k == x; })) {
        Error(std::string(k).c_str(), "unknown key");
      }
    }
  }

 private:
  const Value* Find(const char* key) {
    if (!group_.IsObject()) return nullptr;
    auto m = group_.FindMember(key);
    if (m == group_.MemberEnd() || m->value.IsNull()) return nullptr;
    return &m->value;
  }
  void Error(const char* key, std::string_view what) {
    if (status_.ok())
      status_ = InvalidArgumentError("/" + name_ + "/" + key + ": " + std::string(what));
  }
  const Value& group_;
  std::string name_;
  Status status_;
};

Result<ObjectDef> ObjectFromValue(const Value& v) {
  if (!v.IsObject()) return InvalidArgumentError("object definition must be a mapping");
  ObjectDef def;
  GroupReader r(v, "objects");
  r.OnlyKnown({"name", "key_prefix", "platform_event", "fields"});
  r.String("name", &def.name);
  r.String("key_prefix", &def.key_prefix);
  r.Bool("platform_event", &def.platform_event);
  RETURN_IF_ERROR(r.status());
  if (def.name.empty()) return InvalidArgumentError("object definition without a name");
  auto fields = v.FindMember("fields");
  if (fields != v.MemberEnd() && !fields->value.IsNull()) {
    if (!fields->value.IsArray()) return InvalidArgumentError(def.name + ": fields must be a list");
    for (const auto& fv : fields->value.GetArray()) {
      if (!fv.IsObject()) return InvalidArgumentError(def.name + ": a field must be a mapping");
      FieldDef f;
      GroupReader fr(fv, "objects/" + def.name + "/fields");
      fr.OnlyKnown({"name", "type", "length", "required", "unique", "external_id"});
      fr.String("name", &f.name);
      std::string type = "string";
      fr.String("type", &type);
      fr.Integer("length", &f.length, 1, 131072);
      fr.Bool("required", &f.required);
      fr.Bool("unique", &f.unique);
      fr.Bool("external_id", &f.external_id);
      RETURN_IF_ERROR(fr.status());
      auto t = ParseFieldType(type);
      if (!t.ok()) return t.status().WithContext(def.name + "." + f.name);
      f.type = *t;
      def.fields.push_back(std::move(f));
    }
  }
  if (def.key_prefix.empty()) def.key_prefix = def.platform_event ? "e00" : "a00";
  return def;
}

}  // namespace

Result<FieldType> ParseFieldType(std::string_view name) {
  std::string n = Lower(name);
  if (n == "string" || n == "text" || n == "textarea" || n == "email" || n == "phone" ||
      n == "url" || n == "picklist") {
    return FieldType::kString;
  }
  if (n == "boolean" || n == "checkbox") return FieldType::kBoolean;
  if (n == "int" || n == "integer") return FieldType::kInt;
  if (n == "double" || n == "number" || n == "currency" || n == "percent") {
    return FieldType::kDouble;
  }
  if (n == "date") return FieldType::kDate;
  if (n == "datetime") return FieldType::kDateTime;
  if (n == "reference" || n == "lookup" || n == "id") return FieldType::kReference;
  return InvalidArgumentError("unknown field type '" + std::string(name) + "'");
}

std::string_view FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kString:
      return "string";
    case FieldType::kBoolean:
      return "boolean";
    case FieldType::kInt:
      return "int";
    case FieldType::kDouble:
      return "double";
    case FieldType::kDate:
      return "date";
    case FieldType::kDateTime:
      return "datetime";
    case FieldType::kReference:
      return "reference";
  }
  return "string";
}

std::vector<ObjectDef> DefaultObjects() {
  std::vector<ObjectDef> out;
  ObjectDef account{"Account", "001", false, {}};
  account.fields = {Field("Name", FieldType::kString, 255, true),
                    Field("AccountNumber", FieldType::kString, 40),
                    Field("Phone", FieldType::kString, 40),
                    Field("Website", FieldType::kString, 255),
                    Field("Industry", FieldType::kString, 255),
                    Field("Description", FieldType::kString, 32000),
                    Field("NumberOfEmployees", FieldType::kInt, 8),
                    Field("AnnualRevenue", FieldType::kDouble, 18),
                    Field("BillingCity", FieldType::kString, 40),
                    Field("BillingCountry", FieldType::kString, 80),
                    Field("ParentId", FieldType::kReference, 18)};
  AddSluiceFields(&account);
  out.push_back(std::move(account));

  ObjectDef contact{"Contact", "003", false, {}};
  contact.fields = {Field("FirstName", FieldType::kString, 40),
                    Field("LastName", FieldType::kString, 80, true),
                    Field("Email", FieldType::kString, 80),
                    Field("Phone", FieldType::kString, 40),
                    Field("Title", FieldType::kString, 128),
                    Field("Birthdate", FieldType::kDate, 10),
                    Field("HasOptedOutOfEmail", FieldType::kBoolean, 5),
                    Field("AccountId", FieldType::kReference, 18),
                    Field("Description", FieldType::kString, 32000)};
  AddSluiceFields(&contact);
  out.push_back(std::move(contact));

  ObjectDef lead{"Lead", "00Q", false, {}};
  lead.fields = {Field("FirstName", FieldType::kString, 40),
                 Field("LastName", FieldType::kString, 80, true),
                 Field("Company", FieldType::kString, 255, true),
                 Field("Email", FieldType::kString, 80),
                 Field("Phone", FieldType::kString, 40),
                 Field("Status", FieldType::kString, 40),
                 Field("LeadSource", FieldType::kString, 40),
                 Field("AnnualRevenue", FieldType::kDouble, 18),
                 Field("NumberOfEmployees", FieldType::kInt, 8),
                 Field("Description", FieldType::kString, 32000)};
  AddSluiceFields(&lead);
  out.push_back(std::move(lead));

  ObjectDef event{"Sluice_Event__e", "e01", true, {}};
  event.fields = {Field("Sluice_Event_Id__c", FieldType::kString, 255),
                  Field("Sluice_Key__c", FieldType::kString, 255),
                  Field("Payload__c", FieldType::kString, 131072),
                  Field("Occurred_At__c", FieldType::kDateTime, 30)};
  out.push_back(std::move(event));
  return out;
}

Status Validate(const SimOptions& o) {
  auto id_ok = [](const std::string& id) {
    return id.size() == 18 && std::all_of(id.begin(), id.end(), [](char c) {
             return std::isalnum(static_cast<unsigned char>(c));
           });
  };
  if (!id_ok(o.org.org_id)) return InvalidArgumentError("org.org_id must be 18 alphanumerics");
  if (!id_ok(o.org.user_id)) return InvalidArgumentError("org.user_id must be 18 alphanumerics");
  if (o.org.client_id.empty()) return InvalidArgumentError("org.client_id must not be empty");
  if (o.org.session_timeout.count() <= 0) {
    return InvalidArgumentError("org.session_timeout must be positive");
  }
  if (!(o.org.api_min_version >= 1 && o.org.api_min_version <= o.org.api_max_version &&
        o.org.api_max_version < 1000)) {
    return InvalidArgumentError("org.api_min_version..api_max_version is not a valid range");
  }
  if (o.limits.daily_api_requests < 0) return InvalidArgumentError("limits.daily_api_requests < 0");
  if (o.limits.max_long_running < 0) return InvalidArgumentError("limits.max_long_running < 0");
  if (o.limits.long_running_threshold.count() < 0 || o.limits.lock_timeout.count() < 0) {
    return InvalidArgumentError("limits: durations must not be negative");
  }
  if (o.limits.max_collection_records < 1 || o.limits.max_collection_records > 100000) {
    return InvalidArgumentError("limits.max_collection_records must be 1..100000");
  }
  const LatencyOptions& l = o.latency;
  for (double v : {l.base_ms, l.per_record_ms, l.tail_median_ms, l.tail_sigma, l.max_ms}) {
    if (!(v >= 0) || !std::isfinite(v)) {
      return InvalidArgumentError("latency values must be finite and >= 0");
    }
  }
  const FaultOptions& f = o.faults;
  for (double v : {f.unavailable_rate, f.unavailable_html_fraction, f.reset_rate,
                   f.reset_after_write_rate, f.slow_rate, f.lock_row_rate}) {
    if (!(v >= 0 && v <= 1)) return InvalidArgumentError("fault rates must be within [0, 1]");
  }
  if (!(f.slow_ms >= 0) || !std::isfinite(f.slow_ms)) {
    return InvalidArgumentError("faults.slow_ms must be >= 0");
  }
  std::set<std::string> names;
  std::set<std::string> prefixes;
  for (const auto& obj : o.org.objects) {
    if (obj.name.empty() || obj.name.size() > 80 ||
        !std::all_of(obj.name.begin(), obj.name.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        })) {
      return InvalidArgumentError("object name '" + obj.name + "' is not an API name");
    }
    if (!names.insert(Lower(obj.name)).second) {
      return InvalidArgumentError("object " + obj.name + " defined twice");
    }
    if (obj.key_prefix.size() != 3 ||
        !std::all_of(obj.key_prefix.begin(), obj.key_prefix.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
      return InvalidArgumentError("object " + obj.name + ": key_prefix must be 3 alphanumerics");
    }
    if (!prefixes.insert(obj.key_prefix).second) {
      return InvalidArgumentError("object " + obj.name + ": key_prefix " + obj.key_prefix +
                                  " is used twice");
    }
    std::set<std::string> fields;
    for (const auto& fd : obj.fields) {
      if (fd.name.empty() || !std::all_of(fd.name.begin(), fd.name.end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
          })) {
        return InvalidArgumentError("object " + obj.name + ": field name '" + fd.name +
                                    "' is not an API name");
      }
      if (Lower(fd.name) == "id" || Lower(fd.name) == "attributes") {
        return InvalidArgumentError("object " + obj.name + ": field " + fd.name + " is reserved");
      }
      if (!fields.insert(Lower(fd.name)).second) {
        return InvalidArgumentError("object " + obj.name + ": field " + fd.name + " defined twice");
      }
      if (fd.length < 1) return InvalidArgumentError("field " + fd.name + ": length must be >= 1");
    }
  }
  // "Object.Field" naming a reference field; an object the org does not define is skipped (the
  // default names Contact, which a custom object list may leave out).
  for (const auto& lf : o.limits.parent_lock_fields) {
    const size_t dot = lf.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == lf.size()) {
      return InvalidArgumentError("limits.parent_lock_fields: '" + lf +
                                  "' is not Object.Field, e.g. Contact.AccountId");
    }
    for (const auto& obj : o.org.objects) {
      if (Lower(obj.name) != Lower(lf.substr(0, dot))) continue;
      const auto it = std::find_if(obj.fields.begin(), obj.fields.end(), [&](const FieldDef& fd) {
        return Lower(fd.name) == Lower(lf.substr(dot + 1));
      });
      if (it == obj.fields.end() || it->type != FieldType::kReference) {
        return InvalidArgumentError("limits.parent_lock_fields: " + lf +
                                    " is not a reference field of " + obj.name);
      }
    }
  }
  const BulkOptions& b = o.bulk;
  if (!(b.records_per_second > 0) || !std::isfinite(b.records_per_second) || b.batch_size < 1 ||
      b.parallel_batches < 1 || b.queue_delay.count() < 0 || b.max_upload_bytes < 1 ||
      b.daily_records < 0 || b.daily_batches < 0) {
    return InvalidArgumentError(
        "bulk: records_per_second, batch_size, parallel_batches and max_upload_bytes must be "
        "positive, queue_delay and the daily allocations not negative");
  }
  return Status::Ok();
}

Result<ObjectDef> ParseObjectJson(std::string_view json) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                  json.size());
  if (d.HasParseError()) return InvalidArgumentError("object definition is not valid JSON");
  return ObjectFromValue(d);
}

void UpsertObject(std::vector<ObjectDef>* objects, ObjectDef def) {
  for (auto& o : *objects) {
    if (Lower(o.name) == Lower(def.name)) {
      o = std::move(def);
      return;
    }
  }
  objects->push_back(std::move(def));
}

Status ApplyConfigJson(std::string_view json, SimOptions* options) {
  rapidjson::Document d;
  d.Parse<rapidjson::kParseValidateEncodingFlag | rapidjson::kParseIterativeFlag>(json.data(),
                                                                                  json.size());
  if (d.HasParseError() || !d.IsObject()) {
    return InvalidArgumentError("config is not a JSON/YAML mapping");
  }
  for (const auto& m : d.GetObject()) {
    std::string_view k(m.name.GetString(), m.name.GetStringLength());
    static const char* kGroups[] = {"org",     "limits", "latency", "faults", "ledger",
                                    "objects", "server", "logging", "bulk"};
    if (std::none_of(std::begin(kGroups), std::end(kGroups),
                     [&](const char* g) { return k == g; })) {
      return InvalidArgumentError("/" + std::string(k) + ": unknown key");
    }
    if (k != "objects" && !m.value.IsObject() && !m.value.IsNull()) {
      return InvalidArgumentError("/" + std::string(k) + ": expected a mapping");
    }
  }
  static const Value kEmpty(rapidjson::kObjectType);
  auto group = [&](const char* name) -> const Value& {
    auto m = d.FindMember(name);
    return m != d.MemberEnd() && m->value.IsObject() ? m->value : kEmpty;
  };
  bool keep_default_objects = false;
  {
    OrgOptions& o = options->org;
    GroupReader r(group("org"), "org");
    r.OnlyKnown({"org_id", "user_id", "usernames", "client_id", "client_secret",
                 "client_secret_file", "jwt_public_key_file", "jwt_audiences", "instance_url",
                 "session_timeout", "api_min_version", "api_max_version", "keep_default_objects"});
    r.String("org_id", &o.org_id);
    r.String("user_id", &o.user_id);
    r.Strings("usernames", &o.usernames);
    r.String("client_id", &o.client_id);
    r.String("client_secret", &o.client_secret);
    r.String("jwt_public_key_file", &o.jwt_public_key_file);
    r.Strings("jwt_audiences", &o.jwt_audiences);
    r.String("instance_url", &o.instance_url);
    r.Duration("session_timeout", &o.session_timeout);
    r.Double("api_min_version", &o.api_min_version, 1, 999);
    r.Double("api_max_version", &o.api_max_version, 1, 999);
    r.Bool("keep_default_objects", &keep_default_objects);
    RETURN_IF_ERROR(r.status());
  }
  {
    LimitOptions& l = options->limits;
    GroupReader r(group("limits"), "limits");
    r.OnlyKnown({"daily_api_requests", "long_running_threshold", "max_long_running", "lock_timeout",
                 "max_collection_records", "parent_lock_fields"});
    r.Integer("daily_api_requests", &l.daily_api_requests, 0, INT64_MAX);
    r.Duration("long_running_threshold", &l.long_running_threshold);
    r.Integer("max_long_running", &l.max_long_running, 0, INT64_MAX);
    r.Duration("lock_timeout", &l.lock_timeout);
    r.Integer("max_collection_records", &l.max_collection_records, 1, 100000);
    r.Strings("parent_lock_fields", &l.parent_lock_fields);
    RETURN_IF_ERROR(r.status());
  }
  {
    BulkOptions& b = options->bulk;
    GroupReader r(group("bulk"), "bulk");
    r.OnlyKnown({"records_per_second", "batch_size", "parallel_batches", "queue_delay",
                 "max_upload_bytes", "daily_records", "daily_batches"});
    r.Double("records_per_second", &b.records_per_second, 0.001, 1e9);
    r.Integer("batch_size", &b.batch_size, 1, 10000000);
    r.Integer("parallel_batches", &b.parallel_batches, 1, 1000);
    r.Duration("queue_delay", &b.queue_delay);
    r.Integer("max_upload_bytes", &b.max_upload_bytes, 1, INT64_MAX);
    r.Integer("daily_records", &b.daily_records, 0, INT64_MAX);
    r.Integer("daily_batches", &b.daily_batches, 0, INT64_MAX);
    RETURN_IF_ERROR(r.status());
  }
  {
    LatencyOptions& l = options->latency;
    GroupReader r(group("latency"), "latency");
    r.OnlyKnown({"base_ms", "per_record_ms", "tail_median_ms", "tail_sigma", "max_ms"});
    r.Double("base_ms", &l.base_ms, 0, 1e9);
    r.Double("per_record_ms", &l.per_record_ms, 0, 1e9);
    r.Double("tail_median_ms", &l.tail_median_ms, 0, 1e9);
    r.Double("tail_sigma", &l.tail_sigma, 0, 100);
    r.Double("max_ms", &l.max_ms, 0, 1e9);
    RETURN_IF_ERROR(r.status());
  }
  {
    FaultOptions& f = options->faults;
    GroupReader r(group("faults"), "faults");
    r.OnlyKnown({"unavailable_rate", "unavailable_html_fraction", "reset_rate",
                 "reset_after_write_rate", "slow_rate", "slow_ms", "lock_row_rate", "seed"});
    r.Double("unavailable_rate", &f.unavailable_rate, 0, 1);
    r.Double("unavailable_html_fraction", &f.unavailable_html_fraction, 0, 1);
    r.Double("reset_rate", &f.reset_rate, 0, 1);
    r.Double("reset_after_write_rate", &f.reset_after_write_rate, 0, 1);
    r.Double("slow_rate", &f.slow_rate, 0, 1);
    r.Double("slow_ms", &f.slow_ms, 0, 1e9);
    r.Double("lock_row_rate", &f.lock_row_rate, 0, 1);
    r.Integer("seed", &f.seed, 0, INT64_MAX);
    RETURN_IF_ERROR(r.status());
  }
  {
    LedgerOptions& l = options->ledger;
    GroupReader r(group("ledger"), "ledger");
    r.OnlyKnown({"event_id_field", "sqlite_path", "max_memory_entries"});
    r.String("event_id_field", &l.event_id_field);
    r.String("sqlite_path", &l.sqlite_path);
    r.Integer("max_memory_entries", &l.max_memory_entries, 0, INT64_MAX);
    RETURN_IF_ERROR(r.status());
  }
  auto objects = d.FindMember("objects");
  if (objects != d.MemberEnd() && !objects->value.IsNull()) {
    if (!objects->value.IsArray()) return InvalidArgumentError("/objects: expected a list");
    std::vector<ObjectDef> defs =
        keep_default_objects ? options->org.objects : std::vector<ObjectDef>{};
    for (const auto& v : objects->value.GetArray()) {
      ASSIGN_OR_RETURN(ObjectDef def, ObjectFromValue(v));
      UpsertObject(&defs, std::move(def));
    }
    options->org.objects = std::move(defs);
  }
  return Status::Ok();
}

}  // namespace sluice::sfsim

#include "sluice/flood/generator.h"

#include <fmt/format.h>

#include <cstdio>
#include <ctime>
#include <map>

#include "sluice/envelope/event.h"

namespace sluice::flood {
namespace {

bool IsApiName(const std::string& s) {
  if (s.empty() || s.size() > 80) return false;
  const auto alpha = [](char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); };
  if (!alpha(s[0])) return false;
  for (char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  }
  return true;
}

// Splits a 64-bit seed into independent seeds for the samplers (splitmix64 steps).
uint64_t Mix(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

std::string FormatRfc3339Millis(int64_t unix_ms) {
  const int64_t ms = ((unix_ms % 1000) + 1000) % 1000;
  const time_t secs = static_cast<time_t>((unix_ms - ms) / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

Status ValidateGeneratorOptions(const GeneratorOptions& o) {
  if (!IsApiName(o.sobject)) {
    return InvalidArgumentError("--sobject '" + o.sobject + "' is not an sObject API name");
  }
  if (o.operation != "upsert" && o.operation != "create") {
    return InvalidArgumentError("--operation must be upsert or create, not '" + o.operation + "'");
  }
  if (o.operation == "upsert" && !IsApiName(o.external_id_field)) {
    return InvalidArgumentError("--external-id-field '" + o.external_id_field +
                                "' is not a field API name");
  }
  for (const auto& [flag, value] :
       {std::pair{"--event-id-field", &o.event_id_field}, std::pair{"--name-field", &o.name_field},
        std::pair{"--pad-field", &o.pad_field}}) {
    if (!value->empty() && !IsApiName(*value)) {
      return InvalidArgumentError(std::string(flag) + " '" + *value + "' is not a field API name");
    }
  }
  if (o.key_prefix.size() > 200) return InvalidArgumentError("--key-prefix is too long");
  for (char c : o.key_prefix) {
    if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\' || c == 0x7f) {
      return InvalidArgumentError("--key-prefix may not hold quotes, backslashes or controls");
    }
  }
  if (!(o.invalid_fraction >= 0 && o.invalid_fraction <= 1)) {
    return InvalidArgumentError("--invalid-fraction must be between 0 and 1");
  }
  RETURN_IF_ERROR(KeySampler::Create(o.keys, 0).status());
  RETURN_IF_ERROR(PayloadSampler::Create(o.sizes, 0).status());
  return Status::Ok();
}

Result<EventGenerator> EventGenerator::Create(const GeneratorOptions& options, uint64_t run_id) {
  RETURN_IF_ERROR(ValidateGeneratorOptions(options));
  ASSIGN_OR_RETURN(KeySampler keys, KeySampler::Create(options.keys, Mix(options.seed, 1)));
  ASSIGN_OR_RETURN(PayloadSampler sizes,
                   PayloadSampler::Create(options.sizes, Mix(options.seed, 2)));
  return EventGenerator(options, run_id, std::move(keys), std::move(sizes));
}

EventGenerator::EventGenerator(const GeneratorOptions& options, uint64_t run_id, KeySampler keys,
                               PayloadSampler sizes)
    : options_(options),
      codec_(run_id),
      keys_(std::move(keys)),
      sizes_(std::move(sizes)),
      invalid_(options.invalid_fraction, Mix(options.seed, 3)) {}

std::string EventGenerator::Serialize(const GeneratedRecord& r, int64_t intended_unix_ms,
                                      size_t pad) const {
  envelope::Event e;
  e.event_id = r.event_id;
  e.operation =
      options_.operation == "create" ? envelope::Operation::kCreate : envelope::Operation::kUpsert;
  e.sobject = options_.sobject;
  if (e.operation == envelope::Operation::kUpsert) {
    e.external_id_field = options_.external_id_field;
    e.external_id = r.key;
  }
  std::map<std::string, std::string> fields;
  if (!options_.name_field.empty()) fields[options_.name_field] = "Flood " + r.key;
  if (!options_.event_id_field.empty()) fields[options_.event_id_field] = r.event_id;
  if (!options_.pad_field.empty()) fields[options_.pad_field] = std::string(pad, 'x');
  e.fields_json = envelope::MakeFieldsJson(fields);
  e.occurred_at = FormatRfc3339Millis(intended_unix_ms);
  e.source = options_.source;
  return envelope::SerializeEvent(e);
}

void EventGenerator::Next(int64_t index, int64_t intended_unix_ms, GeneratedRecord* out) {
  out->event_id = codec_.Encode(index);
  out->key_rank = keys_.Next();
  out->key = fmt::format("{}{:010d}", options_.key_prefix, out->key_rank);
  out->key_seq = key_seq_[out->key_rank]++;
  const int64_t target = sizes_.Next();
  out->valid = !invalid_.Next();
  if (!out->valid) {
    MakeInvalid(index, target, out);
    return;
  }
  if (base_size_ < 0)
    base_size_ = static_cast<int64_t>(Serialize(*out, intended_unix_ms, 0).size());
  size_t pad = target > base_size_ ? static_cast<size_t>(target - base_size_) : 0;
  out->value = Serialize(*out, intended_unix_ms, pad);
  if (pad > 0 && static_cast<int64_t>(out->value.size()) != target) {
    // The base size changed (it is constant for fixed-width keys; be safe if it is not).
    base_size_ = static_cast<int64_t>(out->value.size()) - static_cast<int64_t>(pad);
    pad = target > base_size_ ? static_cast<size_t>(target - base_size_) : 0;
    out->value = Serialize(*out, intended_unix_ms, pad);
  }
}

void EventGenerator::MakeInvalid(int64_t index, int64_t target, GeneratedRecord* out) {
  // Four kinds in turn, each a way the relay's envelope check must refuse (invalid_envelope):
  // not JSON, a schema violation, no event id, and a field name Salesforce cannot have.
  const std::string id = out->event_id;
  std::string v;
  switch (index % 4) {
    case 0:
      v = "{\"event_id\":\"" + id + "\",\"operation\":\"upsert\",\"sobject\":";  // cut short
      break;
    case 1:
      v = "{\"event_id\":\"" + id + "\",\"operation\":\"explode\",\"sobject\":\"" +
          options_.sobject + "\",\"fields\":{},\"occurred_at\":\"2026-01-01T00:00:00Z\"}";
      break;
    case 2:
      v = "{\"operation\":\"create\",\"sobject\":\"" + options_.sobject +
          "\",\"fields\":{},\"occurred_at\":\"2026-01-01T00:00:00Z\",\"source\":\"" + id + "\"}";
      break;
    default:
      v = "{\"event_id\":\"" + id + "\",\"operation\":\"create\",\"sobject\":\"" +
          options_.sobject +
          "\",\"fields\":{\"1 bad name\":\"x\"},\"occurred_at\":\"2026-01-01T00:00:00Z\"}";
      break;
  }
  // Pad non-JSON trailing bytes only onto the not-JSON kind, so the others stay exactly what they
  // claim to be.
  if (index % 4 == 0 && static_cast<int64_t>(v.size()) < target) {
    v.append(static_cast<size_t>(target) - v.size(), ' ');
  }
  out->value = std::move(v);
}

}  // namespace sluice::flood

#include "sluice/flood/generator.h"

#include <fmt/format.h>

#include <algorithm>
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

namespace {

// Sentinels of the template: each the width of the value it stands for, made of characters JSON
// does not escape, and unlikely anywhere else in an envelope.
constexpr char kIdSentinel[] = "fedcba98-7654-4321-8fed-cba987654321";
constexpr char kTimeSentinel[] = "2999-12-31T23:59:59.999Z";
constexpr char kKeyDigitsSentinel[] = "9081726354";
constexpr char kPadSentinel[] = "PAD6f1c2e9aPAD";

}  // namespace

void EventGenerator::BuildTemplate() {
  template_built_ = true;
  if (!options_.use_template) return;
  const std::string key_sentinel = options_.key_prefix + kKeyDigitsSentinel;
  envelope::Event ev;
  ev.event_id = kIdSentinel;
  ev.operation =
      options_.operation == "create" ? envelope::Operation::kCreate : envelope::Operation::kUpsert;
  ev.sobject = options_.sobject;
  if (ev.operation == envelope::Operation::kUpsert) {
    ev.external_id_field = options_.external_id_field;
    ev.external_id = key_sentinel;
  }
  std::map<std::string, std::string> fields;
  if (!options_.name_field.empty()) fields[options_.name_field] = "Flood " + key_sentinel;
  if (!options_.event_id_field.empty()) fields[options_.event_id_field] = kIdSentinel;
  if (!options_.pad_field.empty()) fields[options_.pad_field] = kPadSentinel;
  ev.fields_json = envelope::MakeFieldsJson(fields);
  ev.occurred_at = kTimeSentinel;
  ev.source = options_.source;
  const std::string text = envelope::SerializeEvent(ev);

  // Cut the text at every sentinel, in order of position.
  struct Hit {
    size_t pos;
    size_t len;
    Slot slot;
  };
  std::vector<Hit> hits;
  const auto find_all = [&](const std::string& needle, Slot slot) {
    for (size_t p = text.find(needle); p != std::string::npos; p = text.find(needle, p + 1)) {
      hits.push_back({p, needle.size(), slot});
    }
  };
  find_all(kIdSentinel, Slot::kEventId);
  find_all(key_sentinel, Slot::kKey);
  find_all(kTimeSentinel, Slot::kOccurredAt);
  if (!options_.pad_field.empty()) find_all(kPadSentinel, Slot::kPad);
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.pos < b.pos; });
  size_t at = 0;
  for (const Hit& h : hits) {
    if (h.pos < at) {  // overlapping sentinels: no template
      pieces_.clear();
      return;
    }
    pieces_.push_back({text.substr(at, h.pos - at), h.slot});
    at = h.pos + h.len;
  }
  tail_ = text.substr(at);

  // Check against SerializeEvent for a few records; any difference disables the template.
  for (int64_t i : {int64_t{0}, int64_t{1}, int64_t{123456789}}) {
    GeneratedRecord r;
    r.event_id = codec_.Encode(i);
    r.key = fmt::format("{}{:010d}", options_.key_prefix, i % 1000);
    const int64_t ms = 1'767'225'600'123 + i;
    const size_t pad = options_.pad_field.empty() ? 0 : static_cast<size_t>(i % 700);
    std::string filled;
    FillTemplate(r, FormatRfc3339Millis(ms), pad, &filled);
    if (filled != Serialize(r, ms, pad)) {
      pieces_.clear();
      return;
    }
  }
  template_ok_ = true;
}

void EventGenerator::FillTemplate(const GeneratedRecord& r, const std::string& occurred, size_t pad,
                                  std::string* out) const {
  out->clear();
  for (const Piece& p : pieces_) {
    out->append(p.literal);
    switch (p.slot) {
      case Slot::kEventId:
        out->append(r.event_id);
        break;
      case Slot::kKey:
        out->append(r.key);
        break;
      case Slot::kOccurredAt:
        out->append(occurred);
        break;
      case Slot::kPad:
        out->append(pad, 'x');
        break;
    }
  }
  out->append(tail_);
}

void EventGenerator::Next(int64_t index, int64_t intended_unix_ms, GeneratedRecord* out) {
  if (!template_built_) BuildTemplate();
  out->event_id.resize(EventIdCodec::kLength);
  codec_.EncodeTo(index, out->event_id.data());
  out->key_rank = keys_.Next();
  // key_prefix + the rank in (at least) 10 zero-padded digits.
  out->key = options_.key_prefix;
  char digits[24];
  int n = 0;
  for (uint64_t v = static_cast<uint64_t>(out->key_rank); v > 0 || n < 10; v /= 10) {
    digits[n++] = static_cast<char>('0' + v % 10);
  }
  while (n > 0) out->key += digits[--n];
  if (options_.keys.keys <= (int64_t{1} << 24)) {
    if (key_seq_dense_.empty()) key_seq_dense_.assign(static_cast<size_t>(options_.keys.keys), 0);
    out->key_seq = key_seq_dense_[static_cast<size_t>(out->key_rank)]++;
  } else {
    out->key_seq = key_seq_[out->key_rank]++;
  }
  const int64_t target = sizes_.Next();
  out->valid = !invalid_.Next();
  if (!out->valid) {
    MakeInvalid(index, target, out);
    return;
  }
  if (base_size_ < 0) {
    base_size_ = static_cast<int64_t>(Serialize(*out, intended_unix_ms, 0).size());
  }
  size_t pad = target > base_size_ ? static_cast<size_t>(target - base_size_) : 0;
  if (options_.pad_field.empty()) pad = 0;
  if (template_ok_ && out->key.size() == options_.key_prefix.size() + 10) {
    // occurred_at: the calendar part changes once a second; only the milliseconds vary.
    const int64_t second =
        intended_unix_ms >= 0 ? intended_unix_ms / 1000 : -((-intended_unix_ms + 999) / 1000);
    if (second != time_second_ || time_text_.empty()) {
      time_text_ = FormatRfc3339Millis(second * 1000);
      time_second_ = second;
    }
    const int ms = static_cast<int>(intended_unix_ms - second * 1000);
    time_text_[20] = static_cast<char>('0' + ms / 100);
    time_text_[21] = static_cast<char>('0' + ms / 10 % 10);
    time_text_[22] = static_cast<char>('0' + ms % 10);
    FillTemplate(*out, time_text_, pad, &out->value);
    return;
  }
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

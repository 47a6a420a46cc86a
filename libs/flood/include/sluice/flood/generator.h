// Builds the records sluice-flood produces: valid envelopes (schemas/event.schema.json, through
// libs/envelope) for a chosen sObject, keys drawn from a key space, payloads of a chosen size, and
// a seeded fraction of deliberately invalid records.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/flood/sampling.h"
#include "sluice/flood/verifier.h"

namespace sluice::flood {

// Header carrying the event id on every deliberately invalid record, so its DLQ record (which keeps
// the original headers) leads back to the event even when the value is not JSON. Valid records
// carry the id in their envelope only (a header per record costs producer throughput).
inline constexpr char kEventIdHeader[] = "sluice-flood.event-id";

struct GeneratorOptions {
  // sObject the events write. Default "Contact".
  std::string sobject = "Contact";
  // "upsert" (default) or "create".
  std::string operation = "upsert";
  // External id field for upserts; the key is its value. Default "Sluice_Key__c".
  std::string external_id_field = "Sluice_Key__c";
  // Field that carries the event id to Salesforce, where sfsim's ledger reads it (sfsim's
  // ledger.event_id_field). Empty: not sent. Default "Sluice_Event_Id__c".
  std::string event_id_field = "Sluice_Event_Id__c";
  // A required text field filled with "Flood <key>". Empty: none. Default "LastName".
  std::string name_field = "LastName";
  // Text field padded so the record value reaches its drawn size. Default "Description".
  std::string pad_field = "Description";
  // Keys are key_prefix + the rank, zero-padded to 10 digits. Default "flood-".
  std::string key_prefix = "flood-";
  // Envelope `source`. Default "sluice-flood".
  std::string source = "sluice-flood";
  KeySpace keys;
  PayloadSizes sizes;
  // Share of records that are deliberately invalid, in [0, 1]. Default 0.
  double invalid_fraction = 0;
  // Seed of every random choice. Default 1.
  uint64_t seed = 1;
  // Build each record from a template that SerializeEvent produced once per run, filling in the
  // fixed-width slots (event id, key, time) and the padding, instead of serializing every event:
  // byte-for-byte the same output (checked against SerializeEvent when the template is built; on
  // any difference the generator serializes every event). Default true.
  bool use_template = true;
};

// Checks names against the envelope's rules (sObject and field names ^[A-Za-z][A-Za-z0-9_]{0,79}$),
// the operation, the fraction and the samplers' options.
Status ValidateGeneratorOptions(const GeneratorOptions& options);

struct GeneratedRecord {
  std::string key;
  std::string value;
  std::string event_id;
  int64_t key_rank = 0;
  uint32_t key_seq = 0;
  bool valid = true;
};

// Thread-safety: not thread-safe; one producing thread owns a generator.
class EventGenerator {
 public:
  static Result<EventGenerator> Create(const GeneratorOptions& options, uint64_t run_id);

  // The record for event `index`, intended at `intended_unix_ms` (its occurred_at). Fills `out`
  // (reusing its buffers). Indices must be consecutive from 0 for per-key sequences to be right.
  void Next(int64_t index, int64_t intended_unix_ms, GeneratedRecord* out);

  const EventIdCodec& codec() const { return codec_; }
  // True once Next() has built a template that matched SerializeEvent (see use_template).
  bool uses_template() const { return template_ok_; }

 private:
  EventGenerator(const GeneratorOptions& options, uint64_t run_id, KeySampler keys,
                 PayloadSampler sizes);
  std::string Serialize(const GeneratedRecord& r, int64_t intended_unix_ms, size_t pad) const;
  void MakeInvalid(int64_t index, int64_t target, GeneratedRecord* out);
  void BuildTemplate();
  void FillTemplate(const GeneratedRecord& r, const std::string& occurred, size_t pad,
                    std::string* out) const;

  // The template: literal pieces with slots between them.
  enum class Slot { kEventId, kKey, kOccurredAt, kPad };
  struct Piece {
    std::string literal;  // appended first
    Slot slot;            // then this value
  };
  std::vector<Piece> pieces_;
  std::string tail_;  // after the last slot
  bool template_ok_ = false;
  bool template_built_ = false;
  int64_t time_second_ = 0;  // the second time_text_ holds
  std::string time_text_;

  GeneratorOptions options_;
  EventIdCodec codec_;
  KeySampler keys_;
  PayloadSampler sizes_;
  InvalidPicker invalid_;
  // Next sequence per key: dense for key spaces up to 2^24 keys, a map beyond.
  std::vector<uint32_t> key_seq_dense_;
  std::unordered_map<int64_t, uint32_t> key_seq_;
  int64_t base_size_ = -1;  // serialized size with an empty pad (constant per run)
};

// "2026-11-21T05:52:18.123Z" for Unix milliseconds.
std::string FormatRfc3339Millis(int64_t unix_ms);

}  // namespace sluice::flood

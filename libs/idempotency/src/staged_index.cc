#include "staged_index.h"

#include <algorithm>
#include <cstring>

namespace sluice::idempotency::internal {
namespace {

// A 64-bit finalizer (xor-shift / multiply rounds): every input bit affects every output bit.
inline uint64_t Mix(uint64_t x) {
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  x *= 0xd6e8feb86659fd93ULL;
  x ^= x >> 32;
  return x;
}

}  // namespace

uint64_t HashKey(std::string_view key) {
  const char* p = key.data();
  size_t n = key.size();
  uint64_t h = 0x243f6a8885a308d3ULL ^ (static_cast<uint64_t>(n) * 0x9e3779b97f4a7c15ULL);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = Mix(h ^ w) + 0x9e3779b97f4a7c15ULL;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = Mix(h ^ w ^ (static_cast<uint64_t>(n) << 59));
  }
  return Mix(h);
}

// ---- StagedIndex ----

size_t StagedIndex::Position(std::string_view key, uint64_t hash) const {
  const size_t mask = table_.size() - 1;
  const uint64_t tag = hash & kTagMask;
  size_t i = static_cast<size_t>(hash) & mask;
  while (true) {
    const uint64_t v = table_[i];
    if (v == 0) return i;
    // The tag (the hash's upper half) spares most mismatches a visit to the slot.
    if ((v & kTagMask) == tag) {
      const auto slot = static_cast<uint32_t>(v) - 1;
      if (slots_[slot].hash == hash && KeyOf(slot) == key) return i;
    }
    i = (i + 1) & mask;
  }
}

std::optional<StagedView> StagedIndex::Find(std::string_view key, uint64_t hash) const {
  if (table_.empty()) return std::nullopt;
  const uint64_t v = table_[Position(key, hash)];
  if (v == 0) return std::nullopt;
  const auto slot = static_cast<uint32_t>(v) - 1;
  if (slots_[slot].state == 0) return std::nullopt;
  return ViewOf(slot);
}

void StagedIndex::Grow() {
  const size_t size = table_.empty() ? 1024 : table_.size() * 2;
  std::vector<uint64_t> table(size, 0);
  const size_t mask = size - 1;
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    size_t i = static_cast<size_t>(slots_[slot].hash) & mask;
    while (table[i] != 0) i = (i + 1) & mask;
    table[i] = (slots_[slot].hash & kTagMask) | (slot + 1);
  }
  table_ = std::move(table);
}

uint32_t StagedIndex::Append(std::string_view bytes) {
  const auto offset = static_cast<uint32_t>(arena_.size());
  arena_.append(bytes);
  return offset;
}

void StagedIndex::Put(std::string_view key, uint64_t hash, Outcome outcome,
                      std::string_view salesforce_id, int64_t recorded_ms) {
  ++rows_;
  min_recorded_ms_ = std::min(min_recorded_ms_, recorded_ms);
  if ((slots_.size() + 1) * 2 > table_.size()) Grow();
  const size_t pos = Position(key, hash);
  if (table_[pos] != 0) {
    Slot& s = slots_[static_cast<uint32_t>(table_[pos]) - 1];
    if (s.state == static_cast<uint8_t>(Outcome::kDelivered) && outcome == Outcome::kDeadLettered) {
      return;
    }
    s.state = static_cast<uint8_t>(outcome);
    s.recorded_ms = recorded_ms;
    if (salesforce_id.size() <= s.sf_size) {
      std::memcpy(arena_.data() + s.sf_offset, salesforce_id.data(), salesforce_id.size());
    } else {
      s.sf_offset = Append(salesforce_id);
    }
    s.sf_size = static_cast<uint8_t>(salesforce_id.size());
    return;
  }
  Slot s{};
  s.hash = hash;
  s.recorded_ms = recorded_ms;
  s.key_offset = Append(key);
  s.key_size = static_cast<uint16_t>(key.size());
  s.sf_offset = Append(salesforce_id);
  s.sf_size = static_cast<uint8_t>(salesforce_id.size());
  s.state = static_cast<uint8_t>(outcome);
  slots_.push_back(s);
  table_[pos] = (hash & kTagMask) | slots_.size();
}

size_t StagedIndex::PurgeOlderThan(int64_t cutoff_ms) {
  size_t purged = 0;
  for (Slot& s : slots_) {
    if (s.state != 0 && s.recorded_ms < cutoff_ms) {
      s.state = 0;
      ++purged;
    }
  }
  return purged;
}

size_t StagedIndex::memory_bytes() const {
  return arena_.capacity() + slots_.capacity() * sizeof(Slot) +
         table_.capacity() * sizeof(uint64_t);
}

std::string_view StagedIndex::KeyOf(uint32_t slot) const {
  const Slot& s = slots_[slot];
  return std::string_view(arena_.data() + s.key_offset, s.key_size);
}

StagedView StagedIndex::ViewOf(uint32_t slot) const {
  const Slot& s = slots_[slot];
  StagedView v;
  v.outcome = static_cast<Outcome>(s.state);
  v.salesforce_id = std::string_view(arena_.data() + s.sf_offset, s.sf_size);
  v.recorded_ms = s.recorded_ms;
  return v;
}

std::vector<uint32_t> StagedIndex::SortedLiveSlots() const {
  // Sorted by the keys' first 8 bytes (big-endian, zero-padded) first, which decides nearly every
  // comparison without touching the arena; the full keys break ties. std::string_view compares
  // chars as unsigned char: SQLite's memcmp order (see the header).
  std::vector<std::pair<uint64_t, uint32_t>> keyed;
  keyed.reserve(slots_.size());
  for (uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot].state == 0) continue;
    const std::string_view key = KeyOf(slot);
    uint64_t prefix = 0;
    for (size_t i = 0; i < 8; ++i) {
      prefix = (prefix << 8) | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0u);
    }
    keyed.emplace_back(prefix, slot);
  }
  std::sort(keyed.begin(), keyed.end(), [this](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return KeyOf(a.second) < KeyOf(b.second);
  });
  std::vector<uint32_t> order;
  order.reserve(keyed.size());
  for (const auto& k : keyed) order.push_back(k.second);
  return order;
}

// ---- BloomFilter ----

size_t BloomFilter::BytesFor(size_t capacity_keys, int bits_per_key) {
  const size_t bits = std::max<size_t>(capacity_keys, 1) * static_cast<size_t>(bits_per_key);
  return std::max<size_t>((bits + 511) / 512, 1) * 64;
}

BloomFilter::BloomFilter(size_t capacity_keys, int bits_per_key)
    : capacity_(capacity_keys),
      blocks_(BytesFor(capacity_keys, bits_per_key) / 64),
      // ln 2 x bits per key is the best number of probes; a block holds at most 7 of 9 bits.
      probes_(std::clamp(static_cast<int>(bits_per_key * 0.69 + 0.5), 1, 7)),
      words_(new std::atomic<uint64_t>[blocks_ * 8]()) {}

void BloomFilter::Add(uint64_t hash) {
  auto* block = const_cast<std::atomic<uint64_t>*>(Block(hash));
  uint64_t bits = Mix(hash ^ 0x5bd1e9955bd1e995ULL);
  for (int i = 0; i < probes_; ++i, bits >>= 9) {
    const unsigned bit = bits & 511;
    // One writer at a time (the store's merge thread), so load + store is enough.
    std::atomic<uint64_t>& w = block[bit >> 6];
    w.store(w.load(std::memory_order_relaxed) | (uint64_t{1} << (bit & 63)),
            std::memory_order_relaxed);
  }
  added_.fetch_add(1, std::memory_order_relaxed);
}

bool BloomFilter::MayContain(uint64_t hash) const {
  const std::atomic<uint64_t>* block = Block(hash);
  uint64_t bits = Mix(hash ^ 0x5bd1e9955bd1e995ULL);
  for (int i = 0; i < probes_; ++i, bits >>= 9) {
    const unsigned bit = bits & 511;
    if ((block[bit >> 6].load(std::memory_order_relaxed) & (uint64_t{1} << (bit & 63))) == 0) {
      return false;
    }
  }
  return true;
}

}  // namespace sluice::idempotency::internal

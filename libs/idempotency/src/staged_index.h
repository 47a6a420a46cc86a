// In-memory structures of the SQLite store's staging level (see sqlite_store.cc): a compact hash
// index of staged resolutions, and a Bloom filter over the main table's keys.
//
// Keys are "encoded": one tag byte (kTextTag or kBlobTag) followed by the key's bytes as stored in
// SQLite (16 bytes for a UUID under KeyEncoding::kAuto, else the id's text). The tag keeps a text
// id from colliding with a UUID's 16 raw bytes, and it makes the byte-wise (unsigned) order of
// encoded keys equal to SQLite's order of the stored keys (every TEXT before every BLOB, then
// memcmp, then the shorter first), so that a merge can walk the main table's B-tree in its own
// order.
//
// Hand-written because no library in Debian offers what is needed here: an LSM-style staging level
// in front of a SQLite table (an append-only log plus a memory index, merged in key order), with a
// memory layout of about 90 bytes per UUID key instead of the ~200 of a std::unordered_map of
// strings.
#pragma once

#include <atomic>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/idempotency/store.h"

namespace sluice::idempotency::internal {

inline constexpr char kTextTag = 0;
inline constexpr char kBlobTag = 1;

// A 64-bit hash of an encoded key, for the index and the Bloom filter.
uint64_t HashKey(std::string_view key);

// A staged resolution as the index holds it. The view points into the index: valid until the
// index is next modified.
struct StagedView {
  Outcome outcome = Outcome::kDelivered;
  std::string_view salesforce_id;
  int64_t recorded_ms = 0;
};

// Staged resolutions by encoded key: an open-addressing table of slot numbers over one vector of
// fixed-size slots and one byte arena for keys and Salesforce ids. Never shrinks: a generation is
// filled, merged, then dropped whole.
// Thread-safety: not thread-safe; the store guards each index with its mutex (a frozen index that
// nobody modifies may be read from several threads).
class StagedIndex {
 public:
  // The key's resolution, or nullopt when absent or purged.
  std::optional<StagedView> Find(std::string_view key, uint64_t hash) const;

  // Applies one staged row: it replaces the key's resolution, except that a delivered resolution
  // is never replaced by a dead-lettered one.
  void Put(std::string_view key, uint64_t hash, Outcome outcome, std::string_view salesforce_id,
           int64_t recorded_ms);

  // Cache hints for a Find of `hash` soon, and for reading `slot` (its fixed part, then its
  // bytes) soon: lookups and merges go through many keys in an order that defeats the cache.
  void Prefetch(uint64_t hash) const {
    if (!table_.empty()) __builtin_prefetch(&table_[hash & (table_.size() - 1)]);
  }
  void PrefetchSlot(uint32_t slot) const { __builtin_prefetch(&slots_[slot]); }
  void PrefetchSlotBytes(uint32_t slot) const {
    __builtin_prefetch(arena_.data() + slots_[slot].key_offset);
  }

  // Forgets resolutions recorded before `cutoff_ms`; returns how many.
  size_t PurgeOlderThan(int64_t cutoff_ms);

  // The oldest recorded_ms ever put (purges do not raise it); INT64_MAX when none.
  int64_t min_recorded_ms() const { return min_recorded_ms_; }
  // Rows applied with Put (one per staging-table row).
  size_t rows() const { return rows_; }
  // Distinct keys, purged ones included.
  size_t keys() const { return slots_.size(); }
  // Heap bytes in use (capacity, not size).
  size_t memory_bytes() const;

  // The slots of live (not purged) keys, in SQLite's key order.
  std::vector<uint32_t> SortedLiveSlots() const;
  std::string_view KeyOf(uint32_t slot) const;
  uint64_t HashOf(uint32_t slot) const { return slots_[slot].hash; }
  StagedView ViewOf(uint32_t slot) const;

 private:
  struct Slot {
    uint64_t hash;
    int64_t recorded_ms;
    uint32_t key_offset;  // into arena_
    uint32_t sf_offset;
    uint16_t key_size;  // <= 1 + kMaxEventIdBytes
    uint8_t sf_size;    // <= kMaxSalesforceIdBytes
    uint8_t state;      // the Outcome's value, or 0 when purged
  };
  static_assert(sizeof(Slot) == 32);

  // The table position holding `key`, or of the empty entry where it would go.
  size_t Position(std::string_view key, uint64_t hash) const;
  void Grow();
  uint32_t Append(std::string_view bytes);

  std::string arena_;
  std::vector<Slot> slots_;
  // The hash's upper half (a tag) | slot number + 1; 0 when empty. Size a power of two, at most
  // half full.
  static constexpr uint64_t kTagMask = 0xffffffff00000000ULL;
  std::vector<uint64_t> table_;
  size_t rows_ = 0;
  int64_t min_recorded_ms_ = INT64_MAX;
};

// A blocked Bloom filter (one 64-byte block per key, up to 7 bits in it) over key hashes.
// Thread-safety: MayContain is safe from any number of threads, also while one thread (at most)
// calls Add; bits are atomic words, so a key added before a happens-before edge (a mutex, a
// SQLite commit seen through one) is seen after it.
class BloomFilter {
 public:
  // Sized for `capacity_keys` keys at `bits_per_key` bits each (1..32).
  BloomFilter(size_t capacity_keys, int bits_per_key);

  void Add(uint64_t hash);
  bool MayContain(uint64_t hash) const;
  // A cache hint for an Add or MayContain of `hash` soon.
  void Prefetch(uint64_t hash) const { __builtin_prefetch(Block(hash)); }

  size_t capacity() const { return capacity_; }
  size_t added() const { return added_.load(std::memory_order_relaxed); }
  size_t bytes() const { return blocks_ * 64; }
  // The memory a filter for `capacity_keys` keys would take.
  static size_t BytesFor(size_t capacity_keys, int bits_per_key);

 private:
  const std::atomic<uint64_t>* Block(uint64_t hash) const {
    return &words_[((hash >> 32) * blocks_ >> 32) * 8];
  }

  size_t capacity_;
  size_t blocks_;
  int probes_;
  std::unique_ptr<std::atomic<uint64_t>[]> words_;
  std::atomic<size_t> added_{0};
};

}  // namespace sluice::idempotency::internal

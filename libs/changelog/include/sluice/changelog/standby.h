// Standby: keeps warm copies of changelog partitions this instance does not own, as Kafka Streams'
// standby replicas do. A background thread tails the partitions it is told to follow and applies
// every entry to the local store, so that when one of them is assigned here the restore reads only
// what was written since (seconds of entries, not the partition's whole retention).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "sluice/core/status.h"
#include "sluice/idempotency/store.h"
#include "sluice/kafka/message.h"
#include "sluice/kafka/partition_reader.h"

namespace sluice::changelog {

struct StandbyOptions {
  kafka::PartitionReaderOptions reader;
  // Entries per store transaction. Default 5,000.
  size_t batch_entries = 5000;
  // How long one poll waits for records; also the longest Follow waits for the thread to take a
  // new set. Default 200 ms.
  std::chrono::milliseconds poll{200};
  // Wait after an error (the broker away, the store busy) before reading again. Default 1 s.
  std::chrono::milliseconds retry_after{1000};
};

// Cumulative counts since Start. Thread-safety: a value type.
struct StandbyStats {
  int64_t applied = 0;     // entries written to the store
  int64_t foreign = 0;     // records that were not ours (see Decode): skipped
  int64_t errors = 0;      // reads or store writes that failed (retried)
  int64_t partitions = 0;  // partitions followed now
};

// changelog topic -> partition -> next offset to apply.
using PartitionOffsets = std::map<std::string, std::map<int32_t, int64_t>>;

// Thread-safety: Follow, stats and Stop from any thread (Follow and Stop serialize with each
// other); `applied` is called on the standby's own thread.
class Standby {
 public:
  // Called after `entries` entries of `topic` are in the store, and with them everything up to
  // `next` (partition -> next offset to apply) of the partitions read.
  using Applied = std::function<void(const std::string& topic,
                                     const std::map<int32_t, int64_t>& next, int64_t entries)>;

  // Where the entries of one changelog partition go (the relay keeps a store per partition);
  // called on the standby's thread. Null: the entries are dropped (and counted as errors).
  using StoreFor =
      std::function<idempotency::IdempotencyStore*(const std::string& topic, int32_t partition)>;

  // Starts following nothing; `store` must outlive the Standby.
  static Result<std::unique_ptr<Standby>> Start(const StandbyOptions& options,
                                                idempotency::IdempotencyStore& store,
                                                Applied applied);
  // The same, each partition's entries recorded in store_for(topic, partition); a store it
  // returns must stay open until a Follow that leaves its partition out has returned.
  static Result<std::unique_ptr<Standby>> Start(const StandbyOptions& options, StoreFor store_for,
                                                Applied applied);
  ~Standby();
  Standby(const Standby&) = delete;
  Standby& operator=(const Standby&) = delete;

  // Follows exactly `partitions` from the offsets given. Returns once the thread has taken the
  // new set: nothing of a partition left out is applied after Follow returns, so its owner can
  // restore and write it alone.
  void Follow(PartitionOffsets partitions);
  StandbyStats stats() const;
  // Stops the thread (idempotent).
  void Stop();

 private:
  Standby(const StandbyOptions& options, StoreFor store_for, Applied applied);
  void Run();
  // Reads one round from every reader; false when something failed.
  bool ReadRound(std::map<std::string, std::unique_ptr<kafka::PartitionReader>>& readers,
                 PartitionOffsets& current);

  const StandbyOptions options_;
  const StoreFor store_for_;
  const Applied applied_;

  mutable std::mutex mu_;
  std::condition_variable changed_;
  PartitionOffsets wanted_;  // guarded by mu_
  uint64_t generation_ = 0;  // guarded by mu_: bumped by Follow
  uint64_t taken_ = 0;       // guarded by mu_: the generation the thread follows
  bool stop_ = false;        // guarded by mu_
  StandbyStats stats_;       // guarded by mu_
  std::mutex follow_mu_;     // serializes Follow and Stop
  std::thread thread_;
};

}  // namespace sluice::changelog

#include "sluice/changelog/standby.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <vector>

#include "sluice/changelog/record.h"
#include "sluice/core/logging.h"

namespace sluice::changelog {

Result<std::unique_ptr<Standby>> Standby::Start(const StandbyOptions& options,
                                                idempotency::IdempotencyStore& store,
                                                Applied applied) {
  return Start(
      options, [&store](const std::string&, int32_t) { return &store; }, std::move(applied));
}

Result<std::unique_ptr<Standby>> Standby::Start(const StandbyOptions& options, StoreFor store_for,
                                                Applied applied) {
  if (!store_for) return InvalidArgumentError("standby needs a store");
  if (options.batch_entries == 0) return InvalidArgumentError("standby batch_entries must be > 0");
  if (options.poll.count() <= 0) return InvalidArgumentError("standby poll must be > 0");
  std::unique_ptr<Standby> standby(new Standby(options, std::move(store_for), std::move(applied)));
  standby->thread_ = std::thread([s = standby.get()] { s->Run(); });
  return standby;
}

Standby::Standby(const StandbyOptions& options, StoreFor store_for, Applied applied)
    : options_(options), store_for_(std::move(store_for)), applied_(std::move(applied)) {}

Standby::~Standby() { Stop(); }

void Standby::Follow(PartitionOffsets partitions) {
  std::lock_guard<std::mutex> serial(follow_mu_);
  std::unique_lock<std::mutex> lock(mu_);
  if (stop_) return;
  wanted_ = std::move(partitions);
  const uint64_t generation = ++generation_;
  changed_.notify_all();
  changed_.wait(lock, [&] { return taken_ >= generation || stop_; });
}

StandbyStats Standby::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Standby::Stop() {
  std::lock_guard<std::mutex> serial(follow_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Standby::Run() {
  auto log = GetLogger("changelog");
  // What the thread follows, advanced as entries reach the store; readers reopen from here after
  // an error, so nothing is skipped.
  PartitionOffsets current;
  std::map<std::string, std::unique_ptr<kafka::PartitionReader>> readers;
  uint64_t have = 0;
  bool reopen = false;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (current.empty() && generation_ == have && !stop_) {
        changed_.wait(lock, [&] { return generation_ != have || stop_; });
      }
      if (stop_) break;
      if (generation_ != have) {
        have = generation_;
        current = wanted_;
        reopen = true;
      }
    }
    if (reopen) {
      readers.clear();  // before taken_ moves: nothing left out is read after Follow returns
      int64_t count = 0;
      for (const auto& [topic, starts] : current) count += static_cast<int64_t>(starts.size());
      {
        std::lock_guard<std::mutex> lock(mu_);
        taken_ = have;
        stats_.partitions = count;
      }
      changed_.notify_all();
      bool opened = true;
      for (const auto& [topic, starts] : current) {
        if (starts.empty()) continue;
        auto reader = kafka::PartitionReader::Open(options_.reader, topic, starts);
        if (!reader.ok()) {
          log->warn("standby: opening {}: {}", topic, reader.status().ToString());
          opened = false;
          break;
        }
        readers[topic] = std::move(reader).value();
      }
      reopen = !opened;
    }
    if (reopen || !ReadRound(readers, current)) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.errors;
      }
      readers.clear();
      reopen = true;
      std::unique_lock<std::mutex> lock(mu_);
      changed_.wait_for(lock, options_.retry_after, [&] { return generation_ != have || stop_; });
    }
  }
}

bool Standby::ReadRound(std::map<std::string, std::unique_ptr<kafka::PartitionReader>>& readers,
                        PartitionOffsets& current) {
  auto log = GetLogger("changelog");
  if (readers.empty()) return true;
  const auto slice =
      std::max(std::chrono::milliseconds(10), options_.poll / static_cast<int64_t>(readers.size()));
  for (auto& [topic, reader] : readers) {
    std::set<int32_t> at_end;
    auto messages = reader->Poll(options_.batch_entries, slice, &at_end);
    if (!messages.ok()) {
      log->warn("standby: reading {}: {}", topic, messages.status().ToString());
      return false;
    }
    std::map<int32_t, std::vector<idempotency::Entry>> batches;  // partition -> entries
    std::map<int32_t, int64_t> next;
    int64_t foreign = 0;
    int64_t applied = 0;
    int64_t dropped = 0;
    for (auto& m : *messages) {
      if (!m.error.ok()) continue;  // transient (a leader moving, the broker away): keep reading
      next[m.partition] = std::max(next[m.partition], m.offset + 1);
      auto entry = Decode(m);
      if (!entry.ok()) {
        ++foreign;
        continue;
      }
      batches[m.partition].push_back(std::move(entry).value());
    }
    for (const auto& [p, batch] : batches) {
      idempotency::IdempotencyStore* store = store_for_(topic, p);
      if (store == nullptr) {
        dropped += static_cast<int64_t>(batch.size());
        continue;
      }
      Status s = store->RecordBatch(batch);
      if (!s.ok()) {
        log->warn("standby: applying {} entries of {}[{}]: {}", batch.size(), topic, p,
                  s.ToString());
        return false;
      }
      applied += static_cast<int64_t>(batch.size());
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.applied += applied;
      stats_.foreign += foreign;
      if (dropped > 0) ++stats_.errors;
    }
    for (const auto& [p, n] : next) {
      int64_t& at = current[topic][p];
      at = std::max(at, n);
    }
    if (!next.empty()) applied_(topic, next, applied);
  }
  return true;
}

}  // namespace sluice::changelog

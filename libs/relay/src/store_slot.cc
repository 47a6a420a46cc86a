#include "store_slot.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "sluice/core/logging.h"

namespace sluice::relay {

namespace fs = std::filesystem;

idempotency::SqliteStoreOptions SlotShare(const idempotency::SqliteStoreOptions& configured,
                                          size_t sharing) {
  const int64_t n = static_cast<int64_t>(std::max<size_t>(1, sharing));
  auto share = [n](int64_t value, int64_t floor) {
    return std::max(std::min(value, floor), value / n);
  };
  idempotency::SqliteStoreOptions o = configured;
  o.max_staged_rows = share(configured.max_staged_rows, 10'000);
  o.cache_size_kib = static_cast<int>(share(configured.cache_size_kib, 256));
  o.bloom_max_bytes = share(configured.bloom_max_bytes, 1LL << 20);
  return o;
}

Result<std::string> SlotPath(const std::string& base, const kafka::TopicPartition& source) {
  if (source.partition < 0) {
    return InvalidArgumentError(
        fmt::format("no store slot for partition {} of {}", source.partition, source.topic));
  }
  const bool named = !source.topic.empty() && source.topic != "." && source.topic != ".." &&
                     std::all_of(source.topic.begin(), source.topic.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                     });
  if (!named) {
    return InvalidArgumentError(
        fmt::format("topic name \"{}\" is not a Kafka topic name ([A-Za-z0-9._-])", source.topic));
  }
  return fmt::format("{}.d/{}-{}.db", base, source.topic, source.partition);
}

Status MoveStoreAside(const std::string& path, const std::string& infix, int64_t now_ms) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path from = path + suffix;
    std::error_code ec;
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, fmt::format("{}{}-{}{}", path, infix, now_ms, suffix), ec);
    if (ec) return InternalError(fmt::format("moving {} aside: {}", from.string(), ec.message()));
  }
  return Status::Ok();
}

StoreSlot::StoreSlot(kafka::TopicPartition source, std::string path, Clock& clock,
                     bool with_changelog)
    : source_(std::move(source)),
      path_(std::move(path)),
      clock_(clock),
      with_changelog_(with_changelog) {}

StoreSlot::~StoreSlot() { Close(); }

Result<std::unique_ptr<StoreSlot>> StoreSlot::Open(const SlotConfig& config,
                                                   const kafka::TopicPartition& source,
                                                   Clock& clock, bool* rebuilt) {
  ASSIGN_OR_RETURN(std::string path, SlotPath(config.store.path, source));
  auto log = GetLogger("relay");
  std::unique_ptr<StoreSlot> slot(new StoreSlot(source, path, clock, config.with_changelog));
  idempotency::SqliteStoreOptions options = SlotShare(config.store, config.sharing);
  options.path = path;
  const std::string sidecar = path + ".changelog.json";
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);
  if (ec) {
    return InternalError(
        fmt::format("creating {}: {}", fs::path(path).parent_path().string(), ec.message()));
  }
  const bool existed = fs::exists(path);
  auto store = idempotency::OpenSqliteStore(options);
  if (config.with_changelog) {
    if (!store.ok() && store.status().code() == StatusCode::kDataLoss) {
      log->error(
          "idempotency store {} of {}[{}] is damaged ({}); moving it aside and rebuilding "
          "that partition from the changelog",
          path, source.topic, source.partition, store.status().message());
      RETURN_IF_ERROR(MoveStoreAside(path, ".corrupt", clock.WallMillis()));
      if (rebuilt != nullptr) *rebuilt = true;
      store = idempotency::OpenSqliteStore(options);
      RETURN_IF_ERROR(changelog::AppliedOffsets::Remove(sidecar));
    } else if (store.ok() && !existed) {
      // A new file holds nothing: whatever its sidecar says was applied is not here. With a
      // sidecar left, the file was lost (deleted beside it): say so and count it.
      if (fs::exists(sidecar)) {
        log->warn(
            "idempotency store {} of {}[{}] was missing; rebuilding that partition from the "
            "changelog",
            path, source.topic, source.partition);
        if (rebuilt != nullptr) *rebuilt = true;
      }
      RETURN_IF_ERROR(changelog::AppliedOffsets::Remove(sidecar));
    }
  }
  if (!store.ok()) return store.status();
  slot->store_ = std::move(store).value();
  ASSIGN_OR_RETURN(slot->committer_, idempotency::GroupCommitter::Start(slot->store_.get()));
  ASSIGN_OR_RETURN(slot->purger_,
                   idempotency::RetentionPurger::Start(slot->store_.get(), config.retention));
  if (config.with_changelog) {
    std::string damaged;
    slot->applied_ = changelog::AppliedOffsets::Load(sidecar, &damaged);
    if (!damaged.empty()) {
      log->warn("applied changelog offsets of {} unreadable ({}): restoring it from the start",
                path, damaged);
    }
  }
  slot->last_save_ = clock.Now();
  return slot;
}

int64_t StoreSlot::Next(const kafka::TopicPartition& changelog) const {
  std::lock_guard<std::mutex> lock(mu_);
  return applied_.Next(changelog);
}

void StoreSlot::Advance(const kafka::TopicPartition& changelog, int64_t next) {
  std::lock_guard<std::mutex> lock(mu_);
  applied_.Advance(changelog, next);
}

Status StoreSlot::SaveOffsets(Clock::Duration every) {
  if (!with_changelog_) return Status::Ok();
  std::lock_guard<std::mutex> lock(mu_);
  if (every > Clock::Duration::zero() && clock_.Now() - last_save_ < every) return Status::Ok();
  last_save_ = clock_.Now();
  Status s = applied_.Save();
  if (!s.ok()) GetLogger("relay")->warn("saving the applied changelog offsets: {}", s.ToString());
  return s;
}

void StoreSlot::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  if (committer_) committer_->Stop();
  if (purger_) purger_->Stop();
  if (store_) (void)SaveOffsets();
}

}  // namespace sluice::relay

// Measures check-and-record operations per second on the SQLite idempotency store, the way the
// relay uses it: for each batch of event ids, CheckBatch all of them, then RecordBatch the ones
// that were not yet resolved (one transaction). One operation = one id checked (and recorded
// when new). The id stream has `--events` distinct UUIDs; half of each batch are ids seen before
// (hits), half are new (misses), so 2 x events operations in all.
//
// Modes: "direct" calls the store from one thread; "group" runs `--threads` relay-like workers
// that check directly and record through a GroupCommitter, waiting for each commit.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "sluice/build_info/build_info.h"
#include "sluice/idempotency/group_commit.h"
#include "sluice/idempotency/store.h"
#include "sluice/metrics/histogram.h"

namespace {

using sluice::idempotency::Entry;
using sluice::idempotency::GroupCommitter;
using sluice::idempotency::IdempotencyStore;
using sluice::idempotency::KeyEncoding;
using sluice::idempotency::Outcome;
using sluice::idempotency::SqliteStoreOptions;
using sluice::idempotency::Synchronous;
using Clock = std::chrono::steady_clock;

std::string Uuid(std::mt19937_64& rng) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  uint64_t a = rng(), b = rng();
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
    const uint64_t word = i < 16 ? a : b;
    out += kHex[(word >> ((i % 16) * 4)) & 15];
  }
  return out;
}

// The batches, generated up front so that id generation is not measured.
std::vector<std::vector<std::string>> MakeStream(size_t events, size_t batch, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> seen;
  seen.reserve(events);
  std::vector<std::vector<std::string>> batches;
  size_t fresh = 0;
  while (fresh < events) {
    std::vector<std::string> b;
    b.reserve(batch);
    for (size_t i = 0; i < batch; ++i) {
      const bool repeat = (i % 2 == 1) && !seen.empty();
      if (repeat) {
        b.push_back(seen[rng() % seen.size()]);
      } else if (fresh < events) {
        seen.push_back(Uuid(rng));
        b.push_back(seen.back());
        ++fresh;
      }
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

struct Result {
  uint64_t ops = 0;
  uint64_t hits = 0;
  double seconds = 0;
  sluice::metrics::LogLinearHistogram batch_us;
};

bool CheckAndRecord(IdempotencyStore& store, const std::vector<std::string>& ids,
                    GroupCommitter* committer, Result& r, std::atomic<uint64_t>& hits) {
  const auto start = Clock::now();
  auto checked = store.CheckBatch(ids);
  if (!checked.ok()) {
    fmt::print(stderr, "check failed: {}\n", checked.status().ToString());
    return false;
  }
  std::vector<Entry> misses;
  uint64_t h = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if ((*checked)[i].has_value()) {
      ++h;
    } else {
      misses.push_back(Entry{ids[i], Outcome::kDelivered, "001xx000003DGb2AAG", 0});
    }
  }
  sluice::Status s = committer != nullptr ? committer->Enqueue(std::move(misses)).get()
                                          : store.RecordBatch(misses);
  if (!s.ok()) {
    fmt::print(stderr, "record failed: {}\n", s.ToString());
    return false;
  }
  hits += h;
  r.batch_us.Record(static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count()));
  return true;
}

// User + system CPU time of the process, so figures can be read on a busy machine too.
double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Check-and-record throughput of the SQLite idempotency store"};
  size_t events = 1'000'000;
  size_t batch = 1000;
  std::string key = "auto";
  std::string sync = "normal";
  std::string mode = "direct";
  int threads = 4;
  std::string dir = "/tmp";
  uint64_t seed = 1;
  int page_size = 4096;
  int autocheckpoint = 1000;
  int cache_kib = 16 * 1024;
  bool foreground_checkpoint = false;
  int64_t max_staged = SqliteStoreOptions{}.max_staged_rows;
  int merge_chunk = SqliteStoreOptions{}.merge_chunk_rows;
  int bloom_bits = SqliteStoreOptions{}.bloom_bits_per_key;
  bool reopen = false;
  app.add_option("--events", events, "Distinct event ids (default 1,000,000)")
      ->check(CLI::Range(1, 100'000'000));
  app.add_option("--batch", batch, "Ids per CheckBatch (default 1000)")
      ->check(CLI::Range(2, 100'000));
  app.add_option("--key", key, "auto (UUIDs as 16-byte BLOBs) or text")
      ->check(CLI::IsMember({"auto", "text"}));
  app.add_option("--sync", sync, "normal or full")->check(CLI::IsMember({"normal", "full"}));
  app.add_option("--mode", mode, "direct or group")->check(CLI::IsMember({"direct", "group"}));
  app.add_option("--threads", threads, "Workers in group mode (default 4)")
      ->check(CLI::Range(1, 64));
  app.add_option("--dir", dir, "Directory for the database file (default /tmp)");
  app.add_option("--seed", seed, "Random seed (default 1)");
  app.add_option("--page-size", page_size, "SQLite page size (default 4096)");
  app.add_option("--autocheckpoint", autocheckpoint, "WAL pages per checkpoint (default 1000)");
  app.add_option("--cache-kib", cache_kib, "Page cache per connection in KiB (default 16384)");
  app.add_flag("--foreground-checkpoint", foreground_checkpoint,
               "Let SQLite checkpoint on the committing thread instead of in the background");
  app.add_option("--max-staged", max_staged, "Staged rows before RecordBatch waits for a merge")
      ->check(CLI::Range(int64_t{2}, int64_t{8'000'000}));
  app.add_option("--merge-chunk", merge_chunk, "Rows per merge transaction")
      ->check(CLI::Range(1, 10'000'000));
  app.add_option("--bloom-bits", bloom_bits, "Bloom filter bits per key (0: no filter)")
      ->check(CLI::Range(0, 32));
  app.add_flag("--reopen", reopen,
               "Close without merging what is staged, then time opening the store again (the "
               "staging table's reload and the Bloom filter's build)");
  sluice::build_info::AddVersionFlag(app, "sluice-bench-idempotency");
  CLI11_PARSE(app, argc, argv);

  const auto stream = MakeStream(events, batch, seed);
  const std::string path = fmt::format("{}/sluice-bench-idem-{}.db", dir, getpid());
  SqliteStoreOptions options;
  options.path = path;
  options.key_encoding = key == "auto" ? KeyEncoding::kAuto : KeyEncoding::kText;
  options.synchronous = sync == "full" ? Synchronous::kFull : Synchronous::kNormal;
  options.page_size = page_size;
  options.wal_autocheckpoint_pages = autocheckpoint;
  options.cache_size_kib = cache_kib;
  options.background_checkpoint = !foreground_checkpoint;
  options.max_staged_rows = max_staged;
  options.merge_chunk_rows = merge_chunk;
  options.bloom_bits_per_key = bloom_bits;
  options.merge_on_close = !reopen;
  auto store = sluice::idempotency::OpenSqliteStore(options);
  if (!store.ok()) {
    fmt::print(stderr, "{}\n", store.status().ToString());
    return 1;
  }
  std::unique_ptr<GroupCommitter> committer;
  if (mode == "group") {
    auto c = GroupCommitter::Start(store->get());
    if (!c.ok()) return 1;
    committer = std::move(*c);
  }

  Result r;
  std::atomic<uint64_t> hits{0};
  std::atomic<bool> failed{false};
  const auto start = Clock::now();
  const double cpu_start = CpuSeconds();
  if (mode == "direct") {
    for (const auto& ids : stream) {
      if (!CheckAndRecord(**store, ids, nullptr, r, hits)) return 1;
    }
  } else {
    std::atomic<size_t> next{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < stream.size() && !failed; i = next++) {
          if (!CheckAndRecord(**store, stream[i], committer.get(), r, hits)) failed = true;
        }
      });
    }
    for (auto& w : workers) w.join();
    if (failed) return 1;
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu = CpuSeconds() - cpu_start;
  for (const auto& ids : stream) r.ops += ids.size();
  committer.reset();
  const auto stats = (*store)->stats();
  // Closing merges what is still staged (at most --max-staged rows): work the run deferred, so
  // the figures "with the final merge" charge it to the run.
  store->reset();
  const double seconds_with_close = std::chrono::duration<double>(Clock::now() - start).count();
  const double cpu_with_close = CpuSeconds() - cpu_start;
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(path, ec);
  fmt::print(
      "mode={} threads={} batch={} key={} sync={} page={} ckpt={}{} events={}: {} ops in {:.2f} s "
      "= {:.0f} ops/s ({:.2f} CPU s, {:.0f} ops per CPU s); hits {:.1f}%; per batch p50 {:.2f} ms, "
      "p99 {:.2f} ms, max {:.2f} ms; {} transactions, {} background checkpoints; db {:.1f} MiB; "
      "max-staged {} chunk {} bloom {}: {} merges ({} rows), {} staged at the end, {} filter "
      "skips; with {}: {:.2f} s = {:.0f} ops/s ({:.2f} CPU s, {:.0f} ops per CPU s)\n",
      mode, mode == "group" ? threads : 1, batch, key == "auto" ? "blob" : "text", sync, page_size,
      autocheckpoint, foreground_checkpoint ? "/foreground" : "", events, r.ops, r.seconds,
      static_cast<double>(r.ops) / r.seconds, cpu, static_cast<double>(r.ops) / cpu,
      100.0 * static_cast<double>(hits.load()) / static_cast<double>(r.ops),
      r.batch_us.Quantile(0.5) / 1000.0, r.batch_us.Quantile(0.99) / 1000.0,
      r.batch_us.Max() / 1000.0, stats.transactions, stats.checkpoints,
      static_cast<double>(bytes) / (1 << 20), max_staged, merge_chunk, bloom_bits, stats.merges,
      stats.merged, stats.staged, stats.filter_skips,
      reopen ? "the close (no merge: --reopen)" : "the final merge at close", seconds_with_close,
      static_cast<double>(r.ops) / seconds_with_close, cpu_with_close,
      static_cast<double>(r.ops) / cpu_with_close);
  if (reopen) {
    const auto open_start = Clock::now();
    auto again = sluice::idempotency::OpenSqliteStore(options);
    if (!again.ok()) {
      fmt::print(stderr, "{}\n", again.status().ToString());
      return 1;
    }
    fmt::print("reopened in {:.2f} s: {} staged rows reloaded, filter built over {} merged rows\n",
               std::chrono::duration<double>(Clock::now() - open_start).count(),
               (*again)->stats().staged, stats.merged);
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
  return 0;
}

#include "direct.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "sluice/kafka/producer.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;

// One batch: when it was due, and how many of its events are still unacknowledged.
struct Batch {
  Clock::time_point due;
  std::atomic<int> left{0};
  bool failed = false;
};

}  // namespace

int RunDirect(const DirectOptions& o) {
  if (o.bootstrap.empty() || o.rate <= 0 || o.batch < 1) {
    std::fprintf(stderr, "--mode direct needs --bootstrap, --rate and --batch\n");
    return 2;
  }
  const int64_t batches = static_cast<int64_t>(o.rate * o.seconds);
  std::vector<std::unique_ptr<Batch>> all;
  all.reserve(static_cast<size_t>(batches));
  for (int64_t i = 0; i < batches; ++i) all.push_back(std::make_unique<Batch>());
  std::mutex mu;  // guards latency_ms and failures (the delivery thread writes them)
  std::vector<double> latency_ms;
  int64_t failures = 0;

  kafka::ProducerOptions po;
  po.bootstrap = o.bootstrap;
  // The gateway's settings (libs/gateway/src/service.cc).
  po.properties = {{"linger.ms", "2"}, {"socket.nagle.disable", "true"}};
  po.idempotence = true;
  po.acks = "all";
  po.on_tagged_delivery = [&](const kafka::TaggedReport& r) {
    Batch& b = *all[r.tag];
    if (!r.status.ok()) b.failed = true;
    if (b.left.fetch_sub(1) != 1) return;
    std::lock_guard lock(mu);
    if (b.failed) {
      ++failures;
    } else {
      latency_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - b.due).count());
    }
  };
  auto producer = kafka::Producer::Create(po);
  if (!producer.ok()) {
    std::fprintf(stderr, "producer: %s\n", producer.status().ToString().c_str());
    return 1;
  }
  const std::string value(230, 'x');
  // Warm up: topic creation and the producer's first metadata.
  (void)(*producer)->Produce(o.topic, "warm-up", value, {}, nullptr);
  (void)(*producer)->Flush(std::chrono::seconds(30));

  const Clock::time_point start = Clock::now();
  for (int64_t i = 0; i < batches; ++i) {
    Batch& b = *all[static_cast<size_t>(i)];
    b.due = start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(static_cast<double>(i) / o.rate));
    std::this_thread::sleep_until(b.due);
    b.left.store(o.batch);
    for (int j = 0; j < o.batch; ++j) {
      const std::string key =
          "K-" + std::to_string((static_cast<uint64_t>(i) * o.batch + j) % o.keys);
      Status st = (*producer)->ProduceTagged(o.topic, key, value, {}, static_cast<uint64_t>(i));
      if (!st.ok()) {
        std::fprintf(stderr, "produce: %s\n", st.ToString().c_str());
        return 1;
      }
    }
  }
  (void)(*producer)->Flush(std::chrono::seconds(60));
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  producer->reset();
  std::lock_guard lock(mu);
  std::sort(latency_ms.begin(), latency_ms.end());
  auto q = [&](double p) {
    if (latency_ms.empty()) return 0.0;
    return latency_ms[static_cast<size_t>(p * static_cast<double>(latency_ms.size() - 1))];
  };
  const auto acked = static_cast<long long>(latency_ms.size());
  std::printf(
      "{\"mode\":\"direct\",\"batch\":%d,\"rate\":%.0f,\"seconds\":%.2f,\"requests\":%lld,"
      "\"events\":%lld,\"failed\":%lld,\"requests_per_s\":%.0f,\"events_per_s\":%.0f,"
      "\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
      o.batch, o.rate, elapsed, acked, acked * o.batch, static_cast<long long>(failures),
      static_cast<double>(acked) / elapsed, static_cast<double>(acked * o.batch) / elapsed, q(0.5),
      q(0.99), latency_ms.empty() ? 0.0 : latency_ms.back());
  return failures == 0 ? 0 : 1;
}

}  // namespace sluice::bench

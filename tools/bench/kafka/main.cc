// sluice-bench-kafka: how fast libs/kafka produces and consumes fixed-size records.
//
//   sluice-bench-kafka --bootstrap 127.0.0.1:PORT --topic T [--create-partitions N]
//                      [--messages 1000000] [--size 512] [--mode produce|consume|both]
//                      [--property k=v ...]
//
// Produce: records of --size bytes (null key, like `kcat -P`), asynchronously through
// Producer::Produce with a delivery callback counting acks; timed from the first Produce to the
// end of Flush (every record acknowledged with acks=all). Consume: a fresh consumer group reads
// the topic from the beginning with Consumer::Poll(10000, ...) and stores each offset; timed
// from Subscribe (group join included) to the last record. One line per phase on stdout:
//   libs/kafka produce: 1000000 msgs, 512 B, 3.21 s, 311526 msgs/s, 159.5 MB/s
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>

#include "sluice/build_info/build_info.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

void Report(const char* phase, int64_t messages, int size, Clock::duration elapsed) {
  double seconds = std::chrono::duration<double>(elapsed).count();
  std::printf("libs/kafka %s: %lld msgs, %d B, %.2f s, %.0f msgs/s, %.1f MB/s\n", phase,
              static_cast<long long>(messages), size, seconds, messages / seconds,
              messages * static_cast<double>(size) / seconds / 1e6);
  std::fflush(stdout);
}

int Produce(const std::string& bootstrap, const std::string& topic, int64_t messages, int size,
            const std::map<std::string, std::string>& properties) {
  sluice::kafka::ProducerOptions options;
  options.bootstrap = bootstrap;
  options.properties = properties;
  auto producer = sluice::kafka::Producer::Create(options);
  if (!producer.ok()) {
    std::fprintf(stderr, "%s\n", producer.status().ToString().c_str());
    return 1;
  }
  const std::string value(static_cast<size_t>(size), 'x');
  sluice::kafka::ProducerRecord record(topic, std::nullopt, value);
  std::atomic<int64_t> acked{0}, failed{0};
  auto callback = [&](const sluice::kafka::DeliveryReport& r) {
    (r.status.ok() ? acked : failed).fetch_add(1, std::memory_order_relaxed);
  };
  const auto start = Clock::now();
  for (int64_t i = 0; i < messages; ++i) {
    sluice::Status s = (*producer)->Produce(record, callback);
    if (!s.ok()) {
      std::fprintf(stderr, "produce %lld: %s\n", static_cast<long long>(i), s.ToString().c_str());
      return 1;
    }
  }
  sluice::Status flushed = (*producer)->Flush(600s);
  const auto elapsed = Clock::now() - start;
  if (!flushed.ok() || failed.load() != 0 || acked.load() != messages) {
    std::fprintf(stderr, "flush: %s; acked %lld, failed %lld\n", flushed.ToString().c_str(),
                 static_cast<long long>(acked.load()), static_cast<long long>(failed.load()));
    return 1;
  }
  Report("produce", messages, size, elapsed);
  return 0;
}

int Consume(const std::string& bootstrap, const std::string& topic, int64_t messages, int size,
            const std::map<std::string, std::string>& properties) {
  sluice::kafka::ConsumerOptions options;
  options.bootstrap = bootstrap;
  options.group_id = fmt::format("bench-{}-{}", topic, Clock::now().time_since_epoch().count());
  options.properties = properties;
  auto consumer = sluice::kafka::Consumer::Create(options);
  if (!consumer.ok()) {
    std::fprintf(stderr, "%s\n", consumer.status().ToString().c_str());
    return 1;
  }
  const auto start = Clock::now();
  if (auto s = (*consumer)->Subscribe({topic}); !s.ok()) {
    std::fprintf(stderr, "%s\n", s.ToString().c_str());
    return 1;
  }
  int64_t received = 0, bytes = 0;
  const auto deadline = start + 600s;
  while (received < messages) {
    if (Clock::now() > deadline) {
      std::fprintf(stderr, "consume: only %lld of %lld records in 600 s\n",
                   static_cast<long long>(received), static_cast<long long>(messages));
      return 1;
    }
    auto batch = (*consumer)->Poll(10000, 500ms);
    if (!batch.ok()) {
      std::fprintf(stderr, "%s\n", batch.status().ToString().c_str());
      return 1;
    }
    for (const auto& m : *batch) {
      if (m.is_error()) continue;
      ++received;
      bytes += static_cast<int64_t>(m.value.size());
      (void)(*consumer)->StoreOffset(m.topic, m.partition, m.offset + 1);
    }
  }
  const auto elapsed = Clock::now() - start;
  if (bytes != messages * size) {
    std::fprintf(stderr, "consume: %lld bytes, expected %lld\n", static_cast<long long>(bytes),
                 static_cast<long long>(messages * size));
    return 1;
  }
  Report("consume", messages, size, elapsed);
  (void)(*consumer)->Commit(true);
  return (*consumer)->Close().ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Produce/consume throughput of libs/kafka"};
  std::string bootstrap, topic, mode = "both";
  int64_t messages = 1000000;
  int size = 512;
  int create_partitions = 0;
  std::vector<std::string> property_args;
  app.add_option("--bootstrap", bootstrap, "broker address")->required();
  app.add_option("--topic", topic, "topic")->required();
  app.add_option("--messages", messages, "records")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 40));
  app.add_option("--size", size, "value bytes")->check(CLI::Range(0, 1 << 20));
  app.add_option("--mode", mode, "produce, consume, both or create")
      ->check(CLI::IsMember({"produce", "consume", "both", "create"}));
  app.add_option("--create-partitions", create_partitions, "create the topic first");
  app.add_option("--property", property_args, "librdkafka property k=v (repeatable)");
  sluice::build_info::AddVersionFlag(app, "sluice-bench-kafka");
  CLI11_PARSE(app, argc, argv);

  std::map<std::string, std::string> properties;
  for (const auto& p : property_args) {
    auto eq = p.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "--property %s: expected k=v\n", p.c_str());
      return 2;
    }
    properties[p.substr(0, eq)] = p.substr(eq + 1);
  }
  if (create_partitions > 0) {
    sluice::kafka::AdminOptions options;
    options.bootstrap = bootstrap;
    auto admin = sluice::kafka::Admin::Create(options);
    sluice::Status s =
        admin.ok() ? (*admin)->CreateTopic({topic, create_partitions}, 60s) : admin.status();
    if (!s.ok()) {
      std::fprintf(stderr, "create topic: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  if (mode == "create") return 0;
  if (mode != "consume" && Produce(bootstrap, topic, messages, size, properties) != 0) return 1;
  if (mode != "produce" && Consume(bootstrap, topic, messages, size, properties) != 0) return 1;
  return 0;
}

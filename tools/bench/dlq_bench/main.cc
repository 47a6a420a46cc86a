// sluice-bench-dlq-fill: creates a source topic and its DLQ topic and fills the DLQ with N records
// shaped as sluice-relay writes them: a Contact upsert envelope (about 400 bytes) as the value,
// the ordering key, an original trace header and the eleven sluice.* DLQ headers
// (envelope::MakeDlqHeaders), a mix of permanent and retry_exhausted failures.
//
//   sluice-bench-dlq-fill --bootstrap 127.0.0.1:9092 --source bench.events --records 1000000
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdio>

#include "sluice/build_info/build_info.h"
#include "sluice/envelope/dlq.h"
#include "sluice/envelope/event.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/producer.h"

int main(int argc, char** argv) {
  std::string bootstrap, source;
  int64_t records = 1'000'000;
  int partitions = 6;
  CLI::App app{"fill a DLQ topic with relay-shaped records"};
  app.add_option("--bootstrap", bootstrap)->required();
  app.add_option("--source", source, "source topic; the DLQ is SOURCE.dlq")->required();
  app.add_option("--records", records);
  app.add_option("--partitions", partitions);
  sluice::build_info::AddVersionFlag(app, "sluice-bench-dlq-fill");
  CLI11_PARSE(app, argc, argv);
  using namespace sluice;
  const std::string dlq = source + ".dlq";

  kafka::AdminOptions ao;
  ao.bootstrap = bootstrap;
  auto admin = kafka::Admin::Create(ao);
  if (!admin.ok()) {
    std::fprintf(stderr, "%s\n", admin.status().ToString().c_str());
    return 1;
  }
  for (const auto& t : {source, dlq}) {
    Status s = (*admin)->CreateTopic(kafka::TopicSpec(t, partitions), std::chrono::seconds(30));
    if (!s.ok() && s.code() != StatusCode::kAlreadyExists) {
      std::fprintf(stderr, "create %s: %s\n", t.c_str(), s.ToString().c_str());
      return 1;
    }
  }
  kafka::ProducerOptions po;
  po.bootstrap = bootstrap;
  po.properties = {{"linger.ms", "20"}, {"batch.size", "1000000"}, {"compression.type", "lz4"}};
  auto producer = kafka::Producer::Create(po);
  if (!producer.ok()) {
    std::fprintf(stderr, "%s\n", producer.status().ToString().c_str());
    return 1;
  }
  std::atomic<int64_t> failed{0};
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < records; ++i) {
    envelope::Event e;
    e.event_id = fmt::format("{:08x}-0000-4000-8000-{:012x}", static_cast<uint32_t>(i >> 16), i);
    e.sobject = "Contact";
    e.external_id_field = "Sluice_Key__c";
    e.external_id = fmt::format("C-{:07d}", i % 200000);
    e.fields_json = envelope::MakeFieldsJson({{"FirstName", "Ada"},
                                              {"Email", fmt::format("c{}@example.com", i)},
                                              {"Description", std::string(160, 'd')}});
    e.occurred_at = "2026-11-21T00:00:00.000Z";
    e.source = "bench";
    envelope::DlqInfo info;
    const bool permanent = i % 4 != 0;
    info.error_class = permanent ? "permanent" : "retry_exhausted";
    info.error_code = permanent ? "REQUIRED_FIELD_MISSING" : "UNABLE_TO_LOCK_ROW";
    info.error_message = permanent ? "Required fields are missing: [LastName]"
                                   : "unable to obtain exclusive access to this record";
    info.attempts = permanent ? 1 : 10;
    info.first_attempt_ms = 1763700000000 + i;
    info.last_attempt_ms = info.first_attempt_ms + (permanent ? 0 : 30000);
    info.source_topic = source;
    info.source_partition = static_cast<int32_t>(i % partitions);
    info.source_offset = i / partitions;
    info.source_timestamp_ms = 1763699990000 + i;
    info.relay_instance = "relay-0@bench";
    kafka::Headers headers = envelope::MakeDlqHeaders({{"trace-id", fmt::format("t{}", i)}}, info);
    Status s = (*producer)->Produce(dlq, e.external_id, envelope::SerializeEvent(e), headers,
                                    [&failed](const kafka::DeliveryReport& r) {
                                      if (!r.status.ok()) failed.fetch_add(1);
                                    });
    if (!s.ok()) {
      std::fprintf(stderr, "produce: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  Status flushed = (*producer)->Flush(std::chrono::minutes(10));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!flushed.ok() || failed.load() > 0) {
    std::fprintf(stderr, "fill failed: %s, %lld failed deliveries\n", flushed.ToString().c_str(),
                 static_cast<long long>(failed.load()));
    return 1;
  }
  std::printf("filled %s with %lld records in %.1f s (%.0f records/s)\n", dlq.c_str(),
              static_cast<long long>(records), secs, static_cast<double>(records) / secs);
  return 0;
}

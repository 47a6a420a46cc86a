// A sluice-flood run: produce a schedule of events to a topic (acks=all), watch the relay drain
// it (consumer-group lag, sfsim's /sim/stats, the relay's /metrics, the DLQ topic), verify the
// sfsim ledger and the DLQ, and assemble the Report.
//
// Threads: the calling thread generates and produces; one monitor thread ("flood-monitor")
// samples lag and stats every sample_interval and feeds the ProgressSink; librdkafka's and the
// HTTP client's own threads do the I/O. Delivery reports update the ProducedLog from the
// producer's callback thread. Shutdown order: stop producing, flush, stop the monitor, read the
// ledger and the DLQ, destroy the producer, the admin client and the HTTP client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sluice/core/clock.h"
#include "sluice/core/shutdown.h"
#include "sluice/core/status.h"
#include "sluice/flood/generator.h"
#include "sluice/flood/report.h"
#include "sluice/flood/schedule.h"
#include "sluice/flood/threshold.h"
#include "sluice/flood/via_gateway.h"

namespace sluice::kafka {
class Producer;
struct ProducerOptions;
}  // namespace sluice::kafka

namespace sluice::flood {

struct RunOptions {
  // burst | rate | ramp | backlog.
  std::string mode = "burst";
  // The plan (see Schedule); built by the command line from --events/--window, --rate/--duration
  // or --stages.
  std::vector<Stage> stages;
  // Human form of the plan for the report.
  std::string schedule_text;

  // Kafka: bootstrap "host:port" and librdkafka properties (-X key=value), passed to the
  // producer, the admin client and the DLQ reader.
  std::string bootstrap;
  std::map<std::string, std::string> kafka_properties;
  // Topic to flood. Default "sf.contact.events".
  std::string topic = "sf.contact.events";
  // Partitions when flood has to create the topic (it never changes an existing one). Default 6.
  int partitions = 6;
  // DLQ topic to count and read. Default empty: `topic` + ".dlq".
  std::string dlq_topic;
  // Consumer group whose lag is the backlog (the relay's). Default "sluice-relay".
  std::string group = "sluice-relay";

  GeneratorOptions generator;
  // The payload size distribution as given, for the report.
  std::string payload_text = "fixed:512";

  // sluice-sfsim base URL (e.g. http://127.0.0.1:8080) for /sim/stats and /sim/ledger. Empty:
  // no delivery figures and no verification.
  std::string sfsim_url;
  // The relay's /metrics URL. Empty: not read.
  std::string relay_metrics_url;

  // Between samples; also the width of the report's delivered-per-bin series. Short enough that a
  // drain of a few seconds is drawn with a dozen points. Default 250 ms.
  Clock::Duration sample_interval = std::chrono::milliseconds(250);
  // How long to wait for the backlog to reach zero after the last event was acknowledged; 0 does
  // not wait (produce, then report). Default 10 min.
  Clock::Duration drain_timeout = std::chrono::minutes(10);
  // backlog mode: how long to wait for the group to start consuming. Default 10 min.
  Clock::Duration consumer_start_timeout = std::chrono::minutes(10);
  // How long to wait for outstanding delivery reports after the last event. Default 5 min.
  Clock::Duration flush_timeout = std::chrono::minutes(5);

  // Report files: <prefix>.json, <prefix>.csv, <prefix>.html. Empty: none. Default
  // "flood-report".
  std::string report_prefix = "flood-report";
  std::vector<Threshold> thresholds;
  std::vector<std::string> threshold_texts;
  // Ids listed per verification list. Default 100.
  int64_t max_listed = 100;
  // Makes the producer from the options the run sets up. Empty (default): kafka::Producer::Create.
  // sluice-flood --via sets one that sends through sluice-gateway (via_gateway.h).
  std::function<Result<std::unique_ptr<kafka::Producer>>(const kafka::ProducerOptions&)>
      make_producer;
  // With --via: what make_producer's producers record of the gateway's answers, and the gateway's
  // URL; the report's "gateway" section and the CSV's gateway_* columns come from them. Default
  // none (no gateway section).
  std::shared_ptr<ViaGatewayStats> via_stats;
  std::string via_url;
  // For the report's environment section.
  std::string command_line;
  std::string tool_version;
};

// Progress of a run, handed to the sink with every sample.
struct RunProgress {
  std::string
      phase;  // "producing", "flushing", "waiting for the consumer", "draining", "verifying"
  int64_t planned = 0;
  double elapsed_s = 0;
};

// Receives progress; called from the monitor thread (and once from the calling thread at phase
// changes). Thread-safety: called from one thread at a time.
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  virtual void OnSample(const RunProgress& progress, const Sample& sample) = 0;
  virtual void OnMessage(const std::string& line) = 0;
};

// Runs one flood. Returns the report (also when thresholds fail: look at report.thresholds), or an
// error when the run could not start (bad options, broker unreachable, topic cannot be created).
// `shutdown` may be null; when it is requested the run stops producing and reports what it has.
// Thread-safety: one Run at a time per process is the expected use; Run itself is re-entrant.
Result<Report> Run(const RunOptions& options, ProgressSink& progress,
                   const ShutdownToken* shutdown = nullptr);

// Writes <prefix>.json, .csv and .html; returns the paths written.
Result<std::vector<std::string>> WriteReports(const Report& report, const std::string& prefix);

}  // namespace sluice::flood

// A test harness for sluice-relay: a real broker (KafkaBroker), a real sluice-sfsim process, and
// one or more sluice-relay processes with a generated config; helpers to produce events, read the
// sfsim ledger and the DLQ topic, and wait by condition with deadlines.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/kafka/message.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/process.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::testing {

struct LedgerRow {
  uint64_t seq = 0;
  int64_t received_ms = 0;
  std::string sobject;
  std::string external_id;
  std::string event_id;
  uint64_t request_id = 0;
  bool created = false;
  std::string bulk_job_id;  // the Bulk API 2.0 job that wrote it; empty for REST and collections
};

struct DlqRow {
  std::string key;
  std::string value;
  kafka::Headers headers;
  std::string Header(const std::string& name) const;
};

// One event to produce; value is the envelope JSON (or garbage for malformed-input tests).
struct TestEvent {
  std::string key;
  std::string value;
  std::string event_id;  // empty for records that are not valid envelopes
  kafka::Headers headers;
};

// A valid upsert of a Contact keyed by `key` (Sluice_Key__c) with LastName (unless `valid` is
// false: then LastName is missing and sfsim answers REQUIRED_FIELD_MISSING).
TestEvent MakeContactEvent(const std::string& key, int seq, bool valid = true);

// A plain create of a Contact (no external id) whose event id also rides in Description, a field
// without a unique constraint, so a second create of the same event succeeds as it would in an org.
// Start sfsim with `--ledger-event-id-field Description` for its ledger to show the event ids.
TestEvent MakePlainContactCreate(const std::string& key);

// Thread-safety: not thread-safe; one test thread owns it.
class RelayHarness {
 public:
  struct Options {
    int partitions = 4;
    std::vector<std::string> sfsim_flags;
    // Extra YAML appended under `delivery:` (indented by the harness), e.g. "requests_per_second:
    // 50".
    std::map<std::string, std::string> delivery;
    // Empty: plain creates (the config then accepts duplicates on a crash, as it must).
    std::string event_id_field = "Sluice_Event_Id__c";
    std::string commit_interval = "200ms";
    // Off only to show what the store prevents.
    bool idempotency_enabled = true;
    // The delivered-set changelog (needs the store); off only to show what it prevents.
    bool changelog_enabled = true;
    // changelog.standby_partitions of every relay.
    bool changelog_standby = false;
    // logging.level of every relay.
    std::string log_level = "info";
    // Added to kafka.properties (after the harness's session and heartbeat timeouts).
    std::map<std::string, std::string> kafka_properties;
    // Another cluster's bootstrap (e.g. three nodes started with tools/kafka/broker --nodes 3):
    // the topic is created there with replication `replication`. Empty: the test binary's broker.
    std::string bootstrap;
    int replication = 1;
  };

  static Result<std::unique_ptr<RelayHarness>> Create(const Options& options);
  ~RelayHarness();

  const std::string& topic() const { return topic_; }
  const std::string& bootstrap() const { return bootstrap_; }
  std::string dlq_topic() const { return topic_ + ".dlq"; }
  SfsimProcess& sfsim() { return *sfsim_; }

  // Starts relay instance `index` (a fresh process; the same idempotency store as before for that
  // index). Returns its metrics port.
  Result<uint16_t> StartRelay(int index = 0);
  // SIGTERM (graceful) or SIGKILL; returns the exit code.
  int StopRelay(int index = 0, bool kill = false);
  bool RelayRunning(int index = 0);

  // Produces every event with acks=all and waits for all delivery reports.
  Status Produce(const std::vector<TestEvent>& events);

  // sfsim /sim/stats as parsed numbers (top-level unsigned fields, api_usage.used/max as
  // "api_usage.used" and "api_usage.max").
  Result<std::map<std::string, uint64_t>> Stats();
  Result<std::vector<LedgerRow>> Ledger();
  // Reads the DLQ topic from the beginning until `expected` records came or `timeout` passed.
  Result<std::vector<DlqRow>> ReadDlq(size_t expected, std::chrono::milliseconds timeout);
  // GET the relay's /metrics.
  Result<std::string> Metrics(int index = 0);
  // GET `path` (e.g. "/readyz") on relay `index`'s HTTP surface: the status and the body.
  Result<std::pair<int, std::string>> Get(int index, const std::string& path);
  // A sample of the relay's /metrics, or nullopt when there is none. A bare metric name sums every
  // series of that name (e.g. sluice_relay_delivered_total over its topics); a name with labels
  // (`name{topic="t"}`, as rendered) is that one series.
  std::optional<double> MetricValue(int index, const std::string& sample);

  // Waits until `pred` holds, checking every 200 ms; false at the deadline.
  static bool WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout);
  // Waits until sfsim's ledger has at least `n` entries.
  bool WaitForLedger(uint64_t n, std::chrono::milliseconds timeout);

  const std::string& work_dir() const { return dir_; }
  // Relay `index`'s idempotency.path: the base of its per-partition stores (<path>.d/), and the
  // single store file of a relay before that layout.
  std::string StorePath(int index) const;
  // Relay `index`'s store file of source partition `partition` of topic().
  std::string PartitionStorePath(int index, int partition) const;
  // Deletes relay `index`'s stores and their companions (-wal, -shm, the applied changelog
  // offsets): every partition's, and a single file at StorePath, as a fresh data directory would
  // have none.
  void RemoveStore(int index) const;

 private:
  RelayHarness() = default;
  std::string WriteConfig(int index);

  Options options_;
  std::string dir_;
  std::string topic_;
  std::string bootstrap_;
  std::unique_ptr<SfsimProcess> sfsim_;
  std::map<int, std::unique_ptr<ChildProcess>> relays_;
  std::map<int, uint16_t> relay_ports_;
};

}  // namespace sluice::testing

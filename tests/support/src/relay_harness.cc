#include "sluice/testing/relay_harness.h"

#include <rapidjson/document.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "sluice/envelope/event.h"
#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/kafka/producer.h"

namespace sluice::testing {
namespace {

using Ms = std::chrono::milliseconds;

std::string MakeUuid(std::mt19937_64& rng) {
  const uint64_t a = rng(), b = rng();
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-8%03x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xfff),
                static_cast<unsigned>(b >> 52) & 0xfff,
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

}  // namespace

std::string DlqRow::Header(const std::string& name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

TestEvent MakeContactEvent(const std::string& key, int seq, bool valid) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  envelope::Event e;
  e.event_id = MakeUuid(rng);
  e.operation = envelope::Operation::kUpsert;
  e.sobject = "Contact";
  e.external_id_field = "Sluice_Key__c";
  e.external_id = key;
  std::map<std::string, std::string> fields{{"FirstName", "Seq " + std::to_string(seq)}};
  if (valid) fields["LastName"] = "Customer " + key;
  e.fields_json = envelope::MakeFieldsJson(fields);
  e.occurred_at = "2026-11-21T00:00:00.000Z";
  e.source = "relay-test";
  return TestEvent{key, envelope::SerializeEvent(e), e.event_id, {}};
}

TestEvent MakePlainContactCreate(const std::string& key) {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  envelope::Event e;
  e.event_id = MakeUuid(rng);
  e.operation = envelope::Operation::kCreate;
  e.sobject = "Contact";
  e.fields_json =
      envelope::MakeFieldsJson({{"LastName", "Customer " + key}, {"Description", e.event_id}});
  e.occurred_at = "2026-12-07T00:00:00.000Z";
  e.source = "relay-test";
  return TestEvent{key, envelope::SerializeEvent(e), e.event_id, {}};
}

Result<std::unique_ptr<RelayHarness>> RelayHarness::Create(const Options& options) {
  std::unique_ptr<RelayHarness> h(new RelayHarness());
  h->options_ = options;
  if (options.bootstrap.empty()) {
    ASSIGN_OR_RETURN(KafkaBroker * broker, KafkaBroker::Shared());
    h->bootstrap_ = broker->bootstrap();
    ASSIGN_OR_RETURN(h->topic_, broker->CreateTopic(options.partitions, "relay"));
  } else {
    h->bootstrap_ = options.bootstrap;
    kafka::AdminOptions admin_options;
    admin_options.bootstrap = options.bootstrap;
    ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(admin_options));
    h->topic_ = KafkaBroker::UniqueName("relay");
    RETURN_IF_ERROR(admin->CreateTopic(
        kafka::TopicSpec(h->topic_, options.partitions, options.replication), Ms(60'000)));
  }
  h->dir_ =
      (std::filesystem::temp_directory_path() / KafkaBroker::UniqueName("relay-work")).string();
  std::filesystem::create_directories(h->dir_);
  ChildOptions child;
  child.stderr_path = h->dir_ + "/sfsim.log";
  ASSIGN_OR_RETURN(h->sfsim_, SfsimProcess::Start(options.sfsim_flags, child));
  return h;
}

RelayHarness::~RelayHarness() {
  for (auto& [index, relay] : relays_) {
    if (relay) relay->Stop(Ms(15'000));
  }
}

std::string RelayHarness::WriteConfig(int index) {
  std::ostringstream y;
  y << "instance_id: relay-" << index << "\n"
    << "kafka:\n"
    << "  bootstrap: \"" << bootstrap_ << "\"\n"
    << "  group_id: \"" << topic_ << "-group\"\n"
    << "  topics: [\"" << topic_ << "\"]\n"
    << "  commit_interval: " << options_.commit_interval << "\n"
    << "  properties:\n"
    << "    session.timeout.ms: 6000\n"
    << "    heartbeat.interval.ms: 1000\n";
  for (const auto& [k, v] : options_.kafka_properties) y << "    " << k << ": \"" << v << "\"\n";
  y << "salesforce:\n"
    << "  login_url: \"" << sfsim_->base_url() << "\"\n"
    << "  request_timeout: 30s\n";
  y << "  event_id_field: \"" << options_.event_id_field << "\"\n";
  if (options_.event_id_field.empty()) y << "  accept_duplicates_on_crash: true\n";
  y << "  auth:\n"
    << "    flow: client_credentials\n"
    << "    client_id: " << SfsimProcess::kClientId << "\n"
    << "    client_secret: " << SfsimProcess::kClientSecret << "\n";
  std::map<std::string, std::string> delivery{
      {"requests_per_second", "2000"},
      {"records_per_second", "400000"},
      {"max_in_flight", "8"},
      {"linger", "10ms"},
      {"shutdown_deadline", "10s"},
      {"retry", "{initial: 20ms, multiplier: 2, cap: 500ms, max_attempts: 30, max_elapsed: 5m}"}};
  for (const auto& [k, v] : options_.delivery) delivery[k] = v;
  y << "delivery:\n";
  for (const auto& [k, v] : delivery) y << "  " << k << ": " << v << "\n";
  y << "idempotency:\n"
    << "  enabled: " << (options_.idempotency_enabled ? "true" : "false") << "\n"
    << "  path: \"" << StorePath(index) << "\"\n"
    << "changelog:\n"
    << "  enabled: "
    << (options_.changelog_enabled && options_.idempotency_enabled ? "true" : "false") << "\n"
    << "  standby_partitions: " << (options_.changelog_standby ? "true" : "false") << "\n"
    << "http:\n"
    << "  listen: \"127.0.0.1:0\"\n"
    << "logging:\n"
    << "  level: " << options_.log_level << "\n";
  const std::string path = dir_ + "/relay-" + std::to_string(index) + ".yaml";
  std::ofstream(path) << y.str();
  return path;
}

std::string RelayHarness::StorePath(int index) const {
  return dir_ + "/relay-" + std::to_string(index) + ".db";
}

std::string RelayHarness::PartitionStorePath(int index, int partition) const {
  return StorePath(index) + ".d/" + topic_ + "-" + std::to_string(partition) + ".db";
}

void RelayHarness::RemoveStore(int index) const {
  for (const char* suffix : {"", "-wal", "-shm", ".changelog.json"}) {
    std::filesystem::remove(StorePath(index) + suffix);
  }
  std::filesystem::remove_all(StorePath(index) + ".d");
}

Result<uint16_t> RelayHarness::StartRelay(int index) {
  const std::string config = WriteConfig(index);
  ChildOptions child;
  child.stderr_path = dir_ + "/relay-" + std::to_string(index) + ".log";
  ASSIGN_OR_RETURN(auto process,
                   ChildProcess::Start({BinPath("sluice-relay"), "--config", config}, child));
  ASSIGN_OR_RETURN(std::string line, process->WaitForLine("metrics on", Ms(30'000)));
  const auto colon = line.rfind(':');
  const uint16_t port = static_cast<uint16_t>(std::stoi(line.substr(colon + 1)));
  relays_[index] = std::move(process);
  relay_ports_[index] = port;
  return port;
}

int RelayHarness::StopRelay(int index, bool kill) {
  auto it = relays_.find(index);
  if (it == relays_.end() || !it->second) return -1;
  int code;
  if (kill) {
    it->second->Signal(SIGKILL);
    code = it->second->Wait(Ms(10'000)).value_or(-1);
  } else {
    code = it->second->Stop(Ms(30'000));
  }
  relays_.erase(it);
  return code;
}

bool RelayHarness::RelayRunning(int index) {
  auto it = relays_.find(index);
  return it != relays_.end() && it->second && it->second->running();
}

Status RelayHarness::Produce(const std::vector<TestEvent>& events) {
  kafka::ProducerOptions options;
  options.bootstrap = bootstrap_;
  options.properties = {{"linger.ms", "5"}, {"message.max.bytes", "10000000"}};
  ASSIGN_OR_RETURN(auto producer, kafka::Producer::Create(options));
  std::atomic<size_t> failed{0};
  std::mutex mu;
  Status first_error;
  for (const auto& e : events) {
    RETURN_IF_ERROR(producer->Produce(kafka::ProducerRecord(topic_, e.key, e.value, e.headers),
                                      [&](const kafka::DeliveryReport& report) {
                                        if (!report.status.ok()) {
                                          ++failed;
                                          std::lock_guard lock(mu);
                                          if (first_error.ok()) first_error = report.status;
                                        }
                                      }));
  }
  RETURN_IF_ERROR(producer->Flush(Ms(120'000)));
  if (failed > 0) return first_error.WithContext(std::to_string(failed) + " records failed");
  return Status::Ok();
}

Result<std::map<std::string, uint64_t>> RelayHarness::Stats() {
  ASSIGN_OR_RETURN(std::string body, sfsim_->GetStats());
  rapidjson::Document d;
  d.Parse(body.data(), body.size());
  if (d.HasParseError() || !d.IsObject()) return InternalError("stats not JSON: " + body);
  std::map<std::string, uint64_t> out;
  for (auto& m : d.GetObject()) {
    if (m.value.IsUint64()) out[m.name.GetString()] = m.value.GetUint64();
  }
  if (d.HasMember("api_usage") && d["api_usage"].IsObject()) {
    for (auto& m : d["api_usage"].GetObject()) {
      if (m.value.IsUint64())
        out[std::string("api_usage.") + m.name.GetString()] = m.value.GetUint64();
    }
  }
  return out;
}

Result<std::vector<LedgerRow>> RelayHarness::Ledger() {
  std::vector<LedgerRow> rows;
  // The ledger comes in pages (sfsim answers at most 100,000 entries by default): follow `since`.
  for (uint64_t since = 0;;) {
    ASSIGN_OR_RETURN(std::string body, sfsim_->GetLedger(since));
    const size_t before = rows.size();
    std::istringstream in(body);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      rapidjson::Document d;
      d.Parse(line.data(), line.size());
      if (d.HasParseError() || !d.IsObject()) return InternalError("ledger line not JSON: " + line);
      LedgerRow r;
      auto str = [&](const char* k) {
        return d.HasMember(k) && d[k].IsString() ? std::string(d[k].GetString()) : std::string();
      };
      auto num = [&](const char* k) -> uint64_t {
        return d.HasMember(k) && d[k].IsUint64() ? d[k].GetUint64() : 0;
      };
      r.seq = num("seq");
      r.received_ms = static_cast<int64_t>(num("received_ms"));
      r.sobject = str("sobject");
      r.external_id = str("external_id");
      r.event_id = str("event_id");
      r.request_id = num("request_id");
      r.created = d.HasMember("created") && d["created"].IsBool() && d["created"].GetBool();
      r.bulk_job_id = str("bulk_job_id");
      rows.push_back(std::move(r));
    }
    if (rows.size() == before) break;
    if (rows.back().seq <= since) return InternalError("ledger paging did not advance");
    since = rows.back().seq;
  }
  return rows;
}

Result<std::vector<DlqRow>> RelayHarness::ReadDlq(size_t expected, Ms timeout) {
  kafka::ConsumerOptions options;
  options.bootstrap = bootstrap_;
  options.group_id = KafkaBroker::UniqueName("dlq-reader");
  ASSIGN_OR_RETURN(auto consumer, kafka::Consumer::Create(options));
  RETURN_IF_ERROR(consumer->Subscribe({dlq_topic()}));
  std::vector<DlqRow> rows;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline && rows.size() < expected) {
    ASSIGN_OR_RETURN(auto messages, consumer->Poll(1000, Ms(200)));
    for (auto& m : messages) {
      if (m.is_error()) continue;
      rows.push_back(DlqRow{m.key, m.value, m.headers});
    }
  }
  // A little longer, to catch records beyond the expected count.
  if (rows.size() >= expected) {
    ASSIGN_OR_RETURN(auto extra, consumer->Poll(1000, Ms(1000)));
    for (auto& m : extra) {
      if (!m.is_error()) rows.push_back(DlqRow{m.key, m.value, m.headers});
    }
  }
  (void)consumer->Close();
  return rows;
}

Result<std::string> RelayHarness::Metrics(int index) {
  auto it = relay_ports_.find(index);
  if (it == relay_ports_.end()) return NotFoundError("no relay " + std::to_string(index));
  ASSIGN_OR_RETURN(RawResponse r, HttpCall(it->second, "GET", "/metrics", {}, "", Ms(5'000)));
  if (r.status != 200) return InternalError("/metrics answered " + std::to_string(r.status));
  return r.body;
}

Result<std::pair<int, std::string>> RelayHarness::Get(int index, const std::string& path) {
  auto it = relay_ports_.find(index);
  if (it == relay_ports_.end()) return NotFoundError("no relay " + std::to_string(index));
  ASSIGN_OR_RETURN(RawResponse r, HttpCall(it->second, "GET", path, {}, "", Ms(5'000)));
  return std::pair<int, std::string>(r.status, r.body);
}

std::optional<double> RelayHarness::MetricValue(int index, const std::string& sample) {
  auto body = Metrics(index);
  if (!body.ok()) return std::nullopt;
  std::istringstream in(*body);
  std::string line;
  const bool one_series = sample.find('{') != std::string::npos;
  std::optional<double> sum;
  while (std::getline(in, line)) {
    if (line.rfind(sample, 0) != 0 || line.size() <= sample.size()) continue;
    const char next = line[sample.size()];
    if (next == ' ') {
      const double v = std::stod(line.substr(sample.size() + 1));
      if (one_series) return v;
      sum = sum.value_or(0) + v;
    } else if (next == '{' && !one_series) {
      const size_t close = line.rfind('}');
      if (close == std::string::npos || close + 1 >= line.size()) continue;
      sum = sum.value_or(0) + std::stod(line.substr(close + 2));
    }
  }
  return sum;
}

bool RelayHarness::WaitFor(const std::function<bool()>& pred, Ms timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(Ms(200));  // polling a condition, not timing a test
  }
  return true;
}

bool RelayHarness::WaitForLedger(uint64_t n, Ms timeout) {
  return WaitFor(
      [&] {
        auto s = Stats();
        return s.ok() && (*s)["ledger_entries"] >= n;
      },
      timeout);
}

}  // namespace sluice::testing

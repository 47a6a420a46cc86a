#include "load.h"

#include <rapidjson/document.h>

#include "sluice/kafka/admin.h"
#include "sluice/kafka/consumer.h"
#include "sluice/testing/gateway_process.h"
#include "sluice/testing/kafka_broker.h"
#include "sluice/testing/sfsim_process.h"

namespace sluice::testing {

void LoadRunner::Start() {
  for (int i = 0; i < options_.connections; ++i) threads_.emplace_back([this] { Loop(); });
}

void LoadRunner::Stop() {
  stop_ = true;
  Join();
}

void LoadRunner::Join() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void LoadRunner::Loop() {
  std::unique_ptr<RawConnection> conn;
  std::vector<Outcome> mine;
  const auto flush = [&] {
    std::lock_guard lock(mu_);
    for (auto& o : mine) outcomes_.push_back(std::move(o));
    mine.clear();
  };
  while (!stop_) {
    if (!conn) {
      auto c = RawConnection::Connect(options_.port, std::chrono::seconds(2));
      if (!c.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      conn = std::move(c).value();
    }
    const uint64_t first = next_.fetch_add(options_.batch);
    if (options_.max_events > 0 && first >= options_.max_events) break;
    const uint64_t n = options_.max_events > 0
                           ? std::min<uint64_t>(options_.batch, options_.max_events - first)
                           : options_.batch;
    Outcome o;
    std::string body;
    if (!options_.ndjson && options_.batch > 1) body += '[';
    for (uint64_t i = 0; i < n; ++i) {
      if (i > 0) body += options_.ndjson ? "\n" : ",";
      body += GatewayTestEvent(options_.run, first + i);
      o.ids.push_back(GatewayTestEventId(options_.run, first + i));
    }
    if (!options_.ndjson && options_.batch > 1) body += ']';
    auto r = conn->Request(
        "POST", "/v1/events",
        {{"Authorization", "Bearer " + options_.token},
         {"Content-Type", options_.ndjson ? "application/x-ndjson" : "application/json"}},
        body, std::chrono::seconds(60));
    o.at = std::chrono::steady_clock::now();
    if (!r.ok()) {
      conn.reset();
      mine.push_back(std::move(o));
      continue;
    }
    o.status = r->status;
    if (r->status == 202) {
      rapidjson::Document d;
      d.Parse(r->body.c_str());
      if (!d.HasParseError() && d.HasMember("events")) {
        for (auto& e : d["events"].GetArray()) {
          o.where.emplace_back(e["partition"].GetInt(), e["offset"].GetInt64());
        }
      }
    }
    if (r->Header("Connection") == "close") conn.reset();
    mine.push_back(std::move(o));
    if (mine.size() >= 64) flush();
  }
  flush();
}

std::vector<Outcome> LoadRunner::outcomes() {
  std::lock_guard lock(mu_);
  return outcomes_;
}

std::map<int, int> LoadRunner::StatusCounts() {
  std::map<int, int> out;
  for (const Outcome& o : outcomes()) ++out[o.status];
  return out;
}

std::map<std::string, std::pair<int32_t, int64_t>> LoadRunner::Accepted() {
  std::map<std::string, std::pair<int32_t, int64_t>> out;
  for (const Outcome& o : outcomes()) {
    if (o.status != 202) continue;
    for (size_t i = 0; i < o.ids.size(); ++i) {
      out[o.ids[i]] = i < o.where.size() ? o.where[i] : std::pair<int32_t, int64_t>{-1, -1};
    }
  }
  return out;
}

Result<std::map<std::string, std::vector<std::pair<int32_t, int64_t>>>> ReadTopic(
    const std::string& bootstrap, const std::string& topic, std::chrono::milliseconds timeout) {
  kafka::AdminOptions ao;
  ao.bootstrap = bootstrap;
  ASSIGN_OR_RETURN(auto admin, kafka::Admin::Create(ao));
  ASSIGN_OR_RETURN(auto marks, admin->Watermarks(topic, std::chrono::seconds(30)));
  int64_t total = 0;
  for (const auto& m : marks) total += m.high - m.low;
  kafka::ConsumerOptions co;
  co.bootstrap = bootstrap;
  co.group_id = KafkaBroker::UniqueName("gateway-reader");
  ASSIGN_OR_RETURN(auto consumer, kafka::Consumer::Create(co));
  RETURN_IF_ERROR(consumer->Subscribe({topic}));
  std::map<std::string, std::vector<std::pair<int32_t, int64_t>>> out;
  int64_t read = 0;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  static constexpr std::string_view kField = "\"event_id\":\"";
  while (read < total && std::chrono::steady_clock::now() < deadline) {
    ASSIGN_OR_RETURN(auto messages, consumer->Poll(10000, std::chrono::milliseconds(500)));
    for (const auto& m : messages) {
      if (m.is_error()) continue;
      ++read;
      const size_t at = m.value.find(kField);
      std::string id = at == std::string::npos ? "<no id>" : m.value.substr(at + kField.size(), 36);
      out[id].emplace_back(m.partition, m.offset);
    }
  }
  (void)consumer->Close();
  if (read < total) {
    return DeadlineExceededError("read " + std::to_string(read) + " of " + std::to_string(total) +
                                 " records of " + topic);
  }
  return out;
}

}  // namespace sluice::testing

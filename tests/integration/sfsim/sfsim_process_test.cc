// sluice-sfsim as a process: startup, Salesforce behaviour over real HTTP, hostile input (the
// process stays up and keeps answering other clients), timers instead of threads for latency,
// limits, locks, faults, config files, SQLite ledger and clean shutdown. Waits are by condition
// with deadlines; nothing asserts on speed.
#include "sluice/testing/sfsim_process.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "sluice/testing/process.h"

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kV = "/services/data/v62.0";

std::string Contacts(int n, const std::string& prefix = "k") {
  std::string body = "{\"allOrNone\":false,\"records\":[";
  for (int i = 0; i < n; ++i) {
    if (i) body += ",";
    body += "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"L\",\"Sluice_Key__c\":\"" +
            prefix + std::to_string(i) + "\"}";
  }
  return body + "]}";
}

// A JSON number from a flat stats body, e.g. Stat(body, "records_written").
int64_t Stat(const std::string& json, const std::string& key) {
  size_t p = json.find("\"" + key + "\":");
  if (p == std::string::npos) return -1;
  return std::atoll(json.c_str() + p + key.size() + 3);
}

// Polls `pred` until true or 30 s pass.
template <typename Pred>
bool Eventually(Pred pred) {
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);  // polling a condition, not waiting on timing
  }
  return pred();
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("sfsim-it-" + std::to_string(getpid()) + "-" + name))
      .string();
}

class SfsimProcessTest : public ::testing::Test {
 protected:
  void StartSim(const std::vector<std::string>& flags = {}, const ChildOptions& options = {}) {
    auto s = SfsimProcess::Start(flags, options);
    ASSERT_TRUE(s.ok()) << s.status();
    sim_ = std::move(*s);
    auto t = sim_->Login();
    ASSERT_TRUE(t.ok()) << t.status();
    token_ = *t;
  }

  // A healthy request from another client still gets its answer.
  void ExpectHealthy() {
    auto r = sim_->Call("GET", std::string(kV) + "/limits", token_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_TRUE(sim_->process().running());
  }

  std::unique_ptr<SfsimProcess> sim_;
  std::string token_;
};

TEST(SfsimCliTest, HelpDocumentsFlagsAndDefaultCredentials) {
  auto r = RunCommand({BinPath("sluice-sfsim"), "--help"}, 30s);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0);
  for (const char* needle :
       {"--port", "--daily-api-requests", "--long-running-threshold", "--lock-timeout",
        "--latency-base-ms", "--unavailable-rate", "--ledger-sqlite", "--jwt-public-key",
        "--session-timeout", "--config", "client_id=sluice-sfsim-client",
        "client_secret=sluice-sfsim-secret"}) {
    EXPECT_NE(r->out.find(needle), std::string::npos) << needle;
  }
  auto bad = RunCommand({BinPath("sluice-sfsim"), "--port", "notaport"}, 30s);
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(bad->exit_code, 0);
  auto bad_rate =
      RunCommand({BinPath("sluice-sfsim"), "--port", "0", "--unavailable-rate", "7"}, 30s);
  ASSERT_TRUE(bad_rate.ok());
  EXPECT_NE(bad_rate->exit_code, 0);
  auto bad_object =
      RunCommand({BinPath("sluice-sfsim"), "--port", "0", "--object-json", "{nope"}, 30s);
  ASSERT_TRUE(bad_object.ok());
  EXPECT_NE(bad_object->exit_code, 0);
}

TEST_F(SfsimProcessTest, BehavesLikeAnOrgOverHttp) {
  StartSim();
  auto created = sim_->Call("POST", std::string(kV) + "/sobjects/Contact/", token_,
                            R"({"LastName":"Smith","Sluice_Key__c":"s1"})");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->status, 201);
  EXPECT_EQ(created->Header("Sforce-Limit-Info"), "api-usage=1/100000");
  auto upsert = sim_->Call("PATCH", std::string(kV) + "/sobjects/Contact/Sluice_Key__c/s1", token_,
                           R"({"FirstName":"A"})");
  ASSERT_TRUE(upsert.ok());
  EXPECT_EQ(upsert->status, 200);
  EXPECT_NE(upsert->body.find("\"created\":false"), std::string::npos);
  auto coll = sim_->Call("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c",
                         token_, Contacts(200));
  ASSERT_TRUE(coll.ok());
  EXPECT_EQ(coll->status, 200);
  auto unauth = sim_->Call("GET", std::string(kV) + "/limits", "nope");
  ASSERT_TRUE(unauth.ok());
  EXPECT_EQ(unauth->status, 401);
  EXPECT_EQ(unauth->Header("WWW-Authenticate"), "Token");
  auto stats = sim_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(Stat(*stats, "records_written"), 202);
  auto ledger = sim_->GetLedger(200);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(std::count(ledger->begin(), ledger->end(), '\n'), 2);
}

TEST_F(SfsimProcessTest, HostileInputLeavesTheProcessServing) {
  StartSim({"--read-timeout", "500ms"});
  std::string upsert = std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c";
  // A slow client holds a partial request open the whole time.
  auto slow = RawConnection::Connect(sim_->port());
  ASSERT_TRUE(slow.ok());
  ASSERT_TRUE((*slow)->Send("PATCH " + upsert + " HTTP/1.1\r\nHost: x\r\nContent-Le").ok());

  struct Case {
    std::string name, body;
    int status;
    std::string code;
  } cases[] = {
      {"not json", "this is not json", 400, "JSON_PARSER_ERROR"},
      {"201 records", Contacts(201), 400, "EXCEEDED_ID_LIMIT"},
      {"20 MB", std::string(20 * 1000 * 1000, '{'), 400, "JSON_PARSER_ERROR"},
      {"deep nesting", std::string(1000000, '['), 400, "JSON_PARSER_ERROR"},
      {"invalid utf-8",
       "{\"records\":[{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"\xc3\x28\"}]}", 400,
       "JSON_PARSER_ERROR"},
      {"nul bytes", std::string("{\"records\":\0\0\0[]}", 18), 400, "JSON_PARSER_ERROR"},
  };
  for (const auto& c : cases) {
    auto r = sim_->Call("PATCH", upsert, token_, c.body);
    ASSERT_TRUE(r.ok()) << c.name << ": " << r.status();
    EXPECT_EQ(r->status, c.status) << c.name;
    EXPECT_NE(r->body.find(c.code), std::string::npos) << c.name << ": " << r->body.substr(0, 200);
    ExpectHealthy();
  }
  // A 20 KB URI and headers over 16 KB.
  auto uri = HttpCall(sim_->port(), "GET", std::string(kV) + "/" + std::string(20000, 'u'));
  ASSERT_TRUE(uri.ok()) << uri.status();
  EXPECT_EQ(uri->status, 414);
  EXPECT_NE(uri->body.find("errorCode"), std::string::npos);
  ExpectHealthy();
  auto headers =
      HttpCall(sim_->port(), "GET", std::string(kV) + "/limits",
               {{"Authorization", "Bearer " + token_}, {"X-Filler", std::string(17 * 1024, 'h')}});
  ASSERT_TRUE(headers.ok()) << headers.status();
  EXPECT_EQ(headers->status, 431);
  ExpectHealthy();
  // Garbage on the wire.
  auto garbage = RawConnection::Connect(sim_->port());
  ASSERT_TRUE(garbage.ok());
  ASSERT_TRUE(
      (*garbage)
          ->Send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + "\r\n\r\n")
          .ok());
  auto g = (*garbage)->ReadResponse(30s);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->status, 400);
  ExpectHealthy();
  // The slow client was cut off by the read timeout.
  EXPECT_TRUE((*slow)->WaitClosed(30s));
  auto stats = sim_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(Stat(*stats, "records_written"), 0);
}

TEST_F(SfsimProcessTest, OversizedBodyIs413) {
  StartSim({"--max-body-bytes", "1000000"});
  auto r = sim_->Call("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c",
                      token_, std::string(2000000, ' '));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->status, 413);
  EXPECT_NE(r->body.find("REQUEST_ENTITY_TOO_LARGE"), std::string::npos);
  ExpectHealthy();
}

TEST_F(SfsimProcessTest, DelayedRequestsAreHeldByTimersNotThreads) {
  StartSim({"--latency-base-ms", "1500"});
  constexpr int kRequests = 1000;
  std::vector<std::unique_ptr<RawConnection>> conns;
  std::string req = "GET " + std::string(kV) +
                    "/limits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ + "\r\n\r\n";
  for (int i = 0; i < kRequests; ++i) {
    auto c = RawConnection::Connect(sim_->port());
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Send(req).ok());
    conns.push_back(std::move(*c));
  }
  // While many are held, the process has only a handful of threads.
  ASSERT_TRUE(Eventually([&] {
    auto s = sim_->GetStats();
    return s.ok() && Stat(*s, "in_flight") >= kRequests / 2;
  }));
  int threads = 0;
  for (auto& e : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(sim_->process().pid()) + "/task")) {
    (void)e;
    ++threads;
  }
  EXPECT_LT(threads, 10);
  for (auto& c : conns) {
    auto r = c->ReadResponse(60s);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
  }
  auto stats = sim_->GetStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(Stat(*stats, "peak_concurrent_requests"), kRequests / 2);
}

TEST_F(SfsimProcessTest, LongRunningLimitOnShrunkThreshold) {
  StartSim({"--long-running-threshold", "200ms", "--max-long-running", "2"});
  // Two requests made slow (held 60 s) by a scheduled fault.
  ASSERT_TRUE(sim_->ScheduleFault(R"({"kind":"slow","duration_ms":600000,"slow_ms":60000})").ok());
  std::string req = "GET " + std::string(kV) +
                    "/limits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ + "\r\n\r\n";
  auto a = RawConnection::Connect(sim_->port());
  auto b = RawConnection::Connect(sim_->port());
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Send(req).ok());
  ASSERT_TRUE((*b)->Send(req).ok());
  ASSERT_TRUE(Eventually([&] {
    auto s = sim_->GetStats();
    return s.ok() && Stat(*s, "in_flight") == 2;
  }));
  ASSERT_TRUE(HttpCall(sim_->port(), "DELETE", "/sim/faults").ok());
  ASSERT_TRUE(Eventually([&] {
    auto s = sim_->GetStats();
    return s.ok() && Stat(*s, "long_running") == 2;
  }));
  auto over = sim_->Call("GET", std::string(kV) + "/limits", token_);
  ASSERT_TRUE(over.ok());
  EXPECT_EQ(over->status, 403);
  EXPECT_NE(over->body.find("ConcurrentPerOrgLongTxn Limit exceeded."), std::string::npos);
}

TEST_F(SfsimProcessTest, LockTimeoutFailsTheOverlappingWrite) {
  StartSim({"--lock-timeout", "100ms"});
  std::string path = std::string(kV) + "/sobjects/Contact/Sluice_Key__c/locked";
  ASSERT_TRUE(sim_->ScheduleFault(R"({"kind":"slow","duration_ms":600000,"slow_ms":60000})").ok());
  auto holder = RawConnection::Connect(sim_->port());
  ASSERT_TRUE(holder.ok());
  std::string body = R"({"LastName":"A"})";
  ASSERT_TRUE((*holder)
                  ->Send("PATCH " + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                         token_ + "\r\nContent-Type: application/json\r\nContent-Length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body)
                  .ok());
  ASSERT_TRUE(Eventually([&] {
    auto s = sim_->GetStats();
    return s.ok() && Stat(*s, "in_flight") == 1;
  }));
  ASSERT_TRUE(HttpCall(sim_->port(), "DELETE", "/sim/faults").ok());
  auto second = sim_->Call("PATCH", path, token_, R"({"LastName":"B"})");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 400);
  EXPECT_NE(second->body.find("UNABLE_TO_LOCK_ROW"), std::string::npos);
}

TEST_F(SfsimProcessTest, FaultsOverTheAdminApi) {
  StartSim();
  ASSERT_TRUE(sim_->ScheduleFault(R"({"kind":"unavailable","duration_ms":600000})").ok());
  auto r = sim_->Call("GET", std::string(kV) + "/limits", token_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("SERVER_UNAVAILABLE"), std::string::npos);
  ASSERT_TRUE(HttpCall(sim_->port(), "DELETE", "/sim/faults").ok());
  ASSERT_TRUE(sim_->ScheduleFault(R"({"kind":"reset","duration_ms":600000})").ok());
  auto conn = RawConnection::Connect(sim_->port());
  ASSERT_TRUE(conn.ok());
  auto reset =
      (*conn)->Request("GET", std::string(kV) + "/limits", {{"Authorization", "Bearer " + token_}});
  EXPECT_FALSE(reset.ok());
  ASSERT_TRUE(HttpCall(sim_->port(), "DELETE", "/sim/faults").ok());
  ASSERT_TRUE(sim_->ScheduleFault(R"({"kind":"expire_tokens"})").ok());
  auto expired = sim_->Call("GET", std::string(kV) + "/limits", token_);
  ASSERT_TRUE(expired.ok());
  EXPECT_EQ(expired->status, 401);
  EXPECT_FALSE(sim_->ScheduleFault(R"({"kind":"meteor"})").ok());
}

TEST_F(SfsimProcessTest, ConfigFileEnvironmentAndFlags) {
  std::string path = TempPath("config.yaml");
  {
    std::ofstream f(path);
    f << "limits:\n  daily_api_requests: 2\n"
         "org:\n  keep_default_objects: true\n"
         "objects:\n"
         "  - name: Order__c\n    key_prefix: a05\n    fields:\n"
         "      - {name: Order_Key__c, external_id: true, unique: true}\n"
         "      - {name: Amount__c, type: currency}\n";
  }
  StartSim({"--config", path});
  auto a = sim_->Call("PATCH", std::string(kV) + "/sobjects/Order__c/Order_Key__c/o1", token_,
                      R"({"Amount__c":12.5})");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->status, 201) << a->body;
  EXPECT_NE(a->body.find("\"id\":\"a05"), std::string::npos);
  auto b = sim_->Call("GET", std::string(kV) + "/limits", token_);
  EXPECT_EQ(b->Header("Sforce-Limit-Info"), "api-usage=2/2");
  auto c = sim_->Call("GET", std::string(kV) + "/limits", token_);
  EXPECT_EQ(c->status, 403);
  sim_->Stop();
  // The environment overrides the file; a flag overrides both.
  ChildOptions env;
  env.env = {"SLUICE_SFSIM_LIMITS__DAILY_API_REQUESTS=5"};
  StartSim({"--config", path}, env);
  EXPECT_EQ(sim_->Call("GET", std::string(kV) + "/limits", token_)->Header("Sforce-Limit-Info"),
            "api-usage=1/5");
  sim_->Stop();
  StartSim({"--config", path, "--daily-api-requests", "7"}, env);
  EXPECT_EQ(sim_->Call("GET", std::string(kV) + "/limits", token_)->Header("Sforce-Limit-Info"),
            "api-usage=1/7");
  // Invalid files are refused with a message.
  {
    std::ofstream f(path);
    f << "limits:\n  daily_api_requests: lots\n";
  }
  auto bad = RunCommand({BinPath("sluice-sfsim"), "--port", "0", "--config", path}, 30s);
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(bad->exit_code, 0);
  {
    std::ofstream f(path);
    f << "unknown_group: {}\n";
  }
  bad = RunCommand({BinPath("sluice-sfsim"), "--port", "0", "--config", path}, 30s);
  ASSERT_TRUE(bad.ok());
  EXPECT_NE(bad->exit_code, 0);
  // The bulk group and parent lock fields are checked the same way, file, environment and flag.
  {
    std::ofstream f(path);
    f << "bulk:\n  batch_size: 0\n";
  }
  bad = RunCommand({BinPath("sluice-sfsim"), "--port", "0", "--config", path}, 30s);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->exit_code, 2);
  {
    std::ofstream f(path);
    f << "bulk:\n  batch_size: 3\n";
  }
  ChildOptions bad_env;
  bad_env.env = {"SLUICE_SFSIM_BULK__QUEUE_DELAY=5"};  // a duration without its unit
  bad = RunCommand({BinPath("sluice-sfsim"), "--port", "0", "--config", path}, 30s, bad_env);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->exit_code, 2);
  bad = RunCommand(
      {BinPath("sluice-sfsim"), "--port", "0", "--parent-lock-fields", "Contact.LastName"}, 30s);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->exit_code, 2);
  std::filesystem::remove(path);
}

TEST_F(SfsimProcessTest, SqliteLedgerAndCleanShutdown) {
  std::string db = TempPath("ledger.db");
  std::filesystem::remove(db);
  StartSim({"--ledger-sqlite", db});
  auto r = sim_->Call("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c",
                      token_, Contacts(10));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(sim_->Stop(), 0);
  auto count = RunCommand({"sqlite3", db, "SELECT COUNT(*) FROM ledger"}, 30s);
  ASSERT_TRUE(count.ok()) << count.status();
  EXPECT_EQ(count->exit_code, 0);
  EXPECT_EQ(count->out, "10\n");
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
}

TEST_F(SfsimProcessTest, SigintAlsoExitsCleanly) {
  StartSim({"--latency-base-ms", "60000"});
  // A request held by a timer does not keep the process from stopping.
  auto held = RawConnection::Connect(sim_->port());
  ASSERT_TRUE(held.ok());
  ASSERT_TRUE((*held)
                  ->Send("GET " + std::string(kV) +
                         "/limits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token_ +
                         "\r\n\r\n")
                  .ok());
  ASSERT_TRUE(Eventually([&] {
    auto s = sim_->GetStats();
    return s.ok() && Stat(*s, "in_flight") == 1;
  }));
  sim_->process().Signal(SIGINT);
  auto code = sim_->process().Wait(30s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0);
}

// The upload limit is the bulk one, not the JSON body one: the server reads bodies up to the larger
// and the simulator answers 413 for either; a job runs to JobComplete on the real clock.
TEST_F(SfsimProcessTest, BulkJobOverHttpWithItsOwnUploadLimit) {
  StartSim(
      {"--max-body-bytes", "1000", "--bulk-max-upload-bytes", "5000", "--bulk-queue-delay", "0ms"});
  const std::string jobs = std::string(kV) + "/jobs/ingest";
  auto create = [&]() {
    auto r = sim_->Call("POST", jobs, token_, R"({"object":"Contact","operation":"insert"})");
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().message());
    const size_t at = r->body.find("\"id\":\"") + 6;
    return r->body.substr(at, 18);
  };
  auto upload = [&](const std::string& id, const std::string& csv) {
    return HttpCall(sim_->port(), "PUT", jobs + "/" + id + "/batches",
                    {{"Authorization", "Bearer " + token_}, {"Content-Type", "text/csv"}}, csv);
  };
  std::string csv = "LastName\n";
  while (csv.size() < 3000) csv += "Name" + std::to_string(csv.size()) + "\n";
  const std::string id = create();
  auto up = upload(id, csv);  // over --max-body-bytes, under --bulk-max-upload-bytes
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->status, 201) << up->body;
  auto big = upload(create(), std::string(6000, 'x'));
  ASSERT_TRUE(big.ok()) << big.status();
  EXPECT_EQ(big->status, 413);
  EXPECT_NE(big->body.find("REQUEST_ENTITY_TOO_LARGE"), std::string::npos);
  auto json = sim_->Call("PATCH", std::string(kV) + "/composite/sobjects/Contact/Sluice_Key__c",
                         token_, std::string(2000, ' '));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ(json->status, 413);
  auto close = sim_->Call("PATCH", jobs + "/" + id, token_, R"({"state":"UploadComplete"})");
  ASSERT_TRUE(close.ok());
  EXPECT_EQ(close->status, 200) << close->body;
  EXPECT_TRUE(Eventually([&] {
    auto info = sim_->Call("GET", jobs + "/" + id, token_);
    return info.ok() && info->body.find("\"state\":\"JobComplete\"") != std::string::npos;
  }));
  const auto rows = std::count(csv.begin(), csv.end(), '\n') - 1;
  auto ok = sim_->Call("GET", jobs + "/" + id + "/successfulResults", token_);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->Header("Content-Type"), "text/csv");
  EXPECT_EQ(std::count(ok->body.begin(), ok->body.end(), '\n'), rows + 1);
  auto ledger = sim_->GetLedger();
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(static_cast<int64_t>(std::count(ledger->begin(), ledger->end(), '\n')), rows);
  EXPECT_NE(ledger->find("\"bulk\":true,\"bulk_job_id\":\"" + id + "\""), std::string::npos);
  ExpectHealthy();
}

}  // namespace
}  // namespace sluice::testing

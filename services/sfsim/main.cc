// sluice-sfsim: a Salesforce org on loopback. Wiring only: flags and config file into SimOptions,
// the simulator on the real clock, served by sluice::http::Server with timers for latency.
//
// Threads: main (parses, starts, waits for SIGINT/SIGTERM, stops), the signal watcher
// (sluice::InstallSignalHandlers), and --io-threads I/O threads that run every request and every
// latency timer. Shutdown: stop accepting, close connections, drop pending timers, join the I/O
// threads, flush the ledger (Simulator destructor).
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "sluice/build_info/build_info.h"
#include "sluice/cli/tool_flags.h"
#include "sluice/config/config.h"
#include "sluice/core/clock.h"
#include "sluice/core/duration.h"
#include "sluice/core/logging.h"
#include "sluice/core/shutdown.h"
#include "sluice/http/server.h"
#include "sluice/schemas/schemas.h"
#include "sluice/sfsim/simulator.h"

namespace {

using sluice::sfsim::SimOptions;

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Flags are applied after the config file, and only when given on the command line, so the order
// of precedence is: defaults < config file (and its SLUICE_SFSIM_* environment overrides) < flags.
class FlagSet {
 public:
  explicit FlagSet(CLI::App& app) : app_(app) {}

  template <typename T>
  void Add(const std::string& name, T* target, const std::string& help, const std::string& group) {
    auto holder = std::make_shared<T>(*target);
    auto* opt = app_.add_option(name, *holder, help)->capture_default_str()->group(group);
    pending_.push_back({opt, [holder, target] {
                          *target = *holder;
                          return sluice::Status::Ok();
                        }});
  }

  void AddDuration(const std::string& name, std::chrono::milliseconds* target,
                   const std::string& help, const std::string& group) {
    auto holder = std::make_shared<std::string>(sluice::FormatDuration(*target));
    auto* opt = app_.add_option(name, *holder, help + " (e.g. 500ms, 20s, 1h30m)")
                    ->capture_default_str()
                    ->check(sluice::cli::DurationValidator())
                    ->group(group);
    pending_.push_back({opt, [holder, target]() -> sluice::Status {
                          *target = *sluice::ParseDuration(*holder);  // checked above
                          return sluice::Status::Ok();
                        }});
  }

  void AddList(const std::string& name, std::vector<std::string>* target, const std::string& help,
               const std::string& group) {
    auto holder = std::make_shared<std::vector<std::string>>();
    auto* opt = app_.add_option(name, *holder, help + " (repeatable)")
                    ->default_str(Join(*target))
                    ->group(group);
    pending_.push_back({opt, [holder, target] {
                          *target = *holder;
                          return sluice::Status::Ok();
                        }});
  }

  sluice::Status ApplyGiven() {
    for (auto& p : pending_) {
      if (p.option->count() > 0) RETURN_IF_ERROR(p.apply());
    }
    return sluice::Status::Ok();
  }

 private:
  struct Pending {
    CLI::Option* option;
    std::function<sluice::Status()> apply;
  };
  CLI::App& app_;
  std::vector<Pending> pending_;
};

struct ServerFlags {
  std::string host = "127.0.0.1";
  int port = 0;
  int io_threads = 1;
  std::string tls_cert_file;
  std::string tls_key_file;
  int64_t max_body_bytes = 50 * 1000 * 1000;
  int64_t max_header_bytes = 16 * 1024;
  int64_t max_uri_bytes = 16 * 1024;
  std::chrono::milliseconds read_timeout{30000};
  std::chrono::milliseconds idle_timeout{120000};
  int64_t max_connections = 20000;
};

// Server settings from the config file's `server` group (validated by the schema).
sluice::Status ApplyServerConfig(const sluice::config::Config& c, ServerFlags* s) {
  s->host = c.GetString("/server/host", s->host);
  s->port = static_cast<int>(c.GetInt("/server/port", s->port));
  s->io_threads = static_cast<int>(c.GetInt("/server/io_threads", s->io_threads));
  s->tls_cert_file = c.GetString("/server/tls_cert_file", s->tls_cert_file);
  s->tls_key_file = c.GetString("/server/tls_key_file", s->tls_key_file);
  s->max_body_bytes = c.GetInt("/server/max_body_bytes", s->max_body_bytes);
  s->max_header_bytes = c.GetInt("/server/max_header_bytes", s->max_header_bytes);
  s->max_uri_bytes = c.GetInt("/server/max_uri_bytes", s->max_uri_bytes);
  for (const auto& [ptr, out] : {std::pair{"/server/read_timeout", &s->read_timeout},
                                 std::pair{"/server/idle_timeout", &s->idle_timeout}}) {
    if (!c.Has(ptr)) continue;
    auto d = c.GetDuration(ptr);  // the schema checked its shape, this its range
    if (!d.ok()) return d.status();
    *out = *d;
  }
  s->max_connections = c.GetInt("/server/max_connections", s->max_connections);
  return sluice::Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  SimOptions sim;
  ServerFlags server;
  std::string config_path;
  std::string log_level = "info";
  bool log_json = true;
  std::vector<std::string> object_json;

  CLI::App app{
      "sluice-sfsim: a Salesforce org on loopback (OAuth, sObjects, sObject Collections, "
      "Platform Events, /limits, limits, locks, latency, faults, a ledger of every write)."};
  app.footer(std::string("Default org: Account, Contact, Lead (unique external id Sluice_Key__c) "
                         "and the platform event Sluice_Event__e.\nDefault client credentials: "
                         "client_id=") +
             sim.org.client_id + " client_secret=" + sim.org.client_secret +
             "\nAdmin API: GET /sim/stats, GET /sim/ledger?since=N, POST|GET|DELETE /sim/faults, "
             "POST /sim/reset. See docs/SFSIM.md.\n\nExamples:\n"
             "  sluice-sfsim --port 8080\n"
             "  sluice-sfsim --port 0 --daily-api-requests 15000 --lock-timeout 2s\n"
             "  sluice-sfsim --config sfsim.yaml --session-timeout 1h30m\n"
             "  SLUICE_SFSIM_LIMITS__DAILY_API_REQUESTS=500 sluice-sfsim --config sfsim.yaml\n"
             "Exit status: 0 stopped cleanly, 2 a bad command line or config file.");
  app.name("sluice-sfsim");
  app.add_option("--config", config_path,
                 "YAML config file (schemas/sfsim.config.schema.json); flags override it, "
                 "SLUICE_SFSIM_<GROUP>__<KEY> environment variables override the file")
      ->check(CLI::ExistingFile);
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error")
      ->capture_default_str();
  app.add_flag("--log-json,!--log-text", log_json, "JSON-lines logs (default) or plain text");

  FlagSet flags(app);
  const std::string g_server = "Server";
  flags.Add("--host", &server.host, "Address to listen on (loopback by default)", g_server);
  flags.Add("--port", &server.port, "Port; 0 picks a free one and prints it", g_server);
  flags.Add("--io-threads", &server.io_threads, "I/O threads", g_server);
  flags.Add("--tls-cert", &server.tls_cert_file, "PEM certificate chain: serve HTTPS", g_server);
  flags.Add("--tls-key", &server.tls_key_file, "PEM private key for --tls-cert", g_server);
  flags.Add("--max-body-bytes", &server.max_body_bytes, "Largest request body (413 above)",
            g_server);
  flags.Add("--max-header-bytes", &server.max_header_bytes,
            "Largest request line + headers (431 above)", g_server);
  flags.Add("--max-uri-bytes", &server.max_uri_bytes, "Longest request URI (414 above)", g_server);
  flags.AddDuration("--read-timeout", &server.read_timeout,
                    "Time for one request to arrive completely (slowloris bound)", g_server);
  flags.AddDuration("--idle-timeout", &server.idle_timeout, "Keep-alive idle time", g_server);
  flags.Add("--max-connections", &server.max_connections, "Open connections at most", g_server);

  const std::string g_org = "Org";
  flags.Add("--org-id", &sim.org.org_id, "18-character org id", g_org);
  flags.Add("--user-id", &sim.org.user_id, "18-character integration user id", g_org);
  flags.AddList("--username", &sim.org.usernames, "Username accepted as the JWT sub", g_org);
  flags.Add("--client-id", &sim.org.client_id, "Connected app consumer key", g_org);
  flags.Add("--client-secret", &sim.org.client_secret, "Connected app consumer secret", g_org);
  flags.Add("--jwt-public-key", &sim.org.jwt_public_key_file,
            "PEM certificate or public key verifying JWT bearer assertions (RS256)", g_org);
  flags.AddList("--jwt-audience", &sim.org.jwt_audiences,
                "Accepted JWT aud (the server's own URL is always accepted)", g_org);
  flags.Add("--instance-url", &sim.org.instance_url,
            "instance_url handed out by the token endpoint (default: this server's URL)", g_org);
  flags.AddDuration("--session-timeout", &sim.org.session_timeout,
                    "Tokens answer 401 INVALID_SESSION_ID this long after issue", g_org);
  flags.Add("--api-min-version", &sim.org.api_min_version, "Oldest API version served", g_org);
  flags.Add("--api-max-version", &sim.org.api_max_version, "Newest API version served", g_org);
  app.add_option("--object-json", object_json,
                 "An sObject definition as JSON, e.g. '{\"name\":\"Order__c\",\"key_prefix\":"
                 "\"a01\",\"fields\":[{\"name\":\"Ext__c\",\"external_id\":true,\"unique\":true}]}'"
                 "; replaces a same-named object (repeatable)")
      ->group(g_org);

  const std::string g_limits = "Limits";
  flags.Add("--daily-api-requests", &sim.limits.daily_api_requests,
            "Rolling 24 h API allocation (collections count one)", g_limits);
  flags.AddDuration("--long-running-threshold", &sim.limits.long_running_threshold,
                    "Requests in flight this long count as long-running", g_limits);
  flags.Add("--max-long-running", &sim.limits.max_long_running,
            "Concurrent long-running requests allowed", g_limits);
  flags.AddDuration("--lock-timeout", &sim.limits.lock_timeout,
                    "Wait for a locked record before UNABLE_TO_LOCK_ROW", g_limits);
  flags.Add("--max-collection-records", &sim.limits.max_collection_records,
            "Records per collections request", g_limits);
  flags.AddList("--parent-lock-fields", &sim.limits.parent_lock_fields,
                "Lookups whose child write locks the parent, Object.Field (default "
                "Contact.AccountId; \"\" for none)",
                g_limits);

  const std::string g_bulk = "Bulk API 2.0";
  flags.Add("--bulk-records-per-second", &sim.bulk.records_per_second,
            "Records per second one job is processed at", g_bulk);
  flags.Add("--bulk-batch-size", &sim.bulk.batch_size, "Records per internal batch", g_bulk);
  flags.Add("--bulk-parallel-batches", &sim.bulk.parallel_batches,
            "Internal batches of one job processed at once", g_bulk);
  flags.AddDuration("--bulk-queue-delay", &sim.bulk.queue_delay,
                    "Time from UploadComplete to InProgress", g_bulk);
  flags.Add("--bulk-max-upload-bytes", &sim.bulk.max_upload_bytes,
            "Largest job data upload (413 above)", g_bulk);
  flags.Add("--bulk-daily-records", &sim.bulk.daily_records,
            "Records per rolling 24 h (jobs over it fail)", g_bulk);
  flags.Add("--bulk-daily-batches", &sim.bulk.daily_batches,
            "Internal batches per rolling 24 h (DailyBulkApiBatches)", g_bulk);

  const std::string g_latency = "Latency";
  flags.Add("--latency-base-ms", &sim.latency.base_ms, "Base latency per request", g_latency);
  flags.Add("--latency-per-record-ms", &sim.latency.per_record_ms, "Latency per record", g_latency);
  flags.Add("--latency-tail-median-ms", &sim.latency.tail_median_ms,
            "Median of the lognormal tail (0: no tail)", g_latency);
  flags.Add("--latency-tail-sigma", &sim.latency.tail_sigma, "Sigma of the lognormal tail",
            g_latency);
  flags.Add("--latency-max-ms", &sim.latency.max_ms, "Cap on a request's latency", g_latency);

  const std::string g_faults = "Faults";
  flags.Add("--unavailable-rate", &sim.faults.unavailable_rate,
            "Probability of 503 SERVER_UNAVAILABLE per request", g_faults);
  flags.Add("--unavailable-html-fraction", &sim.faults.unavailable_html_fraction,
            "Share of 503s that carry the HTML maintenance page", g_faults);
  flags.Add("--reset-rate", &sim.faults.reset_rate,
            "Probability of a connection reset before processing", g_faults);
  flags.Add("--reset-after-write-rate", &sim.faults.reset_after_write_rate,
            "Probability of a connection reset after the write was applied", g_faults);
  flags.Add("--slow-rate", &sim.faults.slow_rate, "Probability of a slow response", g_faults);
  flags.Add("--slow-ms", &sim.faults.slow_ms, "Extra latency of a slow response", g_faults);
  flags.Add("--lock-row-rate", &sim.faults.lock_row_rate,
            "Probability of UNABLE_TO_LOCK_ROW per record", g_faults);
  flags.Add("--seed", &sim.faults.seed, "Seed for faults, latency tail and tokens", g_faults);

  const std::string g_ledger = "Ledger";
  flags.Add("--ledger-event-id-field", &sim.ledger.event_id_field,
            "Field recorded as each write's event id", g_ledger);
  flags.Add("--ledger-sqlite", &sim.ledger.sqlite_path,
            "SQLite file that also receives every ledger entry", g_ledger);
  flags.Add("--ledger-max-memory-entries", &sim.ledger.max_memory_entries,
            "Ledger entries kept in memory (0: all)", g_ledger);

  sluice::build_info::AddVersionFlag(app, "sluice-sfsim");
  if (auto exit_code = sluice::cli::ParseArgs(app, argc, argv)) return *exit_code;

  sluice::LoggingOptions log_options;
  log_options.level = log_level;
  log_options.json = log_json;
  if (!sluice::SetupLogging("sluice-sfsim", log_options)) {
    std::cerr << "sluice-sfsim: bad --log-level " << log_level << "\n";
    return 2;
  }
  auto log = sluice::GetLogger("sfsim");
  auto fail = [&](const std::string& what) {
    log->error("{}", what);
    std::cerr << "sluice-sfsim: " << what << "\n";
    return 2;
  };

  {  // The config file, if any, and the SLUICE_SFSIM_ environment overrides.
    sluice::config::LoadOptions load;
    load.schema_json = std::string(sluice::schemas::Get("sfsim.config.schema.json").value());
    load.schema_name = "sfsim.config.schema.json";
    load.env_prefix = "SLUICE_SFSIM_";
    auto config = config_path.empty()
                      ? sluice::config::Config::LoadString("{}", load, "(environment)")
                      : sluice::config::Config::LoadFile(config_path, load);
    if (!config.ok()) return fail(config.status().message());
    auto s = sluice::sfsim::ApplyConfigJson(config->ToJson(), &sim);
    if (!s.ok()) return fail(config->name() + ": " + s.message());
    if (config->Has("/org/client_secret_file")) {
      auto secret = config->GetSecret("/org/client_secret");
      if (!secret.ok()) return fail(secret.status().message());
      sim.org.client_secret = *secret;
    }
    s = ApplyServerConfig(*config, &server);
    if (!s.ok()) return fail(s.message());
    // The file's logging group applies where no logging flag was given.
    bool relog = false;
    if (app.count("--log-level") == 0 && config->Has("/logging/level")) {
      log_options.level = config->GetString("/logging/level", log_level);
      relog = true;
    }
    if (app.count("--log-json") == 0 && app.count("--log-text") == 0 &&
        config->Has("/logging/json")) {
      log_options.json = config->GetBool("/logging/json", log_json);
      relog = true;
    }
    if (relog && !sluice::SetupLogging("sluice-sfsim", log_options)) {
      return fail("bad /logging/level in " + config->name());
    }
    log = sluice::GetLogger("sfsim");
  }
  if (auto s = flags.ApplyGiven(); !s.ok()) return fail(s.message());
  // --parent-lock-fields "" turns parent locks off.
  std::erase(sim.limits.parent_lock_fields, std::string());
  for (const auto& json : object_json) {
    auto def = sluice::sfsim::ParseObjectJson(json);
    if (!def.ok()) return fail("--object-json: " + def.status().message());
    sluice::sfsim::UpsertObject(&sim.org.objects, std::move(*def));
  }
  if (server.port < 0 || server.port > 65535) return fail("--port must be 0..65535");
  if (server.io_threads < 1 || server.io_threads > 64) return fail("--io-threads must be 1..64");
  if (server.max_body_bytes < 0 || server.max_header_bytes < 256 || server.max_uri_bytes < 16 ||
      server.max_connections < 1) {
    return fail("server limits out of range");
  }

  auto shutdown = sluice::InstallSignalHandlers();

  // The server reads bodies up to the larger of the two limits; the simulator answers 413 itself
  // for a JSON body over server.max_body_bytes and an upload over bulk.max_upload_bytes.
  sim.limits.max_body_bytes = server.max_body_bytes;
  auto simulator = sluice::sfsim::Simulator::Create(sim, sluice::RealClock());
  if (!simulator.ok()) return fail(simulator.status().message());
  sluice::sfsim::Simulator* org = simulator->get();

  std::atomic<sluice::http::Server*> server_ptr{nullptr};
  auto handler = [org, &server_ptr](sluice::http::ServerRequest&& req,
                                    sluice::http::Responder responder) {
    sluice::sfsim::Outcome out = org->Handle(req);
    struct Pending {
      sluice::http::Responder responder;
      sluice::sfsim::Outcome outcome;
    };
    auto deliver = [org](Pending& p) {
      if (p.outcome.reset) {
        p.responder.Reset();
      } else {
        p.responder.Send(std::move(p.outcome.response));
      }
      org->Complete(p.outcome.ticket);
    };
    sluice::http::Server* srv = server_ptr.load();
    if (out.delay <= sluice::Clock::Duration::zero() || srv == nullptr) {
      Pending p{std::move(responder), std::move(out)};
      deliver(p);
      return;
    }
    auto delay = out.delay;
    auto pending = std::make_shared<Pending>(Pending{std::move(responder), std::move(out)});
    srv->RunAfter(delay, [pending, deliver] { deliver(*pending); });
  };

  sluice::http::ServerOptions so;
  so.host = server.host;
  so.port = static_cast<uint16_t>(server.port);
  so.io_threads = server.io_threads;
  so.tls_cert_file = server.tls_cert_file;
  so.tls_key_file = server.tls_key_file;
  so.max_body_bytes =
      static_cast<size_t>(std::max(server.max_body_bytes, sim.bulk.max_upload_bytes));
  so.max_header_bytes = static_cast<size_t>(server.max_header_bytes);
  so.max_uri_bytes = static_cast<size_t>(server.max_uri_bytes);
  so.read_timeout = server.read_timeout;
  so.idle_timeout = server.idle_timeout;
  so.max_connections = static_cast<size_t>(server.max_connections);
  so.error_responder = &sluice::sfsim::Simulator::ErrorResponse;
  auto started = sluice::http::Server::Start(so, handler);
  if (!started.ok()) return fail(started.status().message());
  std::unique_ptr<sluice::http::Server> http_server = std::move(*started);
  org->SetBaseUrl(http_server->BaseUrl());
  server_ptr.store(http_server.get());

  std::printf("sluice-sfsim listening on %s\n", http_server->BaseUrl().c_str());
  std::fflush(stdout);
  sluice::LogWith(
      *log, spdlog::level::info,
      {{"event", "listening"}, {"url", http_server->BaseUrl()}, {"io_threads", server.io_threads}},
      "listening on {} (client_id={}, {} objects, {} io threads)", http_server->BaseUrl(),
      sim.org.client_id, sim.org.objects.size(), server.io_threads);

  while (!shutdown->WaitFor(std::chrono::seconds(1))) {
  }
  log->info("shutting down");
  server_ptr.store(nullptr);
  http_server->Stop();
  http_server.reset();
  simulator->reset();
  log->info("stopped");
  return 0;
}

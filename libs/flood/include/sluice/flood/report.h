// The sluice-flood report: every figure of a run, and writers for JSON (schema
// sluice.flood.report/v1, schemas/flood-report.schema.json), CSV (the time series) and a
// self-contained HTML page (inline script and SVG, no network).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/flood/threshold.h"
#include "sluice/flood/verifier.h"

namespace sluice::flood {

inline constexpr char kReportSchema[] = "sluice.flood.report/v1";

// What the run was asked to do.
struct ReportInputs {
  std::string mode;  // burst, rate, ramp, backlog
  std::string topic;
  std::string sobject;
  int64_t events = 0;             // planned events
  double planned_duration_s = 0;  // schedule length (0: as fast as possible)
  std::string schedule;           // human form, e.g. "1000000 in 1s" or "1000:30s,5000:1m"
  int64_t keys = 0;
  std::string key_distribution;  // "uniform" or "zipf:1.2"
  std::string payload_sizes;     // as given, e.g. "fixed:512"
  double invalid_fraction = 0;
  uint64_t seed = 0;
  uint64_t run_id = 0;
  std::string bootstrap;
  std::string group;
  std::string dlq_topic;
  std::string sfsim_url;
  std::string relay_metrics_url;
  std::vector<std::string> assertions;
};

struct ReportEnvironment {
  std::string tool_version;
  std::string librdkafka_version;
  std::string hostname;
  int cpus = 0;
  std::string started_at;   // RFC 3339 UTC
  std::string finished_at;  // RFC 3339 UTC
  std::string command_line;
};

// One sample of the run, taken every sample interval.
//
// The figures of one sample are read in this order, so they do not contradict each other: first
// the remote ones (sfsim, the relay, the group's lag, the DLQ), then the generator's own counters,
// and t_s is the time of that last read. So delivered <= produced holds in every sample,
// whereas reading the counters first let a slow first lag query report produced=73 beside
// delivered=4512.
struct Sample {
  double t_s = 0;                      // seconds after the run start (the counters' read)
  double begun_s = 0;                  // when the sample began reading (not in the JSON)
  int64_t produced = 0;                // cumulative, handed to the producer
  int64_t acked = 0;                   // cumulative, acknowledged by the broker
  std::optional<int64_t> delivered;    // cumulative, from sfsim (/sim/stats) or the relay
  std::optional<int64_t> backlog;      // sum of the group's lag over partitions
  std::vector<int64_t> lag;            // lag per partition (index = partition)
  std::optional<int64_t> api_calls;    // cumulative
  std::optional<int64_t> errors;       // cumulative API errors
  std::optional<int64_t> dlq_records;  // DLQ topic size
  double generator_behind_s = 0;
  // --via only (the CSV's gateway_* columns): cumulative answers from sluice-gateway, all of them
  // and by status.
  std::optional<int64_t> gateway_requests, gateway_202, gateway_429, gateway_503;
};

struct GeneratorFigures {
  int64_t produced = 0;
  int64_t acked = 0;
  int64_t failed = 0;
  int64_t uncertain = 0;
  int64_t invalid = 0;        // deliberately invalid records among `produced`
  int64_t bytes = 0;          // value bytes handed to the producer
  double produce_time_s = 0;  // first send -> last acknowledgement
  double events_per_s = 0;
  double mb_per_s = 0;      // 10^6 bytes per second
  double max_behind_s = 0;  // worst lag behind the schedule
  int64_t late_events = 0;  // events sent more than 1 ms after their intended time
  // True when the generator fell behind a paced schedule by more than 1 s or 10% of its length:
  // the run measured the generator, not the relay.
  bool bottleneck = false;
};

struct DrainFigures {
  std::optional<double> burst_end_s;   // last event acknowledged
  std::optional<double> drain_end_s;   // backlog reached zero after the burst
  std::optional<double> drain_time_s;  // drain_end - burst_end
  std::optional<int64_t> peak_backlog;
  std::optional<double> time_to_first_delivery_s;
  std::optional<double> delivered_per_s;  // expected events / (last delivery - first delivery)
  bool drained = false;                   // backlog reached zero before the wait ended
};

struct ApiFigures {
  std::optional<int64_t> api_calls;
  std::optional<double> records_per_call;
  std::optional<double> call_latency_s;  // mean
  std::optional<int64_t> daily_used;
  std::optional<int64_t> daily_max;
  std::map<std::string, int64_t> errors_by_code;
};

struct LatencyFigures {
  int64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0, mean_ms = 0;
  // Non-empty histogram buckets: (upper bound in ms, count).
  std::vector<std::pair<double, int64_t>> buckets;
};

LatencyFigures LatencyFromHistogram(const metrics::LogLinearHistogram& us);

// Latency percentiles of the events first delivered in one time bin.
struct LatencyPoint {
  double t_s = 0;  // end of the bin, seconds after the run start
  int64_t count = 0;
  double p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
};

struct LatencySeries {
  double bin_s = 1;
  std::vector<LatencyPoint> points;  // non-empty bins only, in time order
};

// From Verification::latency_us_per_bin; bins of `bin_s` seconds.
LatencySeries LatencySeriesFromBins(
    const std::vector<std::shared_ptr<metrics::LogLinearHistogram>>& bins, double bin_s);

// The relay's settings, as its /metrics states them (sluice_relay_settings_info and the
// sluice_relay_in_flight_limit / sluice_relay_request_rate_limit gauges). Absent fields: the relay
// did not say (an older relay, or none was read).
struct RelaySettings {
  std::optional<std::string> mode;            // e.g. "idempotency store on"
  std::optional<int64_t> max_records;         // batch size (records per call)
  std::optional<double> linger_ms;            // longest wait to fill a batch
  std::optional<int64_t> max_in_flight;       // configured in-flight ceiling
  std::optional<double> requests_per_second;  // configured request rate ceiling
  std::optional<double> records_per_second;   // configured record rate ceiling
  std::optional<double> in_flight_limit;      // this instance's in-flight ceiling at the start
  std::optional<double> request_rate_limit;   // requests/s allowed at the start (AIMD, share)
  bool empty() const {
    return !mode && !max_records && !linger_ms && !max_in_flight && !requests_per_second &&
           !records_per_second && !in_flight_limit && !request_rate_limit;
  }
};

// sluice-sfsim's latency model (its /sim/stats "latency_model"): base + per record + a lognormal
// tail, capped.
struct SfsimLatencyModel {
  double base_ms = 0;
  double per_record_ms = 0;
  double tail_median_ms = 0;
  double tail_sigma = 0;
  double max_ms = 0;
};

// Through sluice-gateway (sluice-flood --via): what the gateway answered the flood.
struct GatewayFigures {
  std::string url;                  // credentials redacted
  int64_t requests = 0;             // answers and transport errors, retried requests included
  int64_t retries = 0;              // requests sent again after a 429, a 503 or a transport error
  int64_t events_accepted = 0;      // events in requests answered 202
  std::map<int, int64_t> statuses;  // HTTP status -> answers; 0: no answer (transport error)
  // Where each request's time to 202 starts:
  // - "intended" (paced runs): the intended send time of the request's last event, so a client
  //   that fell behind its schedule, waited for a free connection or retried after a 429 or 503
  //   counts that delay (no coordinated omission);
  // - "handed_over" (unpaced runs, which have no intended times): when the request's last event
  //   was handed over to the client.
  std::string time_to_202_from;
  LatencyFigures time_to_202;
};

// One request answered 202, for GatewayTimeTo202: when its time starts and when the 202 arrived,
// both in nanoseconds on one clock.
struct GatewayAnswerTimes {
  int64_t from_ns = 0;
  int64_t answered_ns = 0;
};
// Percentiles of answered - from (negative spans count as 0).
LatencyFigures GatewayTimeTo202(const std::vector<GatewayAnswerTimes>& answers);

struct Report {
  ReportInputs inputs;
  ReportEnvironment environment;
  GeneratorFigures generator;
  DrainFigures drain;
  ApiFigures api;
  LatencyFigures latency;
  std::optional<Verification> verification;  // absent when the ledger could not be read
  std::optional<int64_t> dlq_records;
  std::vector<Sample> samples;
  // Delivered per second from the ledger (index = second after the start).
  std::vector<int64_t> delivered_per_s;
  // Delivered per bin of `delivered_bin_s` (the sample interval) from the ledger.
  double delivered_bin_s = 1;
  std::vector<int64_t> delivered_per_bin;
  // Latency percentiles over time, from the ledger.
  LatencySeries latency_series;
  std::optional<RelaySettings> relay_settings;
  std::optional<SfsimLatencyModel> sfsim_latency;
  std::optional<GatewayFigures> gateway;  // only with --via
  std::vector<ThresholdOutcome> thresholds;
  std::vector<std::string> notes;  // warnings for the reader (e.g. "sfsim unreachable")
};

// Names a threshold may use, and the run's value for each (empty when not measured).
const std::vector<std::string>& FigureNames();
std::map<std::string, std::optional<double>> Figures(const Report& report);

std::string ReportToJson(const Report& report);
std::string ReportToCsv(const Report& report);
std::string ReportToHtml(const Report& report);
// A few lines for the terminal: drain time, events/s, latency, missing, duplicates, thresholds.
std::string ReportSummary(const Report& report);

// One line each for the HTML pages: the relay's settings and sfsim's latency model, or why they
// were not recorded.
std::string RelaySettingsText(const std::optional<RelaySettings>& settings);
std::string SfsimLatencyText(const std::optional<SfsimLatencyModel>& model);

// `text` with the user information of every URL in it (`http://user:password@host` ->
// `http://<redacted>@host`) replaced, for what the report records: URLs, the command line, notes.
std::string RedactUrlCredentials(std::string_view text);

// Writes `content` to `path` (through a temporary file and a rename).
Status WriteFile(const std::string& path, const std::string& content);

}  // namespace sluice::flood

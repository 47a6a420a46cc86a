// Metrics registry: counters, gauges and histograms with bounded label sets, rendered in the
// Prometheus text exposition format 0.0.4 for the relay's /metrics endpoint.
//
//   metrics::Registry registry;
//   auto dead = registry.AddCounterFamily("sluice_dead_lettered_total", "Events sent to the DLQ.",
//                                         {"class", "code"});
//   metrics::Counter& missing = (*dead)->WithLabels({"permanent", "REQUIRED_FIELD_MISSING"});
//   missing.Increment();  // lock-free; keep the reference for hot paths
//   std::string body = registry.RenderPrometheus();
//
// Components own their metric pointers; the registry owns the metrics and must outlive every
// pointer and CallbackHandle it handed out.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sluice/core/status.h"
#include "sluice/metrics/histogram.h"

namespace sluice::metrics {

enum class MetricType { kCounter, kGauge, kHistogram };

// The value every label takes in the series that absorbs label sets beyond a family's cap.
inline constexpr std::string_view kOverflowLabelValue = "other";

// The Content-Type of RenderPrometheus() output.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// A monotonic count. Thread-safety: lock-free; safe from any number of threads.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safety: lock-free; safe from any number of threads.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Increment() { Add(1); }
  void Decrement() { Add(-1); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

struct HistogramOptions {
  // Resolution and range of the underlying log-linear histogram. Default precision 7 (quantiles
  // within 0.39%), values up to 2^64.
  LogLinearHistogramOptions histogram;
  // Exposed value = recorded value / divisor; e.g. record microseconds and expose seconds (the
  // Prometheus convention) with divisor 1e6. Must be > 0. Default 1.
  double divisor = 1;
  // The `le` ladder as recorded-unit upper bounds (inclusive), strictly ascending. Bounds taken
  // from LadderBounds() count exactly. Empty (default) means LadderBounds(1, 2^30, 1): one bound
  // per power of two from 1 to 2^30 (1 us .. 17.9 min when recording microseconds).
  std::vector<uint64_t> bounds;
};

// A distribution. Thread-safety: Record() is lock-free and safe from any number of threads.
class Histogram {
 public:
  explicit Histogram(const LogLinearHistogramOptions& options) : data_(options) {}
  void Record(uint64_t value) { data_.Record(value); }
  // The full histogram, e.g. for quantiles in logs or reports.
  const LogLinearHistogram& data() const { return data_; }

 private:
  LogLinearHistogram data_;
};

struct FamilyOptions {
  // Most distinct label-value combinations kept per family. Default 1,000. Once reached, each new
  // combination maps to the single overflow series whose every label is "other"
  // (kOverflowLabelValue): counters and histograms keep counting there, a gauge set through it is
  // last-writer-wins, callback samples are summed into it. overflowed() counts such lookups, and
  // the overflow series itself shows operators that the cap was hit.
  size_t max_series = 1000;
  // Label values longer than this many bytes are cut (at a UTF-8 character boundary); invalid
  // UTF-8 is replaced by U+FFFD, so hostile values from outside can neither break the exposition
  // format nor grow it without bound. Default 256.
  size_t max_label_value_bytes = 256;
};

// One labelled sample reported by a callback family.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
};

namespace internal {
// Orders label-value keys; transparent so a lookup by string_views allocates nothing.
struct LabelsLess {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(),
        [](const auto& x, const auto& y) { return std::string_view(x) < std::string_view(y); });
  }
};

// What the registry needs from every family. Thread-safety: Render is safe from any thread.
class FamilyBase {
 public:
  virtual ~FamilyBase() = default;
  virtual void Render(std::string* out) const = 0;
};
}  // namespace internal

// The series of one metric name, one per label-value combination, created on first use.
// Thread-safety: safe from any thread. WithLabels takes a shared lock to find an existing series
// and an exclusive one to create a new series; the returned metric is lock-free. Keep the
// reference for hot paths: it stays valid for the registry's lifetime.
template <typename T>
class Family final : public internal::FamilyBase {
 public:
  // `values` holds one value per label name, in order. A wrong number of values is a programming
  // error and maps to the overflow series (never a crash on the hot path).
  T& WithLabels(std::span<const std::string_view> values);
  T& WithLabels(std::initializer_list<std::string_view> values) {
    return WithLabels(std::span<const std::string_view>(values.begin(), values.size()));
  }
  // Distinct series, the overflow series included.
  size_t size() const;
  // Lookups that landed in the overflow series.
  uint64_t overflowed() const { return overflowed_.load(std::memory_order_relaxed); }

  // Built by Registry.
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         FamilyOptions options, std::function<std::unique_ptr<T>()> make,
         HistogramOptions histogram = {});
  void Render(std::string* out) const override;

 private:
  T& LookupSlow(std::vector<std::string> key);

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const FamilyOptions options_;
  const std::function<std::unique_ptr<T>()> make_;
  const HistogramOptions histogram_;  // for rendering histograms
  mutable std::shared_mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<T>, internal::LabelsLess> series_;
  std::atomic<uint64_t> overflowed_{0};
};

class Registry;

// Keeps a callback registered; destroying (or Reset()) unregisters it, after which the callback is
// never called again (an in-progress render finishes first).
// Thread-safety: not thread-safe itself; the registry it points to must outlive it.
class CallbackHandle {
 public:
  CallbackHandle() = default;
  CallbackHandle(CallbackHandle&& other) noexcept;
  CallbackHandle& operator=(CallbackHandle&& other) noexcept;
  CallbackHandle(const CallbackHandle&) = delete;
  CallbackHandle& operator=(const CallbackHandle&) = delete;
  ~CallbackHandle() { Reset(); }
  void Reset();

 private:
  friend class Registry;
  CallbackHandle(Registry* registry, std::string name)
      : registry_(registry), name_(std::move(name)) {}
  Registry* registry_ = nullptr;
  std::string name_;
};

// Thread-safety: every method is safe from any thread. Registration and rendering take the
// registry's lock; updating a metric never does. Callbacks run inside RenderPrometheus() under
// that lock: they must be thread-safe, quick, and must not call back into the registry.
class Registry {
 public:
  Registry();
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Every Add* fails with InvalidArgument for a name that is not [a-zA-Z_:][a-zA-Z0-9_:]*, a label
  // name that is not [a-zA-Z_][a-zA-Z0-9_]* or starts with "__" or repeats, "le" on a histogram,
  // bad histogram options; and with AlreadyExists when the name (or a histogram's _bucket, _sum,
  // _count) is already exposed.
  Result<Counter*> AddCounter(std::string_view name, std::string_view help);
  Result<Family<Counter>*> AddCounterFamily(std::string_view name, std::string_view help,
                                            std::vector<std::string> label_names,
                                            FamilyOptions options = {});
  Result<Gauge*> AddGauge(std::string_view name, std::string_view help);
  Result<Family<Gauge>*> AddGaugeFamily(std::string_view name, std::string_view help,
                                        std::vector<std::string> label_names,
                                        FamilyOptions options = {});
  Result<Histogram*> AddHistogram(std::string_view name, std::string_view help,
                                  HistogramOptions options = {});
  Result<Family<Histogram>*> AddHistogramFamily(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                HistogramOptions options = {},
                                                FamilyOptions family_options = {});

  // A gauge whose value is `fn()` at scrape time (e.g. a queue depth owned by a component).
  Result<CallbackHandle> AddCallbackGauge(std::string_view name, std::string_view help,
                                          std::function<double()> fn);
  // A counter or gauge family whose samples are `fn()` at scrape time (e.g. lag per partition).
  // Samples with the wrong number of label values are dropped; equal label sets are summed.
  Result<CallbackHandle> AddCallbackFamily(std::string_view name, std::string_view help,
                                           MetricType type, std::vector<std::string> label_names,
                                           std::function<std::vector<Sample>()> fn,
                                           FamilyOptions options = {});

  // Every family in name order: # HELP and # TYPE lines, then one line per series in label order
  // (histograms: _bucket{le=...} lines ending in le="+Inf", then _sum and _count).
  std::string RenderPrometheus() const;

 private:
  friend class CallbackHandle;
  // Checks the name is free and adds the family, atomically.
  Status Register(std::string_view name, MetricType type,
                  std::unique_ptr<internal::FamilyBase> family);
  void Remove(const std::string& name);

  mutable std::shared_mutex mu_;
  std::map<std::string, std::unique_ptr<internal::FamilyBase>, std::less<>> families_;
  std::map<std::string, std::string, std::less<>> exposed_;  // exposed name -> family name
};

extern template class Family<Counter>;
extern template class Family<Gauge>;
extern template class Family<Histogram>;

}  // namespace sluice::metrics

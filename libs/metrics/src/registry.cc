#include "sluice/metrics/registry.h"

#include <fmt/format.h>

#include <cmath>
#include <set>
#include <utility>

#include "text_format.h"

namespace sluice::metrics {
namespace {

using internal::AppendEscapedHelp;
using internal::AppendEscapedLabelValue;
using internal::FormatValue;

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

void AppendHeader(std::string_view name, std::string_view help, MetricType type, std::string* out) {
  out->append("# HELP ").append(name).push_back(' ');
  AppendEscapedHelp(help, out);
  out->append("\n# TYPE ").append(name).push_back(' ');
  out->append(TypeName(type)).push_back('\n');
}

// Appends {a="x",b="y"[,le="..."]}, or nothing when there are no labels at all.
void AppendLabels(const std::vector<std::string>& names, const std::vector<std::string>& values,
                  std::string_view le, std::string* out) {
  if (names.empty() && le.empty()) return;
  out->push_back('{');
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append(names[i]).append("=\"");
    AppendEscapedLabelValue(values[i], out);
    out->push_back('"');
  }
  if (!le.empty()) {
    if (!names.empty()) out->push_back(',');
    out->append("le=\"").append(le).push_back('"');
  }
  out->push_back('}');
}

void RenderSeries(const Counter& c, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const HistogramOptions&,
                  std::string* out) {
  out->append(name);
  AppendLabels(names, values, {}, out);
  out->append(fmt::format(" {}\n", c.Value()));
}

void RenderSeries(const Gauge& g, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const HistogramOptions&,
                  std::string* out) {
  out->append(name);
  AppendLabels(names, values, {}, out);
  out->append(" ").append(FormatValue(g.Value())).push_back('\n');
}

void RenderSeries(const Histogram& h, const std::string& name,
                  const std::vector<std::string>& names, const std::vector<std::string>& values,
                  const HistogramOptions& options, std::string* out) {
  std::vector<uint64_t> bounds = options.bounds;
  bounds.push_back(UINT64_MAX);  // +Inf, from the same snapshot as the finite bounds
  const std::vector<uint64_t> cumulative = h.data().CumulativeCounts(bounds);
  const std::string bucket_name = name + "_bucket";
  for (size_t i = 0; i < bounds.size(); ++i) {
    const bool inf = i + 1 == bounds.size();
    const std::string le =
        inf ? "+Inf" : FormatValue(static_cast<double>(bounds[i]) / options.divisor);
    out->append(bucket_name);
    AppendLabels(names, values, le, out);
    out->append(fmt::format(" {}\n", cumulative[i]));
  }
  out->append(name).append("_sum");
  AppendLabels(names, values, {}, out);
  out->append(" ").append(FormatValue(h.data().Sum() / options.divisor)).push_back('\n');
  out->append(name).append("_count");
  AppendLabels(names, values, {}, out);
  out->append(fmt::format(" {}\n", cumulative.back()));
}

Status ValidateLabelNames(const std::vector<std::string>& names, bool histogram) {
  std::set<std::string_view> seen;
  for (const std::string& n : names) {
    if (!internal::IsValidLabelName(n)) {
      return InvalidArgumentError("invalid label name \"" + internal::SanitizeUtf8(n, 256) + "\"");
    }
    if (histogram && n == "le")
      return InvalidArgumentError("label \"le\" is reserved in histograms");
    if (!seen.insert(n).second) return InvalidArgumentError("label name \"" + n + "\" repeats");
  }
  return Status::Ok();
}

Status ValidateName(std::string_view name) {
  if (!internal::IsValidMetricName(name)) {
    return InvalidArgumentError("invalid metric name \"" + internal::SanitizeUtf8(name, 256) +
                                "\"");
  }
  return Status::Ok();
}

Status NormalizeHistogramOptions(HistogramOptions* o) {
  RETURN_IF_ERROR(ValidateHistogramOptions(o->histogram));
  if (!(o->divisor > 0) || !std::isfinite(o->divisor)) {
    return InvalidArgumentError("histogram divisor must be a positive finite number");
  }
  if (o->bounds.empty()) o->bounds = LadderBounds(1, uint64_t{1} << 30, 1);
  for (size_t i = 1; i < o->bounds.size(); ++i) {
    if (o->bounds[i] <= o->bounds[i - 1]) {
      return InvalidArgumentError("histogram bounds must be strictly ascending");
    }
  }
  if (o->bounds.back() == UINT64_MAX) o->bounds.pop_back();  // +Inf is always there
  return Status::Ok();
}

std::vector<std::string> OverflowKey(size_t labels) {
  return std::vector<std::string>(labels, std::string(kOverflowLabelValue));
}

// A family whose samples come from a callback at scrape time.
// Thread-safety: Render is safe from any thread if the callback is.
class CallbackFamily final : public internal::FamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, MetricType type,
                 std::vector<std::string> label_names, std::function<std::vector<Sample>()> fn,
                 FamilyOptions options)
      : name_(std::move(name)),
        help_(std::move(help)),
        type_(type),
        label_names_(std::move(label_names)),
        fn_(std::move(fn)),
        options_(options) {}

  void Render(std::string* out) const override {
    AppendHeader(name_, help_, type_, out);
    std::vector<Sample> samples = fn_();
    std::map<std::vector<std::string>, double, internal::LabelsLess> merged;
    const std::vector<std::string> overflow = OverflowKey(label_names_.size());
    size_t regular = 0;
    for (Sample& s : samples) {
      if (s.label_values.size() != label_names_.size()) continue;
      std::vector<std::string> key;
      key.reserve(s.label_values.size());
      for (const std::string& v : s.label_values) {
        key.push_back(internal::SanitizeUtf8(v, options_.max_label_value_bytes));
      }
      auto it = merged.find(key);
      if (it == merged.end() && key != overflow) {
        if (regular >= options_.max_series) {
          key = overflow;
        } else {
          ++regular;
        }
      }
      merged[std::move(key)] += s.value;
    }
    for (const auto& [values, value] : merged) {
      out->append(name_);
      AppendLabels(label_names_, values, {}, out);
      out->append(" ").append(FormatValue(value)).push_back('\n');
    }
  }

 private:
  const std::string name_;
  const std::string help_;
  const MetricType type_;
  const std::vector<std::string> label_names_;
  const std::function<std::vector<Sample>()> fn_;
  const FamilyOptions options_;
};

template <typename T>
constexpr MetricType TypeOf() {
  if constexpr (std::is_same_v<T, Counter>) {
    return MetricType::kCounter;
  } else if constexpr (std::is_same_v<T, Gauge>) {
    return MetricType::kGauge;
  } else {
    return MetricType::kHistogram;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Family<T>

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  FamilyOptions options, std::function<std::unique_ptr<T>()> make,
                  HistogramOptions histogram)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      options_(options),
      make_(std::move(make)),
      histogram_(std::move(histogram)) {}

template <typename T>
T& Family<T>::WithLabels(std::span<const std::string_view> values) {
  bool clean = values.size() == label_names_.size();
  for (size_t i = 0; clean && i < values.size(); ++i) {
    clean = internal::IsCleanUtf8(values[i], options_.max_label_value_bytes);
  }
  if (clean) {
    std::shared_lock lock(mu_);
    auto it = series_.find(values);
    if (it != series_.end()) return *it->second;
  }
  std::vector<std::string> key;
  if (values.size() != label_names_.size()) {
    overflowed_.fetch_add(1, std::memory_order_relaxed);
    key = OverflowKey(label_names_.size());
  } else {
    key.reserve(values.size());
    for (std::string_view v : values) {
      key.push_back(internal::SanitizeUtf8(v, options_.max_label_value_bytes));
    }
  }
  return LookupSlow(std::move(key));
}

template <typename T>
T& Family<T>::LookupSlow(std::vector<std::string> key) {
  std::unique_lock lock(mu_);
  auto it = series_.find(key);
  if (it != series_.end()) return *it->second;
  const std::vector<std::string> overflow = OverflowKey(label_names_.size());
  if (key != overflow) {
    const size_t regular = series_.size() - (series_.count(overflow) ? 1 : 0);
    if (regular >= options_.max_series) {
      overflowed_.fetch_add(1, std::memory_order_relaxed);
      key = overflow;
      it = series_.find(key);
      if (it != series_.end()) return *it->second;
    }
  }
  auto [inserted, ok] = series_.emplace(std::move(key), make_());
  (void)ok;
  return *inserted->second;
}

template <typename T>
size_t Family<T>::size() const {
  std::shared_lock lock(mu_);
  return series_.size();
}

template <typename T>
void Family<T>::Render(std::string* out) const {
  AppendHeader(name_, help_, TypeOf<T>(), out);
  std::shared_lock lock(mu_);
  for (const auto& [values, metric] : series_) {
    RenderSeries(*metric, name_, label_names_, values, histogram_, out);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

// ---------------------------------------------------------------------------------------------
// CallbackHandle

CallbackHandle::CallbackHandle(CallbackHandle&& other) noexcept
    : registry_(std::exchange(other.registry_, nullptr)), name_(std::move(other.name_)) {}

CallbackHandle& CallbackHandle::operator=(CallbackHandle&& other) noexcept {
  if (this != &other) {
    Reset();
    registry_ = std::exchange(other.registry_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

void CallbackHandle::Reset() {
  if (registry_ != nullptr) registry_->Remove(name_);
  registry_ = nullptr;
}

// ---------------------------------------------------------------------------------------------
// Registry

Registry::Registry() = default;
Registry::~Registry() = default;

Status Registry::Register(std::string_view name, MetricType type,
                          std::unique_ptr<internal::FamilyBase> family) {
  std::vector<std::string> names = {std::string(name)};
  if (type == MetricType::kHistogram) {
    for (const char* suffix : {"_bucket", "_sum", "_count"}) names.push_back(names[0] + suffix);
  }
  std::unique_lock lock(mu_);
  for (const std::string& n : names) {
    auto it = exposed_.find(n);
    if (it != exposed_.end()) {
      return AlreadyExistsError("metric name \"" + n + "\" is already exposed by \"" + it->second +
                                "\"");
    }
  }
  for (const std::string& n : names) exposed_.emplace(n, names[0]);
  families_.emplace(names[0], std::move(family));
  return Status::Ok();
}

void Registry::Remove(const std::string& name) {
  std::unique_lock lock(mu_);
  families_.erase(name);
  for (auto it = exposed_.begin(); it != exposed_.end();) {
    it = it->second == name ? exposed_.erase(it) : std::next(it);
  }
}

namespace {

template <typename T>
Result<Family<T>*> MakeFamily(
    std::string_view name, std::string_view help, std::vector<std::string> label_names,
    FamilyOptions options, HistogramOptions histogram,
    const std::function<Status(std::string_view, MetricType,
                               std::unique_ptr<internal::FamilyBase>)>& register_fn) {
  RETURN_IF_ERROR(ValidateName(name));
  RETURN_IF_ERROR(ValidateLabelNames(label_names, TypeOf<T>() == MetricType::kHistogram));
  std::function<std::unique_ptr<T>()> make;
  if constexpr (std::is_same_v<T, Histogram>) {
    RETURN_IF_ERROR(NormalizeHistogramOptions(&histogram));
    make = [h = histogram.histogram] { return std::make_unique<Histogram>(h); };
  } else {
    make = [] { return std::make_unique<T>(); };
  }
  if (options.max_series == 0) options.max_series = 1;
  auto family = std::make_unique<Family<T>>(
      std::string(name), internal::SanitizeUtf8(help, 64 * 1024), std::move(label_names), options,
      std::move(make), std::move(histogram));
  Family<T>* raw = family.get();
  RETURN_IF_ERROR(register_fn(name, TypeOf<T>(), std::move(family)));
  return raw;
}

}  // namespace

#define SLUICE_REGISTER_FN                                                            \
  [this](std::string_view n, MetricType t, std::unique_ptr<internal::FamilyBase> f) { \
    return Register(n, t, std::move(f));                                              \
  }

Result<Family<Counter>*> Registry::AddCounterFamily(std::string_view name, std::string_view help,
                                                    std::vector<std::string> label_names,
                                                    FamilyOptions options) {
  return MakeFamily<Counter>(name, help, std::move(label_names), options, {}, SLUICE_REGISTER_FN);
}

Result<Family<Gauge>*> Registry::AddGaugeFamily(std::string_view name, std::string_view help,
                                                std::vector<std::string> label_names,
                                                FamilyOptions options) {
  return MakeFamily<Gauge>(name, help, std::move(label_names), options, {}, SLUICE_REGISTER_FN);
}

Result<Family<Histogram>*> Registry::AddHistogramFamily(std::string_view name,
                                                        std::string_view help,
                                                        std::vector<std::string> label_names,
                                                        HistogramOptions options,
                                                        FamilyOptions family_options) {
  return MakeFamily<Histogram>(name, help, std::move(label_names), family_options,
                               std::move(options), SLUICE_REGISTER_FN);
}

Result<Counter*> Registry::AddCounter(std::string_view name, std::string_view help) {
  ASSIGN_OR_RETURN(Family<Counter> * family, AddCounterFamily(name, help, {}));
  return &family->WithLabels({});
}

Result<Gauge*> Registry::AddGauge(std::string_view name, std::string_view help) {
  ASSIGN_OR_RETURN(Family<Gauge> * family, AddGaugeFamily(name, help, {}));
  return &family->WithLabels({});
}

Result<Histogram*> Registry::AddHistogram(std::string_view name, std::string_view help,
                                          HistogramOptions options) {
  ASSIGN_OR_RETURN(Family<Histogram> * family,
                   AddHistogramFamily(name, help, {}, std::move(options)));
  return &family->WithLabels({});
}

#undef SLUICE_REGISTER_FN

Result<CallbackHandle> Registry::AddCallbackGauge(std::string_view name, std::string_view help,
                                                  std::function<double()> fn) {
  if (!fn) return InvalidArgumentError("callback gauge needs a function");
  return AddCallbackFamily(name, help, MetricType::kGauge, {}, [fn = std::move(fn)] {
    return std::vector<Sample>{{{}, fn()}};
  });
}

Result<CallbackHandle> Registry::AddCallbackFamily(std::string_view name, std::string_view help,
                                                   MetricType type,
                                                   std::vector<std::string> label_names,
                                                   std::function<std::vector<Sample>()> fn,
                                                   FamilyOptions options) {
  RETURN_IF_ERROR(ValidateName(name));
  RETURN_IF_ERROR(ValidateLabelNames(label_names, false));
  if (type == MetricType::kHistogram) {
    return InvalidArgumentError("callback families are counters or gauges");
  }
  if (!fn) return InvalidArgumentError("callback family needs a function");
  if (options.max_series == 0) options.max_series = 1;
  auto family =
      std::make_unique<CallbackFamily>(std::string(name), internal::SanitizeUtf8(help, 64 * 1024),
                                       type, std::move(label_names), std::move(fn), options);
  RETURN_IF_ERROR(Register(name, type, std::move(family)));
  return CallbackHandle(this, std::string(name));
}

std::string Registry::RenderPrometheus() const {
  std::string out;
  std::shared_lock lock(mu_);
  for (const auto& [name, family] : families_) family->Render(&out);
  return out;
}

}  // namespace sluice::metrics

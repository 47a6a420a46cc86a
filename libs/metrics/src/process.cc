#include "sluice/metrics/process.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>

namespace sluice::metrics {
namespace {

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses,
// so the split starts after the last ')'). fields[0] is field 3 (state) of proc(5).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

std::optional<double> StatField(size_t proc5_number) {
  const auto fields = StatFields();
  const size_t at = proc5_number - 3;
  if (at >= fields.size()) return std::nullopt;
  try {
    return std::stod(fields[at]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<double> CpuSeconds() {
  auto user = StatField(14), system = StatField(15);
  if (!user || !system) return std::nullopt;
  return (*user + *system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::optional<double> ResidentBytes() {
  std::ifstream in("/proc/self/statm");
  double size = 0, resident = 0;
  if (!(in >> size >> resident)) return std::nullopt;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE));
}

std::optional<double> OpenFds() {
  std::error_code ec;
  double n = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++n;
  }
  if (ec) return std::nullopt;
  return n - 1;  // the directory iterator's own descriptor
}

// Boot time from /proc/stat plus the process's start in clock ticks after boot.
std::optional<double> StartTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::optional<double> boot;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
  }
  auto start = StatField(22);
  if (!boot || !start) return std::nullopt;
  return *boot + *start / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

Result<CallbackHandle> AddOptionalValue(Registry& registry, std::string_view name,
                                        std::string_view help, MetricType type,
                                        std::function<std::optional<double>()> read) {
  return registry.AddCallbackFamily(name, help, type, {}, [read = std::move(read)] {
    std::vector<Sample> out;
    if (auto v = read()) out.push_back({{}, *v});
    return out;
  });
}

Result<std::vector<CallbackHandle>> AddProcessMetrics(Registry& registry) {
  std::vector<CallbackHandle> handles;
  auto add = [&](std::string_view name, std::string_view help, MetricType type,
                 std::function<std::optional<double>()> read) -> Status {
    ASSIGN_OR_RETURN(auto handle, AddOptionalValue(registry, name, help, type, std::move(read)));
    handles.push_back(std::move(handle));
    return Status::Ok();
  };
  RETURN_IF_ERROR(add("process_cpu_seconds_total", "User and system CPU time spent, in seconds.",
                      MetricType::kCounter, CpuSeconds));
  RETURN_IF_ERROR(add("process_resident_memory_bytes", "Resident memory size, in bytes.",
                      MetricType::kGauge, ResidentBytes));
  RETURN_IF_ERROR(add("process_open_fds", "Open file descriptors.", MetricType::kGauge, OpenFds));
  RETURN_IF_ERROR(add("process_start_time_seconds",
                      "Start time of the process since the Unix epoch, in seconds.",
                      MetricType::kGauge, StartTimeSeconds));
  return handles;
}

Status AddInfoMetric(Registry& registry, std::string_view name, std::string_view help,
                     const std::map<std::string, std::string>& labels) {
  std::vector<std::string> names;
  std::vector<std::string_view> values;
  for (const auto& [k, v] : labels) {
    names.push_back(k);
    values.push_back(v);
  }
  ASSIGN_OR_RETURN(auto family, registry.AddGaugeFamily(name, help, std::move(names)));
  family->WithLabels(values).Set(1);
  return Status::Ok();
}

}  // namespace sluice::metrics

#include "sluice/metrics/process.h"

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>

namespace sluice::metrics {
namespace {

// The value of the unlabelled series `name` in `text`; nullopt when absent.
std::optional<double> Value(const std::string& text, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + name + " ([^\n]+)\n"))) return std::nullopt;
  return std::stod(m[1]);
}

TEST(ProcessMetricsTest, ReportThisProcess) {
  Registry registry;
  auto handles = AddProcessMetrics(registry);
  ASSERT_TRUE(handles.ok()) << handles.status();
  const std::string text = "\n" + registry.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  EXPECT_GE(Value(text, "process_cpu_seconds_total").value_or(-1), 0);
  EXPECT_GT(Value(text, "process_resident_memory_bytes").value_or(0), 1 << 20);  // over 1 MiB
  EXPECT_GE(Value(text, "process_open_fds").value_or(0), 3);  // stdin, stdout, stderr at least
  const double now =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const double start = Value(text, "process_start_time_seconds").value_or(0);
  EXPECT_LE(start, now + 2);
  EXPECT_GT(start, now - 3600) << "this test process started within the hour";

  handles->clear();  // unregistered with the handles
  EXPECT_EQ(registry.RenderPrometheus().find("process_cpu_seconds_total"), std::string::npos);
}

TEST(OptionalValueTest, AbsentUntilKnown) {
  Registry registry;
  std::optional<double> v;
  auto handle =
      AddOptionalValue(registry, "x_used", "Used.", MetricType::kGauge, [&] { return v; });
  ASSERT_TRUE(handle.ok());
  EXPECT_FALSE(Value("\n" + registry.RenderPrometheus(), "x_used").has_value());
  v = 42;
  EXPECT_EQ(Value("\n" + registry.RenderPrometheus(), "x_used"), 42);
}

TEST(InfoMetricTest, OneSeriesWithTheFactsAsLabels) {
  Registry registry;
  ASSERT_TRUE(
      AddInfoMetric(registry, "x_build_info", "Facts.", {{"version", "1a2b\"c"}, {"program", "x"}})
          .ok());
  const std::string text = registry.RenderPrometheus();
  EXPECT_NE(text.find(R"(x_build_info{program="x",version="1a2b\"c"} 1)"), std::string::npos)
      << text;
  EXPECT_FALSE(AddInfoMetric(registry, "x_build_info", "Again.", {}).ok());  // one per name
}

}  // namespace
}  // namespace sluice::metrics

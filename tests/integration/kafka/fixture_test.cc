// The KafkaBroker fixture's promise: a broker a test process starts for itself does not outlive
// it, even when the process crashes.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include "kafka_test_util.h"
#include "sluice/testing/process.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

constexpr char kProbeEnv[] = "SLUICE_KAFKA_FIXTURE_CRASH_PROBE";

TEST(KafkaBrokerFixtureTest, OwnBrokerIsStoppedWhenTheTestProcessCrashes) {
  if (std::getenv(kProbeEnv) != nullptr) {
    // Child mode: the environment has started our own broker; report it, then crash.
    auto broker = testing::KafkaBroker::Shared();
    if (broker.ok() && (*broker)->owned()) {
      std::printf("DATA %s\n", (*broker)->data_dir().c_str());
    } else {
      std::printf("NO-BROKER\n");
    }
    std::fflush(stdout);
    std::abort();
  }
  // The child must start its own broker: run it without SLUICE_TEST_BROKER_FILE (ChildOptions
  // can only add variables, so env(1) removes it).
  testing::ChildOptions options;
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  auto child = testing::ChildProcess::Start(
      {"/usr/bin/env", "-u", "SLUICE_TEST_BROKER_FILE", std::string(kProbeEnv) + "=1",
       std::filesystem::read_symlink("/proc/self/exe").string(),
       std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name()},
      options);
  ASSERT_TRUE(child.ok()) << child.status();
  auto line = (*child)->WaitForLine("DATA ", 600s);
  ASSERT_TRUE(line.ok()) << line.status();
  const std::string data_dir = line->substr(line->find("DATA ") + 5);
  std::ifstream pid_file(data_dir + "/broker.pid");
  pid_t jvm = 0;
  ASSERT_TRUE(pid_file >> jvm) << "no broker.pid in " << data_dir;
  ASSERT_GT(jvm, 0);

  auto code = (*child)->Wait(120s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 128 + SIGABRT);

  // The watchdog notices the crash, stops the JVM and removes the data dir.
  const auto deadline = SteadyClock::now() + 120s;
  bool gone = false;
  while (!gone && SteadyClock::now() < deadline) {
    gone = kill(jvm, 0) != 0 && !std::filesystem::exists(data_dir);
    if (!gone) std::this_thread::sleep_for(100ms);  // polling a condition, bounded above
  }
  EXPECT_TRUE(gone) << "broker pid " << jvm << " or " << data_dir << " outlived the crash";
  if (!gone) kill(jvm, SIGKILL);
}

TEST(KafkaBrokerFixtureTest, UniqueNamesNeverRepeatAndFitKafka) {
  std::set<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    std::string name = testing::KafkaBroker::UniqueName("t.with/odd chars_");
    EXPECT_LE(name.size(), 249u);
    EXPECT_EQ(
        name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"),
        std::string::npos)
        << name;
    EXPECT_TRUE(names.insert(name).second) << name;
  }
  EXPECT_LE(testing::KafkaBroker::UniqueName(std::string(1000, 'x')).size(), 249u);
}

}  // namespace
}  // namespace sluice::kafka

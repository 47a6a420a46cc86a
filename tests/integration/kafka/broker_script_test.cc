// tools/kafka/broker: a single node or a three-node cluster, nodes killed and resumed on their
// data, and failing cleanly: busy ports and bad arguments give a clear error and leave no JVM
// behind.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kafka_test_util.h"
#include "sluice/testing/process.h"

namespace sluice::kafka {
namespace {

static const bool kBroker = testing::RegisterKafkaBrokerEnvironment();

class BrokerScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / "sluice-broker-script-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    data_ = dir_ + "/data";
    err_path_ = dir_ + "/stderr";
  }
  void TearDown() override {
    // Whatever happened, no broker may survive the test.
    (void)testing::RunCommand({testing::SourcePath("tools/kafka/broker"), "stop", "--data", data_},
                              60s);
    std::filesystem::remove_all(dir_);
  }

  testing::CommandResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), testing::SourcePath("tools/kafka/broker"));
    testing::ChildOptions options;
    options.stderr_path = err_path_;
    auto result = testing::RunCommand(args, 300s, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : testing::CommandResult{};
  }

  std::string Stderr() {
    std::ifstream in(err_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Processes whose command line mentions the test's directory (a JVM would).
  std::string ProcessesUsingDir() {
    auto r = testing::RunCommand({"pgrep", "-af", dir_}, 10s);
    return r.ok() ? r->out : "pgrep failed";
  }

  // Runs `script` under sh (stderr to the same file as the script's).
  testing::CommandResult Shell(const std::string& script) {
    testing::ChildOptions options;
    options.stderr_path = err_path_;
    auto result = testing::RunCommand({"sh", "-c", script}, 120s, options);
    EXPECT_TRUE(result.ok()) << result.status();
    return result.ok() ? *result : testing::CommandResult{};
  }

  // The ISR list of topic `topic`'s partition 0, e.g. "1,2,3"; "" when metadata is unavailable.
  std::string Isrs(const std::string& bootstrap, const std::string& topic) {
    auto meta = testing::RunCommand({"kcat", "-L", "-b", bootstrap, "-t", topic, "-m", "10"}, 30s);
    if (!meta.ok()) return "";
    size_t at = meta->out.find("isrs: ");
    if (at == std::string::npos) return "";
    size_t end = meta->out.find_first_of("\n", at);
    return meta->out.substr(at + 6, end - at - 6);
  }

  std::string dir_, data_, err_path_;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST_F(BrokerScriptTest, BusyPortIsAClearErrorAndStartsNoJvm) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string port = std::to_string(ntohs(addr.sin_port));

  auto result = Run({"start", "--port", port, "--data", data_});
  close(fd);
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(result.out.empty()) << "printed an address: " << result.out;
  EXPECT_NE(Stderr().find("port " + port + " on 127.0.0.1 is already in use"), std::string::npos)
      << Stderr();
  EXPECT_EQ(ProcessesUsingDir(), "");
  auto status = Run({"status", "--data", data_});
  EXPECT_NE(status.exit_code, 0);
}

TEST_F(BrokerScriptTest, BadArgumentsAreRejected) {
  const std::vector<std::vector<std::string>> bad = {
      {"start", "--port", "abc"},
      {"start", "--port", "0"},
      {"start", "--port", "70000"},
      {"start", "--port"},
      {"start", "--bogus"},
      {"start", "--port", "1; rm -rf /"},
      {"explode"},
      {},
  };
  for (const auto& args : bad) {
    auto result = Run(args);
    EXPECT_NE(result.exit_code, 0) << ::testing::PrintToString(args);
    EXPECT_TRUE(result.out.empty()) << ::testing::PrintToString(args);
  }
  EXPECT_NE(Stderr().find("--port must be a number"), std::string::npos) << Stderr();
  EXPECT_NE(Stderr().find("unknown argument: --bogus"), std::string::npos) << Stderr();
  EXPECT_EQ(ProcessesUsingDir(), "");
}

TEST_F(BrokerScriptTest, ThreeNodesKeepWritingWithOneKilledAndTakeItBackOnItsData) {
  auto started = Run({"start", "--nodes", "3", "--data", data_});
  ASSERT_EQ(started.exit_code, 0) << Stderr();
  const std::string bootstrap = Trim(started.out);
  ASSERT_EQ(std::count(bootstrap.begin(), bootstrap.end(), ','), 2) << bootstrap;

  ASSERT_EQ(Shell("seq 1 100 | kcat -P -b " + bootstrap + " -t three -X acks=all").exit_code, 0);
  std::string isrs = Isrs(bootstrap, "three");
  EXPECT_EQ(isrs.size(), 5u) << "three replicas in sync, got '" << isrs << "'";

  ASSERT_EQ(Run({"kill", "--data", data_, "--node", "2"}).exit_code, 0) << Stderr();
  EXPECT_EQ(Run({"status", "--data", data_, "--node", "2"}).exit_code, 3);
  // Two copies are enough for acks=all (min.insync.replicas=2).
  EXPECT_EQ(Shell("seq 101 200 | kcat -P -b " + bootstrap + " -t three -X acks=all").exit_code, 0);

  auto resumed = Run({"resume", "--data", data_, "--node", "2"});
  ASSERT_EQ(resumed.exit_code, 0) << Stderr();
  // Back in sync, on the log directory it was formatted with.
  // Brokers' metadata caches catch up one by one: wait for three answers in a row.
  auto deadline = std::chrono::steady_clock::now() + 90s;
  int in_sync = 0;
  while (in_sync < 3 && std::chrono::steady_clock::now() < deadline) {
    in_sync = Isrs(bootstrap, "three").size() == 5u ? in_sync + 1 : 0;
    std::this_thread::sleep_for(500ms);
  }
  EXPECT_EQ(in_sync, 3) << "last ISR seen: " << Isrs(bootstrap, "three");
  EXPECT_TRUE(std::filesystem::exists(data_ + "/node-2/logs/meta.properties"));
  auto all = Shell("kcat -C -b " + bootstrap + " -t three -e -q | wc -l");
  EXPECT_EQ(Trim(all.out), "200");

  EXPECT_EQ(Run({"stop", "--data", data_}).exit_code, 0);
  EXPECT_EQ(ProcessesUsingDir(), "");
}

TEST_F(BrokerScriptTest, ASingleNodeResumesOnItsOwnData) {
  auto started = Run({"start", "--data", data_});
  ASSERT_EQ(started.exit_code, 0) << Stderr();
  const std::string bootstrap = Trim(started.out);
  ASSERT_EQ(Shell("seq 1 50 | kcat -P -b " + bootstrap + " -t kept").exit_code, 0) << Stderr();
  ASSERT_EQ(Run({"stop", "--data", data_}).exit_code, 0);
  EXPECT_EQ(Run({"status", "--data", data_}).exit_code, 3);

  auto resumed = Run({"resume", "--data", data_});
  ASSERT_EQ(resumed.exit_code, 0) << Stderr();
  EXPECT_EQ(Trim(resumed.out), bootstrap);  // the same port
  EXPECT_EQ(Trim(Shell("kcat -C -b " + bootstrap + " -t kept -e -q | wc -l").out), "50");
}

TEST_F(BrokerScriptTest, ClusterArgumentsAreChecked) {
  EXPECT_NE(Run({"start", "--nodes", "2", "--data", data_}).exit_code, 0);
  EXPECT_NE(Run({"start", "--nodes", "3", "--port", "9092", "--data", data_}).exit_code, 0);
  EXPECT_NE(Run({"resume", "--data", data_}).exit_code, 0);  // nothing there to resume
  EXPECT_NE(Run({"kill", "--data", data_, "--node", "4"}).exit_code, 0);
  EXPECT_NE(Stderr().find("--nodes must be 1 or 3"), std::string::npos) << Stderr();
  EXPECT_NE(Stderr().find("holds no broker to resume"), std::string::npos) << Stderr();
  EXPECT_NE(Stderr().find("--node must be 1, 2 or 3"), std::string::npos) << Stderr();
  EXPECT_EQ(ProcessesUsingDir(), "");
}

TEST_F(BrokerScriptTest, StopWithoutABrokerIsHarmless) {
  auto result = Run({"stop", "--data", data_});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(Stderr().find("no broker running"), std::string::npos) << Stderr();
}

}  // namespace
}  // namespace sluice::kafka

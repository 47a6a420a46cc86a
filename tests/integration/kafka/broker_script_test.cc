// tools/kafka/broker failing cleanly: busy ports and bad arguments give a clear error and leave no
// JVM behind.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

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

  std::string dir_, data_, err_path_;
};

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

TEST_F(BrokerScriptTest, StopWithoutABrokerIsHarmless) {
  auto result = Run({"stop", "--data", data_});
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(Stderr().find("no broker running"), std::string::npos) << Stderr();
}

}  // namespace
}  // namespace sluice::kafka

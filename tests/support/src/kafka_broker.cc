#include "sluice/testing/kafka_broker.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "sluice/kafka/admin.h"
#include "sluice/testing/process.h"

extern char** environ;

namespace sluice::testing {
namespace {

using namespace std::chrono_literals;

std::mutex g_mu;
std::unique_ptr<KafkaBroker> g_broker;  // guarded by g_mu
Status g_error;                         // guarded by g_mu: the first failure to get a broker
bool g_atexit_registered = false;       // guarded by g_mu

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  auto end = s.find_last_not_of(ws);
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

// "host:port" with a loopback host (tests never leave the machine) and a numeric port.
Status CheckAddress(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return InvalidArgumentError("broker address '" + address + "' is not host:port");
  }
  std::string host = address.substr(0, colon);
  std::string port = address.substr(colon + 1);
  if (host != "127.0.0.1" && host != "localhost" && host != "[::1]") {
    return InvalidArgumentError("broker address '" + address + "' is not on loopback");
  }
  if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) < 1 || std::stoi(port) > 65535) {
    return InvalidArgumentError("broker address '" + address + "' has a bad port");
  }
  return Status::Ok();
}

Result<std::string> ReadBrokerFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return NotFoundError("SLUICE_TEST_BROKER_FILE=" + path +
                         " cannot be read (did the ctest broker setup test fail?)");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string address = Trim(ss.str().substr(0, 1024));
  RETURN_IF_ERROR(CheckAddress(address).WithContext("SLUICE_TEST_BROKER_FILE=" + path));
  return address;
}

// Starts `sh` that waits for EOF on a pipe whose write end only this process holds, then stops the
// broker and removes its data directory. The pipe closes when this process exits for any reason,
// crashes included, so no JVM outlives the test. Returns the write end (-1 if spawning failed).
int StartWatchdog(const std::string& broker_script, const std::string& data_dir) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own session: a signal to the test's process group (ctest timeout) does not reach it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
  const char* script = "cat >/dev/null; \"$0\" stop --data \"$1\" >/dev/null 2>&1; rm -rf \"$1\"";
  std::vector<std::string> argv_s = {"/bin/sh", "-c", script, broker_script, data_dir};
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(fds[0]);
  if (rc != 0) {
    close(fds[1]);
    return -1;
  }
  return fds[1];
}

std::atomic<bool> g_exiting{false};

// At exit, static objects (spdlog's registry among them) may already be gone, so the admin
// client, whose destruction logs through spdlog, is leaked; the broker itself is still stopped.
void StopAtExit() {
  g_exiting = true;
  KafkaBroker::StopShared();
}

class KafkaBrokerEnvironment final : public ::testing::Environment {
 public:
  void SetUp() override {
    auto broker = KafkaBroker::Shared();
    ASSERT_TRUE(broker.ok()) << "no Kafka broker for this test binary: " << broker.status();
  }
  void TearDown() override { KafkaBroker::StopShared(); }
};

}  // namespace

KafkaBroker::KafkaBroker(std::string bootstrap, std::string data_dir, int watchdog_fd)
    : bootstrap_(std::move(bootstrap)), data_dir_(std::move(data_dir)), watchdog_fd_(watchdog_fd) {}

KafkaBroker::~KafkaBroker() { Stop(); }

void KafkaBroker::Stop() {
  {
    std::lock_guard lock(mu_);
    if (g_exiting) {
      (void)admin_.release();
    } else {
      admin_.reset();
    }
  }
  if (!data_dir_.empty()) {
    auto stopped = RunCommand({SourcePath("tools/kafka/broker"), "stop", "--data", data_dir_}, 60s);
    if (!stopped.ok() || stopped->exit_code != 0) {
      std::fprintf(stderr, "kafka_broker: stopping the broker in %s failed\n", data_dir_.c_str());
    }
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
    data_dir_.clear();
  }
  if (watchdog_fd_ >= 0) {
    close(watchdog_fd_);  // the watchdog's own stop is now a no-op
    watchdog_fd_ = -1;
  }
}

Result<KafkaBroker*> KafkaBroker::Shared() {
  std::lock_guard lock(g_mu);
  if (g_broker) return g_broker.get();
  if (!g_error.ok()) return g_error;
  if (!g_atexit_registered) {
    std::atexit(StopAtExit);
    g_atexit_registered = true;
  }
  if (const char* file = std::getenv("SLUICE_TEST_BROKER_FILE"); file != nullptr && *file) {
    auto address = ReadBrokerFile(file);
    if (!address.ok()) {
      g_error = address.status();
      return g_error;
    }
    g_broker.reset(new KafkaBroker(*address, "", -1));
    return g_broker.get();
  }
  // Start our own in a fresh data directory.
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "sluice-test-broker-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    g_error = InternalError("mkdtemp failed for the broker data directory");
    return g_error;
  }
  const std::string script = SourcePath("tools/kafka/broker");
  int watchdog = StartWatchdog(script, tmpl);
  // Fetching the jars on a cold cache can take minutes; starting takes seconds.
  auto started = RunCommand({script, "start", "--data", tmpl}, 600s);
  Status failure;
  if (!started.ok()) {
    failure = started.status().WithContext("tools/kafka/broker start");
  } else if (started->exit_code != 0) {
    failure = UnavailableError("tools/kafka/broker start exited with " +
                               std::to_string(started->exit_code) + " (its stderr is above)");
  } else {
    // The address is the last line of stdout.
    std::string out = Trim(started->out);
    std::string address = Trim(out.substr(out.find_last_of('\n') + 1));
    failure = CheckAddress(address).WithContext("tools/kafka/broker start printed");
    if (failure.ok()) {
      g_broker.reset(new KafkaBroker(address, tmpl, watchdog));
      return g_broker.get();
    }
  }
  // Clean up what a failed start left behind.
  KafkaBroker cleanup("", tmpl, watchdog);
  g_error = failure;
  return g_error;
}

void KafkaBroker::StopShared() {
  std::unique_ptr<KafkaBroker> broker;
  {
    std::lock_guard lock(g_mu);
    broker = std::move(g_broker);
  }
  broker.reset();  // stops an owned broker
}

std::string KafkaBroker::UniqueName(std::string_view prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint32_t random = std::random_device{}();
  std::string name(prefix);
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info()) {
    name += "-";
    name += info->test_suite_name();
    name += "-";
    name += info->name();
  }
  for (char& c : name) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) c = '-';  // '.' and '_' collide with each other in Kafka's metric names
  }
  if (name.size() > 160) name.resize(160);
  char suffix[64];
  std::snprintf(suffix, sizeof(suffix), "-%d-%llu-%08x", static_cast<int>(getpid()),
                static_cast<unsigned long long>(counter.fetch_add(1)), random);
  return name + suffix;
}

Result<kafka::Admin*> KafkaBroker::admin() {
  std::lock_guard lock(mu_);
  if (!admin_) {
    kafka::AdminOptions options;
    options.bootstrap = bootstrap_;
    ASSIGN_OR_RETURN(admin_, kafka::Admin::Create(options));
  }
  return admin_.get();
}

Result<std::string> KafkaBroker::CreateTopic(int partitions, std::string_view prefix,
                                             const std::map<std::string, std::string>& configs) {
  ASSIGN_OR_RETURN(kafka::Admin * admin, admin());
  kafka::TopicSpec spec;
  spec.name = UniqueName(prefix);
  spec.partitions = partitions;
  spec.configs = configs;
  RETURN_IF_ERROR(admin->CreateTopic(spec, 60s));
  return spec.name;
}

bool RegisterKafkaBrokerEnvironment() {
  static const bool registered = [] {
    ::testing::AddGlobalTestEnvironment(new KafkaBrokerEnvironment);
    return true;
  }();
  return registered;
}

}  // namespace sluice::testing

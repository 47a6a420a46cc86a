// KafkaBroker: the one real Kafka broker a test binary talks to.
//
// Under ctest (see sluice_kafka_test in cmake/Sluice.cmake) a setup test starts one broker per test
// binary and passes its address in the file named by SLUICE_TEST_BROKER_FILE; every test process
// of that binary uses it, and a cleanup test stops it even when tests fail. Run directly, the
// binary starts its own broker with tools/kafka/broker on first use and stops it at exit — also
// when tests fail, and (through a watchdog process) when the test process crashes.
//
// Test binaries register the environment once, in any of their .cc files:
//   static const bool kBroker = sluice::testing::RegisterKafkaBrokerEnvironment();
// and get the broker in tests with
//   ASSERT_OK_AND_ASSIGN-style: auto broker = KafkaBroker::Shared(); ASSERT_TRUE(broker.ok());
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::kafka {
class Admin;
}

namespace sluice::testing {

// Thread-safety: all methods, static ones included, are safe from any thread.
class KafkaBroker {
 public:
  // The broker of this process: the one in SLUICE_TEST_BROKER_FILE when that is set (an error if
  // the file is missing, empty, or names a host other than loopback), else one started now (first
  // call) in a fresh temporary data directory. Later calls return the same broker or error.
  static Result<KafkaBroker*> Shared();
  // Stops and forgets the broker this process started; no-op for an external broker or none.
  static void StopShared();

  ~KafkaBroker();
  KafkaBroker(const KafkaBroker&) = delete;
  KafkaBroker& operator=(const KafkaBroker&) = delete;

  // "127.0.0.1:PORT".
  const std::string& bootstrap() const { return bootstrap_; }
  // True when this process started the broker (and will stop it).
  bool owned() const { return !data_dir_.empty(); }
  // The owned broker's data directory ("" for an external broker).
  const std::string& data_dir() const { return data_dir_; }

  // A topic (or group) name that no other test uses, in this process or any other:
  // "<prefix>-<Suite>-<Test>-<pid>-<counter>-<random>", reduced to Kafka's alphabet and 200
  // characters.
  static std::string UniqueName(std::string_view prefix = "t");

  // Creates a fresh, uniquely named topic (see UniqueName) and waits until it has leaders; returns
  // its name.
  Result<std::string> CreateTopic(int partitions = 1, std::string_view prefix = "t",
                                  const std::map<std::string, std::string>& configs = {});

  // An admin client for this broker, shared by the process.
  Result<kafka::Admin*> admin();

 private:
  KafkaBroker(std::string bootstrap, std::string data_dir, int watchdog_fd);
  void Stop();

  std::string bootstrap_;
  std::string data_dir_;
  int watchdog_fd_;  // write end of the watchdog's pipe; -1 when none
  std::mutex mu_;
  std::unique_ptr<kafka::Admin> admin_;  // guarded by mu_
};

// Registers a gtest Environment whose SetUp gets KafkaBroker::Shared() (a fatal failure when it
// cannot) and whose TearDown calls KafkaBroker::StopShared(). Returns true, for use in a static
// initializer. Idempotent.
bool RegisterKafkaBrokerEnvironment();

}  // namespace sluice::testing

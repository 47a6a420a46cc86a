// Shared by the config loader's test files: a temporary directory, load helpers and a valid
// relay-like file.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "sluice/config/config.h"

namespace sluice::config::testutil {

inline const std::string kSchema = std::string(SLUICE_CONFIG_TESTDATA) + "/relay.schema.json";

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sluice-config-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Config MustLoad(std::string_view yaml, const LoadOptions& options = {}) {
  auto c = Config::LoadString(yaml, options, "test.yaml");
  EXPECT_TRUE(c.ok()) << c.status();
  if (!c.ok()) std::abort();
  return std::move(c).value();
}

inline Status LoadError(std::string_view yaml, const LoadOptions& options = {}) {
  auto c = Config::LoadString(yaml, options, "test.yaml");
  return c.status();
}

inline const char kValid[] =
    "kafka:\n"
    "  bootstrap: 127.0.0.1:9092\n"
    "  group_id: sluice-relay\n"
    "  topics: [sf.contact.events, sf.order.events]\n"
    "  properties:\n"
    "    linger.ms: 5\n"
    "    enable.idempotence: true\n"
    "    compression.type: lz4\n"
    "rate:\n"
    "  requests_per_second: 25.5\n"
    "  max_in_flight: 8\n"
    "  window: 20s\n";

}  // namespace sluice::config::testutil

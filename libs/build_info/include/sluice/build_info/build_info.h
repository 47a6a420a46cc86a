// What a binary is: the sluice version it was built from and the versions of the libraries it runs
// with, and the --version flag every sluice command line has.
//
// Thread-safety: the functions read immutable data or the libraries' own constant strings; any
// thread may call them at any time.
#pragma once

#include <string>
#include <string_view>

namespace CLI {
class App;
}  // namespace CLI

namespace sluice::build_info {

// `git describe --always --dirty` of the source tree when this binary was built, e.g.
// "v0.2.0-3-g1a2b3c4-dirty" or "1a2b3c4"; ProjectVersion() when the tree was not a git checkout.
std::string_view SluiceVersion();

// The version in the top-level CMakeLists.txt's project(), e.g. "0.1.0".
std::string_view ProjectVersion();

// Versions of the shared libraries this process runs with, asked of the libraries themselves (not
// the headers it was built against). Thread-safety: a value type.
struct RuntimeVersions {
  std::string librdkafka;  // rd_kafka_version_str(), e.g. "2.0.2"
  std::string libcurl;     // curl_version_info()->version, e.g. "7.88.1"
  std::string openssl;     // OpenSSL_version(OPENSSL_VERSION_STRING), e.g. "3.0.17"
  std::string sqlite;      // sqlite3_libversion(), e.g. "3.40.1"
};
RuntimeVersions GetRuntimeVersions();

// What --version prints (no trailing newline):
//   sluice-relay 1a2b3c4-dirty (sluice 0.1.0)
//   librdkafka 2.0.2
//   libcurl 7.88.1
//   OpenSSL 3.0.17
//   SQLite 3.40.1
// The "(sluice X)" part only when SluiceVersion() differs from ProjectVersion().
std::string VersionText(std::string_view program);

// Adds --version to `app`: CLI11 throws CLI::CallForVersion carrying VersionText(program) during
// parsing (before required options are checked), and app.exit() prints it to stdout and returns 0.
void AddVersionFlag(CLI::App& app, std::string_view program);

}  // namespace sluice::build_info

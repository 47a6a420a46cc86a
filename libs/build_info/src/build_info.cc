#include "sluice/build_info/build_info.h"

#include <curl/curl.h>
#include <librdkafka/rdkafka.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

#include <CLI/CLI.hpp>

namespace sluice::build_info {
namespace internal {

// Defined in the source cmake/SluiceVersion.cmake writes (libs/build_info/CMakeLists.txt).
extern const char kSluiceVersion[];
extern const char kProjectVersion[];

}  // namespace internal

std::string_view SluiceVersion() { return internal::kSluiceVersion; }

std::string_view ProjectVersion() { return internal::kProjectVersion; }

RuntimeVersions GetRuntimeVersions() {
  RuntimeVersions v;
  v.librdkafka = rd_kafka_version_str();
  const curl_version_info_data* curl = curl_version_info(CURLVERSION_NOW);
  v.libcurl = curl != nullptr && curl->version != nullptr ? curl->version : "unknown";
  v.openssl = OpenSSL_version(OPENSSL_VERSION_STRING);
  v.sqlite = sqlite3_libversion();
  return v;
}

std::string VersionText(std::string_view program) {
  std::string text(program);
  text += ' ';
  text += SluiceVersion();
  if (SluiceVersion() != ProjectVersion()) {
    text += " (sluice ";
    text += ProjectVersion();
    text += ')';
  }
  const RuntimeVersions v = GetRuntimeVersions();
  text += "\nlibrdkafka " + v.librdkafka;
  text += "\nlibcurl " + v.libcurl;
  text += "\nOpenSSL " + v.openssl;
  text += "\nSQLite " + v.sqlite;
  return text;
}

void AddVersionFlag(CLI::App& app, std::string_view program) {
  app.set_version_flag("--version", VersionText(program),
                       "Print the sluice version and the versions of librdkafka, libcurl, OpenSSL "
                       "and SQLite this binary runs with, and exit");
}

}  // namespace sluice::build_info

// A file with given contents under the temporary directory, removed when the object goes.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace sluice::testing {

// Thread-safety: not thread-safe; create TempFiles from one thread (the name counter is plain).
class TempFile {
 public:
  // `suffix` ends the name (e.g. ".yaml"); the name also holds the process id and a counter.
  explicit TempFile(const std::string& contents, const std::string& suffix = ".yaml") {
    path_ = (std::filesystem::temp_directory_path() / ("sluice-test-" + std::to_string(getpid()) +
                                                       "-" + std::to_string(counter_++) + suffix))
                .string();
    std::ofstream(path_, std::ios::binary) << contents;
  }
  ~TempFile() { std::filesystem::remove(path_); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  std::string path_;
};

}  // namespace sluice::testing

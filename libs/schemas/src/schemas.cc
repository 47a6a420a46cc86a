#include "sluice/schemas/schemas.h"

#include <cstddef>
#include <string>

namespace sluice::schemas {
namespace internal {

// Defined by the source cmake/SluiceEmbedFiles.cmake generates (libs/schemas/CMakeLists.txt).
struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;

}  // namespace internal

Result<std::string_view> Get(std::string_view file_name) {
  for (std::size_t i = 0; i < internal::kEmbeddedFileCount; ++i) {
    const internal::EmbeddedFile& f = internal::kEmbeddedFiles[i];
    if (file_name == f.name) {
      return std::string_view(reinterpret_cast<const char*>(f.data), f.size);
    }
  }
  std::string known;
  for (std::string_view name : Names()) {
    if (!known.empty()) known += ", ";
    known += name;
  }
  return NotFoundError("no embedded schema \"" + std::string(file_name) +
                       "\" (there are: " + known + ")");
}

std::vector<std::string_view> Names() {
  std::vector<std::string_view> names;
  names.reserve(internal::kEmbeddedFileCount);
  for (std::size_t i = 0; i < internal::kEmbeddedFileCount; ++i) {
    names.emplace_back(internal::kEmbeddedFiles[i].name);
  }
  return names;
}

}  // namespace sluice::schemas

// schemas/gateway.openapi.yaml, compiled in (libs/gateway/CMakeLists.txt embeds it).
#include <cstddef>
#include <string_view>

#include "sluice/gateway/gateway.h"

namespace sluice::gateway {
namespace internal {
struct EmbeddedFile {
  const char* name;
  const unsigned char* data;
  std::size_t size;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;
}  // namespace internal

std::string_view OpenApiYaml() {
  const internal::EmbeddedFile& f = internal::kEmbeddedFiles[0];
  return std::string_view(reinterpret_cast<const char*>(f.data), f.size);
}
}  // namespace sluice::gateway

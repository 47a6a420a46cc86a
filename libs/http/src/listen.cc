#include "sluice/http/listen.h"

#include <charconv>

#include "sluice/config/config.h"

namespace sluice::http {

std::string ListenAddress::ToString() const { return host + ":" + std::to_string(port); }

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return InvalidArgumentError("expected host:port, got \"" + std::string(text) + "\"");
  }
  ListenAddress out;
  out.host = std::string(text.substr(0, colon));
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);  // "[::1]:8088"
  }
  const std::string_view port = text.substr(colon + 1);
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    return InvalidArgumentError("bad port in \"" + std::string(text) + "\"");
  }
  out.port = static_cast<uint16_t>(value);
  return out;
}

Result<ListenAddress> ReadListenAddress(const config::Config& c, std::string_view ptr,
                                        ListenAddress defaults) {
  if (!c.Has(ptr)) return defaults;
  ASSIGN_OR_RETURN(std::string text, c.GetString(ptr));
  auto address = ParseListenAddress(text);
  if (!address.ok()) return address.status().WithContext(c.name() + ": " + std::string(ptr));
  return address;
}

}  // namespace sluice::http

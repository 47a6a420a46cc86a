// The `listen: "host:port"` key of a program's "http:" config section, read once for every program
// that serves HTTP. The default address is the program's own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "sluice/core/status.h"

namespace sluice::config {
class Config;
}  // namespace sluice::config

namespace sluice::http {

// Thread-safety: a value type.
struct ListenAddress {
  // Address to bind, e.g. "127.0.0.1" or "::1".
  std::string host = "127.0.0.1";
  // 0 picks a free port.
  uint16_t port = 0;

  // "host:port".
  std::string ToString() const;
};

// "host:port" -> ListenAddress; "[::1]:8088" gives host "::1". InvalidArgument without a host
// before the last ':' or with a port that is not a number within 0..65535.
Result<ListenAddress> ParseListenAddress(std::string_view text);

// The "host:port" at `ptr` (e.g. "/http/listen"), or `defaults` when the file leaves it out.
// Errors name the file and the key.
Result<ListenAddress> ReadListenAddress(const config::Config& config, std::string_view ptr,
                                        ListenAddress defaults);

}  // namespace sluice::http

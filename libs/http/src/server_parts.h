// Private to libs/http: what server.cc (the sessions) and server_types.cc (the value types and
// the Responder) share.
#pragma once

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string_view>

#include "sluice/http/server.h"

namespace sluice::http::internal {

// ASCII case-insensitive equality (header names, tokens).
bool IEquals(std::string_view a, std::string_view b);

// Loads the certificate, the key and (unless client certificates are off) the client CA file into
// `ctx`, and sets how clients are verified (server_tls.cc). InvalidArgument naming the file.
Status ConfigureServerTls(boost::asio::ssl::context& ctx, const ServerOptions& options);

// The identity in the peer certificate of a finished handshake, or null when the client sent none
// (or it was not verified).
std::shared_ptr<const ClientCertificate> VerifiedClientCertificate(SSL* ssl);

// What a Responder talks to: the session that owns the connection.
// Thread-safety: Send/Reset/Abandon may be called from any thread; each posts to the session.
class ResponderTarget {
 public:
  virtual ~ResponderTarget() = default;
  virtual void Send(ServerResponse response) = 0;
  virtual void Reset() = 0;
  virtual void Abandon() = 0;
};

}  // namespace sluice::http::internal

// The server's TLS context (certificate, key, client certificates) and the identity of a verified
// client certificate, in OpenSSL terms (server_parts.h).

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl.hpp>
#include <cstdio>
#include <fstream>

#include "server_parts.h"

namespace sluice::http {
namespace {

// The oldest error on OpenSSL's queue, in words (and the queue emptied).
std::string OpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(code);
  return reason != nullptr ? reason : "OpenSSL error " + std::to_string(code);
}

Status FileError(const char* what, const std::string& path, const std::string& why) {
  return InvalidArgumentError(std::string(what) + " '" + path + "': " + why);
}

// The file exists and can be read: a clearer first error than OpenSSL's "system lib".
Status Readable(const char* what, const std::string& path) {
  std::ifstream f(path);
  if (!f) return FileError(what, path, "cannot be read");
  return Status::Ok();
}

// Every certificate in the PEM file `path`; an error when there is none, or when a PEM block in
// it is not a certificate that parses.
Status CountCaCertificates(const std::string& path, int* count) {
  *count = 0;
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return FileError("TLS client CA file", path, "cannot be read");
  ERR_clear_error();
  while (X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr)) {
    ++*count;
    X509_free(x);
  }
  const unsigned long err = ERR_peek_last_error();
  std::fclose(f);
  // Reading stops with "no start line" at the end of the file; anything else is a broken block.
  if (err != 0 && ERR_GET_REASON(err) != PEM_R_NO_START_LINE) {
    return FileError("TLS client CA file", path,
                     "holds a PEM block that is not a valid certificate (" + OpenSslError() + ")");
  }
  ERR_clear_error();
  if (*count == 0) {
    return FileError("TLS client CA file", path, "holds no PEM certificate");
  }
  return Status::Ok();
}

std::string Asn1Text(const ASN1_STRING* s) {
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, s);
  if (n < 0) return "";
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  // An embedded NUL would let "a\0b" pass for "a" in C string compares elsewhere: refuse it.
  if (out.find('\0') != std::string::npos) return "";
  return out;
}

}  // namespace

namespace internal {

Status ConfigureServerTls(boost::asio::ssl::context& ctx, const ServerOptions& options) {
  SSL_CTX* c = ctx.native_handle();
  ERR_clear_error();
  RETURN_IF_ERROR(Readable("TLS certificate file", options.tls_cert_file));
  if (SSL_CTX_use_certificate_chain_file(c, options.tls_cert_file.c_str()) != 1) {
    return FileError("TLS certificate file", options.tls_cert_file, OpenSslError());
  }
  RETURN_IF_ERROR(Readable("TLS key file", options.tls_key_file));
  if (SSL_CTX_use_PrivateKey_file(c, options.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return FileError("TLS key file", options.tls_key_file, OpenSslError());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return FileError("TLS key file", options.tls_key_file,
                     "does not match the certificate (" + OpenSslError() + ")");
  }
  if (options.tls_client_certs == ClientCertMode::kOff) return Status::Ok();
  if (options.tls_client_ca_file.empty()) {
    return InvalidArgumentError("client certificates need a client CA file");
  }
  int count = 0;
  RETURN_IF_ERROR(CountCaCertificates(options.tls_client_ca_file, &count));
  if (SSL_CTX_load_verify_locations(c, options.tls_client_ca_file.c_str(), nullptr) != 1) {
    return FileError("TLS client CA file", options.tls_client_ca_file, OpenSslError());
  }
  // The CAs named to the client in the handshake, so that it can pick the right certificate.
  if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(options.tls_client_ca_file.c_str())) {
    SSL_CTX_set_client_CA_list(c, names);
  }
  ERR_clear_error();
  int mode = SSL_VERIFY_PEER;
  if (options.tls_client_certs == ClientCertMode::kRequired) {
    mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  }
  SSL_CTX_set_verify(c, mode, nullptr);
  // Resumed sessions carry the verified certificate; OpenSSL refuses resumption without an id
  // context once peers are verified.
  static constexpr unsigned char kContext[] = "sluice-http-server";
  SSL_CTX_set_session_id_context(c, kContext, sizeof(kContext) - 1);
  return Status::Ok();
}

std::shared_ptr<const ClientCertificate> VerifiedClientCertificate(SSL* ssl) {
  X509* x = SSL_get1_peer_certificate(ssl);
  if (x == nullptr) return nullptr;
  if (SSL_get_verify_result(ssl) != X509_V_OK) {
    X509_free(x);
    return nullptr;
  }
  auto cert = std::make_shared<ClientCertificate>();
  const X509_NAME* subject = X509_get_subject_name(x);
  if (BIO* bio = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(bio, subject, 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) cert->subject.assign(data, static_cast<size_t>(n));
    BIO_free(bio);
  }
  for (int i = -1;;) {
    i = X509_NAME_get_index_by_NID(subject, NID_commonName, i);
    if (i < 0) break;
    cert->common_name = Asn1Text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i)));
  }
  if (auto* names = static_cast<GENERAL_NAMES*>(
          X509_get_ext_d2i(x, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
      if (g->type == GEN_DNS) {
        std::string s = Asn1Text(g->d.dNSName);
        if (!s.empty()) cert->dns_names.push_back(std::move(s));
      } else if (g->type == GEN_URI) {
        std::string s = Asn1Text(g->d.uniformResourceIdentifier);
        if (!s.empty()) cert->uris.push_back(std::move(s));
      }
    }
    GENERAL_NAMES_free(names);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(x, EVP_sha256(), digest, &len) == 1) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (unsigned int i = 0; i < len; ++i) {
      cert->sha256_fingerprint.push_back(kHex[digest[i] >> 4]);
      cert->sha256_fingerprint.push_back(kHex[digest[i] & 15]);
    }
  }
  X509_free(x);
  return cert;
}

}  // namespace internal

Status CheckServerTls(const ServerOptions& options) {
  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return InvalidArgumentError("TLS needs both a certificate and a key file");
  }
  if (options.tls_cert_file.empty()) {
    if (options.tls_client_certs != ClientCertMode::kOff) {
      return InvalidArgumentError("client certificates need TLS (a certificate and a key file)");
    }
    return Status::Ok();
  }
  try {
    boost::asio::ssl::context ctx(boost::asio::ssl::context::tls_server);
    return internal::ConfigureServerTls(ctx, options);
  } catch (const std::exception& e) {
    return InvalidArgumentError(std::string("TLS: ") + e.what());
  }
}

}  // namespace sluice::http

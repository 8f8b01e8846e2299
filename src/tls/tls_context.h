// TLS settings for Moat's servers and clients: loading and checking the
// certificate, key and CA files, and the OpenSSL contexts built from them.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace moat::tls {

struct SslContextFree {
  void operator()(SSL_CTX* context) const { SSL_CTX_free(context); }
};
using SslContextPtr = std::unique_ptr<SSL_CTX, SslContextFree>;

struct TlsServerOptions {
  std::string cert_file;  // PEM: the server certificate, then any intermediate CA certificates
  std::string key_file;   // PEM: the unencrypted private key of the server certificate
  // PEM: the CA certificates that client certificates must chain to. Empty:
  // the server asks for no client certificate.
  std::string client_ca_file;
  // Reject clients without a certificate. Needs client_ca_file.
  bool require_client_cert = false;
};

// The PEM texts of TlsServerOptions' files, read and checked: the key
// matches the certificate and every file parses. gRPC takes these texts.
struct TlsServerFiles {
  std::string certificate_chain_pem;
  std::string private_key_pem;
  std::string client_ca_pem;  // empty when no client certificates are asked for
  bool require_client_cert = false;
};

// Reads and checks the files of `options`. INVALID_ARGUMENT naming the path
// and OpenSSL's reason for a missing or unreadable file, invalid PEM, an
// encrypted key, a key that does not match the certificate, or
// require_client_cert without client_ca_file.
StatusOr<TlsServerFiles> LoadTlsServerFiles(const TlsServerOptions& options);

// Builds a server context: TLS 1.2 or newer, the server's cipher order, no
// compression, no renegotiation. With a client CA it asks for a client
// certificate and accepts only one that chains to that CA and is within its
// validity dates; with require_client_cert a client without one fails the
// handshake.
StatusOr<SslContextPtr> NewServerContext(const TlsServerFiles& files);

struct TlsClientOptions {
  std::string ca_file;    // PEM: the CA certificates that the server's certificate must chain to
  std::string cert_file;  // PEM: the client certificate for mutual TLS; empty: none
  std::string key_file;   // PEM: its unencrypted private key; set exactly when cert_file is

  bool empty() const;  // no file set: the client does not use TLS
};

struct TlsClientFiles {
  std::string ca_pem;
  std::string certificate_chain_pem;  // empty without a client certificate
  std::string private_key_pem;
};

// Reads and checks the files of `options`, with errors as for
// LoadTlsServerFiles. INVALID_ARGUMENT when ca_file is empty or only one of
// cert_file and key_file is set.
StatusOr<TlsClientFiles> LoadTlsClientFiles(const TlsClientOptions& options);

// Builds a client context: TLS 1.2 or newer, and the server's certificate
// must chain to files.ca_pem. Each connection must also name the host that
// the certificate must match (ExpectServerName).
StatusOr<SslContextPtr> NewClientContext(const TlsClientFiles& files);

// Makes `ssl` accept only a server certificate for `host`: an IP SAN equal
// to it when `host` is an IP literal, else a DNS name (also sent as SNI).
Status ExpectServerName(SSL* ssl, const std::string& host);

}  // namespace moat::tls

#include "tls/tls_context.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <vector>

#include "common/crypto.h"
#include "common/file.h"
#include "tls/openssl_handles.h"

namespace moat::tls {
namespace {

// PEM files of certificates and keys are a few KiB; this bound only stops a
// wrong path (a model file, a device) from being read whole.
constexpr size_t kMaxPemFileBytes = 1u << 20;

// TLS 1.2 suites with forward secrecy and an AEAD cipher. TLS 1.3 suites are
// OpenSSL's defaults, which all have both.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Client certificates may chain through this many intermediate CAs.
constexpr int kMaxVerifyDepth = 4;

// Ties resumed TLS sessions to this server's client verification settings;
// OpenSSL refuses to resume a verified session without one.
constexpr unsigned char kSessionIdContext[] = "moat";

StatusOr<std::string> ReadPemFile(const std::string& path, std::string_view file_kind) {
  StatusOr<std::string> text = ReadFile(path, kMaxPemFileBytes);
  if (!text.ok()) {
    return InvalidArgumentError("cannot read the TLS " + std::string(file_kind) + " file '" + path +
                                "': " + text.status().message());
  }
  return text;
}

// Parses every certificate of `pem`. `path` and `file_kind` name the file in errors.
StatusOr<std::vector<X509Ptr>> ParseCertificates(const std::string& pem, const std::string& path,
                                                 std::string_view file_kind) {
  auto bio = MemoryBio(pem);
  if (bio == nullptr) return InternalError("allocating a BIO failed: " + OpenSslErrors());
  std::vector<X509Ptr> certificates;
  while (X509* certificate = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certificates.emplace_back(certificate);
  }
  // The loop ends with "no start line" after the last certificate; any other
  // error means a damaged one.
  unsigned long error = ERR_peek_last_error();
  if (ERR_GET_LIB(error) == ERR_LIB_PEM && ERR_GET_REASON(error) == PEM_R_NO_START_LINE &&
      !certificates.empty()) {
    ERR_clear_error();
  } else if (error != 0 || certificates.empty()) {
    return InvalidArgumentError("the TLS " + std::string(file_kind) + " file '" + path +
                                "' is not a valid PEM certificate list: " + OpenSslErrors());
  }
  return certificates;
}

// Fails instead of prompting on the terminal for a passphrase.
int NoPassphrase(char*, int, int, void*) { return -1; }

StatusOr<PkeyPtr> ParsePrivateKey(const std::string& pem, const std::string& path) {
  auto bio = MemoryBio(pem);
  if (bio == nullptr) return InternalError("allocating a BIO failed: " + OpenSslErrors());
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr));
  if (key == nullptr) {
    std::string reason = OpenSslErrors();
    if (pem.find("ENCRYPTED") != std::string::npos) {
      return InvalidArgumentError(
          "the TLS private key file '" + path +
          "' is encrypted; give an unencrypted key (openssl pkey -in KEY -out PLAIN)");
    }
    return InvalidArgumentError("the TLS private key file '" + path +
                                "' is not a valid PEM private key: " + reason);
  }
  return key;
}

// Reads a certificate chain and its key, and checks that they match.
Status LoadCertificateAndKey(const std::string& cert_file, const std::string& key_file,
                             std::string& chain_pem, std::string& key_pem) {
  MOAT_ASSIGN_OR_RETURN(chain_pem, ReadPemFile(cert_file, "certificate"));
  MOAT_ASSIGN_OR_RETURN(key_pem, ReadPemFile(key_file, "private key"));
  MOAT_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain, ParseCertificates(chain_pem, cert_file, "certificate"));
  MOAT_ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(key_pem, key_file));
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the TLS private key '" + key_file + "' does not match the certificate '" +
                                cert_file + "'");
  }
  return OkStatus();
}

Status InstallCertificateAndKey(SSL_CTX* context, const std::string& chain_pem, const std::string& key_pem) {
  MOAT_ASSIGN_OR_RETURN(std::vector<X509Ptr> chain,
                        ParseCertificates(chain_pem, "(in memory)", "certificate"));
  MOAT_ASSIGN_OR_RETURN(PkeyPtr key, ParsePrivateKey(key_pem, "(in memory)"));
  if (SSL_CTX_use_certificate(context, chain.front().get()) != 1) {
    return InvalidArgumentError("the TLS certificate is not usable: " + OpenSslErrors());
  }
  for (size_t i = 1; i < chain.size(); ++i) {
    if (SSL_CTX_add1_chain_cert(context, chain[i].get()) != 1) {
      return InvalidArgumentError("an intermediate TLS certificate is not usable: " + OpenSslErrors());
    }
  }
  if (SSL_CTX_use_PrivateKey(context, key.get()) != 1 || SSL_CTX_check_private_key(context) != 1) {
    return InvalidArgumentError("the TLS private key does not match the certificate: " + OpenSslErrors());
  }
  return OkStatus();
}

// Adds the CA certificates of `ca_pem` to the context's trust store, and for a
// server also to the CA names it sends with its certificate request.
Status InstallTrustAnchors(SSL_CTX* context, const std::string& ca_pem, bool announce_to_clients) {
  MOAT_ASSIGN_OR_RETURN(std::vector<X509Ptr> authorities, ParseCertificates(ca_pem, "(in memory)", "CA"));
  X509_STORE* store = SSL_CTX_get_cert_store(context);
  for (const X509Ptr& authority : authorities) {
    if (X509_STORE_add_cert(store, authority.get()) != 1) {
      return InvalidArgumentError("a CA certificate is not usable: " + OpenSslErrors());
    }
    if (announce_to_clients && SSL_CTX_add_client_CA(context, authority.get()) != 1) {
      return InvalidArgumentError("a CA certificate name is not usable: " + OpenSslErrors());
    }
  }
  return OkStatus();
}

StatusOr<SslContextPtr> NewContext(const SSL_METHOD* method) {
  SslContextPtr context(SSL_CTX_new(method));
  if (context == nullptr) return InternalError("creating a TLS context failed: " + OpenSslErrors());
  SSL_CTX_set_min_proto_version(context.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(context.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(context.get(), kTls12Ciphers) != 1) {
    return InternalError("setting the TLS 1.2 cipher list failed: " + OpenSslErrors());
  }
  return context;
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buffer[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buffer) == 1 || inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

}  // namespace

StatusOr<TlsServerFiles> LoadTlsServerFiles(const TlsServerOptions& options) {
  if (options.cert_file.empty() || options.key_file.empty()) {
    return InvalidArgumentError("TLS needs both a certificate file and a private key file");
  }
  if (options.require_client_cert && options.client_ca_file.empty()) {
    return InvalidArgumentError("requiring client certificates needs a client CA file to verify them");
  }
  TlsServerFiles files;
  files.require_client_cert = options.require_client_cert;
  MOAT_RETURN_IF_ERROR(LoadCertificateAndKey(options.cert_file, options.key_file, files.certificate_chain_pem,
                                             files.private_key_pem));
  if (!options.client_ca_file.empty()) {
    MOAT_ASSIGN_OR_RETURN(files.client_ca_pem, ReadPemFile(options.client_ca_file, "client CA"));
    MOAT_RETURN_IF_ERROR(
        ParseCertificates(files.client_ca_pem, options.client_ca_file, "client CA").status());
  }
  return files;
}

StatusOr<SslContextPtr> NewServerContext(const TlsServerFiles& files) {
  MOAT_ASSIGN_OR_RETURN(SslContextPtr context, NewContext(TLS_server_method()));
  SSL_CTX_set_options(context.get(), SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Without session tickets a TLS 1.3 server sends nothing after the
  // handshake, so a client that polls an idle kept-alive connection sees no
  // unexpected bytes. It also leaves no ticket key to manage.
  SSL_CTX_set_options(context.get(), SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(context.get(), 0);
  SSL_CTX_set_session_id_context(context.get(), kSessionIdContext, sizeof(kSessionIdContext) - 1);
  MOAT_RETURN_IF_ERROR(
      InstallCertificateAndKey(context.get(), files.certificate_chain_pem, files.private_key_pem));

  if (!files.client_ca_pem.empty()) {
    MOAT_RETURN_IF_ERROR(InstallTrustAnchors(context.get(), files.client_ca_pem, true));
    int mode = SSL_VERIFY_PEER | (files.require_client_cert ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(context.get(), mode, nullptr);
    SSL_CTX_set_verify_depth(context.get(), kMaxVerifyDepth);
  }
  return context;
}

bool TlsClientOptions::empty() const { return ca_file.empty() && cert_file.empty() && key_file.empty(); }

StatusOr<TlsClientFiles> LoadTlsClientFiles(const TlsClientOptions& options) {
  if (options.ca_file.empty()) {
    return InvalidArgumentError("TLS needs a CA certificate file to verify the server (--ca-cert)");
  }
  if (options.cert_file.empty() != options.key_file.empty()) {
    return InvalidArgumentError("a client certificate needs both its certificate file and its key file");
  }
  TlsClientFiles files;
  MOAT_ASSIGN_OR_RETURN(files.ca_pem, ReadPemFile(options.ca_file, "CA"));
  MOAT_RETURN_IF_ERROR(ParseCertificates(files.ca_pem, options.ca_file, "CA").status());
  if (!options.cert_file.empty()) {
    MOAT_RETURN_IF_ERROR(LoadCertificateAndKey(options.cert_file, options.key_file,
                                               files.certificate_chain_pem, files.private_key_pem));
  }
  return files;
}

StatusOr<SslContextPtr> NewClientContext(const TlsClientFiles& files) {
  MOAT_ASSIGN_OR_RETURN(SslContextPtr context, NewContext(TLS_client_method()));
  MOAT_RETURN_IF_ERROR(InstallTrustAnchors(context.get(), files.ca_pem, false));
  SSL_CTX_set_verify(context.get(), SSL_VERIFY_PEER, nullptr);
  if (!files.certificate_chain_pem.empty()) {
    MOAT_RETURN_IF_ERROR(
        InstallCertificateAndKey(context.get(), files.certificate_chain_pem, files.private_key_pem));
  }
  return context;
}

Status ExpectServerName(SSL* ssl, const std::string& host) {
  if (IsIpLiteral(host)) {
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) != 1) {
      return InvalidArgumentError("cannot expect IP address '" + host +
                                  "' in the server certificate: " + OpenSslErrors());
    }
    return OkStatus();
  }
  if (SSL_set1_host(ssl, host.c_str()) != 1 || SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) {
    return InvalidArgumentError("cannot expect host name '" + host +
                                "' in the server certificate: " + OpenSslErrors());
  }
  return OkStatus();
}

}  // namespace moat::tls

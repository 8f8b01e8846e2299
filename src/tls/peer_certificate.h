// The facts about a verified peer certificate that request handlers use to
// identify a client (subject, SANs, validity, fingerprint), and the mapping
// of one of those fields to a principal name.
#pragma once

#include <openssl/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace moat::tls {

struct PeerCertificate {
  std::string subject;      // RFC 2253 text, for example "CN=alice,O=Example"
  std::string common_name;  // the subject's CN when it has exactly one, else empty
  size_t common_name_count = 0;
  // Subject alternative names of each kind, in certificate order.
  std::vector<std::string> dns_names;
  std::vector<std::string> email_addresses;
  std::vector<std::string> uris;
  int64_t not_before = 0;          // unix seconds
  int64_t not_after = 0;           // unix seconds
  std::string sha256_fingerprint;  // lower-case hex of SHA-256 over the DER encoding
};

// Reads the fields of `certificate`, which the caller has verified. Errors
// (INVALID_ARGUMENT) for a null certificate, a name or SAN with a NUL byte
// or invalid UTF-8, a repeated SAN extension or an unreadable date.
StatusOr<PeerCertificate> PeerCertificateFromX509(X509* certificate);

// The same for the first certificate of a PEM text, as gRPC reports it.
StatusOr<PeerCertificate> PeerCertificateFromPem(std::string_view pem);

enum class CertificateIdentityField { kCommonName, kSanEmail, kSanDns, kSanUri };

// "cn", "san-email", "san-dns" and "san-uri", the names used in flags and
// configuration.
std::string_view CertificateIdentityFieldName(CertificateIdentityField field);
StatusOr<CertificateIdentityField> ParseCertificateIdentityField(std::string_view name);

// Returns the principal name that `certificate` maps to through `field`: the
// common name, or the single SAN of that kind. For a URI SAN the name is its
// last path segment, after any query or fragment is removed, so that
// "spiffe://example.org/clients/alice" maps to "alice". Errors
// (PERMISSION_DENIED, naming the field): the field is absent, appears more
// than once, or the name is not 1 to 64 bytes of [A-Za-z0-9._@-].
StatusOr<std::string> CertificateIdentity(const PeerCertificate& certificate, CertificateIdentityField field);

}  // namespace moat::tls

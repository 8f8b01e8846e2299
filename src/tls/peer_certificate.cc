#include "tls/peer_certificate.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <memory>

#include "common/crypto.h"
#include "common/utf8.h"
#include "tls/openssl_handles.h"

namespace moat::tls {
namespace {

constexpr size_t kMaxIdentityBytes = 64;

struct GeneralNamesFree {
  void operator()(GENERAL_NAMES* names) const { GENERAL_NAMES_free(names); }
};

// Returns the bytes of `text` as UTF-8, rejecting a NUL byte, which would let
// "alice\0.evil" compare equal to "alice" in C string code.
StatusOr<std::string> Utf8Text(const ASN1_STRING* text, std::string_view what) {
  unsigned char* utf8 = nullptr;
  int length = ASN1_STRING_to_UTF8(&utf8, text);
  if (length < 0) return InvalidArgumentError("certificate " + std::string(what) + " is not valid text");
  std::string value(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
  OPENSSL_free(utf8);
  if (value.find('\0') != std::string::npos) {
    return InvalidArgumentError("certificate " + std::string(what) + " contains a NUL byte");
  }
  if (!IsValidUtf8(value)) return InvalidArgumentError("certificate " + std::string(what) + " is not UTF-8");
  return value;
}

StatusOr<std::string> SubjectText(X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr) return InternalError("allocating a BIO failed: " + OpenSslErrors());
  // RFC 2253 escaping, but with UTF-8 kept as is rather than as \XX escapes.
  constexpr unsigned long kFlags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;
  if (X509_NAME_print_ex(bio.get(), name, 0, kFlags) < 0) {
    return InvalidArgumentError("certificate subject cannot be printed: " + OpenSslErrors());
  }
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(std::max(size, 0L)));
}

StatusOr<int64_t> UnixSeconds(const ASN1_TIME* time, std::string_view what) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
    return InvalidArgumentError("certificate " + std::string(what) + " date is invalid");
  }
  return static_cast<int64_t>(timegm(&parts));
}

Status ReadCommonName(X509_NAME* name, PeerCertificate& out) {
  int index = -1;
  while ((index = X509_NAME_get_index_by_NID(name, NID_commonName, index)) >= 0) {
    ++out.common_name_count;
    X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, index);
    MOAT_ASSIGN_OR_RETURN(std::string value, Utf8Text(X509_NAME_ENTRY_get_data(entry), "common name"));
    if (out.common_name_count == 1) out.common_name = std::move(value);
  }
  if (out.common_name_count > 1) out.common_name.clear();
  return OkStatus();
}

Status ReadSubjectAltNames(X509* certificate, PeerCertificate& out) {
  int critical = 0;
  std::unique_ptr<GENERAL_NAMES, GeneralNamesFree> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, &critical, nullptr)));
  // -2: more than one subjectAltName extension, which RFC 5280 forbids.
  if (critical == -2) return InvalidArgumentError("certificate has more than one subjectAltName extension");
  if (names == nullptr) return OkStatus();
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    switch (name->type) {
      case GEN_DNS: {
        MOAT_ASSIGN_OR_RETURN(std::string value, Utf8Text(name->d.dNSName, "DNS SAN"));
        out.dns_names.push_back(std::move(value));
        break;
      }
      case GEN_EMAIL: {
        MOAT_ASSIGN_OR_RETURN(std::string value, Utf8Text(name->d.rfc822Name, "email SAN"));
        out.email_addresses.push_back(std::move(value));
        break;
      }
      case GEN_URI: {
        MOAT_ASSIGN_OR_RETURN(std::string value, Utf8Text(name->d.uniformResourceIdentifier, "URI SAN"));
        out.uris.push_back(std::move(value));
        break;
      }
      default:
        break;  // IP addresses and other kinds identify no client here
    }
  }
  return OkStatus();
}

// The last path segment of `uri`, without a query or fragment.
std::string_view LastPathSegment(std::string_view uri) {
  uri = uri.substr(0, uri.find_first_of("?#"));
  size_t scheme_end = uri.find("://");
  if (scheme_end != std::string_view::npos) uri.remove_prefix(scheme_end + 3);
  size_t slash = uri.rfind('/');
  if (slash == std::string_view::npos) return {};  // an authority alone has no path
  return uri.substr(slash + 1);
}

bool IsIdentityCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == '@' || c == '-';
}

StatusOr<std::string> SingleValue(const std::vector<std::string>& values, CertificateIdentityField field) {
  const std::string name(CertificateIdentityFieldName(field));
  if (values.empty()) return PermissionDeniedError("client certificate has no " + name + " to identify it");
  if (values.size() > 1) {
    return PermissionDeniedError("client certificate has " + std::to_string(values.size()) + " " + name +
                                 " entries, so its identity is ambiguous");
  }
  return values.front();
}

}  // namespace

StatusOr<PeerCertificate> PeerCertificateFromX509(X509* certificate) {
  if (certificate == nullptr) return InvalidArgumentError("no certificate");
  PeerCertificate out;
  X509_NAME* subject = X509_get_subject_name(certificate);
  if (subject == nullptr) return InvalidArgumentError("certificate has no subject");
  MOAT_ASSIGN_OR_RETURN(out.subject, SubjectText(subject));
  MOAT_RETURN_IF_ERROR(ReadCommonName(subject, out));
  MOAT_RETURN_IF_ERROR(ReadSubjectAltNames(certificate, out));
  MOAT_ASSIGN_OR_RETURN(out.not_before, UnixSeconds(X509_get0_notBefore(certificate), "notBefore"));
  MOAT_ASSIGN_OR_RETURN(out.not_after, UnixSeconds(X509_get0_notAfter(certificate), "notAfter"));

  unsigned char* der = nullptr;
  int der_length = i2d_X509(certificate, &der);
  if (der_length <= 0) return InvalidArgumentError("certificate cannot be DER-encoded: " + OpenSslErrors());
  out.sha256_fingerprint = Sha256Hex(std::span<const uint8_t>(der, static_cast<size_t>(der_length)));
  OPENSSL_free(der);
  return out;
}

StatusOr<PeerCertificate> PeerCertificateFromPem(std::string_view pem) {
  BioPtr bio = MemoryBio(pem);
  if (bio == nullptr) {
    return InvalidArgumentError("PEM certificate of " + std::to_string(pem.size()) + " bytes cannot be read");
  }
  X509Ptr certificate(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (certificate == nullptr) return InvalidArgumentError("invalid PEM certificate: " + OpenSslErrors());
  return PeerCertificateFromX509(certificate.get());
}

std::string_view CertificateIdentityFieldName(CertificateIdentityField field) {
  switch (field) {
    case CertificateIdentityField::kCommonName:
      return "cn";
    case CertificateIdentityField::kSanEmail:
      return "san-email";
    case CertificateIdentityField::kSanDns:
      return "san-dns";
    case CertificateIdentityField::kSanUri:
      return "san-uri";
  }
  return "unknown";
}

StatusOr<CertificateIdentityField> ParseCertificateIdentityField(std::string_view name) {
  for (CertificateIdentityField field :
       {CertificateIdentityField::kCommonName, CertificateIdentityField::kSanEmail,
        CertificateIdentityField::kSanDns, CertificateIdentityField::kSanUri}) {
    if (name == CertificateIdentityFieldName(field)) return field;
  }
  return InvalidArgumentError("certificate identity field '" + std::string(name) +
                              "' is not one of cn, san-email, san-dns, san-uri");
}

StatusOr<std::string> CertificateIdentity(const PeerCertificate& certificate,
                                          CertificateIdentityField field) {
  std::string name;
  switch (field) {
    case CertificateIdentityField::kCommonName:
      if (certificate.common_name_count == 0) {
        return PermissionDeniedError("client certificate has no cn to identify it");
      }
      if (certificate.common_name_count > 1) {
        return PermissionDeniedError("client certificate has " +
                                     std::to_string(certificate.common_name_count) +
                                     " cn entries, so its identity is ambiguous");
      }
      name = certificate.common_name;
      break;
    case CertificateIdentityField::kSanEmail: {
      MOAT_ASSIGN_OR_RETURN(name, SingleValue(certificate.email_addresses, field));
      break;
    }
    case CertificateIdentityField::kSanDns: {
      MOAT_ASSIGN_OR_RETURN(name, SingleValue(certificate.dns_names, field));
      break;
    }
    case CertificateIdentityField::kSanUri: {
      MOAT_ASSIGN_OR_RETURN(std::string uri, SingleValue(certificate.uris, field));
      name = std::string(LastPathSegment(uri));
      break;
    }
  }
  const bool valid = !name.empty() && name.size() <= kMaxIdentityBytes &&
                     std::all_of(name.begin(), name.end(), IsIdentityCharacter);
  if (!valid) {
    return PermissionDeniedError("client certificate " + std::string(CertificateIdentityFieldName(field)) +
                                 " '" + ReplaceInvalidUtf8(name.substr(0, 100), "?") +
                                 "' is not a principal name of 1 to 64 characters from A-Z a-z 0-9 . _ @ -");
  }
  return name;
}

}  // namespace moat::tls

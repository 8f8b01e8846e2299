// Test helper: CAs, server and client certificates made with the OpenSSL API
// (P-256 keys, SHA-256 signatures) and written as PEM files into a temporary
// folder, for TLS tests that must not depend on the openssl command.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tls/openssl_handles.h"

namespace moat::testing {

using TestKey = tls::PkeyPtr;
using TestX509 = tls::X509Ptr;

// What to put in a certificate. Offsets are seconds from now.
struct CertificateSpec {
  std::string common_name;  // empty: the subject has no CN
  std::string organization = "Moat tests";
  std::vector<std::string> subject_alt_names;  // OpenSSL syntax: "IP:127.0.0.1", "email:a@b", "URI:..."
  long not_before_offset = -3600;
  long not_after_offset = 24 * 3600;
  bool is_ca = false;
  bool server = false;  // serverAuth, else clientAuth
};

inline TestKey NewTestKey() {
  TestKey key(EVP_EC_gen("P-256"));
  EXPECT_NE(key, nullptr) << "EVP_EC_gen failed";
  return key;
}

inline std::string KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// The key encrypted with AES-256-CBC under `passphrase`.
inline std::string EncryptedKeyPem(EVP_PKEY* key, const std::string& passphrase) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_PKCS8PrivateKey(bio.get(), key, EVP_aes_256_cbc(), passphrase.data(),
                                static_cast<int>(passphrase.size()), nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

inline std::string CertificatePem(X509* certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
  PEM_write_bio_X509(bio.get(), certificate);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

// Adds extension `nid` with OpenSSL's configuration syntax `value`.
inline void AddExtension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  ASSERT_NE(extension, nullptr) << "extension " << OBJ_nid2sn(nid) << " = " << value;
  X509_add_ext(certificate, extension, -1);
  X509_EXTENSION_free(extension);
}

// Makes a certificate for `key` from `spec`, signed by `issuer_key` and
// named as issued by `issuer` (self-signed when `issuer` is null).
inline TestX509 MakeCertificate(const CertificateSpec& spec, EVP_PKEY* key, X509* issuer,
                                EVP_PKEY* issuer_key) {
  TestX509 certificate(X509_new());
  X509_set_version(certificate.get(), 2);
  unsigned char serial_bytes[16];
  RAND_bytes(serial_bytes, sizeof(serial_bytes));
  serial_bytes[0] &= 0x7F;  // a positive serial number
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(certificate.get()), spec.not_before_offset);
  X509_gmtime_adj(X509_getm_notAfter(certificate.get()), spec.not_after_offset);

  X509_NAME* name = X509_get_subject_name(certificate.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(spec.organization.c_str()), -1, -1, 0);
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0);
  }
  X509_set_issuer_name(certificate.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(certificate.get(), key);

  X509* extension_issuer = issuer != nullptr ? issuer : certificate.get();
  if (spec.is_ca) {
    AddExtension(certificate.get(), extension_issuer, NID_basic_constraints, "critical,CA:TRUE");
    AddExtension(certificate.get(), extension_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExtension(certificate.get(), extension_issuer, NID_basic_constraints, "critical,CA:FALSE");
    AddExtension(certificate.get(), extension_issuer, NID_key_usage, "critical,digitalSignature");
    AddExtension(certificate.get(), extension_issuer, NID_ext_key_usage,
                 spec.server ? "serverAuth" : "clientAuth");
  }
  AddExtension(certificate.get(), extension_issuer, NID_subject_key_identifier, "hash");
  if (!spec.subject_alt_names.empty()) {
    std::string names;
    for (const std::string& entry : spec.subject_alt_names) names += (names.empty() ? "" : ",") + entry;
    AddExtension(certificate.get(), extension_issuer, NID_subject_alt_name, names);
  }
  EXPECT_GT(X509_sign(certificate.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()), 0);
  return certificate;
}

// A temporary folder of PEM files, removed with the object.
class CertificateFolder {
 public:
  CertificateFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "moat-tls-XXXXXX").string();
    EXPECT_NE(::mkdtemp(pattern.data()), nullptr);
    path_ = pattern;
  }
  ~CertificateFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  CertificateFolder(const CertificateFolder&) = delete;
  CertificateFolder& operator=(const CertificateFolder&) = delete;

  // Writes `contents` to file `name` in the folder and returns its path.
  std::string Write(const std::string& name, const std::string& contents) const {
    std::string path = (path_ / name).string();
    std::ofstream(path, std::ios::binary) << contents;
    return path;
  }

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// A CA and the PEM files of what it issues.
class TestCertificateAuthority {
 public:
  explicit TestCertificateAuthority(const std::string& name) : key_(NewTestKey()) {
    CertificateSpec spec;
    spec.common_name = name;
    spec.is_ca = true;
    certificate_ = MakeCertificate(spec, key_.get(), nullptr, nullptr);
  }

  std::string pem() const { return CertificatePem(certificate_.get()); }

  // Issues a certificate for a new key and writes NAME.crt and NAME.key into
  // `folder`. Returns the paths as {certificate, key}.
  std::pair<std::string, std::string> Issue(const CertificateSpec& spec, const CertificateFolder& folder,
                                            const std::string& name) const {
    TestKey key = NewTestKey();
    TestX509 certificate = MakeCertificate(spec, key.get(), certificate_.get(), key_.get());
    return {folder.Write(name + ".crt", CertificatePem(certificate.get())),
            folder.Write(name + ".key", KeyPem(key.get()))};
  }

  // Issues a certificate and returns it with its key, not written anywhere.
  std::pair<TestX509, TestKey> IssueInMemory(const CertificateSpec& spec) const {
    TestKey key = NewTestKey();
    TestX509 certificate = MakeCertificate(spec, key.get(), certificate_.get(), key_.get());
    return {std::move(certificate), std::move(key)};
  }

 private:
  TestKey key_;
  TestX509 certificate_;
};

// A server certificate for 127.0.0.1 and ::1, as the TLS tests serve.
inline CertificateSpec LoopbackServerSpec() {
  CertificateSpec spec;
  spec.common_name = "moat test server";
  spec.subject_alt_names = {"IP:127.0.0.1", "IP:::1"};
  spec.server = true;
  return spec;
}

// A client certificate whose CN and SANs all name `name`.
inline CertificateSpec ClientSpec(const std::string& name) {
  CertificateSpec spec;
  spec.common_name = name;
  spec.subject_alt_names = {"email:" + name + "@example.org", "DNS:" + name + ".clients.example.org",
                            "URI:spiffe://example.org/clients/" + name};
  return spec;
}

// The files of the TLS front-end tests: a CA, a server certificate for the
// loopback addresses, and client certificates that pass and fail.
struct TestPki {
  TestPki() {
    std::tie(server_cert, server_key) = authority.Issue(LoopbackServerSpec(), folder, "server");
    ca_file = folder.Write("ca.crt", authority.pem());
    other_ca_file = folder.Write("other-ca.crt", other_authority.pem());
    std::tie(alice_cert, alice_key) = authority.Issue(ClientSpec("alice"), folder, "alice");
    CertificateSpec expired = ClientSpec("old");
    expired.not_before_offset = -10 * 24 * 3600;
    expired.not_after_offset = -24 * 3600;
    std::tie(expired_cert, expired_key) = authority.Issue(expired, folder, "expired");
    std::tie(stranger_cert, stranger_key) = other_authority.Issue(ClientSpec("stranger"), folder, "stranger");
  }

  TestCertificateAuthority authority{"Moat test CA"};
  TestCertificateAuthority other_authority{"another CA"};
  CertificateFolder folder;
  std::string server_cert, server_key;
  std::string ca_file, other_ca_file;
  std::string alice_cert, alice_key;        // from `authority`, valid now
  std::string expired_cert, expired_key;    // from `authority`, expired a day ago
  std::string stranger_cert, stranger_key;  // from `other_authority`
};

}  // namespace moat::testing

// PeerCertificate facts read from certificates, and CertificateIdentity for
// each field and each way a certificate fails to map to a principal.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ctime>
#include <string>

#include "common/crypto.h"
#include "testing/test_certificates.h"
#include "tls/peer_certificate.h"

namespace moat::tls {
namespace {

using testing::CertificateSpec;
using testing::ClientSpec;
using ::testing::HasSubstr;
using testing::TestCertificateAuthority;

class PeerCertificateTest : public ::testing::Test {
 protected:
  // Issues a certificate from `spec` and reads it back through PEM.
  PeerCertificate Read(const CertificateSpec& spec) {
    auto [certificate, key] = authority_.IssueInMemory(spec);
    StatusOr<PeerCertificate> read = PeerCertificateFromPem(testing::CertificatePem(certificate.get()));
    EXPECT_TRUE(read.ok()) << read.status().ToString();
    return read.ok() ? *read : PeerCertificate{};
  }

  TestCertificateAuthority authority_{"identity test CA"};
};

TEST_F(PeerCertificateTest, ReadsSubjectSansAndDates) {
  CertificateSpec spec = ClientSpec("alice");
  auto [certificate, key] = authority_.IssueInMemory(spec);
  const int64_t now = static_cast<int64_t>(std::time(nullptr));

  StatusOr<PeerCertificate> read = PeerCertificateFromX509(certificate.get());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->subject, "CN=alice,O=Moat tests");
  EXPECT_EQ(read->common_name, "alice");
  EXPECT_EQ(read->common_name_count, 1u);
  EXPECT_EQ(read->email_addresses, std::vector<std::string>{"alice@example.org"});
  EXPECT_EQ(read->dns_names, std::vector<std::string>{"alice.clients.example.org"});
  EXPECT_EQ(read->uris, std::vector<std::string>{"spiffe://example.org/clients/alice"});
  // MakeCertificate sets the dates one hour back and one day ahead.
  EXPECT_NEAR(static_cast<double>(read->not_before), static_cast<double>(now - 3600), 120.0);
  EXPECT_NEAR(static_cast<double>(read->not_after), static_cast<double>(now + 24 * 3600), 120.0);

  unsigned char* der = nullptr;
  int der_length = i2d_X509(certificate.get(), &der);
  ASSERT_GT(der_length, 0);
  std::string expected = Sha256Hex(std::span<const uint8_t>(der, static_cast<size_t>(der_length)));
  OPENSSL_free(der);
  EXPECT_EQ(read->sha256_fingerprint, expected);
}

TEST_F(PeerCertificateTest, PemAndX509Agree) {
  auto [certificate, key] = authority_.IssueInMemory(ClientSpec("bob"));
  StatusOr<PeerCertificate> from_x509 = PeerCertificateFromX509(certificate.get());
  StatusOr<PeerCertificate> from_pem = PeerCertificateFromPem(testing::CertificatePem(certificate.get()));
  ASSERT_TRUE(from_x509.ok());
  ASSERT_TRUE(from_pem.ok());
  EXPECT_EQ(from_pem->subject, from_x509->subject);
  EXPECT_EQ(from_pem->sha256_fingerprint, from_x509->sha256_fingerprint);
  EXPECT_EQ(from_pem->uris, from_x509->uris);
}

TEST_F(PeerCertificateTest, InvalidPemIsAnError) {
  StatusOr<PeerCertificate> read = PeerCertificateFromPem("-----BEGIN CERTIFICATE-----\nnot base64\n");
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(read.status().message(), HasSubstr("invalid PEM certificate"));

  EXPECT_FALSE(PeerCertificateFromPem("").ok());
  EXPECT_FALSE(PeerCertificateFromX509(nullptr).ok());
}

TEST_F(PeerCertificateTest, NulByteInCommonNameIsAnError) {
  auto [certificate, key] = authority_.IssueInMemory(ClientSpec("carol"));
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const unsigned char with_nul[] = {'e', 'v', 'e', 0, 'x'};
  ASSERT_EQ(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, with_nul, sizeof(with_nul), -1, 0), 1);

  StatusOr<PeerCertificate> read = PeerCertificateFromX509(certificate.get());
  ASSERT_FALSE(read.ok());
  EXPECT_THAT(read.status().message(), HasSubstr("NUL byte"));
}

TEST_F(PeerCertificateTest, IdentityOfEachField) {
  PeerCertificate certificate = Read(ClientSpec("alice"));
  struct Case {
    CertificateIdentityField field;
    const char* expected;
  };
  const Case cases[] = {
      {CertificateIdentityField::kCommonName, "alice"},
      {CertificateIdentityField::kSanEmail, "alice@example.org"},
      {CertificateIdentityField::kSanDns, "alice.clients.example.org"},
      {CertificateIdentityField::kSanUri, "alice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(CertificateIdentityFieldName(c.field)));
    StatusOr<std::string> identity = CertificateIdentity(certificate, c.field);
    ASSERT_TRUE(identity.ok()) << identity.status().ToString();
    EXPECT_EQ(*identity, c.expected);
  }
}

TEST_F(PeerCertificateTest, IdentityFieldAbsent) {
  CertificateSpec spec;  // no CN, no SAN
  PeerCertificate certificate = Read(spec);
  for (CertificateIdentityField field :
       {CertificateIdentityField::kCommonName, CertificateIdentityField::kSanEmail,
        CertificateIdentityField::kSanDns, CertificateIdentityField::kSanUri}) {
    const std::string name(CertificateIdentityFieldName(field));
    SCOPED_TRACE(name);
    StatusOr<std::string> identity = CertificateIdentity(certificate, field);
    ASSERT_FALSE(identity.ok());
    EXPECT_EQ(identity.status().code(), StatusCode::kPermissionDenied);
    EXPECT_THAT(identity.status().message(), HasSubstr("has no " + name));
  }
}

TEST_F(PeerCertificateTest, IdentityAmbiguous) {
  CertificateSpec spec = ClientSpec("dave");
  spec.subject_alt_names.push_back("email:dave2@example.org");
  PeerCertificate certificate = Read(spec);
  StatusOr<std::string> identity = CertificateIdentity(certificate, CertificateIdentityField::kSanEmail);
  ASSERT_FALSE(identity.ok());
  EXPECT_THAT(identity.status().message(), HasSubstr("2 san-email entries"));
  // The other fields still map.
  EXPECT_TRUE(CertificateIdentity(certificate, CertificateIdentityField::kSanDns).ok());

  PeerCertificate two_names = certificate;
  two_names.common_name_count = 2;
  two_names.common_name.clear();
  identity = CertificateIdentity(two_names, CertificateIdentityField::kCommonName);
  ASSERT_FALSE(identity.ok());
  EXPECT_THAT(identity.status().message(), HasSubstr("2 cn entries"));
}

TEST_F(PeerCertificateTest, RepeatedCommonNameIsAmbiguous) {
  auto [certificate, key] = authority_.IssueInMemory(ClientSpec("erin"));
  X509_NAME* name = X509_get_subject_name(certificate.get());
  const unsigned char second[] = "mallory";
  ASSERT_EQ(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, second, -1, -1, 0), 1);
  StatusOr<PeerCertificate> read = PeerCertificateFromX509(certificate.get());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->common_name_count, 2u);
  EXPECT_EQ(read->common_name, "");
  EXPECT_FALSE(CertificateIdentity(*read, CertificateIdentityField::kCommonName).ok());
}

TEST_F(PeerCertificateTest, IdentityNameRules) {
  struct Case {
    const char* common_name;
    bool valid;
  };
  const std::string longest(64, 'a');
  const std::string too_long(65, 'a');
  const Case cases[] = {
      {"svc.account_1@site-a", true}, {longest.c_str(), true}, {too_long.c_str(), false},
      {"alice smith", false},         {"alice/admin", false},  {"al\xc3\xad" "ce", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.common_name);
    PeerCertificate certificate;
    certificate.common_name = c.common_name;
    certificate.common_name_count = 1;
    StatusOr<std::string> identity = CertificateIdentity(certificate, CertificateIdentityField::kCommonName);
    EXPECT_EQ(identity.ok(), c.valid) << identity.status().ToString();
    if (!c.valid) {
      EXPECT_THAT(identity.status().message(), HasSubstr("is not a principal name"));
    }
  }
}

TEST_F(PeerCertificateTest, UriIdentityIsLastPathSegment) {
  struct Case {
    const char* uri;
    const char* expected;  // empty: no identity
  };
  const Case cases[] = {
      {"spiffe://example.org/clients/alice", "alice"},
      {"https://example.org/users/bob?x=1#top", "bob"},
      {"urn:example/carol", "carol"},
      {"spiffe://example.org/clients/", ""},
      {"spiffe://example.org", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.uri);
    PeerCertificate certificate;
    certificate.uris = {c.uri};
    StatusOr<std::string> identity = CertificateIdentity(certificate, CertificateIdentityField::kSanUri);
    if (std::string(c.expected).empty()) {
      EXPECT_FALSE(identity.ok());
    } else {
      ASSERT_TRUE(identity.ok()) << identity.status().ToString();
      EXPECT_EQ(*identity, c.expected);
    }
  }
}

TEST(CertificateIdentityField, ParsesNames) {
  for (const char* name : {"cn", "san-email", "san-dns", "san-uri"}) {
    StatusOr<CertificateIdentityField> field = ParseCertificateIdentityField(name);
    ASSERT_TRUE(field.ok()) << name;
    EXPECT_EQ(CertificateIdentityFieldName(*field), name);
  }
  StatusOr<CertificateIdentityField> bad = ParseCertificateIdentityField("subject");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("'subject'"));
}

}  // namespace
}  // namespace moat::tls

// Loading and checking TLS files: the errors that a server or client returns
// when a file is missing, damaged, encrypted or does not belong with the others.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "grpc/grpc_server.h"
#include "server/fake_service.h"
#include "server/http_server.h"
#include "testing/test_certificates.h"
#include "tls/tls_context.h"

namespace moat::tls {
namespace {

using testing::CertificateFolder;
using ::testing::HasSubstr;
using testing::TestCertificateAuthority;

class TlsFilesTest : public ::testing::Test {
 protected:
  TlsFilesTest() {
    std::tie(server_cert_, server_key_) = authority_.Issue(testing::LoopbackServerSpec(), folder_, "server");
    std::tie(other_cert_, other_key_) = authority_.Issue(testing::LoopbackServerSpec(), folder_, "other");
    ca_file_ = folder_.Write("ca.crt", authority_.pem());
  }

  TlsServerOptions ServerOptions() const {
    TlsServerOptions options;
    options.cert_file = server_cert_;
    options.key_file = server_key_;
    return options;
  }

  TestCertificateAuthority authority_{"files test CA"};
  CertificateFolder folder_;
  std::string server_cert_, server_key_, other_cert_, other_key_, ca_file_;
};

TEST_F(TlsFilesTest, ServerFilesLoad) {
  TlsServerOptions options = ServerOptions();
  options.client_ca_file = ca_file_;
  options.require_client_cert = true;
  StatusOr<TlsServerFiles> files = LoadTlsServerFiles(options);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_THAT(files->certificate_chain_pem, HasSubstr("BEGIN CERTIFICATE"));
  EXPECT_THAT(files->private_key_pem, HasSubstr("PRIVATE KEY"));
  EXPECT_EQ(files->client_ca_pem, authority_.pem());
  EXPECT_TRUE(files->require_client_cert);
  EXPECT_TRUE(NewServerContext(*files).ok());
}

TEST_F(TlsFilesTest, MissingFileNamesPath) {
  TlsServerOptions options = ServerOptions();
  options.cert_file = (folder_.path() / "absent.crt").string();
  StatusOr<TlsServerFiles> files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(files.status().message(), HasSubstr("TLS certificate file '" + options.cert_file + "'"));

  options = ServerOptions();
  options.client_ca_file = (folder_.path() / "absent-ca.crt").string();
  files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("client CA file '" + options.client_ca_file + "'"));
}

TEST_F(TlsFilesTest, KeyNotMatchingCertificate) {
  TlsServerOptions options = ServerOptions();
  options.key_file = other_key_;
  StatusOr<TlsServerFiles> files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("private key '" + other_key_ +
                                                  "' does not match the certificate '" + server_cert_ + "'"));
}

TEST_F(TlsFilesTest, DamagedPemNamesPathAndReason) {
  TlsServerOptions options = ServerOptions();
  options.cert_file =
      folder_.Write("damaged.crt", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
  StatusOr<TlsServerFiles> files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(),
              HasSubstr("'" + options.cert_file + "' is not a valid PEM certificate"));

  options = ServerOptions();
  options.key_file = folder_.Write("text.key", "not a key\n");
  files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(),
              HasSubstr("'" + options.key_file + "' is not a valid PEM private key"));
}

TEST_F(TlsFilesTest, EncryptedKeyRejected) {
  testing::TestKey key = testing::NewTestKey();
  TlsServerOptions options = ServerOptions();
  options.key_file = folder_.Write("encrypted.key", testing::EncryptedKeyPem(key.get(), "secret"));
  StatusOr<TlsServerFiles> files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("is encrypted"));
}

TEST_F(TlsFilesTest, RequireClientCertNeedsCa) {
  TlsServerOptions options = ServerOptions();
  options.require_client_cert = true;
  StatusOr<TlsServerFiles> files = LoadTlsServerFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("needs a client CA file"));
}

TEST_F(TlsFilesTest, ClientFileRules) {
  TlsClientOptions options;
  StatusOr<TlsClientFiles> files = LoadTlsClientFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("--ca-cert"));

  options.ca_file = ca_file_;
  options.cert_file = server_cert_;
  files = LoadTlsClientFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("both its certificate file and its key file"));

  options.key_file = other_key_;
  files = LoadTlsClientFiles(options);
  ASSERT_FALSE(files.ok());
  EXPECT_THAT(files.status().message(), HasSubstr("does not match"));

  options.key_file = server_key_;
  files = LoadTlsClientFiles(options);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_TRUE(NewClientContext(*files).ok());
}

TEST_F(TlsFilesTest, HttpServerStartFailsOnMismatchedKey) {
  server::testing::FakeService service;
  server::HttpServerOptions options;
  options.port = 0;
  options.tls = ServerOptions();
  options.tls->key_file = other_key_;
  server::HttpServer server(service, options);
  Status started = server.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(started.message(), HasSubstr("does not match the certificate"));
}

TEST_F(TlsFilesTest, GrpcServerStartFailsOnMismatchedKey) {
  server::testing::FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  grpc_server::GrpcServerOptions options;
  options.port = 0;
  options.tls = ServerOptions();
  options.tls->key_file = other_key_;
  grpc_server::GrpcServer server(service, shared_memory, options);
  Status started = server.Start();
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(started.message(), HasSubstr("does not match the certificate"));
}

}  // namespace
}  // namespace moat::tls

// The gRPC front end over TLS, driven by GrpcClient: inference, client
// certificates checked in the handshake, and what a service reads of them
// through PeerCertificateOf and MetadataValue.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/grpc_client.h"
#include "grpc/grpc_server.h"
#include "grpc/peer_identity.h"
#include "inference.grpc.pb.h"
#include "server/fake_service.h"
#include "testing/start_grpc_server.h"
#include "testing/tensor_bytes.h"
#include "tls/echo_comparison.h"
#include "testing/test_certificates.h"

namespace moat {
namespace {

using testing::CertificateSpec;
using ::testing::HasSubstr;
using testing::EchoRequest;

// A service whose ServerLive records what the call carried.
class ObservingService final : public inference::GRPCInferenceService::Service {
 public:
  struct Call {
    std::optional<tls::PeerCertificate> certificate;
    std::string authorization;
    std::string one_time_code;
    std::string approval_id;
  };

  ::grpc::Status ServerLive(::grpc::ServerContext* context, const inference::ServerLiveRequest*,
                            inference::ServerLiveResponse* response) override {
    std::lock_guard lock(mutex_);
    calls_.push_back({grpc_server::PeerCertificateOf(*context),
                      grpc_server::MetadataValue(*context, grpc_server::kAuthorizationKey),
                      grpc_server::MetadataValue(*context, grpc_server::kOneTimeCodeKey),
                      grpc_server::MetadataValue(*context, grpc_server::kApprovalKey)});
    response->set_live(true);
    return ::grpc::Status::OK;
  }

  std::vector<Call> calls() {
    std::lock_guard lock(mutex_);
    return calls_;
  }

 private:
  std::mutex mutex_;
  std::vector<Call> calls_;
};

class GrpcTlsTest : public ::testing::Test {
 protected:
  tls::TlsServerOptions ServerTls(const std::string& client_ca, bool require) const {
    tls::TlsServerOptions options;
    options.cert_file = pki_.server_cert;
    options.key_file = pki_.server_key;
    options.client_ca_file = client_ca;
    options.require_client_cert = require;
    return options;
  }

  std::unique_ptr<grpc_server::GrpcServer> StartTls(const std::string& client_ca, bool require) {
    grpc_server::GrpcServerOptions options;
    options.tls = ServerTls(client_ca, require);
    return testing::StartGrpcServer(service_, shared_memory_, options);
  }

  // Starts ObservingService over TLS; returns its port, 0 on failure.
  int StartObserving(const std::string& client_ca, bool require) {
    StatusOr<tls::TlsServerFiles> files = tls::LoadTlsServerFiles(ServerTls(client_ca, require));
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    if (!files.ok()) return 0;
    ::grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc_server::TlsServerCredentials(*files), &port);
    builder.RegisterService(&observing_);
    observing_server_ = builder.BuildAndStart();
    EXPECT_NE(observing_server_, nullptr);
    return port;
  }

  StatusOr<client::GrpcClient> TlsClient(int port, const std::string& ca, const std::string& cert = "",
                                         const std::string& key = "", const std::string& token = "") {
    client::GrpcOptions options;
    options.timeout = std::chrono::seconds(10);
    options.own_connection = true;
    options.tls.ca_file = ca;
    options.tls.cert_file = cert;
    options.tls.key_file = key;
    options.bearer_token = token;
    return client::GrpcClient::Create("grpcs://127.0.0.1:" + std::to_string(port), options);
  }

  ~GrpcTlsTest() override {
    if (observing_server_ != nullptr) observing_server_->Shutdown();
  }

  testing::TestPki pki_;
  server::testing::FakeService service_;
  shm::SharedMemoryManager shared_memory_{false};
  ObservingService observing_;
  std::unique_ptr<::grpc::Server> observing_server_;
};

TEST_F(GrpcTlsTest, InferMatchesPlaintext) {
  std::unique_ptr<grpc_server::GrpcServer> tls_server = StartTls("", false);
  ASSERT_NE(tls_server, nullptr);
  std::unique_ptr<grpc_server::GrpcServer> plain_server = testing::StartGrpcServer(service_, shared_memory_);
  ASSERT_NE(plain_server, nullptr);

  StatusOr<client::GrpcClient> tls_client = TlsClient(tls_server->port(), pki_.ca_file);
  ASSERT_TRUE(tls_client.ok()) << tls_client.status().ToString();
  StatusOr<client::GrpcClient> plain_client =
      client::GrpcClient::Create("127.0.0.1:" + std::to_string(plain_server->port()));
  ASSERT_TRUE(plain_client.ok());

  testing::ExpectSameEchoResult(tls_client->Infer(EchoRequest()), plain_client->Infer(EchoRequest()));
}

TEST_F(GrpcTlsTest, PlaintextClientFailsAndServerKeepsServing) {
  std::unique_ptr<grpc_server::GrpcServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  client::GrpcOptions options;
  options.timeout = std::chrono::seconds(5);
  options.own_connection = true;
  StatusOr<client::GrpcClient> plain =
      client::GrpcClient::Create("127.0.0.1:" + std::to_string(server->port()), options);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->IsServerLive().ok());

  StatusOr<client::GrpcClient> tls_client = TlsClient(server->port(), pki_.ca_file);
  ASSERT_TRUE(tls_client.ok());
  StatusOr<bool> live = tls_client->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_TRUE(*live);
}

TEST_F(GrpcTlsTest, ClientRejectsServerFromAnotherCa) {
  std::unique_ptr<grpc_server::GrpcServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  StatusOr<client::GrpcClient> client = TlsClient(server->port(), pki_.other_ca_file);
  ASSERT_TRUE(client.ok());
  StatusOr<bool> live = client->IsServerLive();
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.status().code(), StatusCode::kUnavailable);
}

TEST_F(GrpcTlsTest, RequiredCertificate) {
  std::unique_ptr<grpc_server::GrpcServer> server = StartTls(pki_.ca_file, true);
  ASSERT_NE(server, nullptr);

  StatusOr<client::GrpcClient> anonymous = TlsClient(server->port(), pki_.ca_file);
  ASSERT_TRUE(anonymous.ok());
  EXPECT_FALSE(anonymous->IsServerLive().ok());

  StatusOr<client::GrpcClient> stranger =
      TlsClient(server->port(), pki_.ca_file, pki_.stranger_cert, pki_.stranger_key);
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(stranger->IsServerLive().ok());

  StatusOr<client::GrpcClient> expired =
      TlsClient(server->port(), pki_.ca_file, pki_.expired_cert, pki_.expired_key);
  ASSERT_TRUE(expired.ok());
  EXPECT_FALSE(expired->IsServerLive().ok());

  StatusOr<client::GrpcClient> alice =
      TlsClient(server->port(), pki_.ca_file, pki_.alice_cert, pki_.alice_key);
  ASSERT_TRUE(alice.ok());
  StatusOr<client::InferResult> result = alice->Infer(EchoRequest());
  ASSERT_TRUE(result.ok()) << result.status().ToString();
}

TEST_F(GrpcTlsTest, ServiceSeesCertificateAndToken) {
  int port = StartObserving(pki_.ca_file, true);
  ASSERT_NE(port, 0);
  StatusOr<client::GrpcClient> alice =
      TlsClient(port, pki_.ca_file, pki_.alice_cert, pki_.alice_key, "s3cret");
  ASSERT_TRUE(alice.ok());
  StatusOr<bool> live = alice->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();

  std::vector<ObservingService::Call> calls = observing_.calls();
  ASSERT_EQ(calls.size(), 1u);
  ASSERT_TRUE(calls[0].certificate.has_value());
  EXPECT_EQ(calls[0].certificate->subject, "CN=alice,O=Moat tests");
  EXPECT_EQ(calls[0].certificate->dns_names, std::vector<std::string>{"alice.clients.example.org"});
  StatusOr<std::string> identity =
      tls::CertificateIdentity(*calls[0].certificate, tls::CertificateIdentityField::kSanEmail);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(*identity, "alice@example.org");
  EXPECT_EQ(calls[0].authorization, "Bearer s3cret");
  EXPECT_EQ(calls[0].one_time_code, "");
  EXPECT_EQ(calls[0].approval_id, "");
}

TEST_F(GrpcTlsTest, OptionalCertificate) {
  int port = StartObserving(pki_.ca_file, false);
  ASSERT_NE(port, 0);
  StatusOr<client::GrpcClient> anonymous = TlsClient(port, pki_.ca_file);
  ASSERT_TRUE(anonymous.ok());
  ASSERT_TRUE(anonymous->IsServerLive().ok());
  StatusOr<client::GrpcClient> stranger =
      TlsClient(port, pki_.ca_file, pki_.stranger_cert, pki_.stranger_key);
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(stranger->IsServerLive().ok());
  StatusOr<client::GrpcClient> alice = TlsClient(port, pki_.ca_file, pki_.alice_cert, pki_.alice_key);
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice->IsServerLive().ok());

  std::vector<ObservingService::Call> calls = observing_.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_FALSE(calls[0].certificate.has_value());
  ASSERT_TRUE(calls[1].certificate.has_value());
  EXPECT_EQ(calls[1].certificate->common_name, "alice");
}

TEST_F(GrpcTlsTest, MetadataValues) {
  int port = StartObserving("", false);
  ASSERT_NE(port, 0);
  // GrpcClient sends only the token, so the other keys go through a raw stub.
  StatusOr<tls::TlsClientFiles> files = tls::LoadTlsClientFiles({pki_.ca_file, "", ""});
  ASSERT_TRUE(files.ok());
  ::grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = files->ca_pem;
  auto channel = ::grpc::CreateChannel("ipv4:127.0.0.1:" + std::to_string(port), ::grpc::SslCredentials(ssl));
  auto stub = inference::GRPCInferenceService::NewStub(channel);
  ::grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  context.AddMetadata("moat-otp", "123456");
  context.AddMetadata("moat-approval", "approval-7");
  inference::ServerLiveResponse response;
  ::grpc::Status status = stub->ServerLive(&context, inference::ServerLiveRequest(), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();

  std::vector<ObservingService::Call> calls = observing_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_FALSE(calls[0].certificate.has_value());
  EXPECT_EQ(calls[0].authorization, "");
  EXPECT_EQ(calls[0].one_time_code, "123456");
  EXPECT_EQ(calls[0].approval_id, "approval-7");
}

TEST_F(GrpcTlsTest, TlsFilesOnlyForGrpcsTargets) {
  client::GrpcOptions options;
  options.tls.ca_file = pki_.ca_file;
  StatusOr<client::GrpcClient> client = client::GrpcClient::Create("grpc://127.0.0.1:8001", options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("use a grpcs:// target"));

  client = client::GrpcClient::Create("grpcs://127.0.0.1:8001");
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("--ca-cert"));
}

}  // namespace
}  // namespace moat

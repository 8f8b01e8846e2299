// The HTTP front end over TLS, driven by KServeClient: inference, client
// certificates checked in the handshake and handed to the handler, and the
// existing connection limits.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "client/kserve_client.h"
#include "server/fake_service.h"
#include "server/http_handler.h"
#include "server/http_server.h"
#include "testing/start_http_server.h"
#include "testing/tensor_bytes.h"
#include "tls/echo_comparison.h"
#include "testing/test_certificates.h"

namespace moat {
namespace {

using testing::CertificateSpec;
using ::testing::HasSubstr;
using testing::EchoRequest;

// What the observer saw of one request.
struct SeenRequest {
  std::string target;
  std::optional<tls::PeerCertificate> client_certificate;
  std::string authorization;
};

class HttpTlsTest : public ::testing::Test {
 protected:
  // Starts a TLS server. With `client_ca` empty it requests no client certificate.
  std::unique_ptr<server::HttpServer> StartTls(const std::string& client_ca, bool require,
                                               server::HttpServerOptions options = {}) {
    tls::TlsServerOptions tls;
    tls.cert_file = pki_.server_cert;
    tls.key_file = pki_.server_key;
    tls.client_ca_file = client_ca;
    tls.require_client_cert = require;
    options.tls = tls;
    options.request_observer = [this](const server::HttpRequest& request) {
      std::lock_guard lock(mutex_);
      seen_.push_back({request.target, request.client_certificate, request.authorization});
    };
    return testing::StartHttpServer(service_, options);
  }

  // A client of `server` over https, trusting `ca` and presenting the
  // certificate `cert` when it is not empty.
  StatusOr<client::KServeClient> TlsClient(const server::HttpServer& server, const std::string& ca,
                                           const std::string& cert = "", const std::string& key = "",
                                           const std::string& host = "127.0.0.1") {
    client::HttpOptions options;
    options.timeout = std::chrono::seconds(10);
    options.tls.ca_file = ca;
    options.tls.cert_file = cert;
    options.tls.key_file = key;
    std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return client::KServeClient::Create("https://" + bracketed + ":" + std::to_string(server.port()),
                                        options);
  }

  std::vector<SeenRequest> Seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

  testing::TestPki pki_;
  server::testing::FakeService service_;
  std::mutex mutex_;
  std::vector<SeenRequest> seen_;
};

TEST_F(HttpTlsTest, InferMatchesPlaintext) {
  std::unique_ptr<server::HttpServer> tls_server = StartTls("", false);
  ASSERT_NE(tls_server, nullptr);
  std::unique_ptr<server::HttpServer> plain_server = testing::StartHttpServer(service_);
  ASSERT_NE(plain_server, nullptr);

  StatusOr<client::KServeClient> tls_client = TlsClient(*tls_server, pki_.ca_file);
  ASSERT_TRUE(tls_client.ok()) << tls_client.status().ToString();
  StatusOr<client::KServeClient> plain_client =
      client::KServeClient::Create("http://127.0.0.1:" + std::to_string(plain_server->port()));
  ASSERT_TRUE(plain_client.ok());

  testing::ExpectSameEchoResult(tls_client->Infer(EchoRequest()), plain_client->Infer(EchoRequest()));

  // Keep-alive works over TLS: a second request reuses the connection.
  ASSERT_TRUE(tls_client->Infer(EchoRequest()).ok());
  EXPECT_EQ(tls_client->connections_opened(), 1u);
}

TEST_F(HttpTlsTest, Ipv6LoopbackMatchesIpSan) {
  server::HttpServerOptions options;
  options.address = "::1";
  std::unique_ptr<server::HttpServer> server = StartTls("", false, options);
  if (server == nullptr) GTEST_SKIP() << "no IPv6 loopback here";
  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.ca_file, "", "", "::1");
  ASSERT_TRUE(client.ok());
  StatusOr<bool> live = client->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_TRUE(*live);
}

TEST_F(HttpTlsTest, PlaintextClientFailsAndServerKeepsServing) {
  std::unique_ptr<server::HttpServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  client::HttpOptions options;
  options.timeout = std::chrono::seconds(10);
  StatusOr<client::KServeClient> plain =
      client::KServeClient::Create("http://127.0.0.1:" + std::to_string(server->port()), options);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->IsServerLive().ok());

  StatusOr<client::KServeClient> tls_client = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(tls_client.ok());
  StatusOr<bool> live = tls_client->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_TRUE(*live);
}

TEST_F(HttpTlsTest, ClientRejectsServerFromAnotherCa) {
  std::unique_ptr<server::HttpServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.other_ca_file);
  ASSERT_TRUE(client.ok());
  StatusOr<bool> live = client->IsServerLive();
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(live.status().message(), HasSubstr("TLS handshake failed"));
  EXPECT_THAT(live.status().message(), HasSubstr("certificate verify failed"));
}

TEST_F(HttpTlsTest, ClientRejectsServerWithoutMatchingIpSan) {
  CertificateSpec wrong_ip = testing::LoopbackServerSpec();
  wrong_ip.subject_alt_names = {"IP:10.1.2.3", "DNS:localhost"};
  std::tie(pki_.server_cert, pki_.server_key) = pki_.authority.Issue(wrong_ip, pki_.folder, "wrong-ip");
  std::unique_ptr<server::HttpServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(client.ok());
  StatusOr<bool> live = client->IsServerLive();
  ASSERT_FALSE(live.ok());
  EXPECT_THAT(live.status().message(), HasSubstr("TLS handshake failed"));
}

TEST_F(HttpTlsTest, RequiredCertificateMissingFails) {
  std::unique_ptr<server::HttpServer> server = StartTls(pki_.ca_file, true);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(client->IsServerLive().ok());
  EXPECT_TRUE(Seen().empty());
}

TEST_F(HttpTlsTest, RequiredCertificateReachesHandler) {
  std::unique_ptr<server::HttpServer> server = StartTls(pki_.ca_file, true);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.ca_file, pki_.alice_cert, pki_.alice_key);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<client::InferResult> result = client->Infer(EchoRequest());
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  std::vector<SeenRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  ASSERT_TRUE(seen[0].client_certificate.has_value());
  EXPECT_EQ(seen[0].client_certificate->subject, "CN=alice,O=Moat tests");
  EXPECT_EQ(seen[0].client_certificate->email_addresses, std::vector<std::string>{"alice@example.org"});
  StatusOr<std::string> identity =
      tls::CertificateIdentity(*seen[0].client_certificate, tls::CertificateIdentityField::kSanUri);
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(*identity, "alice");
  EXPECT_EQ(seen[0].authorization, "");
}

TEST_F(HttpTlsTest, CertificateFromAnotherCaFails) {
  std::unique_ptr<server::HttpServer> server = StartTls(pki_.ca_file, true);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client =
      TlsClient(*server, pki_.ca_file, pki_.stranger_cert, pki_.stranger_key);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(client->IsServerLive().ok());
  EXPECT_TRUE(Seen().empty());
}

TEST_F(HttpTlsTest, ExpiredCertificateFails) {
  std::unique_ptr<server::HttpServer> server = StartTls(pki_.ca_file, true);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client =
      TlsClient(*server, pki_.ca_file, pki_.expired_cert, pki_.expired_key);
  ASSERT_TRUE(client.ok());
  EXPECT_FALSE(client->IsServerLive().ok());
  EXPECT_TRUE(Seen().empty());
}

TEST_F(HttpTlsTest, OptionalCertificate) {
  std::unique_ptr<server::HttpServer> server = StartTls(pki_.ca_file, false);
  ASSERT_NE(server, nullptr);

  StatusOr<client::KServeClient> anonymous = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(anonymous.ok());
  ASSERT_TRUE(anonymous->IsServerLive().ok());
  StatusOr<client::KServeClient> alice = TlsClient(*server, pki_.ca_file, pki_.alice_cert, pki_.alice_key);
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice->IsServerLive().ok());
  // A certificate that is sent must still verify.
  StatusOr<client::KServeClient> stranger =
      TlsClient(*server, pki_.ca_file, pki_.stranger_cert, pki_.stranger_key);
  ASSERT_TRUE(stranger.ok());
  EXPECT_FALSE(stranger->IsServerLive().ok());

  std::vector<SeenRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].client_certificate.has_value());
  ASSERT_TRUE(seen[1].client_certificate.has_value());
  EXPECT_EQ(seen[1].client_certificate->common_name, "alice");
}

TEST_F(HttpTlsTest, NoClientCaIgnoresClientCertificate) {
  std::unique_ptr<server::HttpServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.ca_file, pki_.alice_cert, pki_.alice_key);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->IsServerLive().ok());
  std::vector<SeenRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].client_certificate.has_value());
}

TEST_F(HttpTlsTest, BearerTokenReachesHandler) {
  std::unique_ptr<server::HttpServer> server = StartTls("", false);
  ASSERT_NE(server, nullptr);
  client::HttpOptions options;
  options.tls.ca_file = pki_.ca_file;
  options.bearer_token = "t0ken";
  StatusOr<client::KServeClient> client =
      client::KServeClient::Create("https://127.0.0.1:" + std::to_string(server->port()), options);
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client->IsServerLive().ok());
  ASSERT_TRUE(client->IsServerReady().ok());
  std::vector<SeenRequest> seen = Seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].authorization, "Bearer t0ken");
  EXPECT_EQ(seen[1].authorization, "Bearer t0ken");
}

TEST_F(HttpTlsTest, OverCapacityGets503OverTls) {
  server::HttpServerOptions options;
  options.max_connections = 1;
  std::unique_ptr<server::HttpServer> server = StartTls("", false, options);
  ASSERT_NE(server, nullptr);
  StatusOr<client::KServeClient> first = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->IsServerLive().ok());  // holds the only connection open

  StatusOr<client::KServeClient> second = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(second.ok());
  StatusOr<bool> live = second->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_FALSE(*live);  // the 503
  ASSERT_TRUE(first->IsServerLive().ok());
}

TEST_F(HttpTlsTest, SilentConnectionClosedByHandshakeTimeout) {
  server::HttpServerOptions options;
  options.request_timeout = std::chrono::milliseconds(200);
  std::unique_ptr<server::HttpServer> server = StartTls("", false, options);
  ASSERT_NE(server, nullptr);

  boost::asio::io_context io_context;
  boost::asio::ip::tcp::socket socket(io_context);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  // Bounds the read below if the server never closes.
  timeval bound{10, 0};
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof(bound));
  char byte = 0;
  boost::system::error_code error;
  boost::asio::read(socket, boost::asio::buffer(&byte, 1), error);
  EXPECT_EQ(error, boost::asio::error::eof) << error.message();

  StatusOr<client::KServeClient> client = TlsClient(*server, pki_.ca_file);
  ASSERT_TRUE(client.ok());
  EXPECT_TRUE(client->IsServerLive().ok());
}

TEST_F(HttpTlsTest, TlsFilesOnlyForHttpsUrls) {
  client::HttpOptions options;
  options.tls.ca_file = pki_.ca_file;
  StatusOr<client::KServeClient> client = client::KServeClient::Create("http://127.0.0.1:8000", options);
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("use an https:// URL"));

  client = client::KServeClient::Create("https://127.0.0.1:8443");
  ASSERT_FALSE(client.ok());
  EXPECT_THAT(client.status().message(), HasSubstr("--ca-cert"));
}

}  // namespace
}  // namespace moat

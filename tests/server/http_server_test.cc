#include "server/http_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "fake_service_server.h"
#include "test_http_client.h"

namespace moat::server {
namespace {

using testing::FakeService;
using ::testing::HasSubstr;
using testing::IsClosedByPeer;
using testing::kEchoRequest;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
namespace http = boost::beast::http;

using HttpServerTest = testing::FakeServiceServerTest;

TEST_F(HttpServerTest, HealthAndMetadata) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_FALSE(client.connect_error()) << client.connect_error().message();

  Response live = client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live"));
  EXPECT_EQ(live.result_int(), 200);
  EXPECT_EQ(live[http::field::content_type], "application/json");
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/ready")).result_int(), 200);
  Response metadata = client.RoundTrip(MakeRequest(http::verb::get, "/v2"));
  EXPECT_EQ(metadata.result_int(), 200);
  EXPECT_THAT(metadata.body(), HasSubstr("binary_tensor_data"));
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/echo")).result_int(), 200);
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/models/echo/versions/2/ready")).result_int(),
            400);
}

TEST_F(HttpServerTest, ErrorsHaveJsonBodies) {
  StartServer();
  TestClient client(server_->port());
  Response unknown = client.RoundTrip(MakeRequest(http::verb::get, "/v2/nothing"));
  EXPECT_EQ(unknown.result_int(), 404);
  EXPECT_EQ(unknown.body(), R"({"error":"no endpoint at path '/v2/nothing'"})");

  Response wrong_method = client.RoundTrip(MakeRequest(http::verb::delete_, "/v2/health/live"));
  EXPECT_EQ(wrong_method.result_int(), 405);
  EXPECT_EQ(wrong_method[http::field::allow], "GET");
  EXPECT_THAT(wrong_method.body(), HasSubstr("method DELETE is not allowed"));

  Response bad_json =
      client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/echo/infer", "{\"inputs\":"));
  EXPECT_EQ(bad_json.result_int(), 400);
  EXPECT_THAT(bad_json.body(), HasSubstr("malformed JSON in the infer request at offset 10"));
  EXPECT_EQ(service_.rejected().size(), 1u);
}

TEST_F(HttpServerTest, KeepAliveServesManyRequests) {
  StartServer();
  TestClient client(server_->port());
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE(i);
    Response response =
        client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/echo/infer", kEchoRequest));
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_TRUE(response.keep_alive());
    EXPECT_THAT(response.body(), HasSubstr(R"("data":[1.0,2.0])"));
    EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);
  }
  EXPECT_EQ(service_.inferred().size(), 5u);
}

TEST_F(HttpServerTest, PipelinedRequests) {
  StartServer();
  TestClient client(server_->port());
  std::string requests =
      "GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n"
      "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " +
      std::to_string(kEchoRequest.size()) + "\r\n\r\n" + kEchoRequest +
      "GET /v2/nothing HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_FALSE(client.WriteRaw(requests));
  Response first, second, third;
  ASSERT_FALSE(client.Read(first));
  ASSERT_FALSE(client.Read(second));
  ASSERT_FALSE(client.Read(third));
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(second.result_int(), 200);
  EXPECT_THAT(second.body(), HasSubstr("model_name"));
  EXPECT_EQ(third.result_int(), 404);
}

TEST_F(HttpServerTest, BinaryInferOverHttp) {
  StartServer();
  TestClient client(server_->port());
  std::string binary("\x05\x06\x07\x08", 4);
  std::string json =
      R"({"inputs":[{"name":"INPUT0","datatype":"INT8","shape":[4],"parameters":{"binary_data_size":4}}],)"
      R"("outputs":[{"name":"INPUT0","parameters":{"binary_data":true}}]})";
  auto request = MakeRequest(http::verb::post, "/v2/models/echo/infer", json + binary);
  request.set("Inference-Header-Content-Length", std::to_string(json.size()));
  Response response = client.RoundTrip(request);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  std::string header_length(response["Inference-Header-Content-Length"]);
  ASSERT_FALSE(header_length.empty());
  size_t json_size = std::stoul(header_length);
  EXPECT_EQ(response.body().substr(json_size), binary);
  EXPECT_THAT(response.body().substr(0, json_size), HasSubstr(R"("binary_data_size":4)"));
}

TEST_F(HttpServerTest, BodyOverLimitGets413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  TestClient client(server_->port());
  // The header announces the size, so the server replies before the body is sent.
  ASSERT_FALSE(
      client.WriteRaw("POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n"));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(),
              HasSubstr("request body of 1025 bytes is larger than the limit of 1024 bytes"));
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));

  auto rejected = service_.rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].model, "echo");
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kResourceExhausted);
}

TEST_F(HttpServerTest, BodyOverLimitWhileSending) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  TestClient client(server_->port());
  auto request = MakeRequest(http::verb::post, "/v2/models/echo/infer", std::string(4096, ' '));
  Response response = client.RoundTrip(request);
  EXPECT_EQ(response.result_int(), 413);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitGets413) {
  HttpServerOptions options;
  options.max_body_bytes = 1024;
  StartServer(options);
  TestClient client(server_->port());
  std::string chunk(600, ' ');
  std::string request =
      "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 2; ++i) request += "258\r\n" + chunk + "\r\n";
  request += "0\r\n\r\n";
  ASSERT_FALSE(client.WriteRaw(request));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(), HasSubstr("larger than the limit of 1024 bytes"));
}

TEST_F(HttpServerTest, ChunkedBodyWithinLimit) {
  StartServer();
  TestClient client(server_->port());
  std::string request =
      "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::string first = kEchoRequest.substr(0, 10);
  std::string rest = kEchoRequest.substr(10);
  request += "a\r\n" + first + "\r\n";
  char size[16];
  std::snprintf(size, sizeof(size), "%zx", rest.size());
  request += std::string(size) + "\r\n" + rest + "\r\n0\r\n\r\n";
  ASSERT_FALSE(client.WriteRaw(request));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 200) << response.body();
}

TEST_F(HttpServerTest, HeaderOverLimitGets431) {
  HttpServerOptions options;
  options.max_header_bytes = 1024;
  StartServer(options);
  TestClient client(server_->port());
  auto request = MakeRequest(http::verb::get, "/v2/health/live");
  request.set("X-Padding", std::string(2048, 'p'));
  Response response = client.RoundTrip(request);
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_THAT(response.body(), HasSubstr("request header is larger than the limit of 1024 bytes"));
}

TEST_F(HttpServerTest, MalformedHttpGets400) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_FALSE(client.WriteRaw("NOT HTTP AT ALL\r\n\r\n"));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_THAT(response.body(), HasSubstr("malformed HTTP request"));
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
}

TEST_F(HttpServerTest, UnsupportedContentEncodingGets415) {
  StartServer();
  TestClient client(server_->port());
  auto request = MakeRequest(http::verb::post, "/v2/models/echo/infer", kEchoRequest);
  request.set(http::field::content_encoding, "br");
  Response response = client.RoundTrip(request);
  EXPECT_EQ(response.result_int(), 415);
  EXPECT_THAT(response.body(), HasSubstr("Content-Encoding 'br' is not supported"));
  EXPECT_TRUE(response.keep_alive());

  // The body was read whole, so the connection serves the next request.
  Response next = client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/echo/infer", kEchoRequest));
  EXPECT_EQ(next.result_int(), 200) << next.body();
}

TEST_F(HttpServerTest, ExpectContinue) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_FALSE(
      client.WriteRaw("POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                      "Content-Length: " +
                      std::to_string(kEchoRequest.size()) + "\r\n\r\n"));
  Response interim;
  ASSERT_FALSE(client.Read(interim));
  EXPECT_EQ(interim.result_int(), 100);
  ASSERT_FALSE(client.WriteRaw(kEchoRequest));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 200) << response.body();
}

TEST_F(HttpServerTest, Http10ClosesAfterResponse) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_FALSE(client.WriteRaw("GET /v2/health/live HTTP/1.0\r\n\r\n"));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response.version(), 10);
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
}

TEST_F(HttpServerTest, ConnectionCloseIsHonoured) {
  StartServer();
  TestClient client(server_->port());
  auto request = MakeRequest(http::verb::get, "/v2/health/live");
  request.keep_alive(false);
  Response response = client.RoundTrip(request);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
}

TEST_F(HttpServerTest, IdleClientIsDisconnected) {
  HttpServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(250);
  StartServer(options);
  TestClient client(server_->port());
  EXPECT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);
  // Nothing more is sent: the server closes the connection after the idle timeout.
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
}

TEST_F(HttpServerTest, SlowHeaderIsDisconnected) {
  HttpServerOptions options;
  options.request_timeout = std::chrono::milliseconds(100);
  StartServer(options);
  TestClient client(server_->port());
  ASSERT_FALSE(client.WriteRaw("GET /v2/health/live HTTP/1.1\r\nHost"));
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
}

TEST_F(HttpServerTest, SlowBodyIsDisconnectedAndAudited) {
  HttpServerOptions options;
  options.request_timeout = std::chrono::milliseconds(100);
  StartServer(options);
  TestClient client(server_->port());
  ASSERT_FALSE(
      client.WriteRaw("POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"in"));
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
  auto rejected = service_.WaitForRejected(1);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(rejected[0].reason.message(), HasSubstr("request body not received within 100 ms"));
}

TEST_F(HttpServerTest, ConnectionsAboveMaximumGet503) {
  HttpServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  TestClient first(server_->port());
  // A full exchange makes sure the server has counted the first connection.
  ASSERT_EQ(first.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);

  // The second client's request is never read; the 503 comes regardless.
  TestClient second(server_->port());
  ASSERT_FALSE(second.connect_error());
  Response rejected = second.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live"));
  EXPECT_EQ(rejected.result_int(), 503);
  EXPECT_EQ(rejected[http::field::content_type], "application/json");
  EXPECT_EQ(rejected.body(),
            R"({"error":"the server has reached its limit of 1 open connections; retry later"})");
  EXPECT_FALSE(rejected.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(second.ReadUntilClosed()));

  // A client that sends nothing gets the same response.
  TestClient silent(server_->port());
  Response silent_response;
  ASSERT_FALSE(silent.Read(silent_response));
  EXPECT_EQ(silent_response.result_int(), 503);
  EXPECT_TRUE(IsClosedByPeer(silent.ReadUntilClosed()));

  EXPECT_EQ(first.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);
}

TEST_F(HttpServerTest, StopClosesConnections) {
  StartServer();
  TestClient client(server_->port());
  ASSERT_EQ(client.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);
  server_->Stop();
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));
  server_->Stop();
}

TEST_F(HttpServerTest, BusyPortNamesAddress) {
  StartServer();
  HttpServerOptions options;
  options.port = server_->port();
  HttpServer second(service_, options);
  Status status = second.Start();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("127.0.0.1:" + std::to_string(server_->port())));
}

TEST(HttpServer, RejectsBadOptions) {
  FakeService service;
  HttpServerOptions bad_address;
  bad_address.address = "localhost";
  Status status = HttpServer(service, bad_address).Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("HTTP listen address 'localhost' is not an IP address"));

  HttpServerOptions no_workers;
  no_workers.port = 0;
  no_workers.worker_threads = 0;
  status = HttpServer(service, no_workers).Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("worker_threads must be at least 1, got 0"));
}

TEST(HttpServer, StopWithoutStart) {
  FakeService service;
  HttpServer server(service, {});
  server.Stop();
  server.Stop();
}

TEST(HttpServer, ManyThreads) {
  FakeService service;
  HttpServerOptions options;
  options.port = 0;
  options.io_threads = 2;
  options.worker_threads = 3;
  HttpServer server(service, options);
  ASSERT_TRUE(server.Start().ok());
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(std::make_unique<TestClient>(server.port()));
  for (int round = 0; round < 3; ++round) {
    for (auto& client : clients) {
      Response response =
          client->RoundTrip(MakeRequest(http::verb::post, "/v2/models/echo/infer", kEchoRequest));
      EXPECT_EQ(response.result_int(), 200);
    }
  }
  EXPECT_EQ(service.inferred().size(), 12u);
  server.Stop();
}

}  // namespace
}  // namespace moat::server

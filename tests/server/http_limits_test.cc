// Request limits over real sockets: the chunk count of chunked bodies and the
// options that bound them.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>

#include "fake_service_server.h"
#include "server/http_server.h"
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

// Returns a chunked POST of `body` to the echo model in `chunks` chunks of
// nearly equal size.
std::string ChunkedRequest(const std::string& body, size_t chunks) {
  std::string request =
      "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  size_t start = 0;
  for (size_t i = 0; i < chunks; ++i) {
    size_t end = body.size() * (i + 1) / chunks;
    char size[32];
    std::snprintf(size, sizeof(size), "%zx", end - start);
    request += std::string(size) + "\r\n" + body.substr(start, end - start) + "\r\n";
    start = end;
  }
  return request + "0\r\n\r\n";
}

using HttpLimitsTest = testing::FakeServiceServerTest;

TEST_F(HttpLimitsTest, ChunkCountAtLimit) {
  HttpServerOptions options;
  options.max_body_chunks = 10;
  StartServer(options);
  TestClient client(server_->port());
  ASSERT_FALSE(client.WriteRaw(ChunkedRequest(kEchoRequest, 10)));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 200) << response.body();
  EXPECT_TRUE(response.keep_alive());
  // The count starts again for each request on the connection.
  ASSERT_FALSE(client.WriteRaw(ChunkedRequest(kEchoRequest, 10)));
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 200) << response.body();
}

TEST_F(HttpLimitsTest, ChunkCountOverLimitGets413) {
  HttpServerOptions options;
  options.max_body_chunks = 10;
  StartServer(options);
  TestClient client(server_->port());
  ASSERT_FALSE(client.WriteRaw(ChunkedRequest(kEchoRequest, 11)));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(), HasSubstr("chunked request body has more than the limit of 10 chunks"));
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(IsClosedByPeer(client.ReadUntilClosed()));

  auto rejected = service_.rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(service_.inferred().empty());
}

TEST_F(HttpLimitsTest, ManyTinyChunksStopEarly) {
  HttpServerOptions options;
  options.max_body_chunks = 100;
  StartServer(options);
  TestClient client(server_->port());
  std::string request =
      "POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5000; ++i) request += "1\r\n \r\n";
  ASSERT_FALSE(client.WriteRaw(request));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(), HasSubstr("more than the limit of 100 chunks"));
}

TEST_F(HttpLimitsTest, HeaderLimitKeepsSmallRequestsWorking) {
  HttpServerOptions options;
  options.max_header_bytes = 512;
  StartServer(options);
  TestClient small(server_->port());
  EXPECT_EQ(small.RoundTrip(MakeRequest(http::verb::get, "/v2/health/live")).result_int(), 200);

  TestClient large(server_->port());
  auto request = MakeRequest(http::verb::get, "/v2/health/live");
  request.set("X-Padding", std::string(600, 'p'));
  Response response = large.RoundTrip(request);
  EXPECT_EQ(response.result_int(), 431);
  EXPECT_THAT(response.body(), HasSubstr("request header is larger than the limit of 512 bytes"));
  EXPECT_TRUE(IsClosedByPeer(large.ReadUntilClosed()));
}

TEST(HttpLimits, RejectsZeroChunkLimit) {
  FakeService service;
  HttpServerOptions options;
  options.port = 0;
  options.max_body_chunks = 0;
  Status status = HttpServer(service, options).Start();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("max_body_chunks must be at least 1"));
}

}  // namespace
}  // namespace moat::server

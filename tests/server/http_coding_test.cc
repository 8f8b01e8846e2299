// Content codings over real sockets: compressed request bodies, their limits,
// and compressed responses chosen by Accept-Encoding.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "fake_service_server.h"
#include "server/http_server.h"
#include "test_http_client.h"
#include "zlib_test_util.h"

namespace moat::server {
namespace {

using ::testing::HasSubstr;
using testing::MakeRequest;
using testing::Response;
using testing::TestClient;
using testing::ZlibCompress;
using testing::ZlibDecompress;
using testing::ZlibFormat;
namespace http = boost::beast::http;

const std::string kEchoRequest =
    R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[3],"data":[1,2,3]}]})";

// An echo request whose reply is several KiB of JSON.
std::string LargeEchoRequest() {
  std::string data;
  for (int i = 0; i < 2000; ++i) data += (i ? "," : "") + std::to_string(i);
  return R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[2000],"data":[)" + data + "]}]}";
}

class HttpCodingTest : public testing::FakeServiceServerTest {
 protected:
  void SetUp() override {
    HttpServerOptions options;
    options.max_body_bytes = 64 << 10;
    StartServer(options);
  }

  // Sends `body` with the given Content-Encoding to the echo model.
  static Response PostEncoded(TestClient& client, const std::string& body, const std::string& encoding) {
    auto request = MakeRequest(http::verb::post, "/v2/models/echo/infer", body);
    request.set(http::field::content_encoding, encoding);
    return client.RoundTrip(request);
  }

  // Checks that the connection still serves a plain infer request.
  static void ExpectConnectionStillServes(TestClient& client) {
    Response response =
        client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/echo/infer", kEchoRequest));
    EXPECT_EQ(response.result_int(), 200) << response.body();
    EXPECT_THAT(response.body(), HasSubstr(R"("data":[1,2,3])"));
  }
};

TEST_F(HttpCodingTest, GzipAndDeflateRequests) {
  TestClient client(server_->port());
  const std::pair<std::string, ZlibFormat> cases[] = {
      {"gzip", ZlibFormat::kGzip},
      {"deflate", ZlibFormat::kZlib},
      {"deflate", ZlibFormat::kRawDeflate},
      {"GZIP", ZlibFormat::kGzip},
  };
  for (const auto& [encoding, format] : cases) {
    SCOPED_TRACE(encoding + " " + std::to_string(static_cast<int>(format)));
    Response response = PostEncoded(client, ZlibCompress(kEchoRequest, format), encoding);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_THAT(response.body(), HasSubstr(R"("data":[1,2,3])"));
    EXPECT_TRUE(response.keep_alive());
  }
  Response identity = PostEncoded(client, kEchoRequest, "identity");
  EXPECT_EQ(identity.result_int(), 200) << identity.body();
  EXPECT_EQ(service_.inferred().size(), 5u);
}

TEST_F(HttpCodingTest, CompressedBinaryRequest) {
  TestClient client(server_->port());
  std::string binary("\x01\x02\x03\x04", 4);
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"INT8","shape":[4],)"
                     R"("parameters":{"binary_data_size":4}}],"parameters":{"binary_data_output":true}})";
  // The header length counts bytes of the body before compression, as
  // tritonclient sends it.
  auto request =
      MakeRequest(http::verb::post, "/v2/models/echo/infer", ZlibCompress(json + binary, ZlibFormat::kGzip));
  request.set(http::field::content_encoding, "gzip");
  request.set("Inference-Header-Content-Length", std::to_string(json.size()));
  Response response = client.RoundTrip(request);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  size_t header_length = std::stoul(std::string(response["Inference-Header-Content-Length"]));
  EXPECT_EQ(response.body().substr(header_length), binary);
}

TEST_F(HttpCodingTest, BombGets413AndConnectionStaysOpen) {
  TestClient client(server_->port());
  // About 1 KiB on the wire that inflates to 1 MiB, above the 64 KiB limit.
  std::string bomb = testing::CompressedZeros(1 << 20, ZlibFormat::kGzip);
  ASSERT_LT(bomb.size(), 4096u);
  Response response = PostEncoded(client, bomb, "gzip");
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_THAT(response.body(),
              HasSubstr("request body decompressed from gzip is larger than the limit of 65536 bytes"));
  EXPECT_TRUE(response.keep_alive());
  ExpectConnectionStillServes(client);

  auto rejected = service_.rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kResourceExhausted);
}

TEST_F(HttpCodingTest, BadBodiesGetErrorsAndConnectionStaysOpen) {
  TestClient client(server_->port());
  struct Case {
    std::string label;
    std::string body;
    std::string encoding;
    unsigned status;
    std::string fragment;
  };
  std::string gzip = ZlibCompress(kEchoRequest, ZlibFormat::kGzip);
  const Case cases[] = {
      {"unsupported coding", kEchoRequest, "br", 415, "Content-Encoding 'br' is not supported"},
      {"list of codings", ZlibCompress(gzip, ZlibFormat::kGzip), "gzip, gzip", 415,
       "Content-Encoding 'gzip, gzip' is not supported"},
      {"not gzip", kEchoRequest, "gzip", 400, "is not valid gzip data"},
      {"truncated gzip", gzip.substr(0, gzip.size() - 10), "gzip", 400, "is truncated"},
      {"gzip of bad JSON", ZlibCompress("{\"inputs\":", ZlibFormat::kGzip), "gzip", 400,
       "malformed JSON in the infer request at offset 10"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.label);
    Response response = PostEncoded(client, test.body, test.encoding);
    EXPECT_EQ(response.result_int(), test.status) << response.body();
    EXPECT_THAT(response.body(), HasSubstr(test.fragment));
    ExpectConnectionStillServes(client);
  }
}

TEST_F(HttpCodingTest, RepeatedContentEncodingIsAList) {
  TestClient client(server_->port());
  std::string gzip = ZlibCompress(kEchoRequest, ZlibFormat::kGzip);
  ASSERT_FALSE(
      client.WriteRaw("POST /v2/models/echo/infer HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
                      "Content-Encoding: gzip\r\nContent-Length: " +
                      std::to_string(gzip.size()) + "\r\n\r\n" + gzip));
  Response response;
  ASSERT_FALSE(client.Read(response));
  EXPECT_EQ(response.result_int(), 415);
  EXPECT_THAT(response.body(), HasSubstr("'gzip, gzip' is not supported"));
}

TEST_F(HttpCodingTest, ResponsesFollowAcceptEncoding) {
  TestClient client(server_->port());
  std::string request_body = LargeEchoRequest();
  Response plain = client.RoundTrip(MakeRequest(http::verb::post, "/v2/models/echo/infer", request_body));
  ASSERT_EQ(plain.result_int(), 200) << plain.body();
  EXPECT_TRUE(plain[http::field::content_encoding].empty());
  EXPECT_EQ(plain[http::field::vary], "Accept-Encoding");
  ASSERT_GT(plain.body().size(), 4096u);

  struct Case {
    std::string accept;
    std::string coding;  // empty: sent uncompressed
    ZlibFormat format;
  };
  const Case cases[] = {
      {"gzip", "gzip", ZlibFormat::kGzip},
      {"deflate", "deflate", ZlibFormat::kZlib},
      {"gzip;q=0.4, deflate;q=0.9", "deflate", ZlibFormat::kZlib},
      {"br, *;q=0.5", "gzip", ZlibFormat::kGzip},
      {"identity;q=0, gzip;q=0.1", "gzip", ZlibFormat::kGzip},
      {"gzip;q=0, deflate;q=0", "", ZlibFormat::kGzip},
      {"br", "", ZlibFormat::kGzip},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.accept);
    auto request = MakeRequest(http::verb::post, "/v2/models/echo/infer", request_body);
    request.set(http::field::accept_encoding, test.accept);
    Response response = client.RoundTrip(request);
    ASSERT_EQ(response.result_int(), 200) << response.body();
    EXPECT_EQ(response[http::field::content_encoding], test.coding);
    EXPECT_EQ(response[http::field::vary], "Accept-Encoding");
    if (test.coding.empty()) {
      EXPECT_EQ(response.body(), plain.body());
    } else {
      EXPECT_LT(response.body().size(), plain.body().size());
      EXPECT_EQ(ZlibDecompress(response.body(), test.format), plain.body());
    }
  }
}

TEST_F(HttpCodingTest, CompressedBinaryResponse) {
  TestClient client(server_->port());
  std::string binary(8192, '\x05');
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"UINT8","shape":[8192],)"
                     R"("parameters":{"binary_data_size":8192}}],"parameters":{"binary_data_output":true}})";
  auto request = MakeRequest(http::verb::post, "/v2/models/echo/infer", json + binary);
  request.set("Inference-Header-Content-Length", std::to_string(json.size()));
  request.set(http::field::accept_encoding, "gzip");
  Response response = client.RoundTrip(request);
  ASSERT_EQ(response.result_int(), 200) << response.body();
  EXPECT_EQ(response[http::field::content_encoding], "gzip");
  EXPECT_EQ(response[http::field::content_type], "application/octet-stream");

  std::string body = ZlibDecompress(response.body(), ZlibFormat::kGzip);
  size_t header_length = std::stoul(std::string(response["Inference-Header-Content-Length"]));
  ASSERT_EQ(body.size(), header_length + binary.size());
  EXPECT_THAT(body.substr(0, header_length), HasSubstr(R"("binary_data_size":8192)"));
  EXPECT_EQ(body.substr(header_length), binary);
}

TEST_F(HttpCodingTest, SmallResponsesStayUncompressed) {
  TestClient client(server_->port());
  auto request = MakeRequest(http::verb::get, "/v2/health/ready");
  request.set(http::field::accept_encoding, "gzip");
  Response response = client.RoundTrip(request);
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_TRUE(response[http::field::content_encoding].empty());
  EXPECT_EQ(response.body(), R"({"ready":true})");
}

}  // namespace
}  // namespace moat::server

// HttpHandler's repository, configuration, statistics and shared memory
// endpoints and its content codings, against the fake service.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "fake_service.h"
#include "server/http_handler.h"
#include "zlib_test_util.h"

namespace moat::server {
namespace {

using testing::FakeService;
using ::testing::HasSubstr;
using testing::ZlibCompress;
using testing::ZlibDecompress;
using testing::ZlibFormat;

HttpRequest Request(std::string method, std::string target, std::string body = "") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::make_shared<const std::string>(std::move(body));
  request.peer = "127.0.0.1:1";
  return request;
}

rapidjson::Document Parse(const std::string& body) {
  rapidjson::Document document;
  document.Parse(body.data(), body.size());
  return document;
}

std::string ErrorOf(const HttpReply& reply) {
  rapidjson::Document document = Parse(reply.body);
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("error"))
    return "<no error field>";
  return document["error"].GetString();
}

// An infer request whose JSON reply is longer than `min_bytes`.
std::string LargeEchoRequest(size_t min_bytes) {
  std::string data;
  size_t count = 0;
  while (data.size() < min_bytes) {
    data += (count ? "," : "") + std::to_string(count % 1000);
    ++count;
  }
  return R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[)" + std::to_string(count) +
         R"(],"data":[)" + data + "]}]}";
}

class HandlerExtensionsTest : public ::testing::Test {
 protected:
  FakeService service_;
  shm::SharedMemoryManager disabled_{false};
  HttpHandler handler_{service_, disabled_};
};

TEST_F(HandlerExtensionsTest, RepositoryIndex) {
  HttpReply all = handler_.Handle(Request("POST", "/v2/repository/index"));
  ASSERT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(all.body,
            R"([{"name":"echo","version":"1","state":"READY","reason":""},)"
            R"({"name":"echo","version":"2","state":"UNAVAILABLE","reason":"not ready in the fake"}])");

  HttpReply ready = handler_.Handle(Request("POST", "/v2/repository/index", R"({"ready":true})"));
  ASSERT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.body, R"([{"name":"echo","version":"1","state":"READY","reason":""}])");

  HttpReply bad = handler_.Handle(Request("POST", "/v2/repository/index", R"({"ready":"yes"})"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_THAT(ErrorOf(bad), HasSubstr("'ready' must be true or false"));
  EXPECT_EQ(handler_.Handle(Request("GET", "/v2/repository/index")).status, 405);
}

TEST_F(HandlerExtensionsTest, LoadAndUnload) {
  for (std::string action : {"load", "unload"}) {
    SCOPED_TRACE(action);
    std::string target = "/v2/repository/models/echo/" + action;
    HttpReply ok = handler_.Handle(Request("POST", target));
    EXPECT_EQ(ok.status, 200) << ok.body;
    EXPECT_EQ(ok.body, "{}");
    EXPECT_EQ(ok.model, "echo");
    EXPECT_EQ(
        handler_.Handle(Request("POST", target, R"({"parameters":{"unload_dependents":false}})")).status,
        200);

    HttpReply config = handler_.Handle(Request("POST", target, R"({"parameters":{"config":"{}"}})"));
    EXPECT_EQ(config.status, 501);
    EXPECT_THAT(ErrorOf(config), HasSubstr("parameter 'config' is not supported"));

    HttpReply unknown = handler_.Handle(Request("POST", "/v2/repository/models/nope/" + action));
    EXPECT_EQ(unknown.status, 404);
    EXPECT_THAT(ErrorOf(unknown), HasSubstr("model 'nope' not found"));
  }

  service_.model_control_error =
      FailedPreconditionError("model control is disabled; start the server with --allow-model-control");
  HttpReply disabled = handler_.Handle(Request("POST", "/v2/repository/models/echo/load"));
  EXPECT_EQ(disabled.status, 400);
  EXPECT_THAT(ErrorOf(disabled), HasSubstr("--allow-model-control"));
}

TEST_F(HandlerExtensionsTest, ModelConfig) {
  HttpReply reply = handler_.Handle(Request("GET", "/v2/models/echo/config"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body, R"({"name":"echo","platform":"fake","backend":"fake","max_batch_size":0,)"
                        R"("input":[{"name":"INPUT0","data_type":"TYPE_FP32","dims":[-1]}],)"
                        R"("output":[{"name":"INPUT0","data_type":"TYPE_FP32","dims":[-1]}]})");
  EXPECT_EQ(handler_.Handle(Request("GET", "/v2/models/echo/versions/1/config")).status, 200);
  EXPECT_EQ(handler_.Handle(Request("GET", "/v2/models/echo/versions/7/config")).status, 404);
  EXPECT_EQ(handler_.Handle(Request("GET", "/v2/models/nope/config")).status, 404);
  EXPECT_EQ(handler_.Handle(Request("GET", "/v2/models/echo/versions/x/config")).status, 400);
}

TEST_F(HandlerExtensionsTest, ModelStatistics) {
  const std::string expected =
      R"({"model_stats":[{"name":"echo","version":"1","last_inference":0,"inference_count":0,)"
      R"("execution_count":0,"inference_stats":{"success":{"count":0,"ns":0},"fail":{"count":0,"ns":0},)"
      R"("queue":{"count":0,"ns":0},"compute_input":{"count":0,"ns":0},"compute_infer":{"count":0,"ns":0},)"
      R"("compute_output":{"count":0,"ns":0}},"batch_stats":[]}]})";
  for (std::string target :
       {"/v2/models/stats", "/v2/models/echo/stats", "/v2/models/echo/versions/1/stats"}) {
    SCOPED_TRACE(target);
    HttpReply reply = handler_.Handle(Request("GET", target));
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.body, expected);
  }
  EXPECT_EQ(handler_.Handle(Request("GET", "/v2/models/nope/stats")).status, 404);
  EXPECT_EQ(handler_.Handle(Request("POST", "/v2/models/stats")).status, 405);
}

TEST_F(HandlerExtensionsTest, SharedMemoryDisabled) {
  const HttpRequest requests[] = {
      Request("GET", "/v2/systemsharedmemory/status"),
      Request("GET", "/v2/systemsharedmemory/region/r/status"),
      Request("POST", "/v2/systemsharedmemory/region/r/register", "not even JSON"),
      Request("POST", "/v2/systemsharedmemory/region/r/unregister"),
      Request("POST", "/v2/systemsharedmemory/unregister"),
      Request("POST", "/v2/models/echo/infer",
              R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1],)"
              R"("parameters":{"shared_memory_region":"r","shared_memory_byte_size":4}}]})"),
  };
  for (const HttpRequest& request : requests) {
    SCOPED_TRACE(request.target);
    HttpReply reply = handler_.Handle(request);
    EXPECT_EQ(reply.status, 400);
    EXPECT_THAT(ErrorOf(reply), HasSubstr("shared memory is disabled on this server; start the server with "
                                          "--allow-shared-memory to use it"));
  }
}

TEST_F(HandlerExtensionsTest, DecodesCompressedBodies) {
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[2],"data":[5,6]}]})";
  const std::pair<std::string, std::string> cases[] = {
      {"gzip", ZlibCompress(json, ZlibFormat::kGzip)},
      {"deflate", ZlibCompress(json, ZlibFormat::kZlib)},
      {"deflate", ZlibCompress(json, ZlibFormat::kRawDeflate)},
      {"identity", json},
  };
  for (const auto& [coding, body] : cases) {
    SCOPED_TRACE(coding);
    HttpRequest request = Request("POST", "/v2/models/echo/infer", body);
    request.content_encoding = coding;
    HttpReply reply = handler_.Handle(request);
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_THAT(reply.body, HasSubstr(R"("data":[5,6])"));
  }
}

TEST_F(HandlerExtensionsTest, RejectsBadCodingsAndAuditsInfer) {
  HttpRequest unsupported = Request("POST", "/v2/models/echo/infer", "{}");
  unsupported.content_encoding = "br";
  HttpReply reply = handler_.Handle(unsupported);
  EXPECT_EQ(reply.status, 415);
  EXPECT_THAT(ErrorOf(reply), HasSubstr("Content-Encoding 'br' is not supported"));

  HttpRequest corrupt = Request("POST", "/v2/models/echo/infer", "not gzip at all");
  corrupt.content_encoding = "gzip";
  reply = handler_.Handle(corrupt);
  EXPECT_EQ(reply.status, 400);
  EXPECT_THAT(ErrorOf(reply), HasSubstr("is not valid gzip data"));

  shm::SharedMemoryManager disabled(false);
  HttpHandlerOptions options;
  options.max_body_bytes = 4096;
  HttpHandler small(service_, disabled, options);
  HttpRequest bomb = Request("POST", "/v2/models/echo/versions/1/infer",
                             testing::CompressedZeros(1 << 20, ZlibFormat::kGzip));
  bomb.content_encoding = "gzip";
  reply = small.Handle(bomb);
  EXPECT_EQ(reply.status, 413);
  EXPECT_THAT(ErrorOf(reply), HasSubstr("larger than the limit of 4096 bytes"));

  auto rejected = service_.rejected();
  ASSERT_EQ(rejected.size(), 3u);
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(rejected[1].reason.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rejected[2].reason.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(rejected[2].model, "echo");
  EXPECT_EQ(rejected[2].version, "1");
  EXPECT_TRUE(service_.inferred().empty());

  // A compressed body on another endpoint is checked the same way, unaudited.
  HttpRequest index = Request("POST", "/v2/repository/index", "{}");
  index.content_encoding = "compress";
  EXPECT_EQ(handler_.Handle(index).status, 415);
  EXPECT_EQ(service_.rejected().size(), 3u);
}

TEST_F(HandlerExtensionsTest, CompressesLargeReplies) {
  std::string json = LargeEchoRequest(4096);
  HttpRequest plain = Request("POST", "/v2/models/echo/infer", json);
  HttpReply uncompressed = handler_.Handle(plain);
  ASSERT_EQ(uncompressed.status, 200) << uncompressed.body;
  EXPECT_TRUE(uncompressed.content_encoding.empty());

  const std::pair<std::string, ZlibFormat> cases[] = {{"gzip", ZlibFormat::kGzip},
                                                      {"deflate", ZlibFormat::kZlib}};
  for (const auto& [coding, format] : cases) {
    SCOPED_TRACE(coding);
    HttpRequest request = plain;
    request.accept_encoding = coding;
    HttpReply reply = handler_.Handle(request);
    ASSERT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_encoding, coding);
    EXPECT_LT(reply.body.size(), uncompressed.body.size());
    EXPECT_EQ(ZlibDecompress(reply.body, format), uncompressed.body);
  }

  HttpRequest small = Request("GET", "/v2/health/live");
  small.accept_encoding = "gzip";
  HttpReply small_reply = handler_.Handle(small);
  EXPECT_TRUE(small_reply.content_encoding.empty());
  EXPECT_EQ(small_reply.body, R"({"live":true})");
}

TEST_F(HandlerExtensionsTest, CompressedBinaryReplyKeepsHeaderLength) {
  std::string binary(4096, '\x07');
  std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"UINT8","shape":[4096],)"
                     R"("parameters":{"binary_data_size":4096}}],"parameters":{"binary_data_output":true}})";
  HttpRequest request =
      Request("POST", "/v2/models/echo/infer", ZlibCompress(json + binary, ZlibFormat::kGzip));
  request.content_encoding = "gzip";
  request.inference_header_length = std::to_string(json.size());
  request.accept_encoding = "gzip";
  HttpReply reply = handler_.Handle(request);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.content_encoding, "gzip");
  ASSERT_TRUE(reply.inference_header_length.has_value());
  // The header length counts bytes of the uncompressed body.
  std::string body = ZlibDecompress(reply.body, ZlibFormat::kGzip);
  ASSERT_EQ(body.size(), *reply.inference_header_length + binary.size());
  EXPECT_EQ(body.substr(*reply.inference_header_length), binary);
  EXPECT_EQ(body[*reply.inference_header_length - 1], '}');
}

TEST(HttpHandler, RunsOnWorkerPool) {
  auto request = [](std::string method, std::string target, std::string encoding = "",
                    std::string body = "") {
    HttpRequest built = Request(std::move(method), std::move(target), std::move(body));
    built.content_encoding = std::move(encoding);
    return built;
  };
  EXPECT_TRUE(HttpHandler::RunsOnWorkerPool(request("POST", "/v2/models/m/infer")));
  EXPECT_TRUE(HttpHandler::RunsOnWorkerPool(request("POST", "/v2/repository/models/m/load")));
  EXPECT_TRUE(HttpHandler::RunsOnWorkerPool(request("POST", "/v2/repository/models/m/unload")));
  EXPECT_TRUE(HttpHandler::RunsOnWorkerPool(request("POST", "/v2/repository/index", "gzip", "x")));
  EXPECT_FALSE(HttpHandler::RunsOnWorkerPool(request("POST", "/v2/repository/index", "gzip", "")));
  EXPECT_FALSE(HttpHandler::RunsOnWorkerPool(request("POST", "/v2/repository/index", "identity", "{}")));
  EXPECT_FALSE(HttpHandler::RunsOnWorkerPool(request("GET", "/v2/models/m/stats")));
  EXPECT_FALSE(HttpHandler::RunsOnWorkerPool(request("GET", "/v2/systemsharedmemory/status")));
}

}  // namespace
}  // namespace moat::server

#include "server/http_handler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <set>

#include "common/status_mapping.h"
#include "fake_service.h"

namespace moat::server {
namespace {

using testing::FakeService;
using ::testing::HasSubstr;

HttpRequest Get(std::string target) {
  HttpRequest request;
  request.method = "GET";
  request.target = std::move(target);
  request.peer = "127.0.0.1:1";
  return request;
}

HttpRequest Post(std::string target, std::string body,
                 std::optional<std::string> header_length = std::nullopt) {
  HttpRequest request = Get(std::move(target));
  request.method = "POST";
  request.body = std::make_shared<const std::string>(std::move(body));
  request.inference_header_length = std::move(header_length);
  return request;
}

std::string ErrorOf(const HttpReply& reply) {
  rapidjson::Document document;
  document.Parse(reply.body.data(), reply.body.size());
  if (document.HasParseError() || !document.IsObject() || !document.HasMember("error")) {
    return "<no error field>";
  }
  return document["error"].GetString();
}

const std::string kEchoRequest =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2],"data":[1,2]}]})";

struct ErrorCase {
  std::string label;
  HttpRequest request;
  unsigned status;
  std::string fragment;
  bool audited;  // whether RecordRejectedRequest must see it
};

std::vector<ErrorCase> ErrorCases() {
  return {
      {"unknown path", Get("/v3/health/live"), 404, "no endpoint at path '/v3/health/live'", false},
      {"unknown health", Get("/v2/health/dead"), 404, "no endpoint at path", false},
      {"trailing segment", Get("/v2/models/echo/ready/now"), 404, "no endpoint", false},
      {"root", Get("/"), 404, "no endpoint at path '/'", false},
      {"POST on health", Post("/v2/health/live", ""), 405,
       "method POST is not allowed on '/v2/health/live'; use GET", false},
      {"GET on infer", Get("/v2/models/echo/infer"), 405, "use POST", false},
      {"unknown model metadata", Get("/v2/models/nope"), 404, "model 'nope' not found", false},
      {"unknown version metadata", Get("/v2/models/echo/versions/7"), 404, "has no version 7", false},
      {"zero version", Get("/v2/models/echo/versions/0"), 400, "model version '0' in the path is invalid",
       false},
      {"leading zero version", Get("/v2/models/echo/versions/01/ready"), 400, "model version '01'", false},
      {"negative version", Get("/v2/models/echo/versions/-1"), 400, "model version '-1'", false},
      {"empty version", Get("/v2/models/echo/versions//ready"), 400,
       "model version '' in the path is invalid", false},
      {"huge version", Get("/v2/models/echo/versions/99999999999999999999"), 400, "99999999999999999999",
       false},
      {"version with letters", Post("/v2/models/echo/versions/v1/infer", kEchoRequest), 400,
       "model version 'v1' in the path is invalid; it must be a positive decimal integer", true},
      {"empty model name", Get("/v2/models//ready"), 400, "model name in the path is empty", false},
      {"bad escape", Get("/v2/models/a%zzb"), 400,
       "model name 'a%zzb' has an invalid percent-escape at offset 1", false},
      {"short escape", Get("/v2/models/a%4"), 400, "invalid percent-escape", false},
      {"escaped slash", Post("/v2/models/a%2Fb/infer", kEchoRequest), 400, "decodes to a '/' or NUL", true},
      {"escaped NUL", Get("/v2/models/a%00b/ready"), 400, "decodes to a '/' or NUL", false},
      {"escaped invalid UTF-8", Get("/v2/models/%FF"), 400, "does not decode to UTF-8 text", false},
      {"unknown model infer", Post("/v2/models/nope/infer", kEchoRequest), 404, "model 'nope' not found",
       false},
      {"malformed JSON infer", Post("/v2/models/echo/infer", "{"), 400,
       "malformed JSON in the infer request at offset", true},
      {"unknown datatype infer",
       Post("/v2/models/echo/infer",
            R"({"inputs":[{"name":"INPUT0","datatype":"F32","shape":[1],"data":[1]}]})"),
       400, "input 'INPUT0': unknown datatype \"F32\"", true},
      {"shape mismatch infer",
       Post("/v2/models/echo/infer",
            R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[3],"data":[1]}]})"),
       400, "'data' has 1 elements but shape [3] needs 3", true},
      {"header length above body", Post("/v2/models/echo/infer", kEchoRequest, "99999"), 400,
       "Inference-Header-Content-Length 99999 is larger than the request body", true},
      {"classification infer",
       Post("/v2/models/echo/infer",
            R"({"inputs":[],"outputs":[{"name":"x","parameters":{"classification":2}}]})"),
       501, "classification", true},
      {"model version not ready", Get("/v2/models/echo/versions/2/ready"), 400,
       "model 'echo' version 2 is not ready", false},
      {"unknown model ready", Get("/v2/models/nope/ready"), 404, "model 'nope' not found", false},
  };
}

TEST(HttpHandler, ErrorTable) {
  for (const ErrorCase& test : ErrorCases()) {
    SCOPED_TRACE(test.label);
    FakeService service;
    shm::SharedMemoryManager shared_memory(false);
    HttpHandler handler(service, shared_memory);
    HttpReply reply = handler.Handle(test.request);
    EXPECT_EQ(reply.status, test.status) << reply.body;
    EXPECT_EQ(reply.content_type, "application/json");
    EXPECT_THAT(ErrorOf(reply), HasSubstr(test.fragment));
    EXPECT_EQ(reply.error, ErrorOf(reply));
    EXPECT_FALSE(reply.request_id.empty());
    EXPECT_EQ(service.rejected().size(), test.audited ? 1u : 0u);
  }
}

TEST(HttpHandler, MethodNotAllowedNamesAllowedMethod) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  EXPECT_EQ(handler.Handle(Post("/v2", "")).allow, "GET");
  EXPECT_EQ(handler.Handle(Get("/v2/models/echo/versions/1/infer")).allow, "POST");
}

TEST(HttpHandler, RejectedInferIsAudited) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  HttpRequest request = Post("/v2/models/ec%68o/versions/1/infer", "[]");
  request.peer = "[::1]:5000";
  HttpReply reply = handler.Handle(request);
  EXPECT_EQ(reply.status, 400);

  auto rejected = service.rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].model, "echo");
  EXPECT_EQ(rejected[0].version, "1");
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(rejected[0].context.protocol, "http");
  EXPECT_EQ(rejected[0].context.peer, "[::1]:5000");
  EXPECT_EQ(rejected[0].context.request_id, reply.request_id);
}

TEST(HttpHandler, RejectAuditsOnlyInferTargets) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  HttpReply reply = handler.Reject("POST", "/v2/models/echo/infer", "127.0.0.1:9", 413,
                                   ResourceExhaustedError("request body is larger than the limit"));
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(ErrorOf(reply), "request body is larger than the limit");
  reply = handler.Reject("GET", "/v2/health/live", "127.0.0.1:9", 431,
                         ResourceExhaustedError("header too large"));
  EXPECT_EQ(reply.status, 431);

  auto rejected = service.rejected();
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].model, "echo");
  EXPECT_EQ(rejected[0].version, "");
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kResourceExhausted);
}

TEST(HttpHandler, HealthEndpoints) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  EXPECT_EQ(handler.Handle(Get("/v2/health/live")).status, 200);
  EXPECT_EQ(handler.Handle(Get("/v2/health/ready")).status, 200);
  service.live = false;
  service.ready = false;
  EXPECT_EQ(handler.Handle(Get("/v2/health/live")).status, 400);
  EXPECT_EQ(handler.Handle(Get("/v2/health/ready")).status, 400);
}

TEST(HttpHandler, ServerMetadataListsExtensions) {
  FakeService service;
  shm::SharedMemoryManager disabled(false);
  HttpHandler handler(service, disabled);
  HttpReply reply = handler.Handle(Get("/v2"));
  EXPECT_EQ(reply.status, 200);
  EXPECT_THAT(reply.body, HasSubstr(R"("extensions":["binary_tensor_data","model_repository",)"
                                    R"("model_configuration","statistics"])"));

  shm::SharedMemoryManager enabled(true);
  HttpHandler shm_handler(service, enabled);
  EXPECT_THAT(shm_handler.Handle(Get("/v2")).body, HasSubstr(R"("statistics","system_shared_memory"])"));
}

TEST(HttpHandler, ModelEndpoints) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  HttpReply metadata = handler.Handle(Get("/v2/models/echo"));
  EXPECT_EQ(metadata.status, 200);
  EXPECT_EQ(metadata.model, "echo");
  EXPECT_THAT(metadata.body, HasSubstr(R"("name":"echo")"));
  EXPECT_EQ(handler.Handle(Get("/v2/models/echo/versions/1")).status, 200);
  EXPECT_EQ(handler.Handle(Get("/v2/models/echo/ready")).status, 200);
  EXPECT_EQ(handler.Handle(Get("/v2/models/echo/versions/1/ready?verbose=1")).status, 200);
}

TEST(HttpHandler, InferPassesRequestToService) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  HttpReply reply = handler.Handle(
      Post("/v2/models/echo/versions/2/infer",
           R"({"id":"client-7","inputs":[{"name":"INPUT0","datatype":"INT32","shape":[2],"data":[5,6]}]})"));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.request_id, "client-7");
  EXPECT_EQ(reply.body, R"({"model_name":"echo","model_version":"2","id":"client-7","outputs":)"
                        R"([{"name":"INPUT0","datatype":"INT32","shape":[2],"data":[5,6]}]})");

  auto inferred = service.inferred();
  ASSERT_EQ(inferred.size(), 1u);
  EXPECT_EQ(inferred[0].first.model_name, "echo");
  EXPECT_EQ(inferred[0].first.model_version, 2);
  EXPECT_EQ(inferred[0].second.request_id, "client-7");
  EXPECT_EQ(inferred[0].second.protocol, "http");
}

TEST(HttpHandler, InferWithoutVersionPassesNullopt) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  EXPECT_EQ(handler.Handle(Post("/v2/models/echo/infer", kEchoRequest)).status, 200);
  auto inferred = service.inferred();
  ASSERT_EQ(inferred.size(), 1u);
  EXPECT_FALSE(inferred[0].first.model_version.has_value());
  EXPECT_FALSE(inferred[0].second.request_id.empty());
}

TEST(HttpHandler, BinaryReply) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  std::string binary("\x01\x02\x03", 3);
  std::string json =
      R"({"inputs":[{"name":"INPUT0","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":3}}],)"
      R"("parameters":{"binary_data_output":true}})";
  HttpReply reply = handler.Handle(Post("/v2/models/echo/infer", json + binary, std::to_string(json.size())));
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_TRUE(reply.inference_header_length.has_value());
  EXPECT_EQ(reply.content_type, "application/octet-stream");
  EXPECT_EQ(reply.body.substr(*reply.inference_header_length), binary);
  EXPECT_THAT(reply.body.substr(0, *reply.inference_header_length), HasSubstr(R"("binary_data_size":3)"));
}

TEST(HttpHandler, ServiceErrorsMapToHttpStatus) {
  const std::pair<StatusCode, unsigned> cases[] = {
      {StatusCode::kInvalidArgument, 400},  {StatusCode::kNotFound, 404},
      {StatusCode::kUnavailable, 503},      {StatusCode::kUnimplemented, 501},
      {StatusCode::kPermissionDenied, 403}, {StatusCode::kUnauthenticated, 401},
      {StatusCode::kDeadlineExceeded, 504}, {StatusCode::kResourceExhausted, 429},
      {StatusCode::kInternal, 500},         {StatusCode::kFailedPrecondition, 400},
      {StatusCode::kDataLoss, 500},
  };
  for (const auto& [code, http_status] : cases) {
    SCOPED_TRACE(std::string(StatusCodeName(code)));
    EXPECT_EQ(HttpStatusFor(code), http_status);
    FakeService service;
    service.infer_error = Status(code, "service said no");
    shm::SharedMemoryManager shared_memory(false);
    HttpHandler handler(service, shared_memory);
    HttpReply reply = handler.Handle(Post("/v2/models/echo/infer", kEchoRequest));
    EXPECT_EQ(reply.status, http_status);
    EXPECT_EQ(ErrorOf(reply), "service said no");
    // The service audits what reaches Infer; the front end must not add a record.
    EXPECT_TRUE(service.rejected().empty());
  }
}

TEST(HttpHandler, RequestIdsAreUnique) {
  FakeService service;
  shm::SharedMemoryManager shared_memory(false);
  HttpHandler handler(service, shared_memory);
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) ids.insert(handler.Handle(Get("/v2/health/live")).request_id);
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace moat::server

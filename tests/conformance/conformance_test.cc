// Runs every case file under tests/conformance/cases/ against one live server
// over HTTP and gRPC: real sockets on 127.0.0.1, the real ModelService on a
// signed repository of the tiny test models, and real shared memory.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "client/kserve_messages.h"
#include "client/tensor_json.h"
#include "common/status_mapping.h"
#include "conformance_case.h"
#include "inference.grpc.pb.h"
#include "server/test_http_client.h"
#include "testing/posix_shm_object.h"
#include "testing/served_models.h"
#include "testing/tiny_models.h"

namespace moat::conformance {
namespace {

namespace http = boost::beast::http;
using server::testing::TestClient;

// The servers every case runs against, started once for the whole suite.
struct LiveServer {
  testing::ServedModels served{testing::TinyModels()};
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(served.grpc_target(), grpc::InsecureChannelCredentials()));
};

LiveServer& Server() {
  static LiveServer* server = new LiveServer();  // lives until exit, like the suite
  return *server;
}

StatusCode CodeFromName(const std::string& name) {
  for (int code = 0; code <= 16; ++code) {
    if (StatusCodeName(static_cast<StatusCode>(code)) == name) return static_cast<StatusCode>(code);
  }
  ADD_FAILURE() << "unknown status code name '" << name << "'";
  return StatusCode::kUnknown;
}

// A POSIX shared memory object for one case, holding the case's contents.
std::unique_ptr<testing::PosixShmObject> MakeMemoryObject(const SharedMemoryObject& spec,
                                                          const std::string& key) {
  auto object = std::make_unique<testing::PosixShmObject>(spec.size, 0600, key);
  if (object->ok()) object->Write(0, std::string_view(spec.contents).substr(0, spec.size));
  return object;
}

std::string Substitute(std::string text, const std::map<std::string, std::string>& keys) {
  for (const auto& [object, key] : keys) {
    std::string pattern = "${" + object + "}";
    for (size_t at = text.find(pattern); at != std::string::npos; at = text.find(pattern, at + key.size())) {
      text.replace(at, pattern.size(), key);
    }
  }
  return text;
}

// What a request produced, in the same form for both protocols.
struct Answer {
  StatusCode code = StatusCode::kOk;
  unsigned http_status = 0;
  std::string error;
  std::string body;
  std::optional<std::string> id;
  std::vector<Tensor> outputs;
};

StatusOr<std::string> ExpectedBytes(const ExpectedOutput& expected, DataType datatype) {
  if (expected.bytes) return *expected.bytes;
  rapidjson::Document data;
  data.Parse(expected.data_json.data(), expected.data_json.size());
  MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(expected.shape, expected.name));
  return client::TensorBytesFromJson(data, datatype, count, expected.name);
}

void CheckAnswer(const Case& c, const Answer& answer, const std::string& protocol,
                 const std::map<std::string, std::unique_ptr<testing::PosixShmObject>>& memory) {
  SCOPED_TRACE(protocol);
  const Expectation& expect = c.expect;
  StatusCode code = CodeFromName(expect.code);
  if (protocol == "http") {
    EXPECT_EQ(answer.http_status, expect.http_status.value_or(HttpStatusFor(code))) << answer.body;
  } else {
    EXPECT_EQ(answer.code, code) << answer.error;
  }
  EXPECT_NE(answer.error.find(expect.error), std::string::npos) << "error: " << answer.error;
  const std::string& extra = protocol == "http" ? expect.http_error : expect.grpc_error;
  EXPECT_NE(answer.error.find(extra), std::string::npos) << "error: " << answer.error;
  if (code != StatusCode::kOk) return;
  if (protocol == "http") {
    EXPECT_NE(answer.body.find(expect.body_contains), std::string::npos) << answer.body;
  }
  if (expect.id) {
    EXPECT_EQ(answer.id.value_or("<none>"), *expect.id);
  }
  ASSERT_EQ(answer.outputs.size(), expect.outputs.size());
  for (size_t i = 0; i < expect.outputs.size(); ++i) {
    const ExpectedOutput& expected = expect.outputs[i];
    const Tensor& actual = answer.outputs[i];
    SCOPED_TRACE(expected.name);
    EXPECT_EQ(actual.name, expected.name);
    EXPECT_EQ(DataTypeName(actual.datatype), expected.datatype);
    EXPECT_EQ(actual.shape, expected.shape);
    auto bytes = ExpectedBytes(expected, actual.datatype);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(actual.data.data()), actual.data.size()), *bytes);
  }
  for (const ExpectedMemory& expected : expect.memory) {
    auto object = memory.find(expected.object);
    ASSERT_NE(object, memory.end()) << "no shared memory object '" << expected.object << "'";
    EXPECT_EQ(object->second->Read(expected.offset, expected.bytes.size()), expected.bytes);
  }
}

Answer SendHttp(TestClient& client, const HttpForm& form, const std::map<std::string, std::string>& keys) {
  auto method = http::string_to_verb(form.method);
  http::request<http::string_body> request(method, Substitute(form.path, keys), 11);
  request.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : form.headers) request.set(name, value);
  if (form.header_length) request.set("Inference-Header-Content-Length", *form.header_length);
  request.body() = Substitute(form.body, keys) + form.binary;
  request.prepare_payload();
  server::testing::Response response = client.RoundTrip(std::move(request));

  Answer answer;
  answer.http_status = response.result_int();
  answer.body = response.body();
  if (answer.http_status != 200) {
    answer.error = client::ErrorMessageFromBody(response.body());
    return answer;
  }
  std::optional<size_t> header_length;
  if (auto field = response.find("Inference-Header-Content-Length"); field != response.end()) {
    header_length = std::stoul(std::string(field->value()));
  }
  if (form.path.ends_with("/infer")) {
    auto decoded = client::DecodeInferResponse(response.body(), header_length);
    if (!decoded.ok()) {
      answer.error = "undecodable response: " + decoded.status().ToString();
      return answer;
    }
    if (!decoded->id.empty()) answer.id = decoded->id;
    answer.outputs = std::move(decoded->outputs);
  }
  return answer;
}

template <typename Request, typename Response, typename Method>
Answer CallGrpc(Method method, const std::string& json, Response* response_out = nullptr) {
  Answer answer;
  Request request;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &request);
  if (!parsed.ok()) {
    ADD_FAILURE() << "the case's gRPC request is not valid protobuf JSON: " << parsed.ToString();
    return answer;
  }
  Response response;
  grpc::ClientContext context;
  grpc::Status status = (Server().stub.get()->*method)(&context, request, &response);
  answer.code = static_cast<StatusCode>(status.error_code());
  answer.error = status.error_message();
  if (response_out != nullptr) *response_out = std::move(response);
  return answer;
}

Answer SendGrpc(const GrpcForm& form, const std::map<std::string, std::string>& keys) {
  using Stub = inference::GRPCInferenceService::Stub;
  std::string json = Substitute(form.request_json, keys);
  if (form.rpc == "ModelInfer") {
    inference::ModelInferResponse response;
    Answer answer = CallGrpc<inference::ModelInferRequest>(&Stub::ModelInfer, json, &response);
    if (answer.code != StatusCode::kOk) return answer;
    if (!response.id().empty()) answer.id = response.id();
    for (int i = 0; i < response.outputs_size(); ++i) {
      const auto& output = response.outputs(i);
      // An output written to shared memory is checked through `memory`.
      if (output.parameters().contains("shared_memory_region")) continue;
      auto datatype = ParseDataType(output.datatype());
      std::string raw = i < response.raw_output_contents_size() ? response.raw_output_contents(i) : "";
      answer.outputs.push_back(MakeOwnedTensor(output.name(), datatype.value_or(DataType::kUint8),
                                               {output.shape().begin(), output.shape().end()},
                                               std::move(raw)));
    }
    return answer;
  }
  if (form.rpc == "ModelMetadata") {
    return CallGrpc<inference::ModelMetadataRequest, inference::ModelMetadataResponse>(&Stub::ModelMetadata,
                                                                                       json);
  }
  if (form.rpc == "ModelReady") {
    return CallGrpc<inference::ModelReadyRequest, inference::ModelReadyResponse>(&Stub::ModelReady, json);
  }
  if (form.rpc == "ModelConfig") {
    return CallGrpc<inference::ModelConfigRequest, inference::ModelConfigResponse>(&Stub::ModelConfig, json);
  }
  if (form.rpc == "SystemSharedMemoryRegister") {
    return CallGrpc<inference::SystemSharedMemoryRegisterRequest,
                    inference::SystemSharedMemoryRegisterResponse>(&Stub::SystemSharedMemoryRegister, json);
  }
  if (form.rpc == "SystemSharedMemoryStatus") {
    return CallGrpc<inference::SystemSharedMemoryStatusRequest, inference::SystemSharedMemoryStatusResponse>(
        &Stub::SystemSharedMemoryStatus, json);
  }
  if (form.rpc == "SystemSharedMemoryUnregister") {
    return CallGrpc<inference::SystemSharedMemoryUnregisterRequest,
                    inference::SystemSharedMemoryUnregisterResponse>(&Stub::SystemSharedMemoryUnregister,
                                                                     json);
  }
  ADD_FAILURE() << "the driver does not know the RPC '" << form.rpc << "'";
  return {};
}

// A request that must succeed after every case: the server keeps serving
// whatever came before.
constexpr char kValidHttpBody[] =
    R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,2],"data":[1.5,-2]}]})";
constexpr char kValidGrpcRequest[] =
    R"({"model_name":"identity_fp32","inputs":[{"name":"INPUT0","datatype":"FP32","shape":["1","2"],
        "contents":{"fp32_contents":[1.5,-2]}}]})";

void ExpectStillServing(TestClient& client) {
  HttpForm form;
  form.path = "/v2/models/identity_fp32/infer";
  form.body = kValidHttpBody;
  Answer answer = SendHttp(client, form, {});
  if (answer.http_status == 0) {
    // The bad request may legitimately have closed its connection; a new one must work.
    TestClient fresh(Server().served.http_port());
    answer = SendHttp(fresh, form, {});
  }
  EXPECT_EQ(answer.http_status, 200u) << "valid HTTP request after the case: " << answer.body;
  GrpcForm grpc{"ModelInfer", kValidGrpcRequest};
  Answer grpc_answer = SendGrpc(grpc, {});
  EXPECT_EQ(grpc_answer.code, StatusCode::kOk) << "valid gRPC request after the case: " << grpc_answer.error;
}

class Conformance : public ::testing::TestWithParam<std::string> {};

TEST_P(Conformance, Case) {
  auto loaded = LoadCase(GetParam());
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  const Case& c = *loaded;
  SCOPED_TRACE(c.file + ": " + c.description);
  LiveServer& server = Server();

  for (const char* protocol : {"http", "grpc"}) {
    if ((std::string(protocol) == "http" && !c.http) || (std::string(protocol) == "grpc" && !c.grpc))
      continue;
    std::map<std::string, std::string> keys;
    std::map<std::string, std::unique_ptr<testing::PosixShmObject>> memory;
    for (const SharedMemoryObject& spec : c.shared_memory) {
      std::string key = "/moat-conformance-" + std::to_string(::getpid()) + "-" + spec.object;
      keys[spec.object] = key;
      memory[spec.object] = MakeMemoryObject(spec, key);
      if (spec.region) {
        Status registered =
            server.served.shared_memory().Register(*spec.region, key, spec.region_offset, spec.region_size);
        ASSERT_TRUE(registered.ok()) << registered.ToString();
      }
    }
    TestClient client(server.served.http_port());
    ASSERT_FALSE(client.connect_error());
    Answer answer =
        std::string(protocol) == "http" ? SendHttp(client, *c.http, keys) : SendGrpc(*c.grpc, keys);
    CheckAnswer(c, answer, protocol, memory);
    ExpectStillServing(client);
    for (const SharedMemoryObject& spec : c.shared_memory) {
      if (spec.region) (void)server.served.shared_memory().Unregister(*spec.region);
    }
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = std::filesystem::path(info.param).stem().string();
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, Conformance,
                         ::testing::ValuesIn(ListCases(std::string(MOAT_SOURCE_DIR) +
                                                       "/tests/conformance/cases")),
                         CaseName);

}  // namespace
}  // namespace moat::conformance

#include "client/kserve_client.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "mock_http_server.h"
#include "testing/refusing_port.h"

namespace moat::client {
namespace {

using testing::ConnectionMode;
using testing::HttpRequestMessage;
using testing::HttpResponseMessage;
using testing::MakeResponse;
using testing::MockHttpServer;

std::string FloatBytes(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

std::vector<float> FloatsOf(const Tensor& tensor) {
  std::vector<float> values(tensor.data.size() / sizeof(float));
  std::memcpy(values.data(), tensor.data.data(), values.size() * sizeof(float));
  return values;
}

std::string UrlOf(const MockHttpServer& server) {
  return "http://127.0.0.1:" + std::to_string(server.port());
}

InferenceRequest AddRequest() {
  InferenceRequest request;
  request.model_name = "add";
  request.model_version = 2;
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 4}, FloatBytes({1, 2, 3, 4.5f})));
  return request;
}

TEST(KServeClient, BinaryInfer) {
  // The response carries OUTPUT0 as binary data and OUTPUT1 as JSON data.
  const std::string response_json =
      R"({"model_name":"add","model_version":"2","id":"r1","outputs":[)"
      R"({"name":"OUTPUT0","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},)"
      R"({"name":"OUTPUT1","datatype":"INT64","shape":[2],"data":[-7,9000000000]}]})";
  MockHttpServer server([&](const HttpRequestMessage&) {
    HttpResponseMessage response =
        MakeResponse(200, response_json + FloatBytes({0.25f, -1.5f}), "application/octet-stream");
    response.set("Inference-Header-Content-Length", std::to_string(response_json.size()));
    return response;
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  InferenceRequest request = AddRequest();
  request.requested_outputs = {"OUTPUT0", "OUTPUT1"};
  StatusOr<InferResult> response = client->Infer(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();

  EXPECT_EQ(response->model_name, "add");
  EXPECT_EQ(response->model_version, 2);
  EXPECT_EQ(response->id, "r1");
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->outputs[0].name, "OUTPUT0");
  EXPECT_EQ(response->outputs[0].shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(FloatsOf(response->outputs[0]), (std::vector<float>{0.25f, -1.5f}));
  ASSERT_EQ(response->outputs[1].data.size(), 16u);
  int64_t second[2];
  std::memcpy(second, response->outputs[1].data.data(), sizeof(second));
  EXPECT_EQ(second[0], -7);
  EXPECT_EQ(second[1], 9000000000);

  // The request: JSON of the announced length, then the input's raw bytes.
  std::optional<HttpRequestMessage> sent = server.last_request();
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->method(), boost::beast::http::verb::post);
  EXPECT_EQ(sent->target(), "/v2/models/add/versions/2/infer");
  const std::string length_text(sent->at("Inference-Header-Content-Length"));
  const size_t json_length = std::stoul(length_text);
  ASSERT_EQ(sent->body().size(), json_length + 16);
  EXPECT_EQ(sent->body().substr(json_length), FloatBytes({1, 2, 3, 4.5f}));
  rapidjson::Document json;
  json.Parse(sent->body().data(), json_length);
  ASSERT_FALSE(json.HasParseError());
  const rapidjson::Value& input = json["inputs"][0];
  EXPECT_STREQ(input["name"].GetString(), "INPUT0");
  EXPECT_STREQ(input["datatype"].GetString(), "FP32");
  EXPECT_EQ(input["parameters"]["binary_data_size"].GetUint64(), 16u);
  EXPECT_FALSE(input.HasMember("data"));
  EXPECT_TRUE(json["parameters"]["binary_data_output"].GetBool());
  EXPECT_TRUE(json["outputs"][1]["parameters"]["binary_data"].GetBool());
}

TEST(KServeClient, JsonInfer) {
  MockHttpServer server([](const HttpRequestMessage&) {
    return MakeResponse(200, R"({"model_name":"add","outputs":[)"
                             R"({"name":"OUTPUT0","datatype":"FP16","shape":[2],"data":[0.5,-2]},)"
                             R"({"name":"OUTPUT1","datatype":"BYTES","shape":[1],"data":["hi"]}]})");
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  InferOptions options;
  options.binary_inputs = false;
  options.binary_outputs = false;
  StatusOr<InferResult> response = client->Infer(AddRequest(), options);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(response->outputs.size(), 2u);
  // FP16 0.5 is 0x3800 and -2 is 0xc000, little-endian.
  const std::vector<uint8_t> half(response->outputs[0].data.begin(), response->outputs[0].data.end());
  EXPECT_EQ(half, (std::vector<uint8_t>{0x00, 0x38, 0x00, 0xc0}));
  const std::vector<uint8_t> text(response->outputs[1].data.begin(), response->outputs[1].data.end());
  EXPECT_EQ(text, (std::vector<uint8_t>{2, 0, 0, 0, 'h', 'i'}));

  std::optional<HttpRequestMessage> sent = server.last_request();
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->count("Inference-Header-Content-Length"), 0u);
  rapidjson::Document json;
  json.Parse(sent->body().data(), sent->body().size());
  ASSERT_FALSE(json.HasParseError()) << sent->body();
  const rapidjson::Value& data = json["inputs"][0]["data"];
  ASSERT_EQ(data.Size(), 4u);
  EXPECT_EQ(data[3].GetDouble(), 4.5);
  EXPECT_FALSE(json["parameters"]["binary_data_output"].GetBool());
}

TEST(KServeClient, ServerError) {
  MockHttpServer server([](const HttpRequestMessage&) {
    return MakeResponse(404, R"({"error":"model 'nope' is not in the repository"})");
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<ModelMetadata> metadata = client->GetModelMetadata("nope");
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(metadata.status().message(),
            "GET /v2/models/nope: server returned HTTP 404: model 'nope' is not in the repository");
}

TEST(KServeClient, Metadata) {
  MockHttpServer server([](const HttpRequestMessage&) {
    return MakeResponse(200,
                        R"({"name":"det","versions":["1","3"],"platform":"onnxruntime",)"
                        R"("inputs":[{"name":"x","datatype":"FP32","shape":[-1,3,-1,-1]}],)"
                        R"("outputs":[{"name":"sigmoid_0.tmp_0","datatype":"FP32","shape":[-1,1,-1,-1]}]})");
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<ModelMetadata> metadata = client->GetModelMetadata("det model", 3);
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(metadata->name, "det");
  EXPECT_EQ(metadata->versions, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(metadata->platform, "onnxruntime");
  ASSERT_EQ(metadata->inputs.size(), 1u);
  EXPECT_EQ(metadata->inputs[0].shape, (std::vector<int64_t>{-1, 3, -1, -1}));
  ASSERT_EQ(metadata->outputs.size(), 1u);
  EXPECT_EQ(metadata->outputs[0].name, "sigmoid_0.tmp_0");
  EXPECT_EQ(server.last_request()->target(), "/v2/models/det%20model/versions/3");
}

TEST(KServeClient, Readiness) {
  int status = 200;
  MockHttpServer server([&status](const HttpRequestMessage&) { return MakeResponse(status, ""); });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<bool> ready = client->IsServerReady();
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_TRUE(*ready);
  EXPECT_EQ(server.last_request()->target(), "/v2/health/ready");

  status = 503;
  ready = client->IsServerReady();
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_FALSE(*ready);

  status = 404;
  EXPECT_EQ(client->IsModelReady("det", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(server.last_request()->target(), "/v2/models/det/versions/1/ready");
}

TEST(KServeClient, ConnectionRefused) {
  moat::testing::RefusingPort refusing;
  ASSERT_NE(refusing.port(), 0);
  const std::string url = "http://127.0.0.1:" + std::to_string(refusing.port());

  StatusOr<KServeClient> client = KServeClient::Create(url);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<bool> ready = client->IsServerReady();
  ASSERT_FALSE(ready.ok());
  EXPECT_EQ(ready.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(ready.status().message().find(url.substr(7) + ": connecting failed"), std::string::npos)
      << ready.status().message();
}

TEST(KServeClient, BadUrl) {
  StatusOr<KServeClient> client = KServeClient::Create("https://127.0.0.1:8443");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
}

HttpResponseMessage Ok(const HttpRequestMessage&) { return MakeResponse(200, ""); }

TEST(KServeClient, ReusesConnection) {
  MockHttpServer server(Ok, ConnectionMode::kKeepAlive);
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (int i = 0; i < 3; ++i) {
    StatusOr<bool> ready = client->IsServerReady();
    ASSERT_TRUE(ready.ok()) << ready.status().ToString();
    EXPECT_TRUE(*ready);
  }
  EXPECT_EQ(server.requests_read(), 3);
  EXPECT_EQ(server.connections_accepted(), 1);
  EXPECT_EQ(client->connections_opened(), 1u);
}

TEST(KServeClient, CopiesShareConnection) {
  MockHttpServer server(Ok, ConnectionMode::kKeepAlive);
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  const KServeClient copy = *client;
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        if (!(t % 2 == 0 ? *client : copy).IsServerLive().ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, (std::vector<int>{0, 0, 0, 0}));
  EXPECT_EQ(server.requests_read(), 20);
  EXPECT_EQ(server.connections_accepted(), 1);
}

TEST(KServeClient, ReconnectsAfterServerClosed) {
  // The server closes each connection after its response without saying so,
  // as an idle timeout does.
  MockHttpServer server(Ok, ConnectionMode::kDropAfterResponse);
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (int i = 0; i < 3; ++i) {
    StatusOr<bool> live = client->IsServerLive();
    ASSERT_TRUE(live.ok()) << "call " << i << ": " << live.status().ToString();
  }
  EXPECT_EQ(server.requests_read(), 3);
  EXPECT_EQ(server.connections_accepted(), 3);
}

TEST(KServeClient, ReconnectsAfterConnectionClose) {
  MockHttpServer server(Ok, ConnectionMode::kClose);
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(client->IsServerLive().ok());
  ASSERT_TRUE(client->IsServerLive().ok());
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST(KServeClient, RetriesDroppedRequestOnce) {
  MockHttpServer server(Ok, ConnectionMode::kKeepAlive);
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  ASSERT_TRUE(client->IsServerLive().ok());

  // The kept connection now ends after reading the request: the client sends
  // it once more on a new connection, which ends the same way.
  server.set_mode(ConnectionMode::kDropRequest);
  StatusOr<bool> live = client->IsServerLive();
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(live.status().message().find("reading the response to /v2/health/live failed"), std::string::npos)
      << live.status().message();
  EXPECT_EQ(server.requests_read(), 3);
  EXPECT_EQ(server.connections_accepted(), 2);

  // A fresh connection that fails is not tried again.
  live = client->IsServerLive();
  EXPECT_FALSE(live.ok());
  EXPECT_EQ(server.requests_read(), 4);
  EXPECT_EQ(server.connections_accepted(), 3);

  server.set_mode(ConnectionMode::kKeepAlive);
  live = client->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
}

TEST(KServeClient, SharedMemoryRegistration) {
  MockHttpServer server([](const HttpRequestMessage& request) {
    if (request.target().ends_with("/status")) {
      return MakeResponse(200, R"([{"name":"in put","key":"/obj","offset":16,"byte_size":4096}])");
    }
    return MakeResponse(200, "");
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  Status registered = client->RegisterSystemSharedMemory("in put", "/obj", 16, 4096);
  ASSERT_TRUE(registered.ok()) << registered.ToString();
  std::optional<HttpRequestMessage> sent = server.last_request();
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->method(), boost::beast::http::verb::post);
  EXPECT_EQ(sent->target(), "/v2/systemsharedmemory/region/in%20put/register");
  rapidjson::Document json;
  json.Parse(sent->body().data(), sent->body().size());
  ASSERT_FALSE(json.HasParseError()) << sent->body();
  EXPECT_STREQ(json["key"].GetString(), "/obj");
  EXPECT_EQ(json["offset"].GetUint64(), 16u);
  EXPECT_EQ(json["byte_size"].GetUint64(), 4096u);

  StatusOr<std::vector<SharedMemoryRegionStatus>> regions = client->GetSystemSharedMemoryStatus("in put");
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  EXPECT_EQ(server.last_request()->target(), "/v2/systemsharedmemory/region/in%20put/status");
  ASSERT_EQ(regions->size(), 1u);
  EXPECT_EQ((*regions)[0].name, "in put");
  EXPECT_EQ((*regions)[0].key, "/obj");
  EXPECT_EQ((*regions)[0].offset, 16u);
  EXPECT_EQ((*regions)[0].byte_size, 4096u);
  ASSERT_TRUE(client->GetSystemSharedMemoryStatus().ok());
  EXPECT_EQ(server.last_request()->target(), "/v2/systemsharedmemory/status");

  ASSERT_TRUE(client->UnregisterSystemSharedMemory("in put").ok());
  EXPECT_EQ(server.last_request()->target(), "/v2/systemsharedmemory/region/in%20put/unregister");
  ASSERT_TRUE(client->UnregisterSystemSharedMemory("").ok());
  EXPECT_EQ(server.last_request()->target(), "/v2/systemsharedmemory/unregister");
}

TEST(KServeClient, SharedMemoryRegistrationError) {
  MockHttpServer server([](const HttpRequestMessage&) {
    return MakeResponse(400, R"({"error":"shared memory region 'r' is already registered"})");
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  Status registered = client->RegisterSystemSharedMemory("r", "/obj", 0, 64);
  EXPECT_EQ(registered.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      registered.message(),
      "POST /v2/systemsharedmemory/region/r/register: server returned HTTP 400: shared memory region 'r' is "
      "already registered");
}

TEST(KServeClient, SharedMemoryInfer) {
  const std::string response_json =
      R"({"model_name":"add","model_version":"2","outputs":[)"
      R"({"name":"OUTPUT0","datatype":"FP32","shape":[1,4],)"
      R"("parameters":{"shared_memory_region":"out","shared_memory_byte_size":16}}]})";
  MockHttpServer server([&](const HttpRequestMessage&) { return MakeResponse(200, response_json); });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  InferenceRequest request = AddRequest();
  request.inputs[0].data = {};  // the server reads the input from shared memory
  request.requested_outputs = {"OUTPUT0"};
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {"in", 8, 16};
  options.shared_memory_outputs["OUTPUT0"] = {"out", 32, 64};
  StatusOr<InferResult> response = client->Infer(request, options);
  ASSERT_TRUE(response.ok()) << response.status().ToString();

  EXPECT_TRUE(response->outputs.empty());
  ASSERT_EQ(response->shared_memory_outputs.size(), 1u);
  const SharedMemoryOutput& output = response->shared_memory_outputs[0];
  EXPECT_EQ(output.name, "OUTPUT0");
  EXPECT_EQ(output.datatype, DataType::kFp32);
  EXPECT_EQ(output.shape, (std::vector<int64_t>{1, 4}));
  EXPECT_EQ(output.region, "out");
  EXPECT_EQ(output.offset, 32u);
  EXPECT_EQ(output.byte_size, 16u);

  // The request is JSON only: no tensor bytes travel.
  std::optional<HttpRequestMessage> sent = server.last_request();
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->count("Inference-Header-Content-Length"), 0u);
  rapidjson::Document json;
  json.Parse(sent->body().data(), sent->body().size());
  ASSERT_FALSE(json.HasParseError()) << sent->body();
  const rapidjson::Value& input = json["inputs"][0];
  EXPECT_FALSE(input.HasMember("data"));
  EXPECT_FALSE(input["parameters"].HasMember("binary_data_size"));
  EXPECT_STREQ(input["parameters"]["shared_memory_region"].GetString(), "in");
  EXPECT_EQ(input["parameters"]["shared_memory_offset"].GetUint64(), 8u);
  EXPECT_EQ(input["parameters"]["shared_memory_byte_size"].GetUint64(), 16u);
  const rapidjson::Value& requested = json["outputs"][0]["parameters"];
  EXPECT_FALSE(requested.HasMember("binary_data"));
  EXPECT_STREQ(requested["shared_memory_region"].GetString(), "out");
  EXPECT_EQ(requested["shared_memory_offset"].GetUint64(), 32u);
  EXPECT_EQ(requested["shared_memory_byte_size"].GetUint64(), 64u);
}

TEST(KServeClient, SharedMemoryOutputNotReported) {
  MockHttpServer server([](const HttpRequestMessage&) {
    return MakeResponse(200, R"({"model_name":"add","outputs":[)"
                             R"({"name":"OUTPUT0","datatype":"FP32","shape":[1],"data":[1.5]}]})");
  });
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  InferenceRequest request = AddRequest();
  request.requested_outputs = {"OUTPUT0"};
  InferOptions options;
  options.shared_memory_outputs["OUTPUT0"] = {"out", 0, 64};
  StatusOr<InferResult> response = client->Infer(request, options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(response.status().message().find("output 'OUTPUT0' was requested in shared memory region 'out'"),
            std::string::npos)
      << response.status().message();
}

TEST(KServeClient, SharedMemoryOptionsChecked) {
  MockHttpServer server(Ok);
  StatusOr<KServeClient> client = KServeClient::Create(UrlOf(server));
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  InferOptions options;
  options.shared_memory_outputs["OUTPUT9"] = {"out", 0, 64};
  StatusOr<InferResult> response = client->Infer(AddRequest(), options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(response.status().message(),
            "shared memory output 'OUTPUT9' is not in the request's requested outputs; request it by name");
  EXPECT_EQ(server.requests_read(), 0);
}

}  // namespace
}  // namespace moat::client

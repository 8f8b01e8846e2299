// GrpcClient against a real GrpcServer over a real ModelService serving the
// tiny test models through ONNX Runtime.
#include "client/grpc_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "client/shared_memory_object.h"
#include "testing/refusing_port.h"
#include "testing/served_models.h"
#include "testing/tiny_models.h"

namespace moat::client {
namespace {

using moat::testing::IdentityModelName;
using moat::testing::RawBytes;
using moat::testing::SampleBytes;
using moat::testing::TensorBytes;
using ::testing::HasSubstr;

class GrpcClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { served_ = new moat::testing::ServedModels(moat::testing::TinyModels()); }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
  }

  static GrpcClient Client() {
    StatusOr<GrpcClient> client = GrpcClient::Create(served_->grpc_target());
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return std::move(client).value();
  }

  static InferenceRequest AddSubRequest(const std::vector<float>& a, const std::vector<float>& b) {
    InferenceRequest request;
    request.model_name = "add_sub";
    std::string a_bytes(a.size() * sizeof(float), '\0');
    std::string b_bytes(b.size() * sizeof(float), '\0');
    std::memcpy(a_bytes.data(), a.data(), a_bytes.size());
    std::memcpy(b_bytes.data(), b.data(), b_bytes.size());
    request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 16}, a_bytes));
    request.inputs.push_back(MakeOwnedTensor("INPUT1", DataType::kFp32, {1, 16}, b_bytes));
    return request;
  }

  static inline moat::testing::ServedModels* served_ = nullptr;
};

std::vector<float> FloatsOf(std::span<const uint8_t> bytes) {
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

TEST_F(GrpcClientTest, Health) {
  GrpcClient client = Client();
  Status connected = client.WaitForConnection(std::chrono::seconds(20));
  ASSERT_TRUE(connected.ok()) << connected.ToString();
  StatusOr<bool> live = client.IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  EXPECT_TRUE(*live);
  StatusOr<bool> ready = client.IsServerReady();
  ASSERT_TRUE(ready.ok()) << ready.status().ToString();
  EXPECT_TRUE(*ready);
  StatusOr<bool> model_ready = client.IsModelReady("identity_fp32", 1);
  ASSERT_TRUE(model_ready.ok()) << model_ready.status().ToString();
  EXPECT_TRUE(*model_ready);
}

TEST_F(GrpcClientTest, ModelNotFound) {
  GrpcClient client = Client();
  StatusOr<bool> ready = client.IsModelReady("no_such_model");
  ASSERT_FALSE(ready.ok());
  EXPECT_EQ(ready.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(ready.status().message(),
              HasSubstr("ModelReady on " + served_->grpc_target() + ": gRPC status NOT_FOUND: "));
  EXPECT_THAT(ready.status().message(), HasSubstr("no_such_model"));

  StatusOr<ModelMetadata> metadata = client.GetModelMetadata("identity_fp32", 7);
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.status().code(), StatusCode::kNotFound);
}

TEST_F(GrpcClientTest, Metadata) {
  StatusOr<ModelMetadata> metadata = Client().GetModelMetadata("add_sub");
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(metadata->name, "add_sub");
  EXPECT_EQ(metadata->versions, (std::vector<int64_t>{1}));
  ASSERT_EQ(metadata->inputs.size(), 2u);
  EXPECT_EQ(metadata->inputs[0].name, "INPUT0");
  EXPECT_EQ(metadata->inputs[0].datatype, DataType::kFp32);
  EXPECT_EQ(metadata->inputs[0].shape, (std::vector<int64_t>{-1, 16}));
  ASSERT_EQ(metadata->outputs.size(), 2u);
  EXPECT_EQ(metadata->outputs[1].name, "OUTPUT1");
}

TEST_F(GrpcClientTest, EveryDatatypeRoundTrip) {
  GrpcClient client = Client();
  for (DataType type : kAllDataTypes) {
    SCOPED_TRACE(DataTypeName(type));
    InferenceRequest request;
    request.model_name = IdentityModelName(type);
    request.id = "round-trip";
    request.inputs.push_back(MakeOwnedTensor("INPUT0", type, {2, 3}, SampleBytes(type)));
    StatusOr<InferResult> response = client.Infer(request);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(response->model_name, IdentityModelName(type));
    EXPECT_EQ(response->model_version, 1);
    EXPECT_EQ(response->id, "round-trip");
    EXPECT_TRUE(response->shared_memory_outputs.empty());
    ASSERT_EQ(response->outputs.size(), 1u);
    const Tensor& output = response->outputs[0];
    EXPECT_EQ(output.name, "OUTPUT0");
    EXPECT_EQ(output.datatype, type);
    EXPECT_EQ(output.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(TensorBytes(output), SampleBytes(type));
    EXPECT_NE(output.owner, nullptr);
  }
}

TEST_F(GrpcClientTest, AddSubOutputOrder) {
  std::vector<float> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 0.5f;
  }
  InferenceRequest request = AddSubRequest(a, b);
  request.requested_outputs = {"OUTPUT1", "OUTPUT0"};
  StatusOr<InferResult> response = Client().Infer(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->outputs[0].name, "OUTPUT1");
  EXPECT_EQ(response->outputs[1].name, "OUTPUT0");
  EXPECT_EQ(FloatsOf(response->outputs[0].data)[3], 2.5f);
  EXPECT_EQ(FloatsOf(response->outputs[1].data)[3], 3.5f);
}

TEST_F(GrpcClientTest, InvalidInputRejectedByServer) {
  GrpcClient client = Client();
  InferenceRequest request;
  request.model_name = "identity_fp32";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kInt32, {1, 2}, RawBytes<int32_t>({1, 2})));
  StatusOr<InferResult> response = client.Infer(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("ModelInfer on " + served_->grpc_target()));
  EXPECT_THAT(response.status().message(), HasSubstr("INPUT0"));

  // The same client and channel work right after the error.
  request.inputs[0] = MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 1}, RawBytes<float>({1.5f}));
  response = client.Infer(request);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
}

TEST_F(GrpcClientTest, InvalidInputRejectedByClient) {
  InferenceRequest request;
  request.model_name = "identity_fp32";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 2}, "abc"));
  StatusOr<InferResult> response = Client().Infer(request);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("INPUT0"));
}

TEST_F(GrpcClientTest, ConcurrentCallsShareChannel) {
  const GrpcClient client = Client();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        InferenceRequest request;
        request.model_name = "identity_int64";
        request.inputs.push_back(
            MakeOwnedTensor("INPUT0", DataType::kInt64, {1, 2}, RawBytes<int64_t>({t, i})));
        StatusOr<InferResult> response = client.Infer(request);
        if (!response.ok() || TensorBytes(response->outputs.at(0)) != RawBytes<int64_t>({t, i}))
          ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, (std::vector<int>{0, 0, 0, 0}));
}

TEST_F(GrpcClientTest, SharedMemoryRegistration) {
  GrpcClient client = Client();
  StatusOr<SharedMemoryObject> object = SharedMemoryObject::CreateUnique("moat-client-test", 4096);
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  Status registered = client.RegisterSystemSharedMemory("grpc-b", object->key(), 1024, 2048);
  ASSERT_TRUE(registered.ok()) << registered.ToString();
  registered = client.RegisterSystemSharedMemory("grpc-a", object->key(), 0, 4096);
  ASSERT_TRUE(registered.ok()) << registered.ToString();

  registered = client.RegisterSystemSharedMemory("grpc-a", object->key(), 0, 16);
  EXPECT_EQ(registered.code(), StatusCode::kAlreadyExists) << registered.ToString();

  StatusOr<std::vector<SharedMemoryRegionStatus>> regions = client.GetSystemSharedMemoryStatus();
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  ASSERT_EQ(regions->size(), 2u);
  EXPECT_EQ((*regions)[0].name, "grpc-a");
  EXPECT_EQ((*regions)[1].name, "grpc-b");
  EXPECT_EQ((*regions)[1].key, object->key());
  EXPECT_EQ((*regions)[1].offset, 1024u);
  EXPECT_EQ((*regions)[1].byte_size, 2048u);

  regions = client.GetSystemSharedMemoryStatus("grpc-b");
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  ASSERT_EQ(regions->size(), 1u);
  EXPECT_EQ((*regions)[0].name, "grpc-b");

  ASSERT_TRUE(client.UnregisterSystemSharedMemory("grpc-b").ok());
  Status unregistered = client.UnregisterSystemSharedMemory("grpc-b");
  EXPECT_EQ(unregistered.code(), StatusCode::kNotFound) << unregistered.ToString();
  ASSERT_TRUE(client.UnregisterSystemSharedMemory("").ok());
  regions = client.GetSystemSharedMemoryStatus();
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  EXPECT_TRUE(regions->empty());
}

TEST(GrpcClient, ConnectionRefused) {
  moat::testing::RefusingPort refusing;
  ASSERT_NE(refusing.port(), 0);
  const std::string target = "127.0.0.1:" + std::to_string(refusing.port());

  GrpcOptions options;
  options.timeout = std::chrono::seconds(20);
  StatusOr<GrpcClient> client = GrpcClient::Create(target, options);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<bool> live = client->IsServerLive();
  Status connected = client->WaitForConnection(std::chrono::milliseconds(100));
  ASSERT_FALSE(live.ok());
  EXPECT_EQ(live.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(live.status().message(), HasSubstr("ServerLive on " + target + ": gRPC status UNAVAILABLE"));
  EXPECT_EQ(connected.code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(connected.message(), "no gRPC connection to " + target + " after 100 ms");
}

TEST(GrpcClient, BadTarget) {
  StatusOr<GrpcClient> client = GrpcClient::Create("dns:///example.com:8001");
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace moat::client

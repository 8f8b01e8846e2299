// Inputs and outputs through POSIX shared memory with both clients, against
// the real HTTP and gRPC servers over one ModelService.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <type_traits>

#include "client/grpc_client.h"
#include "client/kserve_client.h"
#include "client/shared_memory_object.h"
#include "testing/served_models.h"
#include "testing/tiny_models.h"

namespace moat::client {
namespace {

using moat::testing::IdentityModelName;
using moat::testing::SampleBytes;
using moat::testing::TensorBytes;
using ::testing::HasSubstr;

class SharedMemoryRoundTrip : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { served_ = new moat::testing::ServedModels(moat::testing::TinyModels()); }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
  }

  static inline moat::testing::ServedModels* served_ = nullptr;
};

// Registration, inference through shared memory and unregistration all go
// over the HTTP client's one kept-alive connection.
TEST_F(SharedMemoryRoundTrip, HttpKeepsOneConnection) {
  StatusOr<KServeClient> client = KServeClient::Create(served_->http_url());
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  StatusOr<SharedMemoryObject> object = SharedMemoryObject::CreateUnique("moat-client-test", 64);
  ASSERT_TRUE(object.ok()) << object.status().ToString();
  ASSERT_TRUE(client->RegisterSystemSharedMemory("http-one-connection", object->key(), 0, 64).ok());
  InferenceRequest request;
  request.model_name = "identity_int8";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kInt8, {1, 4}, ""));
  request.requested_outputs = {"OUTPUT0"};
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {"http-one-connection", 0, 4};
  options.shared_memory_outputs["OUTPUT0"] = {"http-one-connection", 32, 4};
  for (int i = 0; i < 5; ++i) {
    std::memset(object->bytes().data(), i, 4);
    StatusOr<InferResult> response = client->Infer(request, options);
    ASSERT_TRUE(response.ok()) << response.status().ToString();
    EXPECT_EQ(object->bytes()[32 + 3], i);
  }
  ASSERT_TRUE(client->UnregisterSystemSharedMemory("http-one-connection").ok());
  EXPECT_EQ(client->connections_opened(), 1u);
}

template <typename Client>
class SharedMemoryRoundTripTest : public SharedMemoryRoundTrip {
 protected:
  static Client MakeClient() {
    if constexpr (std::is_same_v<Client, KServeClient>) {
      StatusOr<KServeClient> client = KServeClient::Create(served_->http_url());
      EXPECT_TRUE(client.ok()) << client.status().ToString();
      return std::move(client).value();
    } else {
      StatusOr<GrpcClient> client = GrpcClient::Create(served_->grpc_target());
      EXPECT_TRUE(client.ok()) << client.status().ToString();
      return std::move(client).value();
    }
  }

  static SharedMemoryObject MakeObject(size_t byte_size) {
    StatusOr<SharedMemoryObject> object = SharedMemoryObject::CreateUnique("moat-client-test", byte_size);
    EXPECT_TRUE(object.ok()) << object.status().ToString();
    return std::move(object).value();
  }

  static std::string Protocol() { return std::is_same_v<Client, KServeClient> ? "http" : "grpc"; }

  static std::string BytesAt(const SharedMemoryObject& object, size_t offset, size_t size) {
    return std::string(reinterpret_cast<const char*>(object.bytes().data()) + offset, size);
  }
};

using ClientTypes = ::testing::Types<KServeClient, GrpcClient>;
TYPED_TEST_SUITE(SharedMemoryRoundTripTest, ClientTypes);

// Every datatype: the input at the start of one region, the output at an
// offset inside another region of the same object.
TYPED_TEST(SharedMemoryRoundTripTest, EveryDatatype) {
  const TypeParam client = this->MakeClient();
  SharedMemoryObject object = this->MakeObject(4096);
  const std::string input_region = this->Protocol() + "-types-in";
  const std::string output_region = this->Protocol() + "-types-out";
  ASSERT_TRUE(client.RegisterSystemSharedMemory(input_region, object.key(), 0, 1024).ok());
  ASSERT_TRUE(client.RegisterSystemSharedMemory(output_region, object.key(), 1024, 3072).ok());

  for (DataType type : kAllDataTypes) {
    SCOPED_TRACE(DataTypeName(type));
    const std::string sample = SampleBytes(type);
    std::memset(object.bytes().data(), 0, object.byte_size());
    std::memcpy(object.bytes().data(), sample.data(), sample.size());

    InferenceRequest request;
    request.model_name = IdentityModelName(type);
    request.inputs.push_back(MakeOwnedTensor("INPUT0", type, {2, 3}, ""));
    request.requested_outputs = {"OUTPUT0"};
    InferOptions options;
    options.shared_memory_inputs["INPUT0"] = {input_region, 0, sample.size()};
    options.shared_memory_outputs["OUTPUT0"] = {output_region, 512, 1024};
    StatusOr<InferResult> response = client.Infer(request, options);
    ASSERT_TRUE(response.ok()) << response.status().ToString();

    EXPECT_TRUE(response->outputs.empty());
    ASSERT_EQ(response->shared_memory_outputs.size(), 1u);
    const SharedMemoryOutput& output = response->shared_memory_outputs[0];
    EXPECT_EQ(output.name, "OUTPUT0");
    EXPECT_EQ(output.datatype, type);
    EXPECT_EQ(output.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(output.region, output_region);
    EXPECT_EQ(output.offset, 512u);
    EXPECT_EQ(output.byte_size, sample.size());
    // The output region starts 1024 bytes into the object.
    EXPECT_EQ(this->BytesAt(object, 1024 + 512, sample.size()), sample);

    const std::span<const uint8_t> region_bytes = std::span<const uint8_t>(object.bytes()).subspan(1024);
    StatusOr<Tensor> tensor = TensorFromSharedMemory(output, region_bytes);
    ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
    EXPECT_EQ(TensorBytes(*tensor), sample);
  }
  ASSERT_TRUE(client.UnregisterSystemSharedMemory(input_region).ok());
  ASSERT_TRUE(client.UnregisterSystemSharedMemory(output_region).ok());
}

// add_sub: both inputs in one region, OUTPUT0 in shared memory and OUTPUT1 in
// the response message.
TYPED_TEST(SharedMemoryRoundTripTest, AddSubMixed) {
  const TypeParam client = this->MakeClient();
  SharedMemoryObject object = this->MakeObject(256);
  const std::string region = this->Protocol() + "-add-sub";
  ASSERT_TRUE(client.RegisterSystemSharedMemory(region, object.key(), 0, 256).ok());
  float* values = reinterpret_cast<float*>(object.bytes().data());
  for (int i = 0; i < 16; ++i) {
    values[i] = static_cast<float>(i);  // INPUT0 at offset 0
    values[16 + i] = 2.0f;              // INPUT1 at offset 64
  }

  InferenceRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 16}, ""));
  request.inputs.push_back(MakeOwnedTensor("INPUT1", DataType::kFp32, {1, 16}, ""));
  request.requested_outputs = {"OUTPUT0", "OUTPUT1"};
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {region, 0, 64};
  options.shared_memory_inputs["INPUT1"] = {region, 64, 64};
  options.shared_memory_outputs["OUTPUT0"] = {region, 128, 64};
  StatusOr<InferResult> response = client.Infer(request, options);
  ASSERT_TRUE(response.ok()) << response.status().ToString();

  ASSERT_EQ(response->shared_memory_outputs.size(), 1u);
  EXPECT_EQ(response->shared_memory_outputs[0].name, "OUTPUT0");
  ASSERT_EQ(response->outputs.size(), 1u);
  EXPECT_EQ(response->outputs[0].name, "OUTPUT1");
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(values[32 + i], static_cast<float>(i) + 2.0f) << i;
    float difference = 0;
    std::memcpy(&difference, response->outputs[0].data.data() + i * sizeof(float), sizeof(float));
    EXPECT_EQ(difference, static_cast<float>(i) - 2.0f) << i;
  }
  ASSERT_TRUE(client.UnregisterSystemSharedMemory(region).ok());
}

TYPED_TEST(SharedMemoryRoundTripTest, OutputTooSmall) {
  const TypeParam client = this->MakeClient();
  SharedMemoryObject object = this->MakeObject(128);
  const std::string region = this->Protocol() + "-small";
  ASSERT_TRUE(client.RegisterSystemSharedMemory(region, object.key(), 0, 128).ok());

  InferenceRequest request;
  request.model_name = "identity_fp32";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {2, 3}, ""));
  request.requested_outputs = {"OUTPUT0"};
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {region, 0, 24};
  options.shared_memory_outputs["OUTPUT0"] = {region, 64, 16};
  StatusOr<InferResult> response = client.Infer(request, options);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(response.status().message(), HasSubstr("OUTPUT0"));

  // The region still works with room enough.
  options.shared_memory_outputs["OUTPUT0"] = {region, 64, 64};
  response = client.Infer(request, options);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_TRUE(client.UnregisterSystemSharedMemory(region).ok());
}

TYPED_TEST(SharedMemoryRoundTripTest, UnregisteredRegion) {
  const TypeParam client = this->MakeClient();
  InferenceRequest request;
  request.model_name = "identity_fp32";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 1}, ""));
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {"never-registered", 0, 4};
  StatusOr<InferResult> response = client.Infer(request, options);
  ASSERT_FALSE(response.ok());
  EXPECT_THAT(response.status().message(), HasSubstr("never-registered"));
}

TYPED_TEST(SharedMemoryRoundTripTest, RegistrationStatus) {
  const TypeParam client = this->MakeClient();
  SharedMemoryObject object = this->MakeObject(64);
  const std::string region = this->Protocol() + "-status";
  ASSERT_TRUE(client.RegisterSystemSharedMemory(region, object.key(), 16, 48).ok());
  StatusOr<std::vector<SharedMemoryRegionStatus>> regions = client.GetSystemSharedMemoryStatus(region);
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  ASSERT_EQ(regions->size(), 1u);
  EXPECT_EQ((*regions)[0].name, region);
  EXPECT_EQ((*regions)[0].key, object.key());
  EXPECT_EQ((*regions)[0].offset, 16u);
  EXPECT_EQ((*regions)[0].byte_size, 48u);

  ASSERT_TRUE(client.UnregisterSystemSharedMemory(region).ok());
  regions = client.GetSystemSharedMemoryStatus(region);
  ASSERT_FALSE(regions.ok());
  EXPECT_EQ(regions.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace moat::client

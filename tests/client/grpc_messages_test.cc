#include "client/grpc_messages.h"

#include <gtest/gtest.h>

#include <string>

#include "testing/tensor_bytes.h"

namespace moat::client {
namespace {

using moat::testing::RawBytes;
using moat::testing::TensorBytes;

TEST(GrpcInferRequest, RawAndSharedMemory) {
  InferenceRequest request;
  request.model_name = "add_sub";
  request.model_version = 3;
  request.id = "r-7";
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 2}, ""));
  request.inputs.push_back(MakeOwnedTensor("INPUT1", DataType::kFp32, {1, 2}, RawBytes<float>({1, 2})));
  request.requested_outputs = {"OUTPUT0", "OUTPUT1"};
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {"in", 8, 8};
  options.shared_memory_outputs["OUTPUT1"] = {"out", 0, 64};
  StatusOr<inference::ModelInferRequest> message = EncodeModelInferRequest(request, options);
  ASSERT_TRUE(message.ok()) << message.status().ToString();

  EXPECT_EQ(message->model_name(), "add_sub");
  EXPECT_EQ(message->model_version(), "3");
  EXPECT_EQ(message->id(), "r-7");
  ASSERT_EQ(message->inputs_size(), 2);
  EXPECT_EQ(message->inputs(0).datatype(), "FP32");
  EXPECT_EQ(message->inputs(0).shape_size(), 2);
  const auto& parameters = message->inputs(0).parameters();
  EXPECT_EQ(parameters.at("shared_memory_region").string_param(), "in");
  EXPECT_EQ(parameters.at("shared_memory_offset").int64_param(), 8);
  EXPECT_EQ(parameters.at("shared_memory_byte_size").int64_param(), 8);
  EXPECT_TRUE(message->inputs(1).parameters().empty());
  // Only the input outside shared memory has a raw entry.
  ASSERT_EQ(message->raw_input_contents_size(), 1);
  EXPECT_EQ(message->raw_input_contents(0), RawBytes<float>({1, 2}));

  ASSERT_EQ(message->outputs_size(), 2);
  EXPECT_TRUE(message->outputs(0).parameters().empty());
  EXPECT_EQ(message->outputs(1).parameters().at("shared_memory_region").string_param(), "out");
  EXPECT_EQ(message->outputs(1).parameters().at("shared_memory_byte_size").int64_param(), 64);
}

TEST(GrpcInferRequest, OffsetBeyondInt64) {
  InferenceRequest request;
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1}, ""));
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {"in", uint64_t{1} << 63, 4};
  StatusOr<inference::ModelInferRequest> message = EncodeModelInferRequest(request, options);
  ASSERT_FALSE(message.ok());
  EXPECT_EQ(message.status().message(),
            "shared memory offset 9223372036854775808 of tensor 'INPUT0' does not fit the protocol's int64");
}

TEST(GrpcInferResponse, RawAndSharedMemory) {
  auto response = std::make_shared<inference::ModelInferResponse>();
  response->set_model_name("m");
  response->set_model_version("4");
  response->set_id("r-7");
  auto* written = response->add_outputs();
  written->set_name("a");
  written->set_datatype("INT32");
  written->add_shape(2);
  (*written->mutable_parameters())["shared_memory_region"].set_string_param("out");
  (*written->mutable_parameters())["shared_memory_byte_size"].set_int64_param(8);
  auto* returned = response->add_outputs();
  returned->set_name("b");
  returned->set_datatype("BYTES");
  returned->add_shape(1);
  response->add_raw_output_contents("");
  response->add_raw_output_contents(RawBytes<uint32_t>({2}) + "hi");

  StatusOr<InferResult> result = DecodeModelInferResponse(response);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->model_version, 4);
  EXPECT_EQ(result->id, "r-7");
  ASSERT_EQ(result->shared_memory_outputs.size(), 1u);
  EXPECT_EQ(result->shared_memory_outputs[0].name, "a");
  EXPECT_EQ(result->shared_memory_outputs[0].region, "out");
  EXPECT_EQ(result->shared_memory_outputs[0].byte_size, 8u);
  ASSERT_EQ(result->outputs.size(), 1u);
  EXPECT_EQ(result->outputs[0].name, "b");
  EXPECT_EQ(TensorBytes(result->outputs[0]), RawBytes<uint32_t>({2}) + "hi");
  // The tensor points into the message, which it keeps alive.
  EXPECT_EQ(result->outputs[0].data.data(),
            reinterpret_cast<const uint8_t*>(response->raw_output_contents(1).data()));
  EXPECT_EQ(result->outputs[0].owner, response);
}

TEST(GrpcInferResponse, Malformed) {
  struct Case {
    const char* datatype;
    int64_t dim;
    const char* raw;  // nullptr: no raw entry
    const char* message;
  };
  const Case cases[] = {
      {"FP33", 1, "abcd", "output 'x': datatype 'FP33' is unknown"},
      {"FP32", -2, "abcd", "output 'x'"},
      {"FP32", 2, "abcd", "tensor 'x'"},
      {"FP32", 1, nullptr, "output 'x' has no raw_output_contents entry"},
  };
  for (const Case& c : cases) {
    auto response = std::make_shared<inference::ModelInferResponse>();
    auto* output = response->add_outputs();
    output->set_name("x");
    output->set_datatype(c.datatype);
    output->add_shape(c.dim);
    if (c.raw != nullptr) response->add_raw_output_contents(c.raw);
    StatusOr<InferResult> result = DecodeModelInferResponse(response);
    ASSERT_FALSE(result.ok()) << c.message;
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(result.status().message().find(c.message), std::string::npos) << result.status().message();
  }
}

TEST(GrpcMetadata, Decode) {
  inference::ModelMetadataResponse response;
  response.set_name("m");
  response.set_platform("onnxruntime");
  response.add_versions("1");
  response.add_versions("12");
  auto* input = response.add_inputs();
  input->set_name("x");
  input->set_datatype("UINT8");
  input->add_shape(-1);
  input->add_shape(3);
  StatusOr<ModelMetadata> metadata = DecodeModelMetadataResponse(response);
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(metadata->versions, (std::vector<int64_t>{1, 12}));
  ASSERT_EQ(metadata->inputs.size(), 1u);
  EXPECT_EQ(metadata->inputs[0].datatype, DataType::kUint8);
  EXPECT_EQ(metadata->inputs[0].shape, (std::vector<int64_t>{-1, 3}));

  response.add_versions("v2");
  metadata = DecodeModelMetadataResponse(response);
  ASSERT_FALSE(metadata.ok());
  EXPECT_NE(metadata.status().message().find("'v2'"), std::string::npos) << metadata.status().message();
}

}  // namespace
}  // namespace moat::client

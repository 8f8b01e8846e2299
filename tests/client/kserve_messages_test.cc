#include "client/kserve_messages.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cmath>
#include <string>
#include <vector>

#include "client/half_float.h"
#include "client/tensor_json.h"

namespace moat::client {
namespace {

StatusOr<InferResult> DecodeWithBinary(const std::string& json, const std::string& binary) {
  return DecodeInferResponse(json + binary, json.size());
}

TEST(InferResponse, LeftoverBinary) {
  const std::string json = R"({"model_name":"m","outputs":[{"name":"y","datatype":"UINT8","shape":[2],)"
                           R"("parameters":{"binary_data_size":2}}]})";
  EXPECT_TRUE(DecodeWithBinary(json, "ab").ok());
  StatusOr<InferResult> response = DecodeWithBinary(json, "abc");
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("1 bytes of binary data that no output claims"),
            std::string::npos)
      << response.status().message();
}

TEST(InferResponse, BinarySizeBeyondBody) {
  const std::string json = R"({"model_name":"m","outputs":[{"name":"y","datatype":"UINT8","shape":[4],)"
                           R"("parameters":{"binary_data_size":4}}]})";
  StatusOr<InferResult> response = DecodeWithBinary(json, "ab");
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("output 'y'"), std::string::npos) << response.status().message();
}

TEST(InferResponse, BinarySizeMismatchesShape) {
  const std::string json = R"({"model_name":"m","outputs":[{"name":"y","datatype":"FP32","shape":[2],)"
                           R"("parameters":{"binary_data_size":4}}]})";
  StatusOr<InferResult> response = DecodeWithBinary(json, "abcd");
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("tensor 'y'"), std::string::npos) << response.status().message();
}

TEST(InferResponse, MalformedJson) {
  StatusOr<InferResult> response = DecodeInferResponse(R"({"model_name":)", std::nullopt);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("not valid JSON"), std::string::npos)
      << response.status().message();
  response = DecodeInferResponse(R"({"model_name":"m"})", std::nullopt);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("outputs"), std::string::npos) << response.status().message();
}

TEST(InferResponse, JsonDataErrors) {
  struct Case {
    const char* output;
    const char* message;
  };
  const Case cases[] = {
      {R"({"name":"y","datatype":"UINT8","shape":[2],"data":[1,300]})",
       "element 1 of \"data\" is not a valid UINT8"},
      {R"({"name":"y","datatype":"INT32","shape":[3],"data":[1,2]})", "has 2 elements but the shape needs 3"},
      {R"({"name":"y","datatype":"BOOL","shape":[1],"data":[1]})", "not a valid BOOL"},
      {R"({"name":"y","datatype":"FP32","shape":[1],"data":[1e300]})", "not a valid FP32"},
      {R"({"name":"y","datatype":"FP99","shape":[1],"data":[1]})", "'FP99' is unknown"},
      {R"({"name":"y","datatype":"FP32","shape":[-1],"data":[1]})", "invalid dimension"},
      {R"({"name":"y","datatype":"FP32","shape":[1]})", "neither \"data\" nor binary data"},
  };
  for (const Case& c : cases) {
    const std::string json = std::string(R"({"model_name":"m","outputs":[)") + c.output + "]}";
    StatusOr<InferResult> response = DecodeInferResponse(json, std::nullopt);
    ASSERT_FALSE(response.ok()) << c.output;
    EXPECT_NE(response.status().message().find(c.message), std::string::npos)
        << c.output << ": " << response.status().message();
  }
}

TEST(InferResponse, NestedJsonData) {
  const std::string json =
      R"({"model_name":"m","outputs":[{"name":"y","datatype":"INT8","shape":[2,2],"data":[[1,-2],[3,-4]]}]})";
  StatusOr<InferResult> response = DecodeInferResponse(json, std::nullopt);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const std::vector<uint8_t> bytes(response->outputs[0].data.begin(), response->outputs[0].data.end());
  EXPECT_EQ(bytes, (std::vector<uint8_t>{1, 0xfe, 3, 0xfc}));
}

TEST(InferRequest, NanInJson) {
  InferenceRequest request;
  const float nan = std::nanf("");
  std::string bytes(sizeof(float), '\0');
  std::memcpy(bytes.data(), &nan, sizeof(float));
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1}, bytes));
  InferOptions options;
  options.binary_inputs = false;
  StatusOr<EncodedRequest> encoded = EncodeInferRequest(request, options);
  ASSERT_FALSE(encoded.ok());
  EXPECT_NE(encoded.status().message().find("tensor 'INPUT0': element 0 is NaN"), std::string::npos)
      << encoded.status().message();
  // As binary data the same tensor is fine.
  EXPECT_TRUE(EncodeInferRequest(request, {}).ok());
}

TEST(InferRequest, ShapeMismatch) {
  InferenceRequest request;
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {2}, "four"));
  StatusOr<EncodedRequest> encoded = EncodeInferRequest(request, {});
  ASSERT_FALSE(encoded.ok());
  EXPECT_NE(encoded.status().message().find("INPUT0"), std::string::npos) << encoded.status().message();
}

TEST(InferRequest, SharedMemoryAndBinaryInputs) {
  // INPUT0 travels in shared memory, INPUT1 as binary data after the JSON.
  InferenceRequest request;
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 2}, ""));
  request.inputs.push_back(MakeOwnedTensor("INPUT1", DataType::kFp32, {1, 2}, std::string(8, 'b')));
  request.requested_outputs = {"OUTPUT0", "OUTPUT1"};
  InferOptions options;
  options.shared_memory_inputs["INPUT0"] = {"region", 0, 8};
  options.shared_memory_outputs["OUTPUT1"] = {"region", 64, 8};
  StatusOr<EncodedRequest> encoded = EncodeInferRequest(request, options);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  ASSERT_TRUE(encoded->json_length.has_value());
  EXPECT_EQ(encoded->body.substr(*encoded->json_length), std::string(8, 'b'));

  rapidjson::Document json;
  json.Parse(encoded->body.data(), *encoded->json_length);
  ASSERT_FALSE(json.HasParseError());
  EXPECT_STREQ(json["inputs"][0]["parameters"]["shared_memory_region"].GetString(), "region");
  EXPECT_EQ(json["inputs"][1]["parameters"]["binary_data_size"].GetUint64(), 8u);
  EXPECT_TRUE(json["outputs"][0]["parameters"]["binary_data"].GetBool());
  EXPECT_EQ(json["outputs"][1]["parameters"]["shared_memory_offset"].GetUint64(), 64u);
}

TEST(InferRequest, SharedMemoryInputUnknown) {
  InferenceRequest request;
  request.inputs.push_back(MakeOwnedTensor("INPUT0", DataType::kFp32, {1}, std::string(4, 'a')));
  InferOptions options;
  options.shared_memory_inputs["INPUT7"] = {"region", 0, 4};
  StatusOr<EncodedRequest> encoded = EncodeInferRequest(request, options);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().message(), "shared memory input 'INPUT7' is not an input of the request");
  options.shared_memory_inputs = {{"INPUT0", {"", 0, 4}}};
  encoded = EncodeInferRequest(request, options);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().message(), "shared memory input 'INPUT0' names no region");
}

TEST(InferResponse, SharedMemoryOutput) {
  const std::string json =
      R"({"model_name":"m","outputs":[{"name":"a","datatype":"INT32","shape":[2],)"
      R"("parameters":{"shared_memory_region":"r","shared_memory_byte_size":8}},)"
      R"({"name":"b","datatype":"UINT8","shape":[3],"parameters":{"binary_data_size":3}}]})";
  StatusOr<InferResult> response = DecodeWithBinary(json, "xyz");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  ASSERT_EQ(response->outputs.size(), 1u);
  EXPECT_EQ(response->outputs[0].name, "b");
  ASSERT_EQ(response->shared_memory_outputs.size(), 1u);
  EXPECT_EQ(response->shared_memory_outputs[0].name, "a");
  EXPECT_EQ(response->shared_memory_outputs[0].datatype, DataType::kInt32);
  EXPECT_EQ(response->shared_memory_outputs[0].region, "r");
  EXPECT_EQ(response->shared_memory_outputs[0].byte_size, 8u);

  response =
      DecodeInferResponse(R"({"model_name":"m","outputs":[{"name":"a","datatype":"INT32","shape":[2],)"
                          R"("parameters":{"shared_memory_region":"r","shared_memory_byte_size":-8}}]})",
                          std::nullopt);
  ASSERT_FALSE(response.ok());
  EXPECT_NE(
      response.status().message().find("shared_memory_byte_size is missing or not a non-negative integer"),
      std::string::npos)
      << response.status().message();
}

TEST(SharedMemoryStatus, Decode) {
  StatusOr<std::vector<SharedMemoryRegionStatus>> regions = DecodeSharedMemoryStatus(
      R"([{"name":"a","key":"/a","offset":0,"byte_size":10},{"name":"b","key":"/b","offset":4,"byte_size":6}])");
  ASSERT_TRUE(regions.ok()) << regions.status().ToString();
  ASSERT_EQ(regions->size(), 2u);
  EXPECT_EQ((*regions)[1].name, "b");
  EXPECT_EQ((*regions)[1].key, "/b");
  EXPECT_EQ((*regions)[1].offset, 4u);
  EXPECT_EQ((*regions)[1].byte_size, 6u);

  EXPECT_FALSE(DecodeSharedMemoryStatus(R"({"name":"a"})").ok());
  regions = DecodeSharedMemoryStatus(R"([{"name":"a","key":"/a","offset":0}])");
  ASSERT_FALSE(regions.ok());
  EXPECT_NE(regions.status().message().find("regions[0].byte_size"), std::string::npos)
      << regions.status().message();
}

TEST(SharedMemoryOutputs, TensorView) {
  std::vector<uint8_t> region(32, 0);
  SharedMemoryOutput output{"OUTPUT0", DataType::kFp32, {2, 2}, "r", 8, 16};
  StatusOr<Tensor> tensor = TensorFromSharedMemory(output, region);
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  EXPECT_EQ(tensor->data.data(), region.data() + 8);
  EXPECT_EQ(tensor->data.size(), 16u);

  output.offset = 24;
  tensor = TensorFromSharedMemory(output, region);
  ASSERT_FALSE(tensor.ok());
  EXPECT_NE(tensor.status().message().find("pass the end of the 32-byte region 'r'"), std::string::npos)
      << tensor.status().message();

  output.offset = 0;
  output.byte_size = 12;
  EXPECT_FALSE(TensorFromSharedMemory(output, region).ok());
}

TEST(ErrorText, FromBody) {
  EXPECT_EQ(ErrorMessageFromBody(R"({"error":"bad tensor 'x'"})"), "bad tensor 'x'");
  EXPECT_EQ(ErrorMessageFromBody("plain text"), "plain text");
  EXPECT_EQ(ErrorMessageFromBody(std::string(3000, 'a')).size(), 2003u);
}

TEST(HalfFloat, KnownValues) {
  struct Case {
    float value;
    uint16_t half;
  };
  const Case cases[] = {
      {0.0f, 0x0000},           {-0.0f, 0x8000},         {1.0f, 0x3c00},
      {-2.0f, 0xc000},          {65504.0f, 0x7bff},       // the largest finite FP16
      {65520.0f, 0x7c00},                                 // halfway to 65536: rounds to infinity
      {1e9f, 0x7c00},           {5.9604645e-8f, 0x0001},  // the smallest subnormal, 2^-24
      {6.1035156e-5f, 0x0400},                            // the smallest normal, 2^-14
      {1.00048828125f, 0x3c00},                           // halfway between 0x3c00 and 0x3c01: to even
      {1.00146484375f, 0x3c02},                           // halfway between 0x3c01 and 0x3c02: to even
  };
  for (const Case& c : cases) EXPECT_EQ(FloatToHalfBits(c.value), c.half) << c.value;
  EXPECT_EQ(HalfBitsToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfBitsToFloat(0xc000), -2.0f);
  EXPECT_EQ(HalfBitsToFloat(0x0001), 5.9604645e-8f);
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(FloatToHalfBits(std::nanf("")))));
  EXPECT_TRUE(std::isinf(HalfBitsToFloat(0x7c00)));
}

TEST(HalfFloat, AllHalvesRoundTrip) {
  for (uint32_t bits = 0; bits <= 0xffff; ++bits) {
    const float value = HalfBitsToFloat(static_cast<uint16_t>(bits));
    if (std::isnan(value)) continue;
    ASSERT_EQ(FloatToHalfBits(value), bits) << std::hex << bits;
  }
}

TEST(Bf16, RoundsToNearestEven) {
  EXPECT_EQ(FloatToBf16Bits(1.0f), 0x3f80);
  EXPECT_EQ(Bf16BitsToFloat(0x3f80), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7; ties go to the even 1.
  EXPECT_EQ(FloatToBf16Bits(1.00390625f), 0x3f80);
  EXPECT_EQ(FloatToBf16Bits(1.01171875f), 0x3f82);
  EXPECT_TRUE(std::isnan(Bf16BitsToFloat(FloatToBf16Bits(std::nanf("")))));
}

}  // namespace
}  // namespace moat::client

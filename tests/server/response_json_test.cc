#include "server/response_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstring>

#include "server/infer_request_parser.h"
#include "shm/shared_memory.h"
#include "testing/tensor_bytes.h"

namespace moat::server {
namespace {

using moat::testing::BytesElement;
using moat::testing::RawBytes;
using moat::testing::TensorBytes;

using ::testing::HasSubstr;

InferenceResponse ResponseWith(std::vector<Tensor> outputs) {
  InferenceResponse response;
  response.model_name = "m";
  response.model_version = 3;
  response.outputs = std::move(outputs);
  return response;
}

rapidjson::Document ParseJsonText(std::string_view text) {
  rapidjson::Document document;
  document.Parse<rapidjson::kParseFullPrecisionFlag>(text.data(), text.size());
  EXPECT_FALSE(document.HasParseError()) << text;
  return document;
}

// Sample data of two elements of every datatype, in binary form.
std::string SampleBytes(DataType type) {
  switch (type) {
    case DataType::kBool:
      return std::string("\x01\x00", 2);
    case DataType::kBytes:
      return BytesElement("ok") + BytesElement(std::string("\xff\x00", 2));
    default: {
      std::string bytes;
      for (size_t i = 0; i < 2 * DataTypeSize(type); ++i) bytes.push_back(static_cast<char>(0x30 + i));
      return bytes;
    }
  }
}

TEST(ResponseJson, JsonOutputs) {
  InferenceResponse response = ResponseWith({
      MakeOwnedTensor("f", DataType::kFp32, {2}, RawBytes<float>({0.5f, -2.0f})),
      MakeOwnedTensor("i", DataType::kInt64, {1, 2}, RawBytes<int64_t>({-7, 9000000000})),
      MakeOwnedTensor("u", DataType::kUint64, {1}, RawBytes<uint64_t>({18446744073709551615u})),
      MakeOwnedTensor("b", DataType::kBool, {2}, std::string("\x01\x00", 2)),
      MakeOwnedTensor("s", DataType::kBytes, {2}, BytesElement("hi") + BytesElement("")),
      MakeOwnedTensor("h", DataType::kFp16, {3}, RawBytes<uint16_t>({0x3C00, 0xC000, 0x0001})),
      MakeOwnedTensor("bf", DataType::kBf16, {1}, RawBytes<uint16_t>({0x3F80})),
  });
  auto encoded = EncodeInferResponse(response, OutputFormat{});
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_FALSE(encoded->header_length.has_value());

  rapidjson::Document document = ParseJsonText(encoded->body);
  EXPECT_STREQ(document["model_name"].GetString(), "m");
  EXPECT_STREQ(document["model_version"].GetString(), "3");
  EXPECT_FALSE(document.HasMember("id"));
  const auto& outputs = document["outputs"];
  ASSERT_EQ(outputs.Size(), 7u);
  EXPECT_STREQ(outputs[0]["datatype"].GetString(), "FP32");
  EXPECT_EQ(outputs[0]["shape"][0].GetInt(), 2);
  EXPECT_EQ(outputs[0]["data"][0].GetDouble(), 0.5);
  EXPECT_EQ(outputs[0]["data"][1].GetDouble(), -2.0);
  EXPECT_EQ(outputs[1]["data"][1].GetInt64(), 9000000000);
  EXPECT_EQ(outputs[2]["data"][0].GetUint64(), 18446744073709551615u);
  EXPECT_TRUE(outputs[3]["data"][0].GetBool());
  EXPECT_FALSE(outputs[3]["data"][1].GetBool());
  EXPECT_STREQ(outputs[4]["data"][0].GetString(), "hi");
  EXPECT_STREQ(outputs[4]["data"][1].GetString(), "");
  EXPECT_EQ(outputs[5]["data"][0].GetDouble(), 1.0);
  EXPECT_EQ(outputs[5]["data"][1].GetDouble(), -2.0);
  EXPECT_EQ(outputs[5]["data"][2].GetDouble(), std::ldexp(1.0, -24));  // the smallest subnormal half
  EXPECT_EQ(outputs[6]["data"][0].GetDouble(), 1.0);
  EXPECT_FALSE(outputs[0].HasMember("parameters"));
}

TEST(ResponseJson, EchoesId) {
  InferenceResponse response = ResponseWith({});
  response.id = "abc";
  auto encoded = EncodeInferResponse(response, OutputFormat{});
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  EXPECT_STREQ(ParseJsonText(encoded->body)["id"].GetString(), "abc");
}

TEST(ResponseJson, NonUtf8BytesNeedBinary) {
  InferenceResponse response =
      ResponseWith({MakeOwnedTensor("s", DataType::kBytes, {1}, BytesElement("\xff"))});
  auto encoded = EncodeInferResponse(response, OutputFormat{});
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(encoded.status().message(), HasSubstr("output 's': BYTES element 0 is not UTF-8 text"));
  EXPECT_THAT(encoded.status().message(), HasSubstr("\"binary_data\": true"));

  OutputFormat binary;
  binary.binary_by_default = true;
  EXPECT_TRUE(EncodeInferResponse(response, binary).ok());
}

TEST(ResponseJson, OutputNotMatchingShape) {
  InferenceResponse response =
      ResponseWith({MakeOwnedTensor("f", DataType::kFp32, {2}, RawBytes<float>({1}))});
  auto encoded = EncodeInferResponse(response, OutputFormat{});
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().code(), StatusCode::kInternal);
  EXPECT_THAT(encoded.status().message(), HasSubstr("needs 8 bytes, got 4"));
}

TEST(ResponseJson, MixedBinaryAndJsonOutputs) {
  InferenceResponse response = ResponseWith({
      MakeOwnedTensor("a", DataType::kFp32, {2}, RawBytes<float>({1, 2})),
      MakeOwnedTensor("b", DataType::kInt8, {2}, RawBytes<int8_t>({3, 4})),
      MakeOwnedTensor("c", DataType::kUint16, {1}, RawBytes<uint16_t>({5})),
  });
  OutputFormat format;
  format.binary_by_default = true;
  format.binary_by_name["b"] = false;
  auto encoded = EncodeInferResponse(response, format);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  ASSERT_TRUE(encoded->header_length.has_value());

  std::string_view body = encoded->body;
  rapidjson::Document header = ParseJsonText(body.substr(0, *encoded->header_length));
  const auto& outputs = header["outputs"];
  EXPECT_EQ(outputs[0]["parameters"]["binary_data_size"].GetUint64(), 8u);
  EXPECT_FALSE(outputs[0].HasMember("data"));
  EXPECT_EQ(outputs[1]["data"][1].GetInt(), 4);
  EXPECT_EQ(outputs[2]["parameters"]["binary_data_size"].GetUint64(), 2u);
  EXPECT_EQ(body.substr(*encoded->header_length), RawBytes<float>({1, 2}) + RawBytes<uint16_t>({5}));
}

TEST(ResponseJson, SharedMemoryOutputsCarryOnlyTheirRegion) {
  Tensor in_region = MakeOwnedTensor("a", DataType::kFp32, {2}, RawBytes<float>({1, 2}));
  Tensor binary = MakeOwnedTensor("b", DataType::kUint16, {1}, RawBytes<uint16_t>({5}));
  OutputFormat format;
  format.binary_by_default = true;
  format.shared_memory_by_name["a"] = shm::SharedMemoryReference{"out", 16, 8};
  SharedMemoryWrites writes;
  writes["a"] = 8;
  auto encoded = EncodeInferResponse(ResponseWith({in_region, binary}), format, writes);
  ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
  ASSERT_TRUE(encoded->header_length.has_value());
  EXPECT_EQ(encoded->body.substr(*encoded->header_length), RawBytes<uint16_t>({5}));

  rapidjson::Document header = ParseJsonText(encoded->body.substr(0, *encoded->header_length));
  const auto& output = header["outputs"][0];
  EXPECT_STREQ(output["name"].GetString(), "a");
  EXPECT_FALSE(output.HasMember("data"));
  EXPECT_STREQ(output["parameters"]["shared_memory_region"].GetString(), "out");
  EXPECT_EQ(output["parameters"]["shared_memory_byte_size"].GetUint64(), 8u);
  EXPECT_FALSE(output["parameters"].HasMember("binary_data_size"));
  EXPECT_EQ(header["outputs"][1]["parameters"]["binary_data_size"].GetUint64(), 2u);
}

// Binary request -> parsed tensors -> binary response, for every datatype:
// the bytes must come back unchanged.
TEST(ResponseJson, BinaryRoundTripOfEveryDatatype) {
  shm::SharedMemoryManager shared_memory(false);
  for (DataType type : kAllDataTypes) {
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    std::string binary = SampleBytes(type);
    std::string json = R"({"inputs":[{"name":"INPUT0","datatype":")" + name + R"(","shape":[1,2],)" +
                       R"("parameters":{"binary_data_size":)" + std::to_string(binary.size()) + "}}]," +
                       R"("outputs":[{"name":"INPUT0","parameters":{"binary_data":true}}]})";
    auto parsed = ParseInferRequest(std::make_shared<const std::string>(json + binary),
                                    std::to_string(json.size()), shared_memory);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();

    auto encoded = EncodeInferResponse(ResponseWith(parsed->request.inputs), parsed->output_format);
    ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();
    ASSERT_TRUE(encoded->header_length.has_value());
    std::string_view body = encoded->body;
    rapidjson::Document header = ParseJsonText(body.substr(0, *encoded->header_length));
    const auto& output = header["outputs"][0];
    EXPECT_STREQ(output["datatype"].GetString(), name.c_str());
    EXPECT_EQ(output["shape"][1].GetInt(), 2);
    EXPECT_EQ(output["parameters"]["binary_data_size"].GetUint64(), binary.size());
    EXPECT_EQ(body.substr(*encoded->header_length), binary);
  }
}

TEST(ResponseJson, JsonRoundTripOfEveryJsonDatatype) {
  shm::SharedMemoryManager shared_memory(false);
  for (DataType type : kAllDataTypes) {
    if (type == DataType::kFp16 || type == DataType::kBf16) continue;
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    std::string binary = type == DataType::kBytes ? BytesElement("ok") + BytesElement("") : SampleBytes(type);
    Tensor tensor = MakeOwnedTensor("x", type, {2}, binary);
    auto encoded = EncodeInferResponse(ResponseWith({tensor}), OutputFormat{});
    ASSERT_TRUE(encoded.ok()) << encoded.status().ToString();

    // The output object doubles as a request input: same fields, flat data.
    rapidjson::Document response = ParseJsonText(encoded->body);
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    response["outputs"][0].Accept(writer);
    std::string request = std::string(R"({"inputs":[)") + buffer.GetString() + "]}";
    auto parsed =
        ParseInferRequest(std::make_shared<const std::string>(request), std::nullopt, shared_memory);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(TensorBytes(parsed->request.inputs[0]), binary);
  }
}

TEST(ResponseJson, ServerMetadata) {
  ServerMetadata metadata{"moat", "0.1.0", {"binary_tensor_data"}};
  rapidjson::Document document = ParseJsonText(ServerMetadataJson(metadata));
  EXPECT_STREQ(document["name"].GetString(), "moat");
  EXPECT_STREQ(document["version"].GetString(), "0.1.0");
  EXPECT_STREQ(document["extensions"][0].GetString(), "binary_tensor_data");
}

TEST(ResponseJson, ModelMetadata) {
  ModelMetadata metadata;
  metadata.name = "add_sub";
  metadata.versions = {1, 2};
  metadata.platform = "onnxruntime";
  metadata.inputs = {{"INPUT0", DataType::kFp32, {-1, 16}}};
  metadata.outputs = {{"OUTPUT0", DataType::kFp32, {-1, 16}}};
  rapidjson::Document document = ParseJsonText(ModelMetadataJson(metadata));
  EXPECT_STREQ(document["name"].GetString(), "add_sub");
  EXPECT_STREQ(document["versions"][1].GetString(), "2");
  EXPECT_STREQ(document["platform"].GetString(), "onnxruntime");
  EXPECT_STREQ(document["inputs"][0]["name"].GetString(), "INPUT0");
  EXPECT_STREQ(document["inputs"][0]["datatype"].GetString(), "FP32");
  EXPECT_EQ(document["inputs"][0]["shape"][0].GetInt(), -1);
  EXPECT_STREQ(document["outputs"][0]["name"].GetString(), "OUTPUT0");
}

}  // namespace
}  // namespace moat::server

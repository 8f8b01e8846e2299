#include "server/infer_request_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

#include "shm/shared_memory.h"
#include "testing/tensor_bytes.h"

namespace moat::server {
namespace {

using moat::testing::BytesElement;
using moat::testing::RawBytes;
using moat::testing::TensorBytes;

using ::testing::HasSubstr;

// Shared memory is disabled here; shared_memory_http_test.cc covers it enabled.
const shm::SharedMemoryManager& NoSharedMemory() {
  static const shm::SharedMemoryManager manager(false);
  return manager;
}

std::shared_ptr<const std::string> Body(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

StatusOr<ParsedInferRequest> ParseJson(std::string json) {
  return ParseInferRequest(Body(std::move(json)), std::nullopt, NoSharedMemory());
}

struct MalformedCase {
  std::string label;
  std::string body;
  std::optional<std::string> header_length;
  StatusCode code;
  std::string fragment;
};

// An input object with the given datatype, shape and data.
std::string Request(std::string_view datatype, std::string_view shape, std::string_view data) {
  return R"({"inputs":[{"name":"x","datatype":")" + std::string(datatype) + R"(","shape":)" +
         std::string(shape) + R"(,"data":)" + std::string(data) + "}]}";
}

std::vector<MalformedCase> MalformedCases() {
  const auto bad = StatusCode::kInvalidArgument;
  const auto unsupported = StatusCode::kUnimplemented;
  const std::string binary_input = R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],)"
                                   R"("parameters":{"binary_data_size":16}}]})";
  const std::string binary_header_length = std::to_string(binary_input.size());
  const std::string short_input = R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],)"
                                  R"("parameters":{"binary_data_size":12}}]})";
  const std::string bytes_input = R"({"inputs":[{"name":"x","datatype":"BYTES","shape":[1],)"
                                  R"("parameters":{"binary_data_size":6}}]})";
  return {
      {"empty body", "", std::nullopt, bad, "malformed JSON in the infer request at offset 0"},
      {"truncated JSON", R"({"inputs": [)", std::nullopt, bad,
       "malformed JSON in the infer request at offset 12"},
      {"trailing garbage", R"({"inputs":[]} x)", std::nullopt, bad, "malformed JSON"},
      {"root not object", "[1,2]", std::nullopt, bad, "infer request: expected a JSON object, got an array"},
      {"missing inputs", "{}", std::nullopt, bad, "missing field 'inputs'"},
      {"unknown field", R"({"inputs":[],"input":[]})", std::nullopt, bad, "unknown field 'input'"},
      {"duplicate field", R"({"inputs":[],"inputs":[]})", std::nullopt, bad, "duplicate field 'inputs'"},
      {"inputs not array", R"({"inputs":{}})", std::nullopt, bad, "'inputs' must be an array, got an object"},
      {"input not object", R"({"inputs":[3]})", std::nullopt, bad, "input 0: expected a JSON object, got 3"},
      {"missing name", R"({"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]})", std::nullopt, bad,
       "input 0: missing field 'name'"},
      {"name not string", R"({"inputs":[{"name":7,"datatype":"FP32","shape":[1],"data":[1]}]})", std::nullopt,
       bad, "input 0: 'name' must be a string, got 7"},
      {"missing datatype", R"({"inputs":[{"name":"x","shape":[1],"data":[1]}]})", std::nullopt, bad,
       "input 'x': missing field 'datatype'"},
      {"unknown datatype", Request("FP8", "[1]", "[1]"), std::nullopt, bad,
       "input 'x': unknown datatype \"FP8\""},
      {"lower-case datatype", Request("fp32", "[1]", "[1]"), std::nullopt, bad,
       "unknown datatype \"fp32\"; use one of BOOL, UINT8"},
      {"missing shape", R"({"inputs":[{"name":"x","datatype":"FP32","data":[1]}]})", std::nullopt, bad,
       "input 'x': missing field 'shape'"},
      {"shape not array", Request("FP32", "4", "[1]"), std::nullopt, bad, "'shape' must be an array, got 4"},
      {"fractional dimension", Request("FP32", "[1.5]", "[1]"), std::nullopt, bad,
       "shape dimension 0 (1.5) is not an integer"},
      {"negative dimension", Request("FP32", "[2,-1]", "[1,2]"), std::nullopt, bad, "negative dimension -1"},
      {"overflowing shape", Request("FP32", "[4294967296,4294967296]", "[]"), std::nullopt, bad, "overflows"},
      {"data not array", Request("FP32", "[1]", "5"), std::nullopt, bad,
       "input 'x': 'data' must be an array, got 5"},
      {"flat data too short", Request("FP32", "[2,2]", "[1,2,3]"), std::nullopt, bad,
       "'data' has 3 elements but shape [2,2] needs 4"},
      {"nested data not rectangular", Request("FP32", "[2,2]", "[[1,2],[3]]"), std::nullopt, bad,
       "not rectangular for shape [2,2]: an array at depth 1 has 1 elements, expected 2"},
      {"nested data too deep", Request("FP32", "[2]", "[[1],[2]]"), std::nullopt, bad,
       "nests deeper than shape [2]"},
      {"nested data with scalar", Request("FP32", "[2,2]", "[[1,2],3]"), std::nullopt, bad,
       "'data' at depth 1 is 3 but shape [2,2] needs an array of 2 elements there"},
      {"UINT8 above range", Request("UINT8", "[2]", "[1,300]"), std::nullopt, bad,
       "input 'x': element 1 (300) is out of range for UINT8"},
      {"INT8 below range", Request("INT8", "[1]", "[-129]"), std::nullopt, bad,
       "element 0 (-129) is out of range for INT8"},
      {"INT64 above range", Request("INT64", "[1]", "[9223372036854775808]"), std::nullopt, bad,
       "(9223372036854775808) is out of range for INT64"},
      {"UINT64 negative", Request("UINT64", "[1]", "[-1]"), std::nullopt, bad,
       "(-1) is out of range for UINT64"},
      {"UINT64 above range", Request("UINT64", "[1]", "[18446744073709551616]"), std::nullopt, bad,
       "is not an integer, as UINT64 requires"},
      {"integer given fraction", Request("INT32", "[1]", "[1.5]"), std::nullopt, bad,
       "element 0 (1.5) is not an integer, as INT32 requires"},
      {"BOOL given number", Request("BOOL", "[2]", "[true,1]"), std::nullopt, bad,
       "element 1 (1) is not true or false, as BOOL requires"},
      {"FP32 given string", Request("FP32", "[1]", R"(["1"])"), std::nullopt, bad,
       "element 0 (\"1\") is not a number, as FP32 requires"},
      {"FP32 above range", Request("FP32", "[1]", "[1e39]"), std::nullopt, bad, "is out of range for FP32"},
      {"FP64 given null", Request("FP64", "[1]", "[null]"), std::nullopt, bad,
       "element 0 (null) is not a number"},
      {"BYTES given number", Request("BYTES", "[1]", "[1]"), std::nullopt, bad,
       "is not a string, as BYTES requires"},
      {"FP16 as JSON", Request("FP16", "[1]", "[1]"), std::nullopt, bad,
       "input 'x' is FP16, which has no JSON form; send it as binary data with the \"binary_data_size\" "
       "parameter"},
      {"BF16 as JSON", Request("BF16", "[1]", "[1]"), std::nullopt, bad,
       "input 'x' is BF16, which has no JSON form"},
      {"duplicate input name",
       R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1]},)"
       R"({"name":"x","datatype":"FP32","shape":[1],"data":[2]}]})",
       std::nullopt, bad, "input 'x' appears more than once"},
      {"no data", R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]})", std::nullopt, bad,
       "input 'x' has no data; send one of 'data', the 'binary_data_size' parameter and the "
       "'shared_memory_region' parameter"},
      {"data and binary size",
       R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]})",
       std::nullopt, bad, "input 'x' has more than one data source"},
      {"unknown input field", R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"dat":[1]}]})",
       std::nullopt, bad, "input 'x': unknown field 'dat'"},
      {"shared memory input while disabled",
       R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"shared_memory_region":"r"}}]})",
       std::nullopt, StatusCode::kFailedPrecondition,
       "input 'x': shared memory is disabled on this server; start the server with --allow-shared-memory"},
      {"shared memory output while disabled",
       R"({"inputs":[],"outputs":[{"name":"y","parameters":{"shared_memory_region":"r","shared_memory_byte_size":4}}]})",
       std::nullopt, StatusCode::kFailedPrecondition, "requested output 'y': shared memory is disabled"},
      {"negative binary size",
       R"({"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":-4}}]})",
       std::nullopt, bad, "'binary_data_size' must be a non-negative integer, got -4"},
      {"binary without header length", binary_input + RawBytes<float>({1, 2, 3, 4}), std::nullopt, bad,
       "has no Inference-Header-Content-Length header"},
      {"binary past end of body", binary_input + RawBytes<float>({1, 2, 3}), binary_header_length, bad,
       "binary_data_size 16 runs past the end of the body, where only 12 bytes remain"},
      {"bytes after binary data", binary_input + RawBytes<float>({1, 2, 3, 4, 5}), binary_header_length, bad,
       "4 bytes of the body follow the binary data of the last input"},
      {"binary size not matching shape", short_input + RawBytes<float>({1, 2, 3}),
       std::to_string(short_input.size()), bad, "tensor 'x': shape [1,4] of FP32 needs 16 bytes, got 12"},
      {"binary BYTES element too long", bytes_input + RawBytes<uint32_t>({5}) + "ab",
       std::to_string(bytes_input.size()), bad, "BYTES element 0 has length 5 but only 2 bytes remain"},
      {"header length above body", R"({"inputs":[]})", "100", bad,
       "Inference-Header-Content-Length 100 is larger than the request body of 13 bytes"},
      {"header length not a number", R"({"inputs":[]})", "12a", bad,
       "Inference-Header-Content-Length '12a' is not a decimal byte count"},
      {"header length negative", R"({"inputs":[]})", "-1", bad, "is not a decimal byte count"},
      {"id not string", R"({"id":5,"inputs":[]})", std::nullopt, bad, "'id' must be a string, got 5"},
      {"binary_data_output not bool", R"({"inputs":[],"parameters":{"binary_data_output":"yes"}})",
       std::nullopt, bad, "parameter 'binary_data_output' must be true or false, got \"yes\""},
      {"negative priority", R"({"inputs":[],"parameters":{"priority":-1}})", std::nullopt, bad,
       "parameter 'priority' is negative (-1)"},
      {"priority above uint32", R"({"inputs":[],"parameters":{"priority":4294967296}})", std::nullopt, bad,
       "parameter 'priority' is 4294967296, above the maximum 4294967295"},
      {"priority as string", R"({"inputs":[],"parameters":{"priority":"1"}})", std::nullopt, bad,
       "parameter 'priority' must be a non-negative integer, got \"1\""},
      {"fractional timeout", R"({"inputs":[],"parameters":{"timeout":1.5}})", std::nullopt, bad,
       "parameter 'timeout' must be a non-negative integer, got 1.5"},
      {"negative timeout", R"({"inputs":[],"parameters":{"timeout":-100}})", std::nullopt, bad,
       "parameter 'timeout' is negative (-100)"},
      {"timeout above int64", R"({"inputs":[],"parameters":{"timeout":9223372036854775808}})", std::nullopt,
       bad, "parameter 'timeout' is 9223372036854775808 microseconds, above the maximum"},
      {"sequence parameter", R"({"inputs":[],"parameters":{"sequence_id":1}})", std::nullopt, unsupported,
       "parameter 'sequence_id' is not supported"},
      {"outputs not array", R"({"inputs":[],"outputs":"y"})", std::nullopt, bad,
       "'outputs' must be an array"},
      {"output missing name", R"({"inputs":[],"outputs":[{}]})", std::nullopt, bad,
       "requested output 0: missing field 'name'"},
      {"duplicate output", R"({"inputs":[],"outputs":[{"name":"y"},{"name":"y"}]})", std::nullopt, bad,
       "output 'y' is requested more than once"},
      {"output binary_data not bool",
       R"({"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":1}}]})", std::nullopt, bad,
       "requested output 'y': parameter 'binary_data' must be true or false, got 1"},
      {"classification", R"({"inputs":[],"outputs":[{"name":"y","parameters":{"classification":3}}]})",
       std::nullopt, unsupported, "the classification extension"},
      {"unknown output field", R"({"inputs":[],"outputs":[{"name":"y","binary_data":true}]})", std::nullopt,
       bad, "requested output 'y': unknown field 'binary_data'"},
      {"invalid UTF-8 string", "{\"inputs\":[],\"id\":\"\xff\"}", std::nullopt, bad, "malformed JSON"},
  };
}

TEST(InferRequestParser, RejectsMalformedRequests) {
  for (const MalformedCase& test : MalformedCases()) {
    SCOPED_TRACE(test.label);
    std::optional<std::string_view> header_length;
    if (test.header_length) header_length = *test.header_length;
    auto parsed = ParseInferRequest(Body(test.body), header_length, NoSharedMemory());
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), test.code) << parsed.status().ToString();
    EXPECT_THAT(parsed.status().message(), HasSubstr(test.fragment));
  }
}

TEST(InferRequestParser, ReadsPriorityAndTimeout) {
  auto parsed = ParseJson(R"({"inputs":[],"parameters":{"priority":7,"timeout":2500}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.priority, 7u);
  ASSERT_TRUE(parsed->request.timeout.has_value());
  EXPECT_EQ(*parsed->request.timeout, std::chrono::microseconds(2500));

  parsed = ParseJson(R"({"inputs":[],"parameters":{"priority":4294967295,"timeout":0}})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.priority, 4294967295u);
  EXPECT_FALSE(parsed->request.timeout.has_value());

  parsed = ParseJson(R"({"inputs":[]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.priority, 0u);
  EXPECT_FALSE(parsed->request.timeout.has_value());
}

TEST(InferRequestParser, RejectsRankAboveMaximum) {
  std::string shape = "[1";
  for (int i = 0; i < 64; ++i) shape += ",1";
  shape += "]";
  auto parsed = ParseJson(Request("FP32", shape, "[1]"));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("'shape' has 65 dimensions, above the maximum of 64"));
}

TEST(InferRequestParser, FlatAndNestedDataMatch) {
  auto flat = ParseJson(Request("INT32", "[2,3]", "[1,2,3,4,5,6]"));
  auto nested = ParseJson(Request("INT32", "[2,3]", "[[1,2,3],[4,5,6]]"));
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  ASSERT_TRUE(nested.ok()) << nested.status().ToString();
  std::string expected = RawBytes<int32_t>({1, 2, 3, 4, 5, 6});
  EXPECT_EQ(TensorBytes(flat->request.inputs[0]), expected);
  EXPECT_EQ(TensorBytes(nested->request.inputs[0]), expected);
  EXPECT_EQ(nested->request.inputs[0].shape, (std::vector<int64_t>{2, 3}));
}

TEST(InferRequestParser, IgnoresUnknownParameters) {
  auto parsed = ParseJson(
      R"({"parameters":{"colour":1},"inputs":[{"name":"x","datatype":"INT32","shape":[1],"data":[7],)"
      R"("parameters":{"content_type":"np"}}],"outputs":[{"name":"y","parameters":{"note":"n"}}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(TensorBytes(parsed->request.inputs[0]), RawBytes<int32_t>({7}));
  EXPECT_EQ(parsed->request.requested_outputs, (std::vector<std::string>{"y"}));
}

TEST(InferRequestParser, NestedDataOfRankThree) {
  auto parsed = ParseJson(Request("INT16", "[2,1,2]", "[[[1,2]],[[3,-4]]]"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(TensorBytes(parsed->request.inputs[0]), RawBytes<int16_t>({1, 2, 3, -4}));
}

TEST(InferRequestParser, ScalarAndEmptyShapes) {
  auto scalar = ParseJson(Request("FP64", "[]", "[2.5]"));
  ASSERT_TRUE(scalar.ok()) << scalar.status().ToString();
  EXPECT_EQ(TensorBytes(scalar->request.inputs[0]), RawBytes<double>({2.5}));

  auto empty = ParseJson(Request("FP32", "[0,3]", "[]"));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->request.inputs[0].data.empty());
}

struct JsonDatatypeCase {
  std::string datatype;
  std::string data;
  std::string expected;
};

TEST(InferRequestParser, DecodesEveryJsonDatatype) {
  const JsonDatatypeCase cases[] = {
      {"BOOL", "[true,false]", std::string("\x01\x00", 2)},
      {"UINT8", "[0,255]", RawBytes<uint8_t>({0, 255})},
      {"UINT16", "[0,65535]", RawBytes<uint16_t>({0, 65535})},
      {"UINT32", "[0,4294967295]", RawBytes<uint32_t>({0, 4294967295u})},
      {"UINT64", "[0,18446744073709551615]", RawBytes<uint64_t>({0, std::numeric_limits<uint64_t>::max()})},
      {"INT8", "[-128,127]", RawBytes<int8_t>({-128, 127})},
      {"INT16", "[-32768,32767]", RawBytes<int16_t>({-32768, 32767})},
      {"INT32", "[-2147483648,2147483647]",
       RawBytes<int32_t>({std::numeric_limits<int32_t>::min(), 2147483647})},
      {"INT64", "[-9223372036854775808,9223372036854775807]",
       RawBytes<int64_t>({std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()})},
      {"FP32", "[0.5,-3]", RawBytes<float>({0.5f, -3.0f})},
      {"FP64", "[0.1,1e300]", RawBytes<double>({0.1, 1e300})},
      {"BYTES", R"(["","h\u00e9\u0000"])", BytesElement("") + BytesElement(std::string("h\xc3\xa9\0", 4))},
  };
  for (const JsonDatatypeCase& test : cases) {
    SCOPED_TRACE(test.datatype);
    auto parsed = ParseJson(Request(test.datatype, "[2]", test.data));
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_EQ(parsed->request.inputs.size(), 1u);
    const Tensor& tensor = parsed->request.inputs[0];
    EXPECT_EQ(DataTypeName(tensor.datatype), test.datatype);
    EXPECT_EQ(TensorBytes(tensor), test.expected);
    EXPECT_TRUE(CheckTensorByteSize(tensor).ok());
  }
}

TEST(InferRequestParser, AcceptsNanAndInfinity) {
  auto parsed = ParseJson(Request("FP32", "[3]", "[NaN,Infinity,-Infinity]"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Tensor& tensor = parsed->request.inputs[0];
  float values[3];
  std::memcpy(values, tensor.data.data(), sizeof(values));
  EXPECT_TRUE(std::isnan(values[0]));
  EXPECT_EQ(values[1], std::numeric_limits<float>::infinity());
  EXPECT_EQ(values[2], -std::numeric_limits<float>::infinity());
}

TEST(InferRequestParser, BinaryInputsPointIntoBody) {
  std::string json = R"({"id":"r1","inputs":[)"
                     R"({"name":"a","datatype":"FP32","shape":[1,2],"parameters":{"binary_data_size":8}},)"
                     R"({"name":"b","datatype":"INT8","shape":[2],"data":[1,2]},)"
                     R"({"name":"c","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}}]})";
  std::string binary = RawBytes<float>({1.5f, -2.0f}) + BytesElement("abc") + BytesElement("");
  auto body = Body(json + binary);
  std::string header_length = std::to_string(json.size());
  auto parsed = ParseInferRequest(body, header_length, NoSharedMemory());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();

  const auto& inputs = parsed->request.inputs;
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(parsed->request.id, "r1");
  EXPECT_EQ(TensorBytes(inputs[0]), RawBytes<float>({1.5f, -2.0f}));
  EXPECT_EQ(TensorBytes(inputs[1]), RawBytes<int8_t>({1, 2}));
  EXPECT_EQ(TensorBytes(inputs[2]), BytesElement("abc") + BytesElement(""));

  // No copy: the binary tensors view the body and keep it alive.
  const auto* body_start = reinterpret_cast<const uint8_t*>(body->data());
  EXPECT_EQ(inputs[0].data.data(), body_start + json.size());
  EXPECT_EQ(inputs[2].data.data(), body_start + json.size() + 8);
  EXPECT_EQ(inputs[0].owner.get(), static_cast<const void*>(body.get()));
}

TEST(InferRequestParser, BinaryInputOfEveryDatatype) {
  for (DataType type : kAllDataTypes) {
    std::string name(DataTypeName(type));
    SCOPED_TRACE(name);
    std::string binary = type == DataType::kBytes ? BytesElement("x") + BytesElement("yz")
                                                  : std::string(2 * DataTypeSize(type), '\x01');
    std::string json = R"({"inputs":[{"name":"x","datatype":")" + name + R"(","shape":[2],)" +
                       R"("parameters":{"binary_data_size":)" + std::to_string(binary.size()) + "}}]}";
    auto parsed = ParseInferRequest(Body(json + binary), std::to_string(json.size()), NoSharedMemory());
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(parsed->request.inputs[0].datatype, type);
    EXPECT_EQ(TensorBytes(parsed->request.inputs[0]), binary);
  }
}

TEST(InferRequestParser, HeaderLengthEqualToBody) {
  std::string json = Request("FP32", "[1]", "[1]");
  auto parsed = ParseInferRequest(Body(json), std::to_string(json.size()), NoSharedMemory());
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.inputs.size(), 1u);
}

TEST(InferRequestParser, OutputFormat) {
  auto parsed = ParseJson(R"({"inputs":[],"parameters":{"binary_data_output":true},)"
                          R"("outputs":[{"name":"b"},{"name":"a","parameters":{"binary_data":false}}]})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.requested_outputs, (std::vector<std::string>{"b", "a"}));
  EXPECT_TRUE(parsed->output_format.IsBinary("b"));
  EXPECT_FALSE(parsed->output_format.IsBinary("a"));
  EXPECT_TRUE(parsed->output_format.IsBinary("unlisted"));

  auto json_default =
      ParseJson(R"({"inputs":[],"outputs":[{"name":"a","parameters":{"binary_data":true}}]})");
  ASSERT_TRUE(json_default.ok()) << json_default.status().ToString();
  EXPECT_TRUE(json_default->output_format.IsBinary("a"));
  EXPECT_FALSE(json_default->output_format.IsBinary("b"));
}

}  // namespace
}  // namespace moat::server

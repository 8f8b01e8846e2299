// ParseModelInferRequest on messages built in memory: every encoding, every
// rejection, and the parameters it reads.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <limits>

#include "grpc/infer_parameters.h"
#include "grpc/infer_request.h"
#include "grpc_test_util.h"
#include "testing/tensor_bytes.h"

namespace moat::grpc_server {
namespace {

using inference::ModelInferRequest;
using moat::testing::BytesElement;
using moat::testing::RawBytes;
using moat::testing::TensorBytes;
using testing::AddInput;
using ::testing::HasSubstr;
using testing::RawRequest;

class InferRequestTest : public ::testing::Test {
 protected:
  StatusOr<ParsedModelInferRequest> Parse(const ModelInferRequest& message) {
    auto keep_alive = std::make_shared<ModelInferRequest>(message);
    last_message_ = keep_alive;
    return ParseModelInferRequest(*keep_alive, shared_memory_, keep_alive);
  }

  // Checks that parsing fails with `code` and a message containing `text`.
  void ExpectError(const ModelInferRequest& message, StatusCode code, const std::string& text) {
    StatusOr<ParsedModelInferRequest> parsed = Parse(message);
    ASSERT_FALSE(parsed.ok());
    EXPECT_EQ(parsed.status().code(), code) << parsed.status().ToString();
    EXPECT_THAT(parsed.status().message(), HasSubstr(text));
  }

  static ModelInferRequest TypedRequest(const std::string& datatype, std::vector<int64_t> shape) {
    ModelInferRequest request;
    request.set_model_name("m");
    AddInput(request, "INPUT0", datatype, std::move(shape));
    return request;
  }

  shm::SharedMemoryManager shared_memory_{true};
  std::shared_ptr<const ModelInferRequest> last_message_;
};

TEST_F(InferRequestTest, RawInputIsNotCopied) {
  ModelInferRequest request = RawRequest("m", "FP32", {1, 2}, RawBytes<float>({1.5f, -2.0f}));
  request.set_id("req-7");
  request.set_model_version("3");
  auto parsed = Parse(request);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.id, "req-7");
  EXPECT_EQ(parsed->request.model_name, "m");
  EXPECT_EQ(parsed->request.model_version, 3);
  ASSERT_EQ(parsed->request.inputs.size(), 1u);
  const Tensor& input = parsed->request.inputs[0];
  EXPECT_EQ(input.name, "INPUT0");
  EXPECT_EQ(input.datatype, DataType::kFp32);
  EXPECT_EQ(input.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(static_cast<const void*>(input.data.data()),
            static_cast<const void*>(last_message_->raw_input_contents(0).data()));
  EXPECT_EQ(input.owner, last_message_);
  EXPECT_TRUE(parsed->request.requested_outputs.empty());
}

TEST_F(InferRequestTest, EmptyVersionMeansLatest) {
  auto parsed = Parse(RawRequest("m", "INT8", {1}, "x"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->request.model_version.has_value());
}

TEST_F(InferRequestTest, InvalidVersionsRejected) {
  for (const std::string version : {"0", "01", "-1", "+1", "1.0", "abc", " 1", "99999999999999999999"}) {
    ModelInferRequest request = RawRequest("m", "INT8", {1}, "x");
    request.set_model_version(version);
    ExpectError(request, StatusCode::kInvalidArgument, "model version '" + version + "'");
  }
}

TEST_F(InferRequestTest, EmptyModelNameRejected) {
  ExpectError(RawRequest("", "INT8", {1}, "x"), StatusCode::kInvalidArgument, "model_name is empty");
}

TEST_F(InferRequestTest, TypedContentsOfEveryDatatype) {
  struct Case {
    std::string datatype;
    std::function<void(inference::InferTensorContents&)> fill;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"BOOL", [](auto& c) { c.add_bool_contents(true), c.add_bool_contents(false); },
       std::string("\1\0", 2)},
      {"INT8", [](auto& c) { c.add_int_contents(-128), c.add_int_contents(127); },
       RawBytes<int8_t>({-128, 127})},
      {"INT16", [](auto& c) { c.add_int_contents(-32768), c.add_int_contents(7); },
       RawBytes<int16_t>({-32768, 7})},
      {"INT32", [](auto& c) { c.add_int_contents(INT32_MIN), c.add_int_contents(5); },
       RawBytes<int32_t>({INT32_MIN, 5})},
      {"INT64", [](auto& c) { c.add_int64_contents(INT64_MIN), c.add_int64_contents(1); },
       RawBytes<int64_t>({INT64_MIN, 1})},
      {"UINT8", [](auto& c) { c.add_uint_contents(0), c.add_uint_contents(255); },
       RawBytes<uint8_t>({0, 255})},
      {"UINT16", [](auto& c) { c.add_uint_contents(65535), c.add_uint_contents(1); },
       RawBytes<uint16_t>({65535, 1})},
      {"UINT32", [](auto& c) { c.add_uint_contents(UINT32_MAX), c.add_uint_contents(2); },
       RawBytes<uint32_t>({UINT32_MAX, 2})},
      {"UINT64", [](auto& c) { c.add_uint64_contents(UINT64_MAX), c.add_uint64_contents(3); },
       RawBytes<uint64_t>({UINT64_MAX, 3})},
      {"FP32", [](auto& c) { c.add_fp32_contents(1.25f), c.add_fp32_contents(-0.5f); },
       RawBytes<float>({1.25f, -0.5f})},
      {"FP64", [](auto& c) { c.add_fp64_contents(1e300), c.add_fp64_contents(-2); },
       RawBytes<double>({1e300, -2})},
      {"BYTES", [](auto& c) { c.add_bytes_contents(""), c.add_bytes_contents(std::string("\xff\0z", 3)); },
       BytesElement("") + BytesElement(std::string("\xff\x00z", 3))},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.datatype);
    ModelInferRequest request = TypedRequest(test.datatype, {1, 2});
    test.fill(*request.mutable_inputs(0)->mutable_contents());
    auto parsed = Parse(request);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    ASSERT_EQ(parsed->request.inputs.size(), 1u);
    EXPECT_EQ(TensorBytes(parsed->request.inputs[0]), test.expected);
  }
}

TEST_F(InferRequestTest, TypedValuesOutOfRange) {
  struct Case {
    std::string datatype;
    std::function<void(inference::InferTensorContents&)> fill;
    std::string value;
  };
  const std::vector<Case> cases = {
      {"INT8", [](auto& c) { c.add_int_contents(128); }, "(128)"},
      {"INT8", [](auto& c) { c.add_int_contents(-129); }, "(-129)"},
      {"INT16", [](auto& c) { c.add_int_contents(40000); }, "(40000)"},
      {"UINT8", [](auto& c) { c.add_uint_contents(256); }, "(256)"},
      {"UINT16", [](auto& c) { c.add_uint_contents(65536); }, "(65536)"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.datatype + " " + test.value);
    ModelInferRequest request = TypedRequest(test.datatype, {1});
    test.fill(*request.mutable_inputs(0)->mutable_contents());
    ExpectError(request, StatusCode::kInvalidArgument, test.value + " is out of range for " + test.datatype);
  }
}

TEST_F(InferRequestTest, HalfFloatsHaveNoTypedField) {
  for (const std::string datatype : {"FP16", "BF16"}) {
    ModelInferRequest request = TypedRequest(datatype, {1});
    request.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
    ExpectError(request, StatusCode::kInvalidArgument, "send its data in raw_input_contents");
  }
}

TEST_F(InferRequestTest, WrongTypedFieldNamed) {
  ModelInferRequest request = TypedRequest("INT32", {1});
  request.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
  ExpectError(request, StatusCode::kInvalidArgument,
              "has values in fp32_contents, but INT32 data goes in int_contents");
}

TEST_F(InferRequestTest, ElementCountMismatch) {
  ModelInferRequest typed = TypedRequest("FP32", {2, 3});
  typed.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
  ExpectError(typed, StatusCode::kInvalidArgument,
              "input 'INPUT0': fp32_contents has 1 elements, but its shape needs 6");

  ExpectError(RawRequest("m", "FP32", {2, 3}, RawBytes<float>({1, 2})), StatusCode::kInvalidArgument,
              "tensor 'INPUT0': shape [2,3] of FP32 needs 24 bytes, got 8");
  ExpectError(RawRequest("m", "BYTES", {2}, BytesElement("a")), StatusCode::kInvalidArgument, "'INPUT0'");
  ExpectError(RawRequest("m", "BYTES", {1}, BytesElement("a") + "x"), StatusCode::kInvalidArgument,
              "bytes left over");
  ExpectError(RawRequest("m", "BYTES", {1}, std::string("\5\0\0\0ab", 6)), StatusCode::kInvalidArgument,
              "has length 5");
}

TEST_F(InferRequestTest, ZeroSizeDimensions) {
  auto raw = Parse(RawRequest("m", "FP32", {0, 3}, ""));
  ASSERT_TRUE(raw.ok()) << raw.status().ToString();
  EXPECT_TRUE(raw->request.inputs[0].data.empty());

  auto typed = Parse(TypedRequest("BYTES", {2, 0}));
  ASSERT_TRUE(typed.ok()) << typed.status().ToString();
  EXPECT_EQ(typed->request.inputs[0].shape, (std::vector<int64_t>{2, 0}));
}

TEST_F(InferRequestTest, MissingDataRejected) {
  ExpectError(TypedRequest("FP32", {1, 2}), StatusCode::kInvalidArgument,
              "fp32_contents has 0 elements, but its shape needs 2");
}

TEST_F(InferRequestTest, MixedRawAndTypedRejected) {
  ModelInferRequest request = RawRequest("m", "FP32", {1}, RawBytes<float>({1}));
  AddInput(request, "INPUT1", "FP32", {1})->mutable_contents()->add_fp32_contents(2.0f);
  ExpectError(request, StatusCode::kInvalidArgument,
              "input 'INPUT1' has typed contents but the request also has "
              "raw_input_contents");
}

TEST_F(InferRequestTest, RawCountMismatchNamesBothNumbers) {
  ModelInferRequest request = RawRequest("m", "FP32", {1}, RawBytes<float>({1}));
  request.add_raw_input_contents(RawBytes<float>({2}));
  ExpectError(request, StatusCode::kInvalidArgument,
              "2 raw_input_contents entries but 1 inputs without a shared memory region");

  ModelInferRequest too_few = RawRequest("m", "FP32", {1}, RawBytes<float>({1}));
  AddInput(too_few, "INPUT1", "FP32", {1});
  ExpectError(too_few, StatusCode::kInvalidArgument,
              "1 raw_input_contents entries but 2 inputs without a shared memory region");
}

TEST_F(InferRequestTest, InvalidDatatypeAndShape) {
  ExpectError(RawRequest("m", "fp32", {1}, "abcd"), StatusCode::kInvalidArgument,
              "input 'INPUT0': unknown datatype 'fp32'");
  ExpectError(RawRequest("m", "FP32", {-1}, ""), StatusCode::kInvalidArgument, "negative dimension -1");
  ExpectError(RawRequest("m", "UINT8", {INT64_MAX, 2}, ""), StatusCode::kInvalidArgument, "overflows");
  ExpectError(RawRequest("m", "UINT8", std::vector<int64_t>(65, 1), "x"), StatusCode::kInvalidArgument,
              "shape has 65 dimensions, above the maximum of 64");
}

TEST_F(InferRequestTest, RepeatedNamesRejected) {
  ModelInferRequest inputs = RawRequest("m", "UINT8", {1}, "a");
  AddInput(inputs, "INPUT0", "UINT8", {1});
  inputs.add_raw_input_contents("b");
  ExpectError(inputs, StatusCode::kInvalidArgument, "input 'INPUT0' appears more than once");

  ModelInferRequest outputs = RawRequest("m", "UINT8", {1}, "a");
  outputs.add_outputs()->set_name("OUT");
  outputs.add_outputs()->set_name("OUT");
  ExpectError(outputs, StatusCode::kInvalidArgument, "requested output 'OUT' appears more than once");
}

TEST_F(InferRequestTest, RequestedOutputsKeepTheirOrder) {
  ModelInferRequest request = RawRequest("m", "UINT8", {1}, "a");
  request.add_outputs()->set_name("B");
  request.add_outputs()->set_name("A");
  (*request.mutable_outputs(0)->mutable_parameters())["binary_data"].set_bool_param(true);
  auto parsed = Parse(request);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.requested_outputs, (std::vector<std::string>{"B", "A"}));
  EXPECT_TRUE(parsed->shared_memory_outputs.empty());
}

TEST_F(InferRequestTest, SequenceParametersRejectedUnlessDefault) {
  for (const std::string name : {"sequence_id", "sequence_start", "sequence_end"}) {
    ModelInferRequest defaults = RawRequest("m", "UINT8", {1}, "a");
    auto& parameters = *defaults.mutable_parameters();
    parameters[name].set_int64_param(0);
    EXPECT_TRUE(Parse(defaults).ok()) << name;
    parameters[name].set_bool_param(false);
    EXPECT_TRUE(Parse(defaults).ok()) << name;
    parameters[name].set_string_param("");
    EXPECT_TRUE(Parse(defaults).ok()) << name;

    ModelInferRequest set = RawRequest("m", "UINT8", {1}, "a");
    (*set.mutable_parameters())[name].set_uint64_param(5);
    ExpectError(set, StatusCode::kUnimplemented, "parameter '" + name + "' is not supported");
  }
  ModelInferRequest sequence = RawRequest("m", "UINT8", {1}, "a");
  (*sequence.mutable_parameters())["sequence_start"].set_bool_param(true);
  ExpectError(sequence, StatusCode::kUnimplemented, "sequence batching");
}

TEST_F(InferRequestTest, PriorityAndTimeoutDefaults) {
  auto parsed = Parse(RawRequest("m", "UINT8", {1}, "a"));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.priority, 0u);
  EXPECT_FALSE(parsed->request.timeout.has_value());
  EXPECT_EQ(parsed->request.cancelled, nullptr);
}

TEST_F(InferRequestTest, PriorityAndTimeoutRead) {
  ModelInferRequest as_int64 = RawRequest("m", "UINT8", {1}, "a");
  (*as_int64.mutable_parameters())["priority"].set_int64_param(3);
  (*as_int64.mutable_parameters())["timeout"].set_int64_param(1500);
  auto parsed = Parse(as_int64);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.priority, 3u);
  ASSERT_TRUE(parsed->request.timeout.has_value());
  EXPECT_EQ(*parsed->request.timeout, std::chrono::microseconds(1500));

  ModelInferRequest as_uint64 = RawRequest("m", "UINT8", {1}, "a");
  (*as_uint64.mutable_parameters())["priority"].set_uint64_param(std::numeric_limits<uint32_t>::max());
  (*as_uint64.mutable_parameters())["timeout"].set_uint64_param(
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()));
  parsed = Parse(as_uint64);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->request.priority, std::numeric_limits<uint32_t>::max());
  ASSERT_TRUE(parsed->request.timeout.has_value());
  EXPECT_EQ(parsed->request.timeout->count(), std::numeric_limits<int64_t>::max());
}

TEST_F(InferRequestTest, ZeroTimeoutMeansNone) {
  ModelInferRequest request = RawRequest("m", "UINT8", {1}, "a");
  (*request.mutable_parameters())["timeout"].set_uint64_param(0);
  auto parsed = Parse(request);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->request.timeout.has_value());
}

TEST_F(InferRequestTest, InvalidPriorityAndTimeout) {
  for (const std::string name : {"priority", "timeout"}) {
    SCOPED_TRACE(name);
    ModelInferRequest negative = RawRequest("m", "UINT8", {1}, "a");
    (*negative.mutable_parameters())[name].set_int64_param(-2);
    ExpectError(negative, StatusCode::kInvalidArgument, "parameter '" + name + "' is negative (-2)");

    ModelInferRequest text = RawRequest("m", "UINT8", {1}, "a");
    (*text.mutable_parameters())[name].set_string_param("5");
    ExpectError(text, StatusCode::kInvalidArgument,
                "parameter '" + name + "' must be an int64_param or uint64_param, got string_param");

    ModelInferRequest real = RawRequest("m", "UINT8", {1}, "a");
    (*real.mutable_parameters())[name].set_double_param(1.5);
    ExpectError(real, StatusCode::kInvalidArgument, "got double_param");
  }
  ModelInferRequest priority = RawRequest("m", "UINT8", {1}, "a");
  (*priority.mutable_parameters())["priority"].set_uint64_param(4294967296);
  ExpectError(priority, StatusCode::kInvalidArgument,
              "parameter 'priority' is 4294967296, above the maximum 4294967295");

  ModelInferRequest timeout = RawRequest("m", "UINT8", {1}, "a");
  (*timeout.mutable_parameters())["timeout"].set_uint64_param(std::numeric_limits<uint64_t>::max());
  ExpectError(timeout, StatusCode::kInvalidArgument,
              "parameter 'timeout' is 18446744073709551615 microseconds, above the maximum");
}

TEST_F(InferRequestTest, UnknownParametersIgnored) {
  ModelInferRequest request = RawRequest("m", "UINT8", {1}, "a");
  (*request.mutable_parameters())["client_tag"].set_string_param("x");
  (*request.mutable_inputs(0)->mutable_parameters())["binary_data_size"].set_int64_param(1);
  request.add_outputs()->set_name("OUTPUT0");
  (*request.mutable_outputs(0)->mutable_parameters())["binary_data"].set_bool_param(true);
  EXPECT_TRUE(Parse(request).ok());
}

TEST_F(InferRequestTest, ClassificationRejected) {
  ModelInferRequest request = RawRequest("m", "UINT8", {1}, "a");
  request.add_outputs()->set_name("OUTPUT0");
  (*request.mutable_outputs(0)->mutable_parameters())["classification"].set_int64_param(3);
  ExpectError(request, StatusCode::kUnimplemented, "requested output 'OUTPUT0': parameter 'classification'");
}

TEST_F(InferRequestTest, SharedMemoryParametersChecked) {
  struct Case {
    std::function<void(ParameterMap&)> fill;
    std::string text;
  };
  const std::vector<Case> cases = {
      {[](auto& p) { p["shared_memory_region"].set_string_param("r"); }, "has no 'shared_memory_byte_size'"},
      {[](auto& p) { p["shared_memory_byte_size"].set_int64_param(4); }, "but no 'shared_memory_region'"},
      {[](auto& p) { p["shared_memory_offset"].set_int64_param(0); }, "but no 'shared_memory_region'"},
      {[](auto& p) {
         p["shared_memory_region"].set_int64_param(1), p["shared_memory_byte_size"].set_int64_param(4);
       },
       "'shared_memory_region' must be a string_param, got int64_param"},
      {[](auto& p) {
         p["shared_memory_region"].set_string_param(""), p["shared_memory_byte_size"].set_int64_param(4);
       },
       "'shared_memory_region' is empty"},
      {[](auto& p) {
         p["shared_memory_region"].set_string_param("r"), p["shared_memory_byte_size"].set_int64_param(-4);
       },
       "'shared_memory_byte_size' is negative (-4)"},
      {[](auto& p) {
         p["shared_memory_region"].set_string_param("r"), p["shared_memory_byte_size"].set_int64_param(4);
         p["shared_memory_offset"].set_int64_param(-1);
       },
       "'shared_memory_offset' is negative (-1)"},
      {[](auto& p) {
         p["shared_memory_region"].set_string_param("r"), p["shared_memory_byte_size"].set_string_param("4");
       },
       "'shared_memory_byte_size' must be an int64_param, got string_param"},
  };
  for (const Case& test : cases) {
    SCOPED_TRACE(test.text);
    ModelInferRequest input = TypedRequest("FP32", {1});
    test.fill(*input.mutable_inputs(0)->mutable_parameters());
    ExpectError(input, StatusCode::kInvalidArgument, "input 'INPUT0'");
    ExpectError(input, StatusCode::kInvalidArgument, test.text);

    ModelInferRequest output = RawRequest("m", "UINT8", {1}, "a");
    output.add_outputs()->set_name("OUTPUT0");
    test.fill(*output.mutable_outputs(0)->mutable_parameters());
    ExpectError(output, StatusCode::kInvalidArgument, "requested output 'OUTPUT0'");
    ExpectError(output, StatusCode::kInvalidArgument, test.text);
  }
}

TEST_F(InferRequestTest, SharedMemoryInputWithContentsRejected) {
  ModelInferRequest request = TypedRequest("FP32", {1});
  auto& parameters = *request.mutable_inputs(0)->mutable_parameters();
  parameters["shared_memory_region"].set_string_param("r");
  parameters["shared_memory_byte_size"].set_int64_param(4);
  request.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.0f);
  ExpectError(request, StatusCode::kInvalidArgument,
              "names shared memory region 'r' and also has typed contents");
}

TEST_F(InferRequestTest, SharedMemoryRegionMustBeRegistered) {
  ModelInferRequest request = TypedRequest("FP32", {1});
  auto& parameters = *request.mutable_inputs(0)->mutable_parameters();
  parameters["shared_memory_region"].set_string_param("nowhere");
  parameters["shared_memory_byte_size"].set_int64_param(4);
  ExpectError(request, StatusCode::kNotFound, "input 'INPUT0'");

  shm::SharedMemoryManager disabled(false);
  auto keep_alive = std::make_shared<ModelInferRequest>(request);
  auto parsed = ParseModelInferRequest(*keep_alive, disabled, keep_alive);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(parsed.status().message(), HasSubstr("shared memory is disabled"));
}

TEST_F(InferRequestTest, SharedMemoryOutputsCollected) {
  ModelInferRequest request = RawRequest("m", "UINT8", {1}, "a");
  request.add_outputs()->set_name("OUTPUT0");
  auto& parameters = *request.mutable_outputs(0)->mutable_parameters();
  parameters["shared_memory_region"].set_string_param("out");
  parameters["shared_memory_offset"].set_uint64_param(8);
  parameters["shared_memory_byte_size"].set_int64_param(16);
  auto parsed = Parse(request);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->shared_memory_outputs.count("OUTPUT0"), 1u);
  const shm::SharedMemoryReference& reference = parsed->shared_memory_outputs.at("OUTPUT0");
  EXPECT_EQ(reference.region, "out");
  EXPECT_EQ(reference.offset, 8u);
  EXPECT_EQ(reference.byte_size, 16u);
  EXPECT_EQ(parsed->request.requested_outputs, (std::vector<std::string>{"OUTPUT0"}));
}

}  // namespace
}  // namespace moat::grpc_server

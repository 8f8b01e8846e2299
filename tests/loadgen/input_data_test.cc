// Input tensors for `moat bench`: random ones of every datatype, shape
// overrides, KServe JSON request files and raw files.
#include "loadgen/input_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "client/half_float.h"

namespace moat::loadgen {
namespace {

using ::testing::HasSubstr;

ModelMetadata OneInputModel(DataType datatype, std::vector<int64_t> shape) {
  ModelMetadata metadata;
  metadata.name = "m";
  metadata.inputs.push_back({"INPUT0", datatype, std::move(shape)});
  return metadata;
}

TEST(GenerateInputs, EveryDatatypeFitsShape) {
  for (DataType datatype : kAllDataTypes) {
    SCOPED_TRACE(std::string(DataTypeName(datatype)));
    ShapeOverrides shapes = {{"INPUT0", {2, 3}}};
    StatusOr<std::vector<Tensor>> inputs = GenerateInputs(OneInputModel(datatype, {-1, 3}), shapes, 1);
    ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
    ASSERT_EQ(inputs->size(), 1u);
    const Tensor& tensor = inputs->front();
    EXPECT_EQ(tensor.name, "INPUT0");
    EXPECT_EQ(tensor.datatype, datatype);
    EXPECT_EQ(tensor.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_TRUE(CheckTensorByteSize(tensor).ok());
  }
}

TEST(GenerateInputs, ValuesInRange) {
  ShapeOverrides none;
  StatusOr<std::vector<Tensor>> bools = GenerateInputs(OneInputModel(DataType::kBool, {64}), none, 3);
  ASSERT_TRUE(bools.ok());
  for (uint8_t value : bools->front().data) EXPECT_LE(value, 1);

  StatusOr<std::vector<Tensor>> floats = GenerateInputs(OneInputModel(DataType::kFp32, {64}), none, 3);
  ASSERT_TRUE(floats.ok());
  for (size_t i = 0; i < 64; ++i) {
    float value;
    std::memcpy(&value, floats->front().data.data() + i * 4, 4);
    EXPECT_GE(value, 0.0f);
    EXPECT_LT(value, 1.0f);
  }

  StatusOr<std::vector<Tensor>> halves = GenerateInputs(OneInputModel(DataType::kFp16, {64}), none, 3);
  ASSERT_TRUE(halves.ok());
  for (size_t i = 0; i < 64; ++i) {
    uint16_t bits;
    std::memcpy(&bits, halves->front().data.data() + i * 2, 2);
    EXPECT_GE(client::HalfBitsToFloat(bits), 0.0f);
    EXPECT_LE(client::HalfBitsToFloat(bits), 1.0f);
  }

  StatusOr<std::vector<Tensor>> strings = GenerateInputs(OneInputModel(DataType::kBytes, {5}), none, 3);
  ASSERT_TRUE(strings.ok());
  StatusOr<std::vector<std::string_view>> elements = SplitBytesElements(strings->front());
  ASSERT_TRUE(elements.ok());
  ASSERT_EQ(elements->size(), 5u);
  for (std::string_view element : *elements) {
    EXPECT_FALSE(element.empty());
    EXPECT_LE(element.size(), 6u);
  }
}

TEST(GenerateInputs, SameSeedSameValues) {
  ShapeOverrides none;
  StatusOr<std::vector<Tensor>> first = GenerateInputs(OneInputModel(DataType::kInt64, {16}), none, 9);
  StatusOr<std::vector<Tensor>> second = GenerateInputs(OneInputModel(DataType::kInt64, {16}), none, 9);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(
      std::equal(first->front().data.begin(), first->front().data.end(), second->front().data.begin()));
}

TEST(GenerateInputs, VariableShapeNeedsOverride) {
  StatusOr<std::vector<Tensor>> inputs = GenerateInputs(OneInputModel(DataType::kFp32, {-1, 16}), {}, 1);
  ASSERT_FALSE(inputs.ok());
  EXPECT_THAT(inputs.status().message(), HasSubstr("--shape INPUT0="));
}

TEST(GenerateInputs, RejectsMismatchedOrUnknownOverride) {
  ModelMetadata metadata = OneInputModel(DataType::kFp32, {-1, 16});
  EXPECT_FALSE(GenerateInputs(metadata, {{"INPUT0", {1, 8}}}, 1).ok());
  StatusOr<std::vector<Tensor>> unknown = GenerateInputs(metadata, {{"OTHER", {1, 16}}}, 1);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), HasSubstr("'OTHER'"));
}

TEST(ShapeOverride, ParsesAndRejects) {
  ShapeOverrides shapes;
  ASSERT_TRUE(ParseShapeOverride("INPUT0=1,3,224,224", shapes).ok());
  EXPECT_EQ(shapes.at("INPUT0"), (std::vector<int64_t>{1, 3, 224, 224}));
  EXPECT_FALSE(ParseShapeOverride("INPUT0=1,2", shapes).ok());  // given twice
  for (const char* text : {"", "=1", "X=", "X", "X=1,,2", "X=-1", "X=a"}) {
    Status parsed = ParseShapeOverride(text, shapes);
    EXPECT_EQ(parsed.code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(JsonRequestInputs, ReadsTensors) {
  StatusOr<std::vector<Tensor>> inputs = ParseJsonRequestInputs(
      R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,3],"data":[1,2,3]}]})",
      "request file 'r.json'");
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ(inputs->front().datatype, DataType::kInt32);
  EXPECT_EQ(inputs->front().data.size(), 12u);
}

TEST(JsonRequestInputs, RejectsMalformed) {
  for (const char* json : {"[]", "{}", R"({"inputs":[{"name":"A"}]})",
                           R"({"inputs":[{"name":"A","datatype":"F32","shape":[1],"data":[1]}]})",
                           R"({"inputs":[{"name":"A","datatype":"FP32","shape":[2],"data":[1]}]})"}) {
    StatusOr<std::vector<Tensor>> inputs = ParseJsonRequestInputs(json, "request file 'r.json'");
    ASSERT_FALSE(inputs.ok()) << json;
    EXPECT_THAT(inputs.status().message(), HasSubstr("r.json")) << json;
  }
}

TEST(RawInputs, ReadsFileAndChecksSize) {
  std::string path = (std::filesystem::temp_directory_path() / "moat-loadgen-raw-input.bin").string();
  {
    std::ofstream file(path, std::ios::binary);
    file << std::string(16 * 4, '\0');
  }
  ModelMetadata metadata = OneInputModel(DataType::kFp32, {-1, 16});
  StatusOr<std::vector<Tensor>> inputs = ReadRawInputs(metadata, {{"INPUT0", path}}, {{"INPUT0", {1, 16}}});
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  EXPECT_EQ(inputs->front().data.size(), 64u);

  StatusOr<std::vector<Tensor>> wrong = ReadRawInputs(metadata, {{"INPUT0", path}}, {{"INPUT0", {2, 16}}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_THAT(wrong.status().message(), HasSubstr(path));

  StatusOr<std::vector<Tensor>> missing = ReadRawInputs(metadata, {}, {{"INPUT0", {1, 16}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("--input-raw INPUT0=FILE"));
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace moat::loadgen

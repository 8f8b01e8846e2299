// Every KServe datatype through the C API: identity models return their
// input unchanged.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "capi_testing.h"
#include "core/datatype.h"
#include "testing/tensor_bytes.h"

namespace moat::capi_testing {
namespace {

using moat::testing::BytesElement;
using moat::testing::RepositoryModel;
using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

// The file and model name for `type`: "fp32" for FP32.
std::string LowerName(DataType type) {
  std::string name(DataTypeName(type));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

// Six elements of `type` in the protocol's binary form. Fixed-size elements
// use bytes below 0x40, so every float is finite, and BOOL uses 0 and 1.
std::string SixElements(DataType type) {
  if (type == DataType::kBytes) {
    return BytesElement("") + BytesElement("a") + BytesElement("hello") +
           BytesElement(std::string("\0\xff", 2)) + BytesElement("world") + BytesElement("x");
  }
  if (type == DataType::kBool) return std::string("\x01\x00\x01\x01\x00\x00", 6);
  std::string bytes;
  for (size_t i = 0; i < 6 * DataTypeSize(type); ++i) bytes.push_back(static_cast<char>((i * 7 + 1) & 0x3f));
  return bytes;
}

std::vector<RepositoryModel> IdentityModels() {
  std::vector<RepositoryModel> models;
  for (DataType type : kAllDataTypes) {
    models.push_back(
        {"identity_" + LowerName(type), 1, TestModelPath("identity_" + LowerName(type) + ".onnx")});
  }
  return models;
}

TEST(CApiDatatypes, IdentityRoundTrip) {
  SignedRepository repo(IdentityModels());
  Runtime runtime = OpenRuntime(repo);
  ASSERT_NE(runtime, nullptr);
  const int64_t shape[] = {2, 3};
  for (DataType type : kAllDataTypes) {
    const std::string datatype(DataTypeName(type));
    SCOPED_TRACE(datatype);
    const std::string input = SixElements(type);
    Request request = MakeRequest(("identity_" + LowerName(type)).c_str());
    ASSERT_EQ(Describe(moat_request_add_input(request.get(), "INPUT0", datatype.c_str(), shape, 2,
                                              input.data(), input.size())),
              "OK");
    moat_response* raw = nullptr;
    ASSERT_EQ(Describe(moat_runtime_infer(runtime.get(), request.get(), &raw)), "OK");
    Response response(raw);
    Output output = ReadOutput(response.get(), 0);
    EXPECT_EQ(output.name, "OUTPUT0");
    EXPECT_EQ(output.datatype, datatype);
    EXPECT_EQ(output.shape, (std::vector<int64_t>{2, 3}));
    EXPECT_EQ(output.bytes, input);
  }
}

}  // namespace
}  // namespace moat::capi_testing

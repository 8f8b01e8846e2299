#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "shm/shared_memory.h"
#include "testing/posix_shm_object.h"
#include "testing/tensor_bytes.h"

namespace moat::shm {
namespace {

using ::moat::testing::BytesElement;
using ::moat::testing::PosixShmObject;
using ::moat::testing::RawBytes;
using ::moat::testing::TensorBytes;

TEST(InputFromSharedMemory, PointsIntoMapping) {
  SharedMemoryManager manager(true);
  PosixShmObject object(64);
  object.Write(8, RawBytes<float>({1.0f, 2.0f, 3.0f, 4.0f}));
  ASSERT_TRUE(manager.Register("input", object.key(), 0, 64).ok());

  auto tensor = InputFromSharedMemory(manager, "INPUT0", DataType::kFp32, {1, 4}, {"input", 8, 16});
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  EXPECT_EQ(tensor->name, "INPUT0");
  EXPECT_EQ(tensor->datatype, DataType::kFp32);
  EXPECT_EQ(tensor->shape, (std::vector<int64_t>{1, 4}));
  ASSERT_EQ(tensor->data.size(), 16u);
  EXPECT_EQ(TensorBytes(*tensor), RawBytes<float>({1.0f, 2.0f, 3.0f, 4.0f}));

  // The same bytes through the manager's own view of the mapping.
  auto view = manager.Map({"input", 0, std::nullopt});
  ASSERT_TRUE(view.ok());
  const uint8_t* begin = view->bytes.data();
  const uint8_t* end = begin + view->bytes.size();
  EXPECT_GE(tensor->data.data(), begin);
  EXPECT_LE(tensor->data.data() + tensor->data.size(), end);
  EXPECT_EQ(tensor->data.data(), begin + 8);

  // No copy: what the client writes afterwards is what the tensor reads.
  object.Write(8, RawBytes<float>({9.0f}));
  float first = 0;
  std::memcpy(&first, tensor->data.data(), sizeof(first));
  EXPECT_EQ(first, 9.0f);
}

TEST(InputFromSharedMemory, OutlivesUnregister) {
  SharedMemoryManager manager(true);
  PosixShmObject object(4);
  object.Write(0, RawBytes<int32_t>({7}));
  ASSERT_TRUE(manager.Register("input", object.key(), 0, 4).ok());
  auto tensor = InputFromSharedMemory(manager, "INPUT0", DataType::kInt32, {1}, {"input", 0, std::nullopt});
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  ASSERT_TRUE(manager.Unregister("input").ok());
  EXPECT_EQ(TensorBytes(*tensor), RawBytes<int32_t>({7}));
}

TEST(InputFromSharedMemory, SizeMismatch) {
  SharedMemoryManager manager(true);
  PosixShmObject object(64);
  ASSERT_TRUE(manager.Register("input", object.key(), 0, 64).ok());

  // Too few bytes, too many bytes, and the whole region when byte_size is empty.
  for (std::optional<uint64_t> byte_size :
       {std::optional<uint64_t>(12), std::optional<uint64_t>(20), std::optional<uint64_t>()}) {
    auto tensor = InputFromSharedMemory(manager, "INPUT0", DataType::kFp32, {1, 4}, {"input", 0, byte_size});
    EXPECT_EQ(tensor.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(tensor.status().message().find("'INPUT0'"), std::string::npos) << tensor.status().message();
    EXPECT_NE(tensor.status().message().find("'input'"), std::string::npos) << tensor.status().message();
  }

  auto negative = InputFromSharedMemory(manager, "INPUT0", DataType::kFp32, {-1, 4}, {"input", 0, 16});
  EXPECT_EQ(negative.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(negative.status().message().find("'INPUT0'"), std::string::npos) << negative.status().message();
}

TEST(InputFromSharedMemory, RestOfRegion) {
  SharedMemoryManager manager(true);
  PosixShmObject object(24);
  object.Write(8, RawBytes<int64_t>({-3, 5}));
  ASSERT_TRUE(manager.Register("input", object.key(), 0, 24).ok());
  auto tensor = InputFromSharedMemory(manager, "INPUT0", DataType::kInt64, {2}, {"input", 8, std::nullopt});
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  EXPECT_EQ(TensorBytes(*tensor), RawBytes<int64_t>({-3, 5}));
}

TEST(InputFromSharedMemory, EmptyTensorAtRegionEnd) {
  SharedMemoryManager manager(true);
  PosixShmObject object(8);
  ASSERT_TRUE(manager.Register("input", object.key(), 0, 8).ok());
  auto tensor = InputFromSharedMemory(manager, "INPUT0", DataType::kFp32, {0, 4}, {"input", 8, 0});
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  EXPECT_TRUE(tensor->data.empty());
}

TEST(InputFromSharedMemory, RegionErrorsNameInput) {
  SharedMemoryManager manager(true);
  auto tensor = InputFromSharedMemory(manager, "INPUT0", DataType::kFp32, {1}, {"missing", 0, 4});
  EXPECT_EQ(tensor.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(tensor.status().message(), "input 'INPUT0': shared memory region 'missing' is not registered");
}

TEST(InputFromSharedMemory, BytesElements) {
  SharedMemoryManager manager(true);
  std::string elements = BytesElement("ab") + BytesElement("") + BytesElement("xyz");
  PosixShmObject object(elements.size() + 1);
  object.Write(0, elements);
  ASSERT_TRUE(manager.Register("input", object.key(), 0, elements.size() + 1).ok());

  auto tensor = InputFromSharedMemory(manager, "TEXT", DataType::kBytes, {3}, {"input", 0, elements.size()});
  ASSERT_TRUE(tensor.ok()) << tensor.status().ToString();
  auto split = SplitBytesElements(*tensor);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  ASSERT_EQ(split->size(), 3u);
  EXPECT_EQ((*split)[0], "ab");
  EXPECT_EQ((*split)[1], "");
  EXPECT_EQ((*split)[2], "xyz");

  // One byte left over after the three elements.
  auto extra =
      InputFromSharedMemory(manager, "TEXT", DataType::kBytes, {3}, {"input", 0, elements.size() + 1});
  EXPECT_EQ(extra.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(extra.status().message().find("'TEXT'"), std::string::npos) << extra.status().message();

  // The last element's bytes cut short.
  auto short_data =
      InputFromSharedMemory(manager, "TEXT", DataType::kBytes, {3}, {"input", 0, elements.size() - 1});
  EXPECT_EQ(short_data.status().code(), StatusCode::kInvalidArgument);

  // More elements in the shape than in the data.
  auto more = InputFromSharedMemory(manager, "TEXT", DataType::kBytes, {4}, {"input", 0, elements.size()});
  EXPECT_EQ(more.status().code(), StatusCode::kInvalidArgument);
}

TEST(WriteOutputToSharedMemory, CopiesIntoRegion) {
  SharedMemoryManager manager(true);
  PosixShmObject object(32);
  ASSERT_TRUE(manager.Register("output", object.key(), 8, 24).ok());
  Tensor output = MakeOwnedTensor("OUTPUT0", DataType::kInt32, {2}, RawBytes<int32_t>({11, -12}));

  auto written = WriteOutputToSharedMemory(manager, output, {"output", 4, 8});
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(*written, 8u);
  EXPECT_EQ(object.Read(12, 8), RawBytes<int32_t>({11, -12}));

  // A reference larger than the output leaves the rest untouched.
  object.Write(0, std::string(32, '\0'));
  auto partial = WriteOutputToSharedMemory(manager, output, {"output", 0, std::nullopt});
  ASSERT_TRUE(partial.ok()) << partial.status().ToString();
  EXPECT_EQ(*partial, 8u);
  EXPECT_EQ(object.Read(8, 8), RawBytes<int32_t>({11, -12}));
  EXPECT_EQ(object.Read(16, 16), std::string(16, '\0'));
}

TEST(WriteOutputToSharedMemory, OutputTooLarge) {
  SharedMemoryManager manager(true);
  PosixShmObject object(16);
  object.Write(0, std::string(16, 'u'));
  ASSERT_TRUE(manager.Register("output", object.key(), 0, 16).ok());
  Tensor output = MakeOwnedTensor("OUTPUT0", DataType::kUint8, {12}, std::string(12, 'o'));

  auto written = WriteOutputToSharedMemory(manager, output, {"output", 0, 8});
  EXPECT_EQ(written.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(written.status().message(),
            "output 'OUTPUT0' has 12 bytes, more than the 8 bytes referenced in shared memory region "
            "'output' at offset 0");

  auto rest = WriteOutputToSharedMemory(manager, output, {"output", 8, std::nullopt});
  EXPECT_EQ(rest.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rest.status().message().find("'OUTPUT0'"), std::string::npos) << rest.status().message();

  EXPECT_EQ(object.Read(0, 16), std::string(16, 'u'));
}

TEST(WriteOutputToSharedMemory, RegionErrorsNameOutput) {
  SharedMemoryManager manager(true);
  PosixShmObject object(8);
  ASSERT_TRUE(manager.Register("output", object.key(), 0, 8).ok());
  Tensor output = MakeOwnedTensor("OUTPUT0", DataType::kUint8, {1}, "x");

  auto missing = WriteOutputToSharedMemory(manager, output, {"missing", 0, 1});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "output 'OUTPUT0': shared memory region 'missing' is not registered");

  auto past_end = WriteOutputToSharedMemory(manager, output, {"output", 9, 1});
  EXPECT_EQ(past_end.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(past_end.status().message().find("'OUTPUT0'"), std::string::npos) << past_end.status().message();
}

}  // namespace
}  // namespace moat::shm

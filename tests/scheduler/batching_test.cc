#include "scheduler/batching.h"

#include <gtest/gtest.h>

#include <vector>

#include "scheduler/tensors.h"

namespace moat::scheduler {
namespace {

TEST(BatchRows, ReturnsSharedFirstDimension) {
  std::vector<Tensor> inputs = {MakeFp32("A", 3, 2, 0), MakeFp32("B", 3, 5, 0)};
  StatusOr<int64_t> rows = BatchRows(inputs);
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 3);
}

TEST(BatchRows, RejectsDisagreeingInputs) {
  std::vector<Tensor> inputs = {MakeFp32("A", 3, 2, 0), MakeFp32("B", 2, 2, 0)};
  StatusOr<int64_t> rows = BatchRows(inputs);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(rows.status().message().find("'B'"), std::string::npos) << rows.status().message();
}

TEST(BatchRows, RejectsRankZeroAndNoInputs) {
  std::vector<Tensor> scalar = {MakeOwnedTensor("S", DataType::kFp32, {}, std::string(4, '\0'))};
  EXPECT_EQ(BatchRows(scalar).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BatchRows({}).status().code(), StatusCode::kInvalidArgument);
}

TEST(CanShareBatch, ComparesNamesTypesDimsAndOutputs) {
  std::vector<Tensor> base = {MakeFp32("A", 1, 4, 0)};
  std::vector<std::string> out = {"Y"};
  std::vector<Tensor> more_rows = {MakeFp32("A", 3, 4, 9)};
  std::vector<Tensor> other_dims = {MakeFp32("A", 1, 3, 0)};
  std::vector<Tensor> other_name = {MakeFp32("B", 1, 4, 0)};
  std::vector<Tensor> other_type = {MakeBytes("A", {{"a", "b", "c", "d"}})};
  std::vector<std::string> other_out = {"Z"};

  EXPECT_TRUE(CanShareBatch(base, out, more_rows, out));
  EXPECT_FALSE(CanShareBatch(base, out, other_dims, out));
  EXPECT_FALSE(CanShareBatch(base, out, other_name, out));
  EXPECT_FALSE(CanShareBatch(base, out, other_type, out));
  EXPECT_FALSE(CanShareBatch(base, out, more_rows, other_out));
}

TEST(ConcatenateInputs, JoinsRowsInOrder) {
  std::vector<Tensor> a = {MakeFp32("X", 1, 2, 0)};
  std::vector<Tensor> b = {MakeFp32("X", 2, 2, 10)};
  std::vector<std::span<const Tensor>> parts = {a, b};
  std::vector<Tensor> batch = ConcatenateInputs(parts);
  ASSERT_EQ(batch.size(), 1u);
  EXPECT_EQ(batch[0].name, "X");
  EXPECT_EQ(batch[0].shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(BytesOf(batch[0]), BytesOf(a[0]) + BytesOf(b[0]));
  EXPECT_TRUE(CheckTensorByteSize(batch[0]).ok());
}

TEST(SplitRows, ReturnsEachRequestsRows) {
  Tensor a = MakeFp32("Y", 1, 3, 0);
  Tensor b = MakeFp32("Y", 2, 3, 100);
  std::vector<std::span<const Tensor>> parts = {std::span<const Tensor>(&a, 1),
                                                std::span<const Tensor>(&b, 1)};
  std::vector<Tensor> batch = ConcatenateInputs(parts);

  std::vector<int64_t> rows = {1, 2};
  StatusOr<std::vector<Tensor>> slices = SplitRows(batch[0], rows);
  ASSERT_TRUE(slices.ok()) << slices.status().ToString();
  ASSERT_EQ(slices->size(), 2u);
  EXPECT_EQ((*slices)[0].shape, a.shape);
  EXPECT_EQ((*slices)[1].shape, b.shape);
  EXPECT_EQ(BytesOf((*slices)[0]), BytesOf(a));
  EXPECT_EQ(BytesOf((*slices)[1]), BytesOf(b));
}

TEST(SplitRows, WalksBytesPrefixes) {
  Tensor a = MakeBytes("T", {{"", "abc"}});
  Tensor b = MakeBytes("T", {{"hello", "x"}, {std::string(300, 'z'), ""}});
  Tensor c = MakeBytes("T", {{"q", "rr"}});
  std::vector<std::span<const Tensor>> parts = {
      std::span<const Tensor>(&a, 1), std::span<const Tensor>(&b, 1), std::span<const Tensor>(&c, 1)};
  std::vector<Tensor> batch = ConcatenateInputs(parts);
  ASSERT_TRUE(CheckTensorByteSize(batch[0]).ok());

  std::vector<int64_t> rows = {1, 2, 1};
  StatusOr<std::vector<Tensor>> slices = SplitRows(batch[0], rows);
  ASSERT_TRUE(slices.ok()) << slices.status().ToString();
  ASSERT_EQ(slices->size(), 3u);
  EXPECT_EQ(BytesOf((*slices)[0]), BytesOf(a));
  EXPECT_EQ(BytesOf((*slices)[1]), BytesOf(b));
  EXPECT_EQ(BytesOf((*slices)[2]), BytesOf(c));
  EXPECT_EQ((*slices)[1].shape, (std::vector<int64_t>{2, 2}));
}

TEST(SplitRows, RejectsWrongRowCount) {
  Tensor output = MakeFp32("Y", 3, 2, 0);
  std::vector<int64_t> rows = {1, 1};
  StatusOr<std::vector<Tensor>> slices = SplitRows(output, rows);
  ASSERT_FALSE(slices.ok());
  EXPECT_EQ(slices.status().code(), StatusCode::kInternal);
  EXPECT_NE(slices.status().message().find("'Y'"), std::string::npos) << slices.status().message();
}

TEST(SplitRows, RejectsShortData) {
  Tensor output = MakeFp32("Y", 2, 2, 0);
  output.data = output.data.first(12);
  std::vector<int64_t> rows = {1, 1};
  EXPECT_EQ(SplitRows(output, rows).status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace moat::scheduler

#include "audit/tensor_digest.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace moat::audit {
namespace {

Tensor Make(std::string name, DataType type, std::vector<int64_t> shape, std::string bytes) {
  return MakeOwnedTensor(std::move(name), type, std::move(shape), std::move(bytes));
}

// Expected values computed with Python's hashlib from the encoding written in
// tensor_digest.h and docs/formats/audit.md, independently of this code.
TEST(DigestTensors, KnownAnswers) {
  EXPECT_EQ(DigestTensors({}), "872b491214f1e6ff87852b65f16392b040f58e1b4bee1c3a543ec287200f7679");

  const char fp32_one_two[] = {0x00, 0x00, static_cast<char>(0x80), 0x3f, 0x00, 0x00, 0x00, 0x40};
  std::vector<Tensor> tensors = {
      Make("INPUT0", DataType::kFp32, {1, 2}, std::string(fp32_one_two, 8)),
      Make("IN1", DataType::kBytes, {1},
           std::string("\x03\x00\x00\x00"
                       "abc",
                       7)),
  };
  EXPECT_EQ(DigestTensors(tensors), "526ad2408e9972089104bab606d95b5070e822bc8f449b40e4915e7d89ae8dc3");
}

TEST(DigestTensors, SameContentSameDigest) {
  std::vector<Tensor> a = {Make("x", DataType::kInt32, {1, 1}, "abcd")};
  std::vector<Tensor> b = {Make("x", DataType::kInt32, {1, 1}, "abcd")};
  EXPECT_EQ(DigestTensors(a), DigestTensors(b));
  EXPECT_EQ(DigestTensors(a).size(), 64u);
}

// Lists of the same group below encode to the same bytes under a plain
// concatenation of names, datatypes, dims and data. The digest must differ.
TEST(DigestTensors, DistinguishesConcatenationLookalikes) {
  using List = std::vector<Tensor>;
  const std::vector<std::pair<std::string, List>> lists = {
      {"name ab, data c", {Make("ab", DataType::kUint8, {1}, "c")}},
      {"name a, data bc", {Make("a", DataType::kUint8, {2}, "bc")}},
      {"name a, data bc, shape [1]", {Make("a", DataType::kUint8, {1}, "bc")}},
      {"data split 12|3", {Make("p", DataType::kUint8, {2}, "12"), Make("q", DataType::kUint8, {1}, "3")}},
      {"data split 1|23", {Make("p", DataType::kUint8, {1}, "1"), Make("q", DataType::kUint8, {2}, "23")}},
      {"shape [2,3]", {Make("t", DataType::kUint8, {2, 3}, "abcdef")}},
      {"shape [3,2]", {Make("t", DataType::kUint8, {3, 2}, "abcdef")}},
      {"shape [6]", {Make("t", DataType::kUint8, {6}, "abcdef")}},
      {"shape [1,6]", {Make("t", DataType::kUint8, {1, 6}, "abcdef")}},
      {"INT32", {Make("t", DataType::kInt32, {1}, "abcd")}},
      {"FP32", {Make("t", DataType::kFp32, {1}, "abcd")}},
      {"order p,q", {Make("p", DataType::kUint8, {1}, "a"), Make("q", DataType::kUint8, {1}, "a")}},
      {"order q,p", {Make("q", DataType::kUint8, {1}, "a"), Make("p", DataType::kUint8, {1}, "a")}},
      {"one empty tensor", {Make("", DataType::kUint8, {0}, "")}},
      {"no tensors", {}},
      {"BYTES", {Make("t", DataType::kBytes, {1}, std::string("\x01\x00\x00\x00z", 5))}},
      {"UINT8", {Make("t", DataType::kUint8, {5}, std::string("\x01\x00\x00\x00z", 5))}},
  };

  std::set<std::string> seen;
  for (const auto& [label, list] : lists) {
    EXPECT_TRUE(seen.insert(DigestTensors(list)).second) << label << " collides with an earlier list";
  }
}

}  // namespace
}  // namespace moat::audit

// Tensors as they travel between front ends, the core and runtimes.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/datatype.h"

namespace moat {

// A named tensor whose bytes live in a buffer kept alive by `owner` (a request
// body, a runtime output value, or a string made for it). Fixed-size types are
// little-endian elements in row-major order. BYTES elements are each a 4-byte
// little-endian length followed by that many bytes, the protocol's binary form.
struct Tensor {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> data;
  std::shared_ptr<const void> owner;
};

// Makes a tensor that owns `bytes`.
Tensor MakeOwnedTensor(std::string name, DataType datatype, std::vector<int64_t> shape,
                       std::string bytes);

// Returns the number of elements of `shape`. Rejects negative dimensions and
// products that overflow int64; `what` names the tensor in the error.
StatusOr<int64_t> ElementCount(std::span<const int64_t> shape, std::string_view what);

// Checks that `data` contains exactly `count` elements of `datatype`, walking the
// length prefixes for BYTES.
Status CheckTensorByteSize(const Tensor& tensor);

// Splits BYTES data into its elements. The views point into `tensor.data`.
StatusOr<std::vector<std::string_view>> SplitBytesElements(const Tensor& tensor);

// A declared input or output: -1 marks a dimension of variable size.
struct TensorSpec {
  std::string name;
  DataType datatype = DataType::kFp32;
  std::vector<int64_t> shape;
};

// Checks `shape` against `spec.shape` (same rank, equal where spec is not -1).
Status CheckShapeMatches(const TensorSpec& spec, std::span<const int64_t> shape);

std::string ShapeToString(std::span<const int64_t> shape);

}  // namespace moat

// Tensor data in the JSON form of the KServe v2 protocol: "data" arrays of
// inputs in, flat "data" arrays of outputs out.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/status.h"
#include "core/datatype.h"
#include "core/tensor.h"
#include "server/json.h"

namespace moat::server {

// Tensors of higher rank are rejected before their data is read; nested JSON
// data is walked recursively, one level per dimension.
inline constexpr size_t kMaxTensorRank = 64;

// Converts the "data" of input `name` into the tensor's binary form (see
// core/tensor.h). `data` is a flat array of `shape`'s element count, or
// arrays nested exactly as `shape` (row-major). INVALID_ARGUMENT, naming the
// input and the element, for a wrong count or a non-rectangular nesting, and
// for a value of the wrong JSON type or out of the datatype's range. Also
// INVALID_ARGUMENT for a rank above kMaxTensorRank and for FP16 and BF16,
// which have no JSON form.
StatusOr<std::string> DecodeJsonTensorData(const rapidjson::Value& data, DataType datatype,
                                           std::span<const int64_t> shape, std::string_view name);

// Writes `tensor`'s elements as one flat JSON array. FP16 and BF16 are written
// as the numbers they represent. INVALID_ARGUMENT when a BYTES element is not
// UTF-8 (it can then only travel as binary data); INTERNAL when the data does
// not match the shape.
Status WriteJsonTensorData(const Tensor& tensor, JsonWriter& writer);

}  // namespace moat::server

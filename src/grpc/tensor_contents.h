// Typed tensor contents (InferTensorContents) in the binary tensor form that
// Tensor carries.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"
#include "core/datatype.h"
#include "inference.pb.h"

namespace moat::grpc_server {

// Returns true when any repeated field of `contents` has an element.
bool HasTypedContents(const inference::InferTensorContents& contents);

// Encodes the contents of input `name` as little-endian elements (BYTES
// elements with a 4-byte length each). INVALID_ARGUMENT naming the input when
// the field for `datatype` does not hold exactly `element_count` values, when
// another field has values, when a value is outside the datatype's range, and
// for FP16 and BF16, which have no typed field.
StatusOr<std::string> EncodeTypedContents(const inference::InferTensorContents& contents, DataType datatype,
                                          int64_t element_count, const std::string& name);

}  // namespace moat::grpc_server

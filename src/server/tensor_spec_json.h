// Tensor metadata (name, datatype and shape) in the two JSON forms that the
// REST front end writes: KServe v2 model metadata and output tensors, and the
// Triton model configuration.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/datatype.h"
#include "core/tensor.h"
#include "server/json.h"

namespace moat::server {

enum class TensorSpecForm {
  kKServe,        // "name", "datatype": "FP32", "shape": [...]
  kTritonConfig,  // "name", "data_type": "TYPE_FP32", "dims": [...]
};

// The Triton name of a datatype in a model configuration ("TYPE_FP32";
// "TYPE_STRING" for BYTES).
std::string ConfigDataTypeName(DataType datatype);

// Writes the name, datatype and shape members of one tensor, spelled in
// `form`, into the object that is open.
void WriteTensorSpecMembers(JsonWriter& writer, std::string_view name, DataType datatype,
                            std::span<const int64_t> shape, TensorSpecForm form);

// Writes `specs` as an array of objects that hold those members.
void WriteTensorSpecs(JsonWriter& writer, const std::vector<TensorSpec>& specs, TensorSpecForm form);

}  // namespace moat::server

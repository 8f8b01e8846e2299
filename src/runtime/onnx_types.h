// Conversions between KServe v2 datatypes and ONNX tensor element types.
#pragma once

#include <optional>

#include <onnxruntime_cxx_api.h>

#include "core/datatype.h"

namespace moat::runtime {

// Returns nullopt for ONNX element types with no v2 datatype (complex, fp8, int4, ...).
std::optional<DataType> FromOnnxElementType(ONNXTensorElementDataType type);
ONNXTensorElementDataType ToOnnxElementType(DataType type);

}  // namespace moat::runtime

// Tensor elements in the JSON form of the KServe v2 protocol: the "data"
// array of an input or output, flat or nested, in row-major order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/status.h"
#include "core/tensor.h"

namespace moat::client {

// TODO: the element conversions here repeat those of server/json_tensor.h.
// The two differ in policy (this side rounds FP16 and BF16 through FP32 and
// rejects NaN, the server rejects FP16 and BF16 inputs and writes NaN), so
// one shared codec needs those choices as parameters.

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Writes the elements of `tensor` as one flat JSON array. Errors:
// INVALID_ARGUMENT naming the tensor when its byte size does not fit its
// shape, or for a NaN or infinite value, which JSON cannot represent.
Status WriteTensorDataJson(const Tensor& tensor, JsonWriter& writer);

// Converts a JSON "data" value to tensor bytes in moat::Tensor's layout,
// checking that it contains `count` elements of `datatype`. FP16 and BF16
// values are rounded to FP32 first. `tensor_label` names the tensor in errors. Errors:
// INVALID_ARGUMENT for a wrong element count, type or range.
StatusOr<std::string> TensorBytesFromJson(const rapidjson::Value& data, DataType datatype, int64_t count,
                                          std::string_view tensor_label);

}  // namespace moat::client

// The digest of a tensor list stored as input_digest and output_digest.
#pragma once

#include <span>
#include <string>

#include "core/tensor.h"

namespace moat::audit {

// Returns the lower-case hex SHA-256 of this encoding of `tensors`:
//   str("moat-tensor-digest-v1") u64(number of tensors)
//   then for each tensor in list order:
//   str(name) str(datatype name, e.g. "FP32") u64(rank) i64(dim) per dim str(data)
// Here u64(n) is n as 8 bytes little-endian and i64 the same in two's
// complement. str(s) is u64(byte length of s) followed by the bytes of s.
// Every variable part is length-prefixed, so two different lists never share
// an encoding. BYTES data is the protocol's length-prefixed element form.
std::string DigestTensors(std::span<const Tensor> tensors);

// Returns the record details of a model with audit_tensors on: the JSON
// object {"inputs":[T...],"outputs":[T...]}, where each T is
// {"name":..,"datatype":"FP32","shape":[..],"data":"<base64 of the raw bytes>"}
// (BYTES data in the protocol's length-prefixed element form).
std::string TensorsDetailsJson(std::span<const Tensor> inputs, std::span<const Tensor> outputs);

}  // namespace moat::audit

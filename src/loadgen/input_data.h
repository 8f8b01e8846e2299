// The input tensors that `moat bench` sends: generated from the model's
// metadata, read from a KServe JSON request file, or read raw per input.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/inference.h"
#include "core/tensor.h"

namespace moat::loadgen {

// Input name -> shape, filling the variable (-1) dimensions of the metadata.
using ShapeOverrides = std::map<std::string, std::vector<int64_t>>;

// Parses "NAME=1,3,224,224" into `shapes`. Errors: INVALID_ARGUMENT naming
// `text` for a missing name, a negative or non-numeric dimension, or a name
// given twice.
Status ParseShapeOverride(const std::string& text, ShapeOverrides& shapes);

// Returns the shape to send for `spec`: the override when there is one (it
// must match the declared shape), else the declared shape, which must have no
// variable dimension. Errors: INVALID_ARGUMENT naming the input.
StatusOr<std::vector<int64_t>> ResolveInputShape(const TensorSpec& spec, const ShapeOverrides& shapes);

// Makes one tensor per input of `metadata` with pseudo-random values from
// `seed`: 0 or 1 for BOOL, any value for integers, [0, 1) for floating point
// (FP16 and BF16 rounded from FP32), and short ASCII strings for BYTES.
// Errors: those of ResolveInputShape; INVALID_ARGUMENT for a tensor over 1 GiB
// or an override naming no input of the model.
StatusOr<std::vector<Tensor>> GenerateInputs(const ModelMetadata& metadata, const ShapeOverrides& shapes,
                                             uint64_t seed);

// Reads the "inputs" of a KServe v2 JSON infer request (name, datatype,
// shape, data) as tensors. `source_name` names the file in errors. Errors:
// INVALID_ARGUMENT naming the field or tensor that is malformed.
StatusOr<std::vector<Tensor>> ParseJsonRequestInputs(const std::string& json, const std::string& source_name);

// Makes the inputs of `metadata` from raw files: `raw_files` maps each input
// name to a file of its bytes in moat::Tensor's layout (little-endian
// elements; BYTES elements each with a 4-byte little-endian length prefix),
// with shapes as for ResolveInputShape. Errors: those of moat::ReadFile, and
// INVALID_ARGUMENT naming the input or file for a missing input, an unknown
// name or a size that does not fit the shape.
StatusOr<std::vector<Tensor>> ReadRawInputs(const ModelMetadata& metadata,
                                            const std::map<std::string, std::string>& raw_files,
                                            const ShapeOverrides& shapes);

}  // namespace moat::loadgen

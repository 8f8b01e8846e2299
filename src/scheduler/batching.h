// Joining requests into one batch along dimension 0 and splitting the
// outputs back by rows. Pure functions, safe from any thread.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/tensor.h"

namespace moat::scheduler {

// Returns the batch size (dimension 0) shared by all `inputs`. Returns
// INVALID_ARGUMENT when there are no inputs, an input has rank 0, or two
// inputs disagree on dimension 0.
StatusOr<int64_t> BatchRows(std::span<const Tensor> inputs);

// Returns true when two requests may share a batch: the same input names in
// the same order, with equal datatypes and equal dimensions after the first,
// and the same requested outputs in the same order.
bool CanShareBatch(std::span<const Tensor> a_inputs, std::span<const std::string> a_outputs,
                   std::span<const Tensor> b_inputs, std::span<const std::string> b_outputs);

// Concatenates the inputs of `requests` along dimension 0, in order, into
// tensors that own a copy of the bytes. REQUIRES: `requests` is not empty and
// every pair passes CanShareBatch.
std::vector<Tensor> ConcatenateInputs(std::span<const std::span<const Tensor>> requests);

// Splits `output` along dimension 0 into consecutive slices of `rows[i]` rows.
// The slices point into `output.data` and share its owner, so no bytes are
// copied. Returns INTERNAL when `output` has rank 0, a dimension 0 other than
// the sum of `rows`, or a byte size that does not fit its shape.
StatusOr<std::vector<Tensor>> SplitRows(const Tensor& output, std::span<const int64_t> rows);

}  // namespace moat::scheduler

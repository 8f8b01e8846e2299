#include "scheduler/batching.h"

#include <cstring>
#include <memory>

namespace moat::scheduler {
namespace {

// Returns the byte offset of each element boundary of BYTES data, so that
// element i spans [offsets[i], offsets[i + 1]). REQUIRES: the data passed
// CheckTensorByteSize.
std::vector<size_t> BytesElementOffsets(std::span<const uint8_t> data, int64_t count) {
  std::vector<size_t> offsets;
  offsets.reserve(static_cast<size_t>(count) + 1);
  size_t offset = 0;
  offsets.push_back(offset);
  for (int64_t i = 0; i < count; ++i) {
    uint32_t length = static_cast<uint32_t>(data[offset]) | static_cast<uint32_t>(data[offset + 1]) << 8 |
                      static_cast<uint32_t>(data[offset + 2]) << 16 |
                      static_cast<uint32_t>(data[offset + 3]) << 24;
    offset += 4 + length;
    offsets.push_back(offset);
  }
  return offsets;
}

}  // namespace

StatusOr<int64_t> BatchRows(std::span<const Tensor> inputs) {
  if (inputs.empty()) return InvalidArgumentError("a batched request needs at least one input");
  int64_t rows = -1;
  for (const Tensor& input : inputs) {
    if (input.shape.empty()) {
      return InvalidArgumentError("input '" + input.name +
                                  "' has rank 0, but the model batches along dimension 0");
    }
    if (rows >= 0 && input.shape[0] != rows) {
      return InvalidArgumentError("input '" + input.name + "' has batch size " +
                                  std::to_string(input.shape[0]) + ", but input '" + inputs[0].name +
                                  "' has batch size " + std::to_string(rows));
    }
    rows = input.shape[0];
  }
  return rows;
}

bool CanShareBatch(std::span<const Tensor> a_inputs, std::span<const std::string> a_outputs,
                   std::span<const Tensor> b_inputs, std::span<const std::string> b_outputs) {
  if (a_inputs.size() != b_inputs.size() || a_outputs.size() != b_outputs.size()) return false;
  for (size_t i = 0; i < a_outputs.size(); ++i) {
    if (a_outputs[i] != b_outputs[i]) return false;
  }
  for (size_t i = 0; i < a_inputs.size(); ++i) {
    const Tensor& a = a_inputs[i];
    const Tensor& b = b_inputs[i];
    if (a.name != b.name || a.datatype != b.datatype || a.shape.size() != b.shape.size()) return false;
    if (a.shape.empty()) return false;
    for (size_t d = 1; d < a.shape.size(); ++d) {
      if (a.shape[d] != b.shape[d]) return false;
    }
  }
  return true;
}

std::vector<Tensor> ConcatenateInputs(std::span<const std::span<const Tensor>> requests) {
  std::vector<Tensor> batch;
  const std::span<const Tensor> first = requests.front();
  batch.reserve(first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    size_t total_bytes = 0;
    int64_t total_rows = 0;
    for (std::span<const Tensor> request : requests) {
      total_bytes += request[i].data.size();
      total_rows += request[i].shape[0];
    }
    std::string bytes;
    bytes.reserve(total_bytes);
    for (std::span<const Tensor> request : requests) {
      bytes.append(reinterpret_cast<const char*>(request[i].data.data()), request[i].data.size());
    }
    // BYTES elements carry their own length prefixes, so plain concatenation
    // of two valid buffers is a valid buffer with the elements of both.
    std::vector<int64_t> shape = first[i].shape;
    shape[0] = total_rows;
    batch.push_back(MakeOwnedTensor(first[i].name, first[i].datatype, std::move(shape), std::move(bytes)));
  }
  return batch;
}

StatusOr<std::vector<Tensor>> SplitRows(const Tensor& output, std::span<const int64_t> rows) {
  const std::string what = "output '" + output.name + "' of the batched execution";
  if (output.shape.empty()) return InternalError(what + " has rank 0, so it cannot be split by rows");
  int64_t total_rows = 0;
  for (int64_t r : rows) total_rows += r;
  if (output.shape[0] != total_rows) {
    return InternalError(what + " has " + std::to_string(output.shape[0]) + " rows, expected " +
                         std::to_string(total_rows));
  }
  Status size_check = CheckTensorByteSize(output);
  if (!size_check.ok()) return InternalError(what + ": " + size_check.message());

  std::span<const int64_t> row_dims(output.shape.data() + 1, output.shape.size() - 1);
  MOAT_ASSIGN_OR_RETURN(int64_t row_elements, ElementCount(row_dims, what));
  std::vector<size_t> bytes_offsets;
  if (output.datatype == DataType::kBytes) {
    bytes_offsets = BytesElementOffsets(output.data, row_elements * total_rows);
  }
  const size_t element_size = DataTypeSize(output.datatype);

  std::vector<Tensor> slices;
  slices.reserve(rows.size());
  int64_t first_row = 0;
  for (int64_t r : rows) {
    size_t begin = 0;
    size_t end = 0;
    if (output.datatype == DataType::kBytes) {
      begin = bytes_offsets[static_cast<size_t>(first_row * row_elements)];
      end = bytes_offsets[static_cast<size_t>((first_row + r) * row_elements)];
    } else {
      begin = static_cast<size_t>(first_row * row_elements) * element_size;
      end = static_cast<size_t>((first_row + r) * row_elements) * element_size;
    }
    Tensor slice;
    slice.name = output.name;
    slice.datatype = output.datatype;
    slice.shape = output.shape;
    slice.shape[0] = r;
    slice.data = output.data.subspan(begin, end - begin);
    slice.owner = output.owner;
    slices.push_back(std::move(slice));
    first_row += r;
  }
  return slices;
}

}  // namespace moat::scheduler

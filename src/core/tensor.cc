#include "core/tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>

namespace moat {

Tensor MakeOwnedTensor(std::string name, DataType datatype, std::vector<int64_t> shape,
                       std::string bytes) {
  auto storage = std::make_shared<const std::string>(std::move(bytes));
  Tensor t;
  t.name = std::move(name);
  t.datatype = datatype;
  t.shape = std::move(shape);
  t.data = {reinterpret_cast<const uint8_t*>(storage->data()), storage->size()};
  t.owner = std::move(storage);
  return t;
}

std::string ShapeToString(std::span<const int64_t> shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(shape[i]);
  }
  out += "]";
  return out;
}

StatusOr<int64_t> ElementCount(std::span<const int64_t> shape, std::string_view what) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      return InvalidArgumentError(std::string(what) + ": negative dimension " + std::to_string(dim) +
                                  " in shape " + ShapeToString(shape));
    }
    if (dim != 0 && count > std::numeric_limits<int64_t>::max() / dim) {
      return InvalidArgumentError(std::string(what) + ": element count of shape " +
                                  ShapeToString(shape) + " overflows");
    }
    count *= dim;
  }
  return count;
}

StatusOr<std::vector<std::string_view>> SplitBytesElements(const Tensor& tensor) {
  MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(tensor.shape, "input '" + tensor.name + "'"));
  std::vector<std::string_view> out;
  size_t offset = 0;
  const auto* base = reinterpret_cast<const char*>(tensor.data.data());
  // Every element needs at least its 4-byte length, which bounds the reservation.
  out.reserve(static_cast<size_t>(std::min<int64_t>(count, static_cast<int64_t>(tensor.data.size() / 4))));
  for (int64_t i = 0; i < count; ++i) {
    if (tensor.data.size() - offset < 4) {
      return InvalidArgumentError("tensor '" + tensor.name + "': BYTES data ends inside the length of element " +
                                  std::to_string(i));
    }
    uint32_t len = 0;
    for (int b = 3; b >= 0; --b) len = (len << 8) | tensor.data[offset + static_cast<size_t>(b)];
    offset += 4;
    if (tensor.data.size() - offset < len) {
      return InvalidArgumentError("tensor '" + tensor.name + "': BYTES element " + std::to_string(i) +
                                  " has length " + std::to_string(len) + " but only " +
                                  std::to_string(tensor.data.size() - offset) + " bytes remain");
    }
    out.emplace_back(base + offset, len);
    offset += len;
  }
  if (offset != tensor.data.size()) {
    return InvalidArgumentError("tensor '" + tensor.name + "': " + std::to_string(tensor.data.size() - offset) +
                                " bytes left over after " + std::to_string(count) + " BYTES elements");
  }
  return out;
}

Status CheckTensorByteSize(const Tensor& tensor) {
  MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(tensor.shape, "tensor '" + tensor.name + "'"));
  if (tensor.datatype == DataType::kBytes) return SplitBytesElements(tensor).status();
  size_t element = DataTypeSize(tensor.datatype);
  if (static_cast<uint64_t>(count) > std::numeric_limits<size_t>::max() / element) {
    return InvalidArgumentError("tensor '" + tensor.name + "': byte size of shape " +
                                ShapeToString(tensor.shape) + " overflows");
  }
  size_t expected = static_cast<size_t>(count) * element;
  if (tensor.data.size() != expected) {
    return InvalidArgumentError("tensor '" + tensor.name + "': shape " + ShapeToString(tensor.shape) + " of " +
                                std::string(DataTypeName(tensor.datatype)) + " needs " +
                                std::to_string(expected) + " bytes, got " + std::to_string(tensor.data.size()));
  }
  return OkStatus();
}

Status CheckShapeMatches(const TensorSpec& spec, std::span<const int64_t> shape) {
  bool match = spec.shape.size() == shape.size();
  for (size_t i = 0; match && i < shape.size(); ++i) {
    match = spec.shape[i] == -1 || spec.shape[i] == shape[i];
  }
  if (!match) {
    return InvalidArgumentError("tensor '" + spec.name + "': shape " + ShapeToString(shape) +
                                " does not match the model's shape " + ShapeToString(spec.shape));
  }
  return OkStatus();
}

}  // namespace moat

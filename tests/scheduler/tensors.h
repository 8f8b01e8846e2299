// Small tensor builders for the scheduler tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace moat::scheduler {

// An FP32 tensor [rows, cols] containing first, first + 1, ... in row-major order.
inline Tensor MakeFp32(const std::string& name, int64_t rows, int64_t cols, float first) {
  std::string bytes(static_cast<size_t>(rows * cols) * sizeof(float), '\0');
  for (int64_t i = 0; i < rows * cols; ++i) {
    float value = first + static_cast<float>(i);
    std::memcpy(bytes.data() + i * sizeof(float), &value, sizeof(float));
  }
  return MakeOwnedTensor(name, DataType::kFp32, {rows, cols}, std::move(bytes));
}

// A BYTES tensor [rows.size(), n] where every row has the same n elements.
inline Tensor MakeBytes(const std::string& name, const std::vector<std::vector<std::string>>& rows) {
  std::string bytes;
  for (const auto& row : rows) {
    for (const std::string& element : row) {
      uint32_t length = static_cast<uint32_t>(element.size());
      for (int shift = 0; shift < 32; shift += 8)
        bytes.push_back(static_cast<char>((length >> shift) & 0xff));
      bytes += element;
    }
  }
  int64_t cols = rows.empty() ? 0 : static_cast<int64_t>(rows[0].size());
  return MakeOwnedTensor(name, DataType::kBytes, {static_cast<int64_t>(rows.size()), cols}, std::move(bytes));
}

inline std::string BytesOf(const Tensor& tensor) {
  return {reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size()};
}

}  // namespace moat::scheduler

// Test helpers that spell tensor data as the raw bytes the protocol carries.
#pragma once

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/tensor.h"

namespace moat::testing {

// Returns the values' in-memory bytes back to back (little-endian here).
template <typename T>
std::string RawBytes(std::initializer_list<T> values) {
  std::string out;
  for (T value : values) {
    char bytes[sizeof(T)];
    std::memcpy(bytes, &value, sizeof(T));
    out.append(bytes, sizeof(T));
  }
  return out;
}

// Returns one BYTES element in binary form: a 4-byte length, then the bytes.
inline std::string BytesElement(std::string_view element) {
  return RawBytes<uint32_t>({static_cast<uint32_t>(element.size())}) + std::string(element);
}

// Returns a copy of the tensor's data.
inline std::string TensorBytes(const Tensor& tensor) {
  return std::string(reinterpret_cast<const char*>(tensor.data.data()), tensor.data.size());
}

}  // namespace moat::testing

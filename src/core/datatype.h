// The KServe v2 tensor datatypes and their element sizes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace moat {

enum class DataType : uint8_t {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kBf16,
  kFp32,
  kFp64,
  kBytes,
};

inline constexpr DataType kAllDataTypes[] = {
    DataType::kBool, DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
    DataType::kInt8, DataType::kInt16, DataType::kInt32,  DataType::kInt64,  DataType::kFp16,
    DataType::kBf16, DataType::kFp32,  DataType::kFp64,   DataType::kBytes,
};

// Parses the protocol's upper-case name ("FP32", "BYTES", ...). Case-sensitive,
// as the protocol defines it.
std::optional<DataType> ParseDataType(std::string_view name);
std::string_view DataTypeName(DataType type);

// Every datatype name, comma-separated, for error messages that list the
// accepted values: "BOOL, UINT8, ..., BYTES".
std::string DataTypeNameList();

// Size of one element in bytes; 0 for BYTES, whose elements vary in length.
size_t DataTypeSize(DataType type);

}  // namespace moat

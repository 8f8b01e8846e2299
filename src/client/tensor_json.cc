#include "client/tensor_json.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "client/half_float.h"

namespace moat::client {

namespace {

static_assert(std::endian::native == std::endian::little, "tensor bytes are little-endian");

// Nesting deeper than any tensor rank a server would send is rejected.
constexpr int kMaxNesting = 64;

template <typename T>
T LoadElement(const uint8_t* bytes) {
  T value;
  std::memcpy(&value, bytes, sizeof(T));
  return value;
}

template <typename T>
void StoreElement(T value, std::string& out) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

Status WriteFloat(double value, const Tensor& tensor, int64_t index, JsonWriter& writer) {
  if (!std::isfinite(value)) {
    return InvalidArgumentError("tensor '" + tensor.name + "': element " + std::to_string(index) + " is " +
                                (std::isnan(value) ? "NaN" : "infinite") +
                                ", which JSON cannot represent; send it as binary data");
  }
  writer.Double(value);
  return OkStatus();
}

// Writes element `index` of a fixed-size datatype.
Status WriteElement(const Tensor& tensor, int64_t index, JsonWriter& writer) {
  const uint8_t* p = tensor.data.data() + static_cast<size_t>(index) * DataTypeSize(tensor.datatype);
  switch (tensor.datatype) {
    case DataType::kBool:
      writer.Bool(*p != 0);
      break;
    case DataType::kUint8:
      writer.Uint(*p);
      break;
    case DataType::kUint16:
      writer.Uint(LoadElement<uint16_t>(p));
      break;
    case DataType::kUint32:
      writer.Uint(LoadElement<uint32_t>(p));
      break;
    case DataType::kUint64:
      writer.Uint64(LoadElement<uint64_t>(p));
      break;
    case DataType::kInt8:
      writer.Int(LoadElement<int8_t>(p));
      break;
    case DataType::kInt16:
      writer.Int(LoadElement<int16_t>(p));
      break;
    case DataType::kInt32:
      writer.Int(LoadElement<int32_t>(p));
      break;
    case DataType::kInt64:
      writer.Int64(LoadElement<int64_t>(p));
      break;
    case DataType::kFp16:
      return WriteFloat(HalfBitsToFloat(LoadElement<uint16_t>(p)), tensor, index, writer);
    case DataType::kBf16:
      return WriteFloat(Bf16BitsToFloat(LoadElement<uint16_t>(p)), tensor, index, writer);
    case DataType::kFp32:
      return WriteFloat(LoadElement<float>(p), tensor, index, writer);
    case DataType::kFp64:
      return WriteFloat(LoadElement<double>(p), tensor, index, writer);
    case DataType::kBytes:
      break;  // handled by the caller
  }
  return OkStatus();
}

// Collects the leaves of nested arrays in row-major order.
Status FlattenJsonArray(const rapidjson::Value& value, int depth, std::string_view tensor_label,
                        std::vector<const rapidjson::Value*>& leaves) {
  if (depth > kMaxNesting) {
    return InvalidArgumentError(std::string(tensor_label) + ": \"data\" is nested more than " +
                                std::to_string(kMaxNesting) + " levels deep");
  }
  if (!value.IsArray()) {
    leaves.push_back(&value);
    return OkStatus();
  }
  for (const rapidjson::Value& item : value.GetArray()) {
    MOAT_RETURN_IF_ERROR(FlattenJsonArray(item, depth + 1, tensor_label, leaves));
  }
  return OkStatus();
}

Status ElementError(std::string_view tensor_label, size_t index, DataType datatype) {
  return InvalidArgumentError(std::string(tensor_label) + ": element " + std::to_string(index) +
                              " of \"data\" is not a valid " + std::string(DataTypeName(datatype)) +
                              " value");
}

template <typename T>
bool StoreInteger(const rapidjson::Value& value, std::string& out) {
  if constexpr (std::is_signed_v<T>) {
    if (!value.IsInt64()) return false;
    const int64_t v = value.GetInt64();
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) return false;
    StoreElement(static_cast<T>(v), out);
  } else {
    if (!value.IsUint64()) return false;
    const uint64_t v = value.GetUint64();
    if (v > std::numeric_limits<T>::max()) return false;
    StoreElement(static_cast<T>(v), out);
  }
  return true;
}

// Appends one element; returns false when the value does not fit `datatype`.
bool StoreJsonElement(const rapidjson::Value& value, DataType datatype, std::string& out) {
  switch (datatype) {
    case DataType::kBool:
      if (!value.IsBool()) return false;
      out.push_back(value.GetBool() ? '\1' : '\0');
      return true;
    case DataType::kUint8:
      return StoreInteger<uint8_t>(value, out);
    case DataType::kUint16:
      return StoreInteger<uint16_t>(value, out);
    case DataType::kUint32:
      return StoreInteger<uint32_t>(value, out);
    case DataType::kUint64:
      return StoreInteger<uint64_t>(value, out);
    case DataType::kInt8:
      return StoreInteger<int8_t>(value, out);
    case DataType::kInt16:
      return StoreInteger<int16_t>(value, out);
    case DataType::kInt32:
      return StoreInteger<int32_t>(value, out);
    case DataType::kInt64:
      return StoreInteger<int64_t>(value, out);
    case DataType::kBytes:
      if (!value.IsString()) return false;
      StoreElement(static_cast<uint32_t>(value.GetStringLength()), out);
      out.append(value.GetString(), value.GetStringLength());
      return true;
    default:
      break;
  }
  if (!value.IsNumber()) return false;
  const double number = value.GetDouble();
  if (datatype == DataType::kFp64) {
    StoreElement(number, out);
    return true;
  }
  // Finite values beyond the FP32 range would silently become infinity.
  if (std::abs(number) > std::numeric_limits<float>::max()) return false;
  const auto single = static_cast<float>(number);
  if (datatype == DataType::kFp32) StoreElement(single, out);
  if (datatype == DataType::kFp16) StoreElement(FloatToHalfBits(single), out);
  if (datatype == DataType::kBf16) StoreElement(FloatToBf16Bits(single), out);
  return true;
}

}  // namespace

Status WriteTensorDataJson(const Tensor& tensor, JsonWriter& writer) {
  MOAT_RETURN_IF_ERROR(CheckTensorByteSize(tensor));
  writer.StartArray();
  if (tensor.datatype == DataType::kBytes) {
    MOAT_ASSIGN_OR_RETURN(std::vector<std::string_view> elements, SplitBytesElements(tensor));
    for (std::string_view element : elements) {
      writer.String(element.data(), static_cast<rapidjson::SizeType>(element.size()));
    }
  } else {
    MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(tensor.shape, "tensor '" + tensor.name + "'"));
    for (int64_t i = 0; i < count; ++i) MOAT_RETURN_IF_ERROR(WriteElement(tensor, i, writer));
  }
  writer.EndArray();
  return OkStatus();
}

StatusOr<std::string> TensorBytesFromJson(const rapidjson::Value& data, DataType datatype, int64_t count,
                                          std::string_view tensor_label) {
  std::vector<const rapidjson::Value*> leaves;
  MOAT_RETURN_IF_ERROR(FlattenJsonArray(data, 0, tensor_label, leaves));
  if (static_cast<int64_t>(leaves.size()) != count) {
    return InvalidArgumentError(std::string(tensor_label) + ": \"data\" has " +
                                std::to_string(leaves.size()) + " elements but the shape needs " +
                                std::to_string(count));
  }
  std::string out;
  out.reserve(leaves.size() * std::max<size_t>(DataTypeSize(datatype), 1));
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (!StoreJsonElement(*leaves[i], datatype, out)) return ElementError(tensor_label, i, datatype);
  }
  return out;
}

}  // namespace moat::client

#include "server/json_tensor.h"

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "server/utf8.h"

namespace moat::server {
namespace {

static_assert(std::endian::native == std::endian::little, "tensor bytes are little-endian, as on the host");

template <typename T>
void AppendRaw(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
T ReadRaw(const uint8_t* data, size_t index) {
  T value;
  std::memcpy(&value, data + index * sizeof(T), sizeof(T));
  return value;
}

// IEEE 754 binary16 to binary32; every half value is exact as a float.
float HalfToFloat(uint16_t half) {
  bool negative = (half & 0x8000) != 0;
  uint32_t exponent = (half >> 10) & 0x1F;
  uint32_t mantissa = half & 0x3FF;
  float magnitude = 0;
  if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  } else if (exponent == 31) {
    magnitude =
        mantissa == 0 ? std::numeric_limits<float>::infinity() : std::numeric_limits<float>::quiet_NaN();
  } else {
    magnitude = std::bit_cast<float>(((exponent + 112) << 23) | (mantissa << 13));
  }
  return negative ? -magnitude : magnitude;
}

// bfloat16 is the upper half of a binary32.
float Bf16ToFloat(uint16_t value) { return std::bit_cast<float>(static_cast<uint32_t>(value) << 16); }

// Walks a "data" array and appends each element to the tensor bytes.
class JsonDataDecoder {
 public:
  JsonDataDecoder(DataType datatype, std::span<const int64_t> shape, std::string_view name)
      : datatype_(datatype), shape_(shape), name_(name) {}

  StatusOr<std::string> Decode(const rapidjson::Value& data) {
    MOAT_ASSIGN_OR_RETURN(int64_t count, ElementCount(shape_, Prefix()));
    if (!data.IsArray()) {
      return InvalidArgumentError(Prefix() + ": 'data' must be an array, got " + DescribeJsonValue(data));
    }

    bool nested = data.Size() > 0 && data[0].IsArray();
    if (nested) {
      MOAT_RETURN_IF_ERROR(Walk(data, 0));
    } else {
      if (static_cast<uint64_t>(data.Size()) != static_cast<uint64_t>(count)) {
        return InvalidArgumentError(Prefix() + ": 'data' has " + std::to_string(data.Size()) +
                                    " elements but shape " + ShapeToString(shape_) + " needs " +
                                    std::to_string(count));
      }
      // The elements are already in memory as JSON values, so `count` is small
      // enough to reserve for.
      out_.reserve(static_cast<size_t>(count) * DataTypeSize(datatype_));
      for (const rapidjson::Value& element : data.GetArray()) MOAT_RETURN_IF_ERROR(AppendElement(element));
    }
    return std::move(out_);
  }

 private:
  std::string Prefix() const { return "input '" + std::string(name_) + "'"; }

  Status Walk(const rapidjson::Value& value, size_t depth) {
    if (depth == shape_.size()) {
      if (value.IsArray()) {
        return InvalidArgumentError(Prefix() + ": 'data' nests deeper than shape " + ShapeToString(shape_));
      }
      return AppendElement(value);
    }
    if (!value.IsArray()) {
      return InvalidArgumentError(Prefix() + ": 'data' at depth " + std::to_string(depth) + " is " +
                                  DescribeJsonValue(value) + " but shape " + ShapeToString(shape_) +
                                  " needs an array of " + std::to_string(shape_[depth]) + " elements there");
    }
    if (static_cast<uint64_t>(value.Size()) != static_cast<uint64_t>(shape_[depth])) {
      return InvalidArgumentError(Prefix() + ": 'data' is not rectangular for shape " +
                                  ShapeToString(shape_) + ": an array at depth " + std::to_string(depth) +
                                  " has " + std::to_string(value.Size()) + " elements, expected " +
                                  std::to_string(shape_[depth]));
    }
    for (const rapidjson::Value& child : value.GetArray()) MOAT_RETURN_IF_ERROR(Walk(child, depth + 1));
    return OkStatus();
  }

  Status ElementError(const rapidjson::Value& value, std::string_view problem) const {
    return InvalidArgumentError(Prefix() + ": element " + std::to_string(index_) + " (" +
                                DescribeJsonValue(value) + ") " + std::string(problem));
  }

  template <typename T>
  Status AppendInteger(const rapidjson::Value& value) {
    bool in_range = false;
    if (value.IsInt64()) {
      in_range = std::in_range<T>(value.GetInt64());
      if (in_range) AppendRaw(out_, static_cast<T>(value.GetInt64()));
    } else if (value.IsUint64()) {
      in_range = std::in_range<T>(value.GetUint64());
      if (in_range) AppendRaw(out_, static_cast<T>(value.GetUint64()));
    } else {
      return ElementError(value,
                          "is not an integer, as " + std::string(DataTypeName(datatype_)) + " requires");
    }
    if (!in_range) return ElementError(value, "is out of range for " + std::string(DataTypeName(datatype_)));
    return OkStatus();
  }

  Status AppendElement(const rapidjson::Value& value) {
    Status status = AppendElementOfType(value);
    ++index_;
    return status;
  }

  Status AppendElementOfType(const rapidjson::Value& value) {
    switch (datatype_) {
      case DataType::kBool:
        if (!value.IsBool()) return ElementError(value, "is not true or false, as BOOL requires");
        out_ += static_cast<char>(value.GetBool() ? 1 : 0);
        return OkStatus();
      case DataType::kUint8:
        return AppendInteger<uint8_t>(value);
      case DataType::kUint16:
        return AppendInteger<uint16_t>(value);
      case DataType::kUint32:
        return AppendInteger<uint32_t>(value);
      case DataType::kUint64:
        return AppendInteger<uint64_t>(value);
      case DataType::kInt8:
        return AppendInteger<int8_t>(value);
      case DataType::kInt16:
        return AppendInteger<int16_t>(value);
      case DataType::kInt32:
        return AppendInteger<int32_t>(value);
      case DataType::kInt64:
        return AppendInteger<int64_t>(value);
      case DataType::kFp32: {
        if (!value.IsNumber()) return ElementError(value, "is not a number, as FP32 requires");
        double number = value.GetDouble();
        if (std::isfinite(number) && std::fabs(number) > FLT_MAX) {
          return ElementError(value, "is out of range for FP32");
        }
        AppendRaw(out_, static_cast<float>(number));
        return OkStatus();
      }
      case DataType::kFp64:
        if (!value.IsNumber()) return ElementError(value, "is not a number, as FP64 requires");
        AppendRaw(out_, value.GetDouble());
        return OkStatus();
      case DataType::kBytes: {
        if (!value.IsString()) return ElementError(value, "is not a string, as BYTES requires");
        AppendRaw(out_, static_cast<uint32_t>(value.GetStringLength()));
        out_.append(value.GetString(), value.GetStringLength());
        return OkStatus();
      }
      case DataType::kFp16:
      case DataType::kBf16:
        break;
    }
    return InternalError(Prefix() + ": no JSON decoding for " + std::string(DataTypeName(datatype_)));
  }

  DataType datatype_;
  std::span<const int64_t> shape_;
  std::string_view name_;
  int64_t index_ = 0;
  std::string out_;
};

template <typename T>
void WriteIntegers(const Tensor& tensor, size_t count, JsonWriter& writer) {
  for (size_t i = 0; i < count; ++i) {
    T value = ReadRaw<T>(tensor.data.data(), i);
    if constexpr (std::is_signed_v<T>) {
      writer.Int64(value);
    } else {
      writer.Uint64(value);
    }
  }
}

Status WriteBytesElements(const Tensor& tensor, JsonWriter& writer) {
  MOAT_ASSIGN_OR_RETURN(std::vector<std::string_view> elements, SplitBytesElements(tensor));
  for (size_t i = 0; i < elements.size(); ++i) {
    if (!IsValidUtf8(elements[i])) {
      return InvalidArgumentError("output '" + tensor.name + "': BYTES element " + std::to_string(i) +
                                  " is not UTF-8 text, so it cannot be sent as JSON; request the output with "
                                  "the parameter \"binary_data\": true");
    }
    writer.String(elements[i].data(), static_cast<rapidjson::SizeType>(elements[i].size()));
  }
  return OkStatus();
}

}  // namespace

StatusOr<std::string> DecodeJsonTensorData(const rapidjson::Value& data, DataType datatype,
                                           std::span<const int64_t> shape, std::string_view name) {
  if (datatype == DataType::kFp16 || datatype == DataType::kBf16) {
    return InvalidArgumentError(
        "input '" + std::string(name) + "' is " + std::string(DataTypeName(datatype)) +
        ", which has no JSON form; send it as binary data with the \"binary_data_size\" "
        "parameter");
  }
  if (shape.size() > kMaxTensorRank) {
    return InvalidArgumentError("input '" + std::string(name) + "' has rank " + std::to_string(shape.size()) +
                                ", above the maximum of " + std::to_string(kMaxTensorRank));
  }
  return JsonDataDecoder(datatype, shape, name).Decode(data);
}

Status WriteJsonTensorData(const Tensor& tensor, JsonWriter& writer) {
  Status size_status = CheckTensorByteSize(tensor);
  if (!size_status.ok()) return InternalError("output does not match its shape: " + size_status.message());

  writer.StartArray();
  size_t element_size = DataTypeSize(tensor.datatype);
  size_t count = element_size == 0 ? 0 : tensor.data.size() / element_size;
  const uint8_t* data = tensor.data.data();
  switch (tensor.datatype) {
    case DataType::kBool:
      for (size_t i = 0; i < count; ++i) writer.Bool(data[i] != 0);
      break;
    case DataType::kUint8:
      WriteIntegers<uint8_t>(tensor, count, writer);
      break;
    case DataType::kUint16:
      WriteIntegers<uint16_t>(tensor, count, writer);
      break;
    case DataType::kUint32:
      WriteIntegers<uint32_t>(tensor, count, writer);
      break;
    case DataType::kUint64:
      WriteIntegers<uint64_t>(tensor, count, writer);
      break;
    case DataType::kInt8:
      WriteIntegers<int8_t>(tensor, count, writer);
      break;
    case DataType::kInt16:
      WriteIntegers<int16_t>(tensor, count, writer);
      break;
    case DataType::kInt32:
      WriteIntegers<int32_t>(tensor, count, writer);
      break;
    case DataType::kInt64:
      WriteIntegers<int64_t>(tensor, count, writer);
      break;
    case DataType::kFp16:
      for (size_t i = 0; i < count; ++i) writer.Double(HalfToFloat(ReadRaw<uint16_t>(data, i)));
      break;
    case DataType::kBf16:
      for (size_t i = 0; i < count; ++i) writer.Double(Bf16ToFloat(ReadRaw<uint16_t>(data, i)));
      break;
    case DataType::kFp32:
      for (size_t i = 0; i < count; ++i) writer.Double(ReadRaw<float>(data, i));
      break;
    case DataType::kFp64:
      for (size_t i = 0; i < count; ++i) writer.Double(ReadRaw<double>(data, i));
      break;
    case DataType::kBytes:
      MOAT_RETURN_IF_ERROR(WriteBytesElements(tensor, writer));
      break;
  }
  writer.EndArray();
  return OkStatus();
}

}  // namespace moat::server

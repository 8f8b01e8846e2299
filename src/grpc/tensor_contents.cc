#include "grpc/tensor_contents.h"

#include <array>
#include <bit>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {
namespace {

// Typed values are copied with memcpy into the protocol's little-endian form.
static_assert(std::endian::native == std::endian::little, "the binary tensor form is little-endian");

using inference::InferTensorContents;

enum class Field { kBool, kInt, kInt64, kUint, kUint64, kFp32, kFp64, kBytes };

constexpr std::array<std::string_view, 8> kFieldNames = {"bool_contents", "int_contents",    "int64_contents",
                                                         "uint_contents", "uint64_contents", "fp32_contents",
                                                         "fp64_contents", "bytes_contents"};

std::string_view FieldName(Field field) { return kFieldNames[static_cast<size_t>(field)]; }

int FieldSize(const InferTensorContents& contents, Field field) {
  switch (field) {
    case Field::kBool:
      return contents.bool_contents_size();
    case Field::kInt:
      return contents.int_contents_size();
    case Field::kInt64:
      return contents.int64_contents_size();
    case Field::kUint:
      return contents.uint_contents_size();
    case Field::kUint64:
      return contents.uint64_contents_size();
    case Field::kFp32:
      return contents.fp32_contents_size();
    case Field::kFp64:
      return contents.fp64_contents_size();
    case Field::kBytes:
      return contents.bytes_contents_size();
  }
  return 0;
}

// The typed field that carries `datatype`; nullopt for FP16 and BF16.
std::optional<Field> FieldFor(DataType datatype) {
  switch (datatype) {
    case DataType::kBool:
      return Field::kBool;
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
      return Field::kInt;
    case DataType::kInt64:
      return Field::kInt64;
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
      return Field::kUint;
    case DataType::kUint64:
      return Field::kUint64;
    case DataType::kFp32:
      return Field::kFp32;
    case DataType::kFp64:
      return Field::kFp64;
    case DataType::kBytes:
      return Field::kBytes;
    case DataType::kFp16:
    case DataType::kBf16:
      return std::nullopt;
  }
  return std::nullopt;
}

// Copies `values` as elements of type Out, rejecting values outside Out's range.
template <typename Out, typename In>
StatusOr<std::string> EncodeNumbers(const google::protobuf::RepeatedField<In>& values, DataType datatype,
                                    Field field, const std::string& name) {
  std::string bytes(static_cast<size_t>(values.size()) * sizeof(Out), '\0');
  for (int i = 0; i < values.size(); ++i) {
    In value = values.Get(i);
    if constexpr (std::is_integral_v<Out> && !std::is_same_v<Out, In>) {
      if (!std::in_range<Out>(value)) {
        return InvalidArgumentError("input " + Quote(name) + ": " + std::string(FieldName(field)) +
                                    " element " + std::to_string(i) + " (" + std::to_string(value) +
                                    ") is out of range for " + std::string(DataTypeName(datatype)));
      }
    }
    Out element = static_cast<Out>(value);
    std::memcpy(bytes.data() + static_cast<size_t>(i) * sizeof(Out), &element, sizeof(Out));
  }
  return bytes;
}

StatusOr<std::string> EncodeBools(const google::protobuf::RepeatedField<bool>& values) {
  std::string bytes;
  bytes.reserve(static_cast<size_t>(values.size()));
  for (bool value : values) bytes.push_back(value ? 1 : 0);
  return bytes;
}

StatusOr<std::string> EncodeBytes(const google::protobuf::RepeatedPtrField<std::string>& values,
                                  const std::string& name) {
  size_t total = 0;
  for (const std::string& value : values) total += 4 + value.size();
  std::string bytes;
  bytes.reserve(total);
  for (int i = 0; i < values.size(); ++i) {
    const std::string& value = values.Get(i);
    if (value.size() > std::numeric_limits<uint32_t>::max()) {
      return InvalidArgumentError("input " + Quote(name) + ": bytes_contents element " + std::to_string(i) +
                                  " is longer than 4 GiB");
    }
    auto length = static_cast<uint32_t>(value.size());
    char prefix[4];
    std::memcpy(prefix, &length, sizeof(prefix));
    bytes.append(prefix, sizeof(prefix));
    bytes += value;
  }
  return bytes;
}

StatusOr<std::string> EncodeField(const InferTensorContents& contents, DataType datatype, Field field,
                                  const std::string& name) {
  switch (datatype) {
    case DataType::kBool:
      return EncodeBools(contents.bool_contents());
    case DataType::kInt8:
      return EncodeNumbers<int8_t>(contents.int_contents(), datatype, field, name);
    case DataType::kInt16:
      return EncodeNumbers<int16_t>(contents.int_contents(), datatype, field, name);
    case DataType::kInt32:
      return EncodeNumbers<int32_t>(contents.int_contents(), datatype, field, name);
    case DataType::kInt64:
      return EncodeNumbers<int64_t>(contents.int64_contents(), datatype, field, name);
    case DataType::kUint8:
      return EncodeNumbers<uint8_t>(contents.uint_contents(), datatype, field, name);
    case DataType::kUint16:
      return EncodeNumbers<uint16_t>(contents.uint_contents(), datatype, field, name);
    case DataType::kUint32:
      return EncodeNumbers<uint32_t>(contents.uint_contents(), datatype, field, name);
    case DataType::kUint64:
      return EncodeNumbers<uint64_t>(contents.uint64_contents(), datatype, field, name);
    case DataType::kFp32:
      return EncodeNumbers<float>(contents.fp32_contents(), datatype, field, name);
    case DataType::kFp64:
      return EncodeNumbers<double>(contents.fp64_contents(), datatype, field, name);
    case DataType::kBytes:
      return EncodeBytes(contents.bytes_contents(), name);
    case DataType::kFp16:
    case DataType::kBf16:
      break;
  }
  return InternalError("input " + Quote(name) + ": no typed field for datatype " +
                       std::string(DataTypeName(datatype)));
}

}  // namespace

bool HasTypedContents(const InferTensorContents& contents) {
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    if (FieldSize(contents, static_cast<Field>(i)) > 0) return true;
  }
  return false;
}

StatusOr<std::string> EncodeTypedContents(const InferTensorContents& contents, DataType datatype,
                                          int64_t element_count, const std::string& name) {
  std::string type_name(DataTypeName(datatype));
  std::optional<Field> field = FieldFor(datatype);
  if (!field) {
    return InvalidArgumentError("input " + Quote(name) + ": datatype " + type_name +
                                " has no typed contents field; send its data in raw_input_contents");
  }
  for (size_t i = 0; i < kFieldNames.size(); ++i) {
    auto other = static_cast<Field>(i);
    if (other != *field && FieldSize(contents, other) > 0) {
      return InvalidArgumentError("input " + Quote(name) + " of datatype " + type_name + " has values in " +
                                  std::string(FieldName(other)) + ", but " + type_name + " data goes in " +
                                  std::string(FieldName(*field)));
    }
  }
  int64_t count = FieldSize(contents, *field);
  if (count != element_count) {
    return InvalidArgumentError("input " + Quote(name) + ": " + std::string(FieldName(*field)) + " has " +
                                std::to_string(count) + " elements, but its shape needs " +
                                std::to_string(element_count));
  }
  return EncodeField(contents, datatype, *field, name);
}

}  // namespace moat::grpc_server

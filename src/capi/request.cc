// The moat_request functions of the C API.
#include <memory>
#include <optional>
#include <span>
#include <string>

#include "core/datatype.h"
#include "core/tensor.h"
#include "error.h"
#include "moat/moat.h"

namespace {

using moat::capi::Guard;
using moat::capi::NullArgument;
using moat::capi::ToError;

moat::StatusOr<moat::DataType> ParseInputDataType(const char* datatype, const std::string& input) {
  std::optional<moat::DataType> parsed = moat::ParseDataType(datatype);
  if (parsed) return *parsed;
  return moat::InvalidArgumentError("datatype '" + std::string(datatype) + "' of input '" + input +
                                    "' is not a KServe datatype; use one of " + moat::DataTypeNameList());
}

// Builds a tensor that borrows `data`; the caller keeps it alive.
moat::StatusOr<moat::Tensor> BorrowedTensor(const char* name, const char* datatype, const int64_t* shape,
                                            size_t rank, const void* data, size_t byte_size) {
  if (*name == '\0') return moat::InvalidArgumentError("input name is empty");
  moat::Tensor tensor;
  tensor.name = name;
  MOAT_ASSIGN_OR_RETURN(tensor.datatype, ParseInputDataType(datatype, tensor.name));
  if (rank > 0 && shape == nullptr) {
    return moat::InvalidArgumentError("shape of input '" + tensor.name + "' is NULL but rank is " +
                                      std::to_string(rank));
  }
  if (byte_size > 0 && data == nullptr) {
    return moat::InvalidArgumentError("data of input '" + tensor.name + "' is NULL but byte size is " +
                                      std::to_string(byte_size));
  }
  if (rank > 0) tensor.shape.assign(shape, shape + rank);
  tensor.data = std::span<const uint8_t>(static_cast<const uint8_t*>(data), byte_size);
  // Names a negative dimension, an overflowing shape, or a byte size that
  // does not fit the shape (for BYTES, one that its length prefixes do not fill).
  MOAT_RETURN_IF_ERROR(moat::CheckTensorByteSize(tensor));
  return tensor;
}

}  // namespace

extern "C" {

moat_error* moat_request_create(const char* model_name, int64_t model_version, moat_request** out) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (model_name == nullptr) return NullArgument(function, "model name");
    if (out == nullptr) return NullArgument(function, "out");
    if (*model_name == '\0') {
      return ToError(moat::InvalidArgumentError("moat_request_create: model name is empty"));
    }
    auto request = std::make_unique<moat_request>();
    request->request.model_name = model_name;
    if (model_version > 0) request->request.model_version = model_version;
    *out = request.release();
    return nullptr;
  });
}

void moat_request_free(moat_request* request) { delete request; }

moat_error* moat_request_set_id(moat_request* request, const char* id) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (request == nullptr) return NullArgument(function, "request");
    if (id == nullptr) return NullArgument(function, "id");
    request->request.id = id;
    return nullptr;
  });
}

moat_error* moat_request_add_input(moat_request* request, const char* name, const char* datatype,
                                   const int64_t* shape, size_t rank, const void* data, size_t byte_size) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (request == nullptr) return NullArgument(function, "request");
    if (name == nullptr) return NullArgument(function, "input name");
    if (datatype == nullptr) return NullArgument(function, "datatype");
    auto tensor = BorrowedTensor(name, datatype, shape, rank, data, byte_size);
    if (!tensor.ok()) {
      return ToError({tensor.status().code(), std::string(function) + ": " + tensor.status().message()});
    }
    request->request.inputs.push_back(std::move(tensor).value());
    return nullptr;
  });
}

moat_error* moat_request_add_output(moat_request* request, const char* name) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (request == nullptr) return NullArgument(function, "request");
    if (name == nullptr) return NullArgument(function, "output name");
    if (*name == '\0') {
      return ToError(moat::InvalidArgumentError("moat_request_add_output: output name is empty"));
    }
    request->request.requested_outputs.emplace_back(name);
    return nullptr;
  });
}

}  // extern "C"

// The moat_response functions of the C API.
#include <string>

#include "error.h"
#include "moat/moat.h"

namespace {

using moat::capi::Guard;
using moat::capi::NullArgument;

}  // namespace

extern "C" {

void moat_response_free(moat_response* response) { delete response; }

moat_error* moat_response_id(const moat_response* response, const char** id) {
  if (response == nullptr) return NullArgument(__func__, "response");
  if (id == nullptr) return NullArgument(__func__, "id");
  *id = response->request_id.c_str();
  return nullptr;
}

moat_error* moat_response_audit_receipt(const moat_response* response, const char** receipt) {
  if (response == nullptr) return NullArgument(__func__, "response");
  if (receipt == nullptr) return NullArgument(__func__, "receipt");
  *receipt = response->response.audit_receipt.c_str();
  return nullptr;
}

moat_error* moat_response_model(const moat_response* response, const char** name, int64_t* version) {
  if (response == nullptr) return NullArgument(__func__, "response");
  if (name != nullptr) *name = response->response.model_name.c_str();
  if (version != nullptr) *version = response->response.model_version;
  return nullptr;
}

moat_error* moat_response_output_count(const moat_response* response, size_t* count) {
  if (response == nullptr) return NullArgument(__func__, "response");
  if (count == nullptr) return NullArgument(__func__, "count");
  *count = response->response.outputs.size();
  return nullptr;
}

moat_error* moat_response_output(const moat_response* response, size_t index, const char** name,
                                 const char** datatype, const int64_t** shape, size_t* rank,
                                 const void** data, size_t* byte_size) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (response == nullptr) return NullArgument(function, "response");
    const auto& outputs = response->response.outputs;
    if (index >= outputs.size()) {
      return moat::capi::ToError(moat::OutOfRangeError(
          std::string(function) + ": output index " + std::to_string(index) +
          " is out of range; the response has " + std::to_string(outputs.size()) + " output(s)"));
    }
    const moat::Tensor& output = outputs[index];
    if (name != nullptr) *name = output.name.c_str();
    if (datatype != nullptr) *datatype = response->datatypes[index].c_str();
    if (shape != nullptr) *shape = output.shape.data();
    if (rank != nullptr) *rank = output.shape.size();
    if (data != nullptr) *data = output.data.data();
    if (byte_size != nullptr) *byte_size = output.data.size();
    return nullptr;
  });
}

moat_error* moat_response_find_output(const moat_response* response, const char* name, size_t* index) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (response == nullptr) return NullArgument(function, "response");
    if (name == nullptr) return NullArgument(function, "output name");
    if (index == nullptr) return NullArgument(function, "index");
    const auto& outputs = response->response.outputs;
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (outputs[i].name == name) {
        *index = i;
        return nullptr;
      }
    }
    return moat::capi::ToError(
        moat::NotFoundError(std::string(function) + ": the response has no output '" + name + "'"));
  });
}

}  // extern "C"

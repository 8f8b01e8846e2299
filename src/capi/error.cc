// The moat_error functions of the C API and the version queries.
#include "error.h"

#include "moat/moat.h"

namespace moat::capi {

namespace {

// Returned when memory runs out, so that a failure is still reported.
moat_error out_of_memory_error{static_cast<int>(StatusCode::kResourceExhausted),
                               "out of memory: the Moat C API could not allocate an error or a result"};

moat_error* NewError(StatusCode code, std::string_view message) noexcept {
  try {
    auto* error = new moat_error;
    error->code = static_cast<int>(code);
    error->message = std::string(message);
    return error;
  } catch (...) {
    return &out_of_memory_error;
  }
}

}  // namespace

moat_error* ToError(const Status& status) noexcept {
  if (status.ok()) return nullptr;
  return NewError(status.code(), status.message());
}

moat_error* NullArgument(std::string_view function, std::string_view what) noexcept {
  try {
    return NewError(StatusCode::kInvalidArgument,
                    std::string(function) + ": " + std::string(what) + " is NULL");
  } catch (...) {
    return &out_of_memory_error;
  }
}

moat_error* ExceptionError(std::string_view function, std::string_view what) noexcept {
  try {
    return NewError(StatusCode::kInternal, std::string(function) + " failed: " + std::string(what));
  } catch (...) {
    return &out_of_memory_error;
  }
}

moat_error* OutOfMemoryError() noexcept { return &out_of_memory_error; }

bool IsStaticError(const moat_error* error) { return error == &out_of_memory_error; }

}  // namespace moat::capi

extern "C" {

int moat_abi_version(void) { return MOAT_ABI_VERSION; }

const char* moat_version(void) { return MOAT_VERSION_STRING; }

int moat_error_code(const moat_error* error) { return error == nullptr ? MOAT_OK : error->code; }

const char* moat_error_code_name(const moat_error* error) {
  if (error == nullptr) return "OK";
  // StatusCodeName returns views of string literals, so data() is NUL-terminated.
  return moat::StatusCodeName(static_cast<moat::StatusCode>(error->code)).data();
}

const char* moat_error_message(const moat_error* error) {
  return error == nullptr ? "" : error->message.c_str();
}

void moat_error_free(moat_error* error) {
  if (error == nullptr || moat::capi::IsStaticError(error)) return;
  delete error;
}

}  // extern "C"

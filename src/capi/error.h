// Conversions from moat::Status to moat_error and the guard that keeps C++
// exceptions from crossing the C boundary. Internal to src/capi.
#pragma once

#include <exception>
#include <new>
#include <string>
#include <string_view>

#include "common/status.h"
#include "handles.h"

namespace moat::capi {

// Returns a new error for a non-OK status, or NULL for OK. Never throws:
// when memory runs out it returns a static RESOURCE_EXHAUSTED error that
// moat_error_free does not free.
moat_error* ToError(const Status& status) noexcept;

// Returns INVALID_ARGUMENT "<function>: <what> is NULL".
moat_error* NullArgument(std::string_view function, std::string_view what) noexcept;

// Returns INTERNAL "<function> failed: <what>" for an exception caught at the
// boundary.
moat_error* ExceptionError(std::string_view function, std::string_view what) noexcept;

// Returns the static RESOURCE_EXHAUSTED error, which needs no memory.
moat_error* OutOfMemoryError() noexcept;

// Whether `error` is the static error returned when memory runs out.
bool IsStaticError(const moat_error* error);

// Runs `body` (returning moat_error*) and turns any exception it throws into
// an error naming `function`, so that no exception unwinds into C code.
template <typename Body>
moat_error* Guard(std::string_view function, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return OutOfMemoryError();
  } catch (const std::exception& e) {
    return ExceptionError(function, e.what());
  } catch (...) {
    return ExceptionError(function, "unknown exception");
  }
}

}  // namespace moat::capi

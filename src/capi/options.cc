// The moat_options functions of the C API.
#include <string>

#include "error.h"
#include "moat/moat.h"

namespace {

using moat::capi::Guard;
using moat::capi::NullArgument;

// Copies a required, non-empty path into options->*field.
moat_error* SetPath(std::string_view function, moat_options* options, const char* value,
                    std::string_view what, std::string moat_options::*field) {
  return Guard(function, [&]() -> moat_error* {
    if (options == nullptr) return NullArgument(function, "options");
    if (value == nullptr) return NullArgument(function, what);
    if (*value == '\0') {
      return moat::capi::ToError(moat::InvalidArgumentError(std::string(function) + ": " + std::string(what) +
                                                            " is empty; pass a path"));
    }
    options->*field = value;
    return nullptr;
  });
}

}  // namespace

extern "C" {

moat_error* moat_options_create(moat_options** out) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (out == nullptr) return NullArgument(function, "out");
    *out = new moat_options;
    return nullptr;
  });
}

void moat_options_free(moat_options* options) { delete options; }

moat_error* moat_options_set_repository(moat_options* options, const char* dir) {
  return SetPath(__func__, options, dir, "repository folder", &moat_options::repository_dir);
}

moat_error* moat_options_set_trust_dir(moat_options* options, const char* dir) {
  return SetPath(__func__, options, dir, "trust folder", &moat_options::trust_dir);
}

moat_error* moat_options_set_audit_dir(moat_options* options, const char* dir) {
  return SetPath(__func__, options, dir, "audit folder", &moat_options::audit_dir);
}

moat_error* moat_options_set_audit_key_file(moat_options* options, const char* path) {
  return SetPath(__func__, options, path, "audit key file", &moat_options::audit_key_file);
}

moat_error* moat_options_set_node_key(moat_options* options, const char* path) {
  return SetPath(__func__, options, path, "node key file", &moat_options::node_key_file);
}

moat_error* moat_options_set_audit_sync(moat_options* options, int enabled) {
  if (options == nullptr) return NullArgument(__func__, "options");
  options->audit_sync = enabled != 0;
  return nullptr;
}

moat_error* moat_options_set_intra_op_threads(moat_options* options, int threads) {
  const std::string_view function = __func__;
  return Guard(function, [&]() -> moat_error* {
    if (options == nullptr) return NullArgument(function, "options");
    if (threads < 0) {
      return moat::capi::ToError(
          moat::InvalidArgumentError(std::string(function) + ": thread count " + std::to_string(threads) +
                                     " is negative; pass 0 for one thread per core or a positive count"));
    }
    options->intra_op_threads = threads;
    return nullptr;
  });
}

}  // extern "C"

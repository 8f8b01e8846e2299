// Helpers for the C API tests: owners for the C handles and a runtime opened
// on a SignedRepository.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "moat/moat.h"
#include "testing/signed_repository.h"

namespace moat::capi_testing {

struct ErrorDeleter {
  void operator()(moat_error* error) const { moat_error_free(error); }
};
struct OptionsDeleter {
  void operator()(moat_options* options) const { moat_options_free(options); }
};
struct RuntimeDeleter {
  void operator()(moat_runtime* runtime) const { moat_runtime_close(runtime); }
};
struct RequestDeleter {
  void operator()(moat_request* request) const { moat_request_free(request); }
};
struct ResponseDeleter {
  void operator()(moat_response* response) const { moat_response_free(response); }
};

using Error = std::unique_ptr<moat_error, ErrorDeleter>;
using Options = std::unique_ptr<moat_options, OptionsDeleter>;
using Runtime = std::unique_ptr<moat_runtime, RuntimeDeleter>;
using Request = std::unique_ptr<moat_request, RequestDeleter>;
using Response = std::unique_ptr<moat_response, ResponseDeleter>;

// Returns "CODE: message" for an error, "OK" for NULL, and frees the error.
inline std::string Describe(moat_error* error) {
  Error owned(error);
  if (!owned) return "OK";
  return std::string(moat_error_code_name(owned.get())) + ": " + moat_error_message(owned.get());
}

// Options for `repo` with batched audit durability, so tests do not wait on the disk.
inline Options RepositoryOptions(const testing::SignedRepository& repo) {
  moat_options* options = nullptr;
  EXPECT_EQ(Describe(moat_options_create(&options)), "OK");
  Options owned(options);
  EXPECT_EQ(Describe(moat_options_set_repository(options, repo.repository_dir().c_str())), "OK");
  EXPECT_EQ(Describe(moat_options_set_trust_dir(options, repo.trust_dir().c_str())), "OK");
  EXPECT_EQ(Describe(moat_options_set_audit_dir(options, repo.audit_dir().c_str())), "OK");
  EXPECT_EQ(Describe(moat_options_set_audit_sync(options, 0)), "OK");
  return owned;
}

// Opens a runtime on `repo`; NULL (with a test failure) when that fails.
inline Runtime OpenRuntime(const testing::SignedRepository& repo) {
  Options options = RepositoryOptions(repo);
  moat_runtime* runtime = nullptr;
  EXPECT_EQ(Describe(moat_runtime_open(MOAT_ABI_VERSION, options.get(), &runtime)), "OK");
  return Runtime(runtime);
}

// Creates a request; NULL (with a test failure) when that fails.
inline Request MakeRequest(const char* model, int64_t version = 0) {
  moat_request* request = nullptr;
  EXPECT_EQ(Describe(moat_request_create(model, version, &request)), "OK");
  return Request(request);
}

// One output of a response, copied out of it.
struct Output {
  std::string name;
  std::string datatype;
  std::vector<int64_t> shape;
  std::string bytes;
};

inline Output ReadOutput(const moat_response* response, size_t index) {
  const char* name = nullptr;
  const char* datatype = nullptr;
  const int64_t* shape = nullptr;
  size_t rank = 0;
  const void* data = nullptr;
  size_t byte_size = 0;
  EXPECT_EQ(
      Describe(moat_response_output(response, index, &name, &datatype, &shape, &rank, &data, &byte_size)),
      "OK");
  Output output;
  if (name == nullptr) return output;
  output.name = name;
  output.datatype = datatype;
  if (rank > 0) output.shape.assign(shape, shape + rank);
  if (byte_size > 0) output.bytes.assign(static_cast<const char*>(data), byte_size);
  return output;
}

}  // namespace moat::capi_testing

// NULL where the C API expects a handle or a pointer is an error, never a crash.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "capi_testing.h"

namespace moat::capi_testing {
namespace {

TEST(CApiNullArguments, ReturnErrors) {
  moat_options* options = nullptr;
  ASSERT_EQ(Describe(moat_options_create(&options)), "OK");
  Options owned_options(options);
  Request request = MakeRequest("model");
  const float value = 1.0f;
  const int64_t shape[] = {1};
  const char* text = nullptr;
  size_t size = 0;

  struct Case {
    const char* expected;
    std::function<moat_error*()> call;
  };
  const Case cases[] = {
      {"moat_options_create: out is NULL", [] { return moat_options_create(nullptr); }},
      {"moat_options_set_repository: options is NULL",
       [] { return moat_options_set_repository(nullptr, "/r"); }},
      {"moat_options_set_repository: repository folder is NULL",
       [&] { return moat_options_set_repository(options, nullptr); }},
      {"moat_options_set_trust_dir: options is NULL",
       [] { return moat_options_set_trust_dir(nullptr, "/t"); }},
      {"moat_options_set_trust_dir: trust folder is NULL",
       [&] { return moat_options_set_trust_dir(options, nullptr); }},
      {"moat_options_set_audit_dir: options is NULL",
       [] { return moat_options_set_audit_dir(nullptr, "/a"); }},
      {"moat_options_set_audit_dir: audit folder is NULL",
       [&] { return moat_options_set_audit_dir(options, nullptr); }},
      {"moat_options_set_audit_key_file: audit key file is NULL",
       [&] { return moat_options_set_audit_key_file(options, nullptr); }},
      {"moat_options_set_node_key: node key file is NULL",
       [&] { return moat_options_set_node_key(options, nullptr); }},
      {"moat_options_set_audit_sync: options is NULL",
       [] { return moat_options_set_audit_sync(nullptr, 1); }},
      {"moat_options_set_intra_op_threads: options is NULL",
       [] { return moat_options_set_intra_op_threads(nullptr, 1); }},
      {"moat_runtime_open: options is NULL",
       [] {
         moat_runtime* runtime = nullptr;
         return moat_runtime_open(MOAT_ABI_VERSION, nullptr, &runtime);
       }},
      {"moat_runtime_open: out is NULL",
       [&] { return moat_runtime_open(MOAT_ABI_VERSION, options, nullptr); }},
      {"moat_runtime_infer: runtime is NULL",
       [&] {
         moat_response* response = nullptr;
         return moat_runtime_infer(nullptr, request.get(), &response);
       }},
      {"moat_request_create: model name is NULL",
       [] {
         moat_request* created = nullptr;
         return moat_request_create(nullptr, 0, &created);
       }},
      {"moat_request_create: out is NULL", [] { return moat_request_create("m", 0, nullptr); }},
      {"moat_request_set_id: request is NULL", [] { return moat_request_set_id(nullptr, "id"); }},
      {"moat_request_set_id: id is NULL", [&] { return moat_request_set_id(request.get(), nullptr); }},
      {"moat_request_add_input: request is NULL",
       [&] { return moat_request_add_input(nullptr, "INPUT0", "FP32", shape, 1, &value, sizeof value); }},
      {"moat_request_add_input: input name is NULL",
       [&] {
         return moat_request_add_input(request.get(), nullptr, "FP32", shape, 1, &value, sizeof value);
       }},
      {"moat_request_add_input: datatype is NULL",
       [&] {
         return moat_request_add_input(request.get(), "INPUT0", nullptr, shape, 1, &value, sizeof value);
       }},
      {"moat_request_add_output: request is NULL",
       [] { return moat_request_add_output(nullptr, "OUTPUT0"); }},
      {"moat_request_add_output: output name is NULL",
       [&] { return moat_request_add_output(request.get(), nullptr); }},
      {"moat_response_id: response is NULL", [&] { return moat_response_id(nullptr, &text); }},
      {"moat_response_model: response is NULL", [&] { return moat_response_model(nullptr, &text, nullptr); }},
      {"moat_response_output_count: response is NULL",
       [&] { return moat_response_output_count(nullptr, &size); }},
      {"moat_response_output: response is NULL",
       [&] { return moat_response_output(nullptr, 0, &text, nullptr, nullptr, nullptr, nullptr, nullptr); }},
      {"moat_response_find_output: response is NULL",
       [&] { return moat_response_find_output(nullptr, "OUTPUT0", &size); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.expected);
    moat_error* error = c.call();
    ASSERT_NE(error, nullptr);
    EXPECT_EQ(moat_error_code(error), MOAT_INVALID_ARGUMENT);
    EXPECT_STREQ(moat_error_code_name(error), "INVALID_ARGUMENT");
    EXPECT_EQ(std::string(moat_error_message(error)), c.expected);
    moat_error_free(error);
  }
}

TEST(CApiNullArguments, InferWithoutRequestOrOut) {
  moat::testing::SignedRepository repo({{"identity", 1, moat::testing::TestModelPath("identity_fp32.onnx")}});
  Runtime runtime = OpenRuntime(repo);
  ASSERT_NE(runtime, nullptr);
  Request request = MakeRequest("identity");
  moat_response* response = nullptr;
  EXPECT_EQ(Describe(moat_runtime_infer(runtime.get(), nullptr, &response)),
            "INVALID_ARGUMENT: moat_runtime_infer: request is NULL");
  EXPECT_EQ(Describe(moat_runtime_infer(runtime.get(), request.get(), nullptr)),
            "INVALID_ARGUMENT: moat_runtime_infer: out is NULL");
  EXPECT_EQ(response, nullptr);
}

TEST(CApiNullArguments, FreeAndQueriesAcceptNull) {
  moat_error_free(nullptr);
  moat_options_free(nullptr);
  moat_runtime_close(nullptr);
  moat_request_free(nullptr);
  moat_response_free(nullptr);
  EXPECT_EQ(moat_error_code(nullptr), MOAT_OK);
  EXPECT_STREQ(moat_error_code_name(nullptr), "OK");
  EXPECT_STREQ(moat_error_message(nullptr), "");
}

}  // namespace
}  // namespace moat::capi_testing

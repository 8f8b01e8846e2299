// Opening a runtime through the C API: the ABI check, required options, and
// bundles that fail verification.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "capi_testing.h"
#include "testing/audit_records.h"
#include "common/file.h"

namespace moat::capi_testing {
namespace {

using moat::testing::RepositoryModel;
using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

std::string OpenError(int abi_version, const moat_options* options) {
  moat_runtime* runtime = nullptr;
  std::string error = Describe(moat_runtime_open(abi_version, options, &runtime));
  EXPECT_EQ(runtime, nullptr);
  moat_runtime_close(runtime);
  return error;
}

// Returns the status of running one FP32 identity request on `model`.
std::string InferIdentity(moat_runtime* runtime, const char* model) {
  const float values[] = {1.0f, 2.0f};
  const int64_t shape[] = {1, 2};
  Request request = MakeRequest(model);
  EXPECT_EQ(
      Describe(moat_request_add_input(request.get(), "INPUT0", "FP32", shape, 2, values, sizeof values)),
      "OK");
  moat_response* response = nullptr;
  std::string error = Describe(moat_runtime_infer(runtime, request.get(), &response));
  moat_response_free(response);
  return error;
}

TEST(CApiRuntime, ReportsItsVersions) {
  EXPECT_EQ(moat_abi_version(), MOAT_ABI_VERSION);
  EXPECT_STREQ(moat_version(), MOAT_VERSION_STRING);
}

TEST(CApiRuntime, OtherAbiVersionIsRejected) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  Options options = RepositoryOptions(repo);
  EXPECT_EQ(
      OpenError(MOAT_ABI_VERSION + 1, options.get()),
      "FAILED_PRECONDITION: moat_runtime_open: the program was built against Moat C API version 2, but this "
      "libmoat implements version 1; rebuild the program with the moat.h installed beside this library");
  EXPECT_NE(OpenError(0, options.get()).find("version 0"), std::string::npos);
  // The check comes before anything touches the repository or the audit log.
  EXPECT_FALSE(std::filesystem::exists(repo.audit_dir()));
}

TEST(CApiRuntime, MissingOptionIsNamed) {
  moat_options* raw = nullptr;
  ASSERT_EQ(Describe(moat_options_create(&raw)), "OK");
  Options options(raw);
  EXPECT_EQ(OpenError(MOAT_ABI_VERSION, options.get()),
            "INVALID_ARGUMENT: moat_runtime_open: no repository folder set; call moat_options_set_repository "
            "before "
            "opening");
  ASSERT_EQ(Describe(moat_options_set_repository(raw, "/nonexistent")), "OK");
  EXPECT_NE(OpenError(MOAT_ABI_VERSION, options.get()).find("no trust folder set"), std::string::npos);
  ASSERT_EQ(Describe(moat_options_set_trust_dir(raw, "/nonexistent")), "OK");
  EXPECT_NE(OpenError(MOAT_ABI_VERSION, options.get()).find("no audit folder set"), std::string::npos);
}

TEST(CApiRuntime, BadOptionValuesAreRejected) {
  moat_options* raw = nullptr;
  ASSERT_EQ(Describe(moat_options_create(&raw)), "OK");
  Options options(raw);
  EXPECT_EQ(Describe(moat_options_set_repository(raw, "")),
            "INVALID_ARGUMENT: moat_options_set_repository: repository folder is empty; pass a path");
  EXPECT_EQ(
      Describe(moat_options_set_intra_op_threads(raw, -2)),
      "INVALID_ARGUMENT: moat_options_set_intra_op_threads: thread count -2 is negative; pass 0 for one "
      "thread per core or a positive count");
}

TEST(CApiRuntime, MissingTrustFolderFailsToOpen) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  Options options = RepositoryOptions(repo);
  std::string missing = repo.root() + "/no-such-trust";
  ASSERT_EQ(Describe(moat_options_set_trust_dir(options.get(), missing.c_str())), "OK");
  std::string error = OpenError(MOAT_ABI_VERSION, options.get());
  EXPECT_NE(error.find(missing), std::string::npos) << error;
}

TEST(CApiRuntime, TamperedOrUnsignedBundleIsNotServed) {
  SignedRepository repo({{"good", 1, TestModelPath("identity_fp32.onnx")},
                         {"tampered", 1, TestModelPath("identity_fp32.onnx")},
                         {"unsigned", 1, TestModelPath("identity_fp32.onnx")}});
  {
    std::ofstream out(repo.BundleDir("tampered", 1) + "/identity_fp32.onnx",
                      std::ios::binary | std::ios::app);
    out << "x";
  }
  std::filesystem::remove_all(repo.BundleDir("unsigned", 1) + "/signatures");

  Runtime runtime = OpenRuntime(repo);
  ASSERT_NE(runtime, nullptr);
  EXPECT_EQ(InferIdentity(runtime.get(), "good"), "OK");
  EXPECT_EQ(InferIdentity(runtime.get(), "tampered"), "NOT_FOUND: model 'tampered' not found");
  EXPECT_EQ(InferIdentity(runtime.get(), "unsigned"), "NOT_FOUND: model 'unsigned' not found");
  runtime.reset();

  auto log = moat::testing::ReadAuditLog(repo.audit_dir());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_NE(log->find("\"type\":\"model_rejected\",\"time\""), std::string::npos);
  EXPECT_NE(log->find("\"model\":\"tampered\""), std::string::npos);
  EXPECT_NE(log->find("\"model\":\"unsigned\""), std::string::npos);
}

TEST(CApiRuntime, AuditLogIsLockedWhileOpen) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  Runtime first = OpenRuntime(repo);
  ASSERT_NE(first, nullptr);
  Options options = RepositoryOptions(repo);
  std::string error = OpenError(MOAT_ABI_VERSION, options.get());
  EXPECT_NE(error, "OK");
  EXPECT_NE(error.find(repo.audit_dir()), std::string::npos) << error;
}

TEST(CApiRuntime, IntraOpThreadsAreProcessWide) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  // Loading a model fixes ONNX Runtime's threads for the process: the test's
  // other runtimes leave them unset, which means 0 (one per core).
  Runtime first = OpenRuntime(repo);
  ASSERT_NE(first, nullptr);

  Options options = RepositoryOptions(repo);
  std::string second_log = repo.root() + "/second-audit";
  ASSERT_EQ(Describe(moat_options_set_audit_dir(options.get(), second_log.c_str())), "OK");
  ASSERT_EQ(Describe(moat_options_set_intra_op_threads(options.get(), 7)), "OK");
  std::string error = OpenError(MOAT_ABI_VERSION, options.get());
  EXPECT_EQ(error.rfind("FAILED_PRECONDITION: moat_runtime_open: intra-op threads 7 differ", 0), 0u) << error;

  ASSERT_EQ(Describe(moat_options_set_intra_op_threads(options.get(), 0)), "OK");
  moat_runtime* second = nullptr;
  EXPECT_EQ(Describe(moat_runtime_open(MOAT_ABI_VERSION, options.get(), &second)), "OK");
  moat_runtime_close(second);
}

}  // namespace
}  // namespace moat::capi_testing

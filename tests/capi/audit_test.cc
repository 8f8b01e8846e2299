// Audit records of inferences made through the C API.
#include <unistd.h>

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "capi_testing.h"
#include "common/file.h"
#include "testing/audit_records.h"
#include "testing/run_command.h"

namespace moat::capi_testing {
namespace {

using moat::testing::RepositoryModel;
using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

// Returns the audit records of type "inference".
std::vector<std::string> InferenceRecords(const std::string& folder) {
  std::vector<std::string> records;
  for (std::string& record : moat::testing::ReadAuditRecords(folder)) {
    if (record.find("\"type\":\"inference\"") != std::string::npos) records.push_back(std::move(record));
  }
  return records;
}

TEST(CApiAudit, RecordsCallerAndRequestId) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  std::string generated_id;
  {
    Runtime runtime = OpenRuntime(repo);
    ASSERT_NE(runtime, nullptr);
    const float values[] = {1.0f, 2.0f};
    const int64_t shape[] = {1, 2};

    Request named = MakeRequest("identity");
    ASSERT_EQ(Describe(moat_request_set_id(named.get(), "audited-1")), "OK");
    ASSERT_EQ(
        Describe(moat_request_add_input(named.get(), "INPUT0", "FP32", shape, 2, values, sizeof values)),
        "OK");
    moat_response* response = nullptr;
    ASSERT_EQ(Describe(moat_runtime_infer(runtime.get(), named.get(), &response)), "OK");
    moat_response_free(response);

    Request unnamed = MakeRequest("identity");
    ASSERT_EQ(
        Describe(moat_request_add_input(unnamed.get(), "INPUT0", "FP32", shape, 2, values, sizeof values)),
        "OK");
    response = nullptr;
    ASSERT_EQ(Describe(moat_runtime_infer(runtime.get(), unnamed.get(), &response)), "OK");
    const char* id = nullptr;
    EXPECT_EQ(Describe(moat_response_id(response, &id)), "OK");
    generated_id = id != nullptr ? id : "";
    moat_response_free(response);

    Request failing = MakeRequest("missing");
    ASSERT_EQ(Describe(moat_request_set_id(failing.get(), "audited-2")), "OK");
    response = nullptr;
    EXPECT_NE(Describe(moat_runtime_infer(runtime.get(), failing.get(), &response)), "OK");
    EXPECT_EQ(response, nullptr);
  }

  EXPECT_FALSE(generated_id.empty());
  std::vector<std::string> records = InferenceRecords(repo.audit_dir());
  ASSERT_EQ(records.size(), 3u);
  const std::string peer = "\"peer\":\"pid " + std::to_string(::getpid()) + "\"";
  for (const std::string& record : records) {
    EXPECT_NE(record.find("\"protocol\":\"c-api\""), std::string::npos) << record;
    EXPECT_NE(record.find(peer), std::string::npos) << record;
  }
  EXPECT_NE(records[0].find("\"request_id\":\"audited-1\""), std::string::npos) << records[0];
  EXPECT_NE(records[0].find("\"outcome\":\"ok\""), std::string::npos) << records[0];
  EXPECT_NE(records[1].find("\"request_id\":\"" + generated_id + "\""), std::string::npos) << records[1];
  EXPECT_NE(records[2].find("\"request_id\":\"audited-2\""), std::string::npos) << records[2];
  EXPECT_NE(records[2].find("\"outcome\":\"NOT_FOUND\""), std::string::npos) << records[2];

  moat::testing::RunResult verify =
      moat::testing::RunCommand(std::string(MOAT_BINARY) + " audit verify " + repo.audit_dir() +
                                " --public-key " + repo.audit_dir() + "/node.pub");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

}  // namespace
}  // namespace moat::capi_testing

// The C example program, as built by CMake and as a user builds it with the
// system C compiler against include/ and libmoat.so alone.
#include <gtest/gtest.h>

#include <string>

#include "capi_testing.h"
#include "testing/audit_records.h"
#include "common/file.h"
#include "testing/run_command.h"

namespace moat::capi_testing {
namespace {

using moat::testing::RunCommand;
using moat::testing::RunResult;
using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

// Runs `program` on `repo` with the extra arguments `arguments`.
RunResult RunExample(const std::string& program, const SignedRepository& repo,
                     const std::string& arguments = "") {
  return RunCommand(program + " " + repo.repository_dir() + " " + repo.trust_dir() + " " +
                    repo.audit_dir() + " " + arguments);
}

constexpr char kSums[] = "OUTPUT0 FP32 [1,16]: 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n";
constexpr char kDifferences[] = "OUTPUT1 FP32 [1,16]: -1 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14\n";

TEST(CApiExample, PrintsAddSubOutputs) {
  SignedRepository repo({{"add_sub", 1, TestModelPath("add_sub.onnx")}});
  RunResult run = RunExample(MOAT_CAPI_EXAMPLE, repo);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("model add_sub version 1, request c-api-example\n"), std::string::npos)
      << run.output;
  EXPECT_NE(run.output.find(kSums), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(kDifferences), std::string::npos) << run.output;

  auto log = moat::testing::ReadAuditLog(repo.audit_dir());
  ASSERT_TRUE(log.ok()) << log.status().ToString();
  EXPECT_NE(log->find("\"request_id\":\"c-api-example\""), std::string::npos);
  RunResult verify = RunCommand(std::string(MOAT_BINARY) + " audit verify " + repo.audit_dir() +
                                " --public-key " + repo.audit_dir() + "/node.pub");
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
}

TEST(CApiExample, TakesValuesFromTheCommandLine) {
  SignedRepository repo({{"add_sub", 1, TestModelPath("add_sub.onnx")}});
  RunResult run = RunExample(MOAT_CAPI_EXAMPLE, repo, "add_sub 2.5 -1");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("OUTPUT0 FP32 [1,16]: 3.5 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1\n"), std::string::npos)
      << run.output;
}

TEST(CApiExample, FailsWithTheErrorMessage) {
  SignedRepository repo({{"add_sub", 1, TestModelPath("add_sub.onnx")}});
  RunResult missing_model = RunExample(MOAT_CAPI_EXAMPLE, repo, "nope");
  EXPECT_EQ(missing_model.exit_code, 1);
  EXPECT_NE(missing_model.output.find("infer: inference: model 'nope' not found (NOT_FOUND)"),
            std::string::npos)
      << missing_model.output;

  RunResult usage = RunCommand(std::string(MOAT_CAPI_EXAMPLE));
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.output.find("usage: "), std::string::npos) << usage.output;
}

TEST(CApiExample, BuildsWithSystemCompiler) {
  SignedRepository repo({{"add_sub", 1, TestModelPath("add_sub.onnx")}});
  const std::string binary = repo.root() + "/infer";
  const std::string library_dir = MOAT_CAPI_LIBRARY_DIR;
  RunResult build = RunCommand("cc -std=c99 -Wall -Wextra -Wpedantic -Werror -I " +
                               std::string(MOAT_CAPI_INCLUDE_DIR) + " " + MOAT_CAPI_EXAMPLE_SOURCE + " -L " +
                               library_dir + " -lmoat -Wl,-rpath," + library_dir + " -o " + binary);
  ASSERT_EQ(build.exit_code, 0) << build.output;
  RunResult run = RunExample(binary, repo);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find(kSums), std::string::npos) << run.output;
}

}  // namespace
}  // namespace moat::capi_testing

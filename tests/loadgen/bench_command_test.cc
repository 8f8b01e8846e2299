// Runs the real `moat bench` binary for a short while against in-process
// servers over HTTP and gRPC, and in its own process on the C API and on
// ONNX Runtime alone, and checks its JSON report.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <rapidjson/document.h>

#include "testing/audit_records.h"
#include "testing/run_command.h"
#include "testing/served_models.h"
#include "testing/signed_repository.h"

namespace moat {
namespace {

using ::testing::HasSubstr;
using testing::RunResult;

class BenchCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    served_ = new testing::ServedModels({{"identity_fp32", 1, testing::TestModelPath("identity_fp32.onnx")}});
  }
  static void TearDownTestSuite() {
    delete served_;
    served_ = nullptr;
  }

  void SetUp() override {
    report_path_ = (std::filesystem::temp_directory_path() /
                    ("moat-bench-report-" + std::to_string(::getpid()) + ".json"))
                       .string();
  }
  void TearDown() override { std::filesystem::remove(report_path_); }

  // Runs `moat bench` for two 1-second steps at concurrency 1 and 2.
  RunResult RunBench(const std::string& arguments) {
    return testing::RunCommand(std::string("ORT_DISABLE_TELEMETRY=1 '") + MOAT_BINARY +
                               "' bench --model identity_fp32 --shape INPUT0=1,16 --concurrency 1,2 "
                               "--warmup-seconds 0.2 --seconds 1 --json-report '" +
                               report_path_ + "' " + arguments);
  }

  // Checks the report's structure and that every step completed requests
  // without errors.
  void CheckReport(const std::string& protocol) {
    std::ifstream file(report_path_);
    std::stringstream text;
    text << file.rdbuf();
    rapidjson::Document report;
    report.Parse(text.str().c_str());
    ASSERT_FALSE(report.HasParseError()) << text.str();
    ASSERT_TRUE(report.IsObject());

    ASSERT_TRUE(report.HasMember("run"));
    const rapidjson::Value& run = report["run"];
    EXPECT_THAT(run["command_line"].GetString(), HasSubstr("bench"));
    EXPECT_TRUE(run["date"].IsString());
    EXPECT_GT(run["machine"]["cores"].GetUint(), 0u);
    EXPECT_TRUE(run["machine"]["cpu_model"].IsString());
    EXPECT_EQ(std::string(run["protocol"].GetString()), protocol);
    EXPECT_EQ(std::string(run["model"].GetString()), "identity_fp32");

    ASSERT_TRUE(report["steps"].IsArray());
    ASSERT_EQ(report["steps"].Size(), 2u);
    for (rapidjson::SizeType i = 0; i < 2; ++i) {
      const rapidjson::Value& step = report["steps"][i];
      EXPECT_EQ(std::string(step["mode"].GetString()), "concurrency");
      EXPECT_EQ(step["concurrency"].GetInt(), static_cast<int>(i) + 1);
      EXPECT_GT(step["completed"].GetUint64(), 0u);
      EXPECT_EQ(step["errors"].GetUint64(), 0u);
      EXPECT_TRUE(step["errors_by_status"].IsObject());
      EXPECT_GT(step["throughput"].GetDouble(), 0.0);
      const rapidjson::Value& latency = step["latency_us"];
      EXPECT_EQ(latency["count"].GetUint64(), step["completed"].GetUint64());
      EXPECT_GT(latency["p50"].GetDouble(), 0.0);
      EXPECT_LE(latency["p50"].GetDouble(), latency["p90"].GetDouble());
      EXPECT_LE(latency["p90"].GetDouble(), latency["p99"].GetDouble());
      EXPECT_LE(latency["p99"].GetDouble(), latency["max"].GetDouble());
    }
  }

  static inline testing::ServedModels* served_ = nullptr;
  std::string report_path_;
};

TEST_F(BenchCommandTest, Http) {
  RunResult result = RunBench("--url " + served_->http_url());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_THAT(result.output, HasSubstr("p99 ms"));
  CheckReport("http");
}

TEST_F(BenchCommandTest, Grpc) {
  RunResult result = RunBench("--protocol grpc --url " + served_->grpc_target());
  ASSERT_EQ(result.exit_code, 0) << result.output;
  CheckReport("grpc");
}

TEST_F(BenchCommandTest, HttpJsonAndSharedMemory) {
  RunResult json = RunBench("--http-json --url " + served_->http_url());
  ASSERT_EQ(json.exit_code, 0) << json.output;
  CheckReport("http");
  RunResult http_shared = RunBench("--shared-memory --url " + served_->http_url());
  ASSERT_EQ(http_shared.exit_code, 0) << http_shared.output;
  CheckReport("http");
  RunResult grpc_shared = RunBench("--shared-memory --protocol grpc --url " + served_->grpc_target());
  ASSERT_EQ(grpc_shared.exit_code, 0) << grpc_shared.output;
  CheckReport("grpc");
}

TEST_F(BenchCommandTest, UnreachableServerFailsAtOnce) {
  RunResult http = RunBench("--url http://127.0.0.1:1");
  EXPECT_EQ(http.exit_code, 1);
  EXPECT_THAT(http.output, HasSubstr("cannot reach the server at http://127.0.0.1:1"));
  RunResult grpc = RunBench("--protocol grpc --url 127.0.0.1:1");
  EXPECT_EQ(grpc.exit_code, 1);
  EXPECT_THAT(grpc.output, HasSubstr("cannot reach the server at 127.0.0.1:1"));
}

TEST_F(BenchCommandTest, UnknownModelFails) {
  RunResult result = testing::RunCommand(std::string("'") + MOAT_BINARY +
                                         "' bench --model nope --seconds 1 --url " + served_->http_url());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_THAT(result.output, HasSubstr("nope"));
}

TEST_F(BenchCommandTest, OnnxRuntimeInProcess) {
  RunResult result = RunBench("--protocol onnxruntime --model-file '" +
                              testing::TestModelPath("identity_fp32.onnx") + "' --intra-op-threads 1");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  CheckReport("onnxruntime");
}

TEST_F(BenchCommandTest, CapiInProcessAuditsEveryRequest) {
  const testing::SignedRepository& repository = served_->repository();
  std::string audit_dir = repository.root() + "/bench-capi-audit";
  RunResult result = RunBench("--protocol capi --repository '" + repository.repository_dir() + "' --trust '" +
                              repository.trust_dir() + "' --audit-dir '" + audit_dir +
                              "' --audit-durability batched");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  CheckReport("capi");
  // Each request through the C API leaves an inference record.
  size_t inferences = 0;
  for (const std::string& record : testing::ReadAuditRecords(audit_dir)) {
    if (record.find("\"type\":\"inference\"") != std::string::npos) ++inferences;
  }
  EXPECT_GT(inferences, 0u);
}

TEST_F(BenchCommandTest, InProcessProtocolsNameTheMissingOption) {
  RunResult onnx = testing::RunCommand(std::string("'") + MOAT_BINARY + "' bench --protocol onnxruntime");
  EXPECT_EQ(onnx.exit_code, 1);
  EXPECT_THAT(onnx.output, HasSubstr("--protocol onnxruntime needs --model-file"));
  RunResult capi = testing::RunCommand(std::string("'") + MOAT_BINARY + "' bench --protocol capi --model m");
  EXPECT_EQ(capi.exit_code, 1);
  EXPECT_THAT(capi.output, HasSubstr("--protocol capi needs --repository"));
  RunResult http = testing::RunCommand(std::string("'") + MOAT_BINARY + "' bench --model m");
  EXPECT_EQ(http.exit_code, 1);
  EXPECT_THAT(http.output, HasSubstr("--protocol http needs --url"));
  RunResult shared = testing::RunCommand(std::string("'") + MOAT_BINARY + "' bench --protocol onnxruntime "
                                         "--shared-memory --model-file '" +
                                         testing::TestModelPath("identity_fp32.onnx") + "'");
  EXPECT_EQ(shared.exit_code, 1);
  EXPECT_THAT(shared.output, HasSubstr("--shared-memory and --http-json need --protocol http or grpc"));
}

}  // namespace
}  // namespace moat

#include "repository/model_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/file.h"
#include "testing/audit_records.h"
#include "testing/signed_repository.h"

namespace moat::repository {
namespace {

using moat::testing::RepositoryModel;
using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

Tensor Fp32(const std::string& name, std::vector<int64_t> shape, float fill) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  std::vector<float> values(static_cast<size_t>(count), fill);
  return MakeOwnedTensor(name, DataType::kFp32, std::move(shape),
                         std::string(reinterpret_cast<const char*>(values.data()), values.size() * 4));
}

RequestContext Context() { return {"test-request", "test", "127.0.0.1:1"}; }

std::unique_ptr<ModelService> Create(const SignedRepository& repo) {
  ModelServiceOptions options;
  options.repository_dir = repo.repository_dir();
  options.trust_dir = repo.trust_dir();
  options.audit = moat::testing::TestAuditOptions(repo.audit_dir());
  auto service = ModelService::Create(options);
  EXPECT_TRUE(service.ok()) << service.status().ToString();
  return service.ok() ? std::move(service).value() : nullptr;
}

std::string ReadAudit(const SignedRepository& repo) {
  auto contents = moat::testing::ReadAuditLog(repo.audit_dir());
  return contents.ok() ? *contents : "";
}

class ModelServiceTest : public ::testing::Test {
 protected:
  SignedRepository repo_{{{"add_sub", 1, TestModelPath("add_sub.onnx")},
                          {"identity", 1, TestModelPath("identity_fp32.onnx")},
                          {"identity", 3, TestModelPath("identity_fp32.onnx")}}};
};

TEST_F(ModelServiceTest, RunsAddSub) {
  auto service = Create(repo_);
  ASSERT_NE(service, nullptr);
  InferenceRequest request;
  request.id = "r1";
  request.model_name = "add_sub";
  request.inputs = {Fp32("INPUT0", {2, 16}, 3.0f), Fp32("INPUT1", {2, 16}, 1.0f)};
  auto response = service->Infer(request, Context());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->id, "r1");
  EXPECT_EQ(response->model_version, 1);
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->outputs[0].name, "OUTPUT0");
  EXPECT_EQ(reinterpret_cast<const float*>(response->outputs[0].data.data())[31], 4.0f);
  EXPECT_EQ(reinterpret_cast<const float*>(response->outputs[1].data.data())[0], 2.0f);
}

TEST_F(ModelServiceTest, MissingVersionMeansLatest) {
  auto service = Create(repo_);
  ASSERT_NE(service, nullptr);
  auto metadata = service->GetModelMetadata("identity", std::nullopt);
  ASSERT_TRUE(metadata.ok()) << metadata.status().ToString();
  EXPECT_EQ(metadata->versions, (std::vector<int64_t>{1, 3}));
  InferenceRequest request;
  request.model_name = "identity";
  request.inputs = {Fp32("INPUT0", {1, 2}, 1.0f)};
  auto response = service->Infer(request, Context());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->model_version, 3);
}

TEST_F(ModelServiceTest, UnknownModelOrVersionIsNotFound) {
  auto service = Create(repo_);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->GetModelMetadata("nope", std::nullopt).status().code(), StatusCode::kNotFound);
  auto missing = service->IsModelReady("identity", 2);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("version 2"), std::string::npos);
}

TEST_F(ModelServiceTest, InvalidRequestsNameTheProblem) {
  auto service = Create(repo_);
  ASSERT_NE(service, nullptr);
  struct Case {
    const char* what;
    std::vector<Tensor> inputs;
    std::vector<std::string> outputs;
    const char* message;
  };
  Tensor wrong_type = Fp32("INPUT1", {1, 16}, 0);
  wrong_type.datatype = DataType::kInt32;
  Tensor short_data = Fp32("INPUT1", {1, 16}, 0);
  short_data.data = short_data.data.subspan(0, 60);
  const Case cases[] = {
      {"unknown input", {Fp32("INPUT0", {1, 16}, 0), Fp32("INPUT9", {1, 16}, 0)}, {}, "unknown input 'INPUT9'"},
      {"missing input", {Fp32("INPUT0", {1, 16}, 0)}, {}, "missing input 'INPUT1'"},
      {"repeated input", {Fp32("INPUT0", {1, 16}, 0), Fp32("INPUT0", {1, 16}, 0)}, {}, "more than once"},
      {"wrong datatype", {Fp32("INPUT0", {1, 16}, 0), wrong_type}, {}, "datatype INT32"},
      {"wrong shape", {Fp32("INPUT0", {1, 16}, 0), Fp32("INPUT1", {1, 8}, 0)}, {}, "does not match"},
      {"short data", {Fp32("INPUT0", {1, 16}, 0), short_data}, {}, "needs 64 bytes, got 60"},
      {"unknown output", {Fp32("INPUT0", {1, 16}, 0), Fp32("INPUT1", {1, 16}, 0)}, {"OUT"}, "unknown output 'OUT'"},
      {"repeated output",
       {Fp32("INPUT0", {1, 16}, 0), Fp32("INPUT1", {1, 16}, 0)},
       {"OUTPUT0", "OUTPUT0"},
       "requested more than once"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    InferenceRequest request;
    request.model_name = "add_sub";
    request.inputs = c.inputs;
    request.requested_outputs = c.outputs;
    auto response = service->Infer(request, Context());
    ASSERT_FALSE(response.ok());
    EXPECT_EQ(response.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(response.status().message().find(c.message), std::string::npos) << response.status().message();
  }
}

TEST(ModelService, BoolOtherThanZeroOrOneIsRejected) {
  SignedRepository repo({{"flags", 1, TestModelPath("identity_bool.onnx")}});
  auto service = Create(repo);
  ASSERT_NE(service, nullptr);
  InferenceRequest request;
  request.model_name = "flags";
  request.inputs = {MakeOwnedTensor("INPUT0", DataType::kBool, {1, 3}, std::string("\x01\x00\x02", 3))};
  auto response = service->Infer(request, Context());
  ASSERT_FALSE(response.ok());
  EXPECT_NE(response.status().message().find("BOOL element 2 has byte value 2"), std::string::npos)
      << response.status().message();
}

TEST_F(ModelServiceTest, AuditsEveryOutcome) {
  {
    auto service = Create(repo_);
    ASSERT_NE(service, nullptr);
    InferenceRequest good;
    good.model_name = "identity";
    good.inputs = {Fp32("INPUT0", {1, 2}, 1.0f)};
    ASSERT_TRUE(service->Infer(good, Context()).ok());
    InferenceRequest bad = good;
    bad.model_name = "nope";
    ASSERT_FALSE(service->Infer(bad, Context()).ok());
    service->RecordRejectedRequest(Context(), "identity", "1", InvalidArgumentError("malformed JSON"));
  }
  // start, three model_loaded, one inference, one failed inference, one rejected, stop.
  EXPECT_EQ(moat::testing::ReadAuditRecords(repo_.audit_dir()).size(), 8u);
  std::string log = ReadAudit(repo_);
  EXPECT_NE(log.find("\"model_loaded\""), std::string::npos);
  EXPECT_NE(log.find("malformed JSON"), std::string::npos);
  EXPECT_NE(log.find("\"NOT_FOUND\""), std::string::npos);
  EXPECT_NE(log.find("\"server_stop\""), std::string::npos);
}

TEST(ModelService, TamperedBundleIsSkippedAndAudited) {
  SignedRepository repo({{"good", 1, TestModelPath("identity_fp32.onnx")},
                         {"bad", 1, TestModelPath("identity_fp32.onnx")}});
  {
    std::ofstream out(repo.BundleDir("bad", 1) + "/identity_fp32.onnx", std::ios::binary | std::ios::app);
    out << "x";
  }
  auto service = Create(repo);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->loaded_version_count(), 1u);
  EXPECT_TRUE(service->IsModelReady("good", 1).ok());
  EXPECT_EQ(service->IsModelReady("bad", 1).status().code(), StatusCode::kNotFound);
  service.reset();
  std::string log = ReadAudit(repo);
  EXPECT_NE(log.find("\"model_rejected\""), std::string::npos);
  EXPECT_NE(log.find("identity_fp32.onnx"), std::string::npos);
}

TEST(ModelService, BundleInWrongFolderIsSkipped) {
  SignedRepository repo({{"first", 1, TestModelPath("identity_fp32.onnx")}});
  std::filesystem::rename(repo.BundleDir("first", 1), repo.repository_dir() + "/first/2");
  std::filesystem::create_directories(repo.repository_dir() + "/second");
  auto service = Create(repo);
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(service->loaded_version_count(), 0u);
  service.reset();
  EXPECT_NE(ReadAudit(repo).find("names version 1 but the bundle is in folder '2'"), std::string::npos);
}

}  // namespace
}  // namespace moat::repository

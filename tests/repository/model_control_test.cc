// Repository index, statistics, and loading and unloading models while the
// service runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/file.h"
#include "repository/model_service.h"
#include "testing/signed_repository.h"
#include "testing/audit_records.h"

namespace moat::repository {
namespace {

using moat::testing::SignedRepository;
using moat::testing::TestModelPath;

RequestContext Operator() { return {"op-1", "test", "127.0.0.1:2"}; }

std::unique_ptr<ModelService> Create(const SignedRepository& repo, bool allow_model_control) {
  ModelServiceOptions options;
  options.repository_dir = repo.repository_dir();
  options.trust_dir = repo.trust_dir();
  options.audit = moat::testing::TestAuditOptions(repo.audit_dir());
  options.allow_model_control = allow_model_control;
  auto service = ModelService::Create(options);
  EXPECT_TRUE(service.ok()) << service.status().ToString();
  return service.ok() ? std::move(service).value() : nullptr;
}

InferenceRequest IdentityRequest(const std::string& model, int64_t rows) {
  InferenceRequest request;
  request.model_name = model;
  std::string bytes(static_cast<size_t>(rows) * 2 * sizeof(float), '\0');
  request.inputs = {MakeOwnedTensor("INPUT0", DataType::kFp32, {rows, 2}, bytes)};
  return request;
}

void Tamper(const SignedRepository& repo, const std::string& model, int64_t version) {
  std::ofstream out(repo.BundleDir(model, version) + "/identity_fp32.onnx", std::ios::binary | std::ios::app);
  out << "x";
}

TEST(ModelControl, DisabledByDefault) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = Create(repo, false);
  ASSERT_NE(service, nullptr);
  Status load = service->LoadModel("identity", Operator());
  EXPECT_EQ(load.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(load.message().find("--allow-model-control"), std::string::npos);
  EXPECT_EQ(service->UnloadModel("identity", Operator()).code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(service->IsModelReady("identity", std::nullopt).ok());
}

TEST(ModelControl, UnloadThenLoadAgain) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = Create(repo, true);
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->UnloadModel("identity", Operator()).ok());
  EXPECT_EQ(service->Infer(IdentityRequest("identity", 1), Operator()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service->UnloadModel("identity", Operator()).code(), StatusCode::kNotFound);
  std::vector<ModelIndexEntry> index = service->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, "UNAVAILABLE");
  EXPECT_EQ(index[0].reason, "unloaded");

  repo.Add({"identity", 2, TestModelPath("identity_fp32.onnx")});
  ASSERT_TRUE(service->LoadModel("identity", Operator()).ok());
  auto response = service->Infer(IdentityRequest("identity", 1), Operator());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->model_version, 2);

  service.reset();
  auto log = moat::testing::ReadAuditLog(repo.audit_dir());
  ASSERT_TRUE(log.ok());
  EXPECT_NE(log->find("\"model_unloaded\""), std::string::npos);
  EXPECT_NE(log->find("\"op-1\""), std::string::npos);
}

TEST(ModelControl, FailedReloadKeepsServedVersions) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = Create(repo, true);
  ASSERT_NE(service, nullptr);
  repo.Add({"identity", 2, TestModelPath("identity_fp32.onnx")});
  Tamper(repo, "identity", 2);
  Status load = service->LoadModel("identity", Operator());
  EXPECT_EQ(load.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(load.message().find("identity_fp32.onnx"), std::string::npos) << load.message();
  auto response = service->Infer(IdentityRequest("identity", 1), Operator());
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->model_version, 1);
}

TEST(ModelControl, NamesThatAreNotFoldersAreRefused) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = Create(repo, true);
  ASSERT_NE(service, nullptr);
  for (const char* name : {"", ".", "..", "../repo", "a/b"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(service->LoadModel(name, Operator()).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(service->LoadModel("absent", Operator()).code(), StatusCode::kNotFound);
}

TEST(RepositoryIndex, ListsServedAndRejectedVersions) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")},
                         {"broken", 1, TestModelPath("identity_fp32.onnx")}});
  Tamper(repo, "broken", 1);
  auto service = Create(repo, false);
  ASSERT_NE(service, nullptr);
  std::vector<ModelIndexEntry> all = service->RepositoryIndex(false);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "broken");
  EXPECT_EQ(all[0].state, "UNAVAILABLE");
  EXPECT_NE(all[0].reason.find("identity_fp32.onnx"), std::string::npos);
  EXPECT_EQ(all[1].name, "identity");
  EXPECT_EQ(all[1].version, "1");
  EXPECT_EQ(all[1].state, "READY");
  std::vector<ModelIndexEntry> ready = service->RepositoryIndex(true);
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(ready[0].name, "identity");
}

TEST(ModelStatistics, CountsSuccessesFailuresAndRows) {
  SignedRepository repo({{"identity", 1, TestModelPath("identity_fp32.onnx")},
                         {"other", 1, TestModelPath("identity_fp32.onnx")}});
  auto service = Create(repo, false);
  ASSERT_NE(service, nullptr);
  ASSERT_TRUE(service->Infer(IdentityRequest("identity", 3), Operator()).ok());
  ASSERT_TRUE(service->Infer(IdentityRequest("identity", 1), Operator()).ok());
  InferenceRequest bad = IdentityRequest("identity", 1);
  bad.inputs[0].name = "WRONG";
  ASSERT_FALSE(service->Infer(bad, Operator()).ok());

  auto stats = service->GetModelStatistics("identity", 1);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  ASSERT_EQ(stats->size(), 1u);
  const ModelStatistics& s = stats->front();
  EXPECT_EQ(s.name, "identity");
  EXPECT_EQ(s.version, 1);
  EXPECT_EQ(s.inference_count, 4u);
  EXPECT_EQ(s.execution_count, 2u);
  EXPECT_EQ(s.success.count, 2u);
  EXPECT_EQ(s.fail.count, 1u);
  EXPECT_GT(s.success.ns, 0u);
  EXPECT_GT(s.last_inference_ms, 0u);

  auto every = service->GetModelStatistics("", std::nullopt);
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(every->size(), 2u);
  EXPECT_EQ(service->GetModelStatistics("absent", std::nullopt).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service->GetModelStatistics("identity", 9).status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace moat::repository

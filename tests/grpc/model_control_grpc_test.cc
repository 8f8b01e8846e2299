// Loading and unloading models over gRPC against the real ModelService with
// model control allowed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "grpc/grpc_server.h"
#include "grpc_test_util.h"
#include "repository/model_service.h"
#include "testing/model_service.h"
#include "testing/signed_repository.h"
#include "testing/start_grpc_server.h"
#include "testing/tensor_bytes.h"

namespace moat::grpc_server {
namespace {

using moat::testing::RawBytes;
using ::testing::HasSubstr;
using testing::Infer;
using testing::RawRequest;

class ModelControlGrpcTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repository_ =
        std::make_unique<moat::testing::SignedRepository>(std::vector<moat::testing::RepositoryModel>{
            {"identity_fp32", 1, moat::testing::TestModelPath("identity_fp32.onnx")}});
    service_ = moat::testing::CreateModelService(*repository_, /*allow_model_control=*/true);
    ASSERT_NE(service_, nullptr);
    server_ = moat::testing::StartGrpcServer(*service_, shared_memory_);
    ASSERT_NE(server_, nullptr);
    stub_ = testing::MakeStub(server_->port());
  }

  void TearDown() override {
    server_.reset();
    service_.reset();
    repository_.reset();
  }

  ::grpc::Status Load(const std::string& model) {
    inference::RepositoryModelLoadRequest request;
    request.set_model_name(model);
    ::grpc::ClientContext context;
    inference::RepositoryModelLoadResponse response;
    return stub_->RepositoryModelLoad(&context, request, &response);
  }

  ::grpc::Status Unload(const std::string& model) {
    inference::RepositoryModelUnloadRequest request;
    request.set_model_name(model);
    ::grpc::ClientContext context;
    inference::RepositoryModelUnloadResponse response;
    return stub_->RepositoryModelUnload(&context, request, &response);
  }

  ::grpc::Status InferIdentity() {
    return Infer(*stub_, RawRequest("identity_fp32", "FP32", {1, 1}, RawBytes<float>({1})));
  }

  std::unique_ptr<moat::testing::SignedRepository> repository_;
  std::unique_ptr<repository::ModelService> service_;
  shm::SharedMemoryManager shared_memory_{false};
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(ModelControlGrpcTest, DisabledSharedMemoryIsNotAdvertised) {
  ::grpc::ClientContext context;
  inference::ServerMetadataResponse metadata;
  ASSERT_TRUE(stub_->ServerMetadata(&context, {}, &metadata).ok());
  EXPECT_THAT(metadata.extensions(), ::testing::Contains("model_repository"));
  EXPECT_THAT(metadata.extensions(), ::testing::Not(::testing::Contains("system_shared_memory")));
}

TEST_F(ModelControlGrpcTest, UnloadThenLoad) {
  ASSERT_TRUE(InferIdentity().ok());
  ::grpc::Status status = Unload("identity_fp32");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(InferIdentity().error_code(), ::grpc::StatusCode::NOT_FOUND);

  inference::RepositoryIndexRequest index_request;
  index_request.set_ready(true);
  ::grpc::ClientContext index_context;
  inference::RepositoryIndexResponse index;
  ASSERT_TRUE(stub_->RepositoryIndex(&index_context, index_request, &index).ok());
  EXPECT_EQ(index.models_size(), 0);

  EXPECT_EQ(Unload("identity_fp32").error_code(), ::grpc::StatusCode::NOT_FOUND);
  status = Load("identity_fp32");
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_TRUE(InferIdentity().ok());
}

TEST_F(ModelControlGrpcTest, NamesThatAreNotModels) {
  ::grpc::Status status = Load("missing");
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("missing"));
  for (const std::string name : {".", "..", "../repo", "identity_fp32/1", "\xe6\xa8\xa1\xe5\x9e\x8b"}) {
    SCOPED_TRACE(name);
    status = Load(name);
    EXPECT_FALSE(status.ok());
    EXPECT_NE(status.error_code(), ::grpc::StatusCode::INTERNAL);
    EXPECT_EQ(Unload(name).error_code(), ::grpc::StatusCode::NOT_FOUND);
  }
  EXPECT_TRUE(InferIdentity().ok());
}

}  // namespace
}  // namespace moat::grpc_server

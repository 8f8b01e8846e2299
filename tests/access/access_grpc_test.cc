// Access control on the KServe gRPC service: credentials in metadata, the
// policy's decisions as status codes, and approvals named in the trailing
// metadata.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "../grpc/grpc_test_util.h"
#include "guarded_server.h"

namespace moat {
namespace {

using ::testing::HasSubstr;

inference::ModelInferRequest IdentityRequest(const std::string& model, const std::string& version) {
  std::string bytes(8, '\0');
  inference::ModelInferRequest request = grpc_server::testing::RawRequest(model, "FP32", {1, 2}, bytes);
  request.set_model_version(version);
  return request;
}

::grpc::Status InferAs(testing::GuardedServer& server, const std::string& account, const std::string& model,
                       const std::string& version) {
  auto stub = grpc_server::testing::MakeStub(server.grpc_port());
  ::grpc::ClientContext context;
  if (!account.empty()) context.AddMetadata("authorization", "Bearer " + server.token(account));
  inference::ModelInferResponse response;
  return stub->ModelInfer(&context, IdentityRequest(model, version), &response);
}

TEST(AccessGrpc, AllowedDeniedAndUnauthenticated) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(InferAs(server, "alice", "identity", "1").error_code(), ::grpc::StatusCode::OK);
  ::grpc::Status denied = InferAs(server, "alice", "other", "1");
  EXPECT_EQ(denied.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(denied.error_message(), "permission denied");
  ::grpc::Status missing = InferAs(server, "alice", "no-such-model", "");
  EXPECT_EQ(missing.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(missing.error_message(), denied.error_message());
  EXPECT_EQ(InferAs(server, "", "identity", "1").error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  // The latest version (2) is outside the analysts' rule.
  EXPECT_EQ(InferAs(server, "alice", "identity", "").error_code(), ::grpc::StatusCode::PERMISSION_DENIED);

  auto stub = grpc_server::testing::MakeStub(server.grpc_port());
  ::grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer moat_0000000000000000_nothing");
  inference::ModelInferResponse response;
  ::grpc::Status status = stub->ModelInfer(&context, IdentityRequest("identity", "1"), &response);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);

  std::vector<std::string> records = server.AuditRecords();
  bool found = false;
  for (const std::string& record : records) {
    if (record.find(R"("protocol":"grpc")") != std::string::npos &&
        record.find(R"("rule":"analysts-infer")") != std::string::npos &&
        record.find(R"("type":"inference")") != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << "no inference record with the allowing rule";
}

TEST(AccessGrpc, HealthAndServerLiveNeedNoCredentials) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto stub = grpc_server::testing::MakeStub(server.grpc_port());
  ::grpc::ClientContext context;
  inference::ServerLiveResponse response;
  EXPECT_TRUE(stub->ServerLive(&context, inference::ServerLiveRequest(), &response).ok());
  EXPECT_TRUE(response.live());
}

TEST(AccessGrpc, LoadWaitsForApprovalNamedInTrailingMetadata) {
  testing::GuardedServer server;
  ASSERT_TRUE(server.ok());
  auto stub = grpc_server::testing::MakeStub(server.grpc_port());
  inference::RepositoryModelLoadRequest request;
  request.set_model_name("other");
  inference::RepositoryModelLoadResponse response;
  std::string id;
  {
    ::grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + server.token("bob"));
    ::grpc::Status status = stub->RepositoryModelLoad(&context, request, &response);
    ASSERT_EQ(status.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION) << status.error_message();
    auto trailer = context.GetServerTrailingMetadata().find("moat-approval");
    ASSERT_NE(trailer, context.GetServerTrailingMetadata().end());
    id = std::string(trailer->second.data(), trailer->second.size());
    EXPECT_THAT(status.error_message(), HasSubstr(id));
  }
  int64_t now = auth::UnixNow();
  auto pending = server.access().approvals().Get(id, now);
  ASSERT_TRUE(pending.result.ok());
  for (const char* approver : {"dave", "erin"}) {
    ASSERT_TRUE(server.access().approvals().Approve(id, approver, pending.result->digest, now).result.ok());
  }
  ::grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + server.token("bob"));
  context.AddMetadata("moat-approval", id);
  ::grpc::Status status = stub->RepositoryModelLoad(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
}

}  // namespace
}  // namespace moat

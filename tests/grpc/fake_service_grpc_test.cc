// The gRPC front end against FakeService, for states the real service does
// not reach: not live or ready, chosen error codes, recorded requests and
// rejections, disabled shared memory, small message limits, start and stop.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

#include "common/status_mapping.h"
#include "grpc/grpc_server.h"
#include "grpc_test_util.h"
#include "server/fake_service.h"
#include "testing/start_grpc_server.h"
#include "testing/tensor_bytes.h"

namespace moat::grpc_server {
namespace {

using inference::ModelInferRequest;
using inference::ModelInferResponse;
using moat::testing::RawBytes;
using moat::testing::TensorBytes;
using server::testing::FakeService;
using ::testing::HasSubstr;
using testing::Infer;
using ::testing::MatchesRegex;
using testing::RawRequest;
using ::testing::StartsWith;

class FakeServiceGrpcTest : public ::testing::Test {
 protected:
  void StartServer(GrpcServerOptions options = {}) {
    server_ = moat::testing::StartGrpcServer(service_, shared_memory_, options);
    ASSERT_NE(server_, nullptr);
    stub_ = testing::MakeStub(server_->port());
  }

  FakeService service_;
  shm::SharedMemoryManager shared_memory_{false};
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<inference::GRPCInferenceService::Stub> stub_;
};

TEST_F(FakeServiceGrpcTest, NotLiveAndNotReady) {
  service_.live = false;
  service_.ready = false;
  StartServer();
  ::grpc::ClientContext live_context;
  inference::ServerLiveResponse live;
  ASSERT_TRUE(stub_->ServerLive(&live_context, {}, &live).ok());
  EXPECT_FALSE(live.live());
  ::grpc::ClientContext ready_context;
  inference::ServerReadyResponse ready;
  ASSERT_TRUE(stub_->ServerReady(&ready_context, {}, &ready).ok());
  EXPECT_FALSE(ready.ready());

  inference::ModelReadyRequest model;
  model.set_name("echo");
  model.set_version("2");
  ::grpc::ClientContext model_context;
  inference::ModelReadyResponse model_ready;
  ASSERT_TRUE(stub_->ModelReady(&model_context, model, &model_ready).ok());
  EXPECT_FALSE(model_ready.ready());
}

TEST_F(FakeServiceGrpcTest, InferErrorCodesFollowTheMappingTable) {
  StartServer();
  const StatusCode codes[] = {
      StatusCode::kInvalidArgument,    StatusCode::kNotFound,       StatusCode::kPermissionDenied,
      StatusCode::kResourceExhausted,  StatusCode::kUnavailable,    StatusCode::kInternal,
      StatusCode::kDataLoss,           StatusCode::kUnknown,        StatusCode::kDeadlineExceeded,
      StatusCode::kFailedPrecondition, StatusCode::kUnauthenticated};
  for (StatusCode code : codes) {
    SCOPED_TRACE(std::string(StatusCodeName(code)));
    service_.infer_error = Status(code, "failure " + std::string(StatusCodeName(code)));
    ::grpc::Status status = Infer(*stub_, RawRequest("echo", "FP32", {1}, RawBytes<float>({1})));
    EXPECT_EQ(static_cast<int>(status.error_code()), GrpcStatusFor(code));
    EXPECT_EQ(status.error_message(), "failure " + std::string(StatusCodeName(code)));
  }
  service_.infer_error = OkStatus();
  EXPECT_TRUE(Infer(*stub_, RawRequest("echo", "FP32", {1}, RawBytes<float>({1}))).ok());
}

TEST_F(FakeServiceGrpcTest, RequestContextAndIds) {
  StartServer();
  ModelInferRequest request = RawRequest("echo", "FP32", {2}, RawBytes<float>({1, 2}));
  request.set_id("client-id");
  request.set_model_version("1");
  ModelInferResponse response;
  ASSERT_TRUE(Infer(*stub_, request, &response).ok());
  EXPECT_EQ(response.id(), "client-id");
  EXPECT_EQ(response.model_version(), "1");

  request.clear_id();
  ASSERT_TRUE(Infer(*stub_, request, &response).ok());
  EXPECT_EQ(response.id(), "");

  auto inferred = service_.inferred();
  ASSERT_EQ(inferred.size(), 2u);
  EXPECT_EQ(inferred[0].second.request_id, "client-id");
  EXPECT_EQ(inferred[0].second.protocol, "grpc");
  EXPECT_EQ(inferred[0].second.peer.rfind("127.0.0.1:", 0), 0u) << inferred[0].second.peer;
  EXPECT_THAT(inferred[1].second.request_id, MatchesRegex("[0-9a-f]{16}-[0-9]+"));
  EXPECT_EQ(inferred[0].first.model_version, 1);
  // The input tensors own the request they point into, so their data stays
  // valid after the call has returned.
  ASSERT_EQ(inferred[1].first.inputs.size(), 1u);
  EXPECT_EQ(TensorBytes(inferred[1].first.inputs[0]), RawBytes<float>({1, 2}));
}

TEST_F(FakeServiceGrpcTest, RejectedRequestsAreAudited) {
  StartServer();
  ModelInferRequest request = RawRequest("echo", "FP32", {3}, RawBytes<float>({1, 2}));
  request.set_id("short");
  request.set_model_version("1");
  ::grpc::Status status = Infer(*stub_, request);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);

  ModelInferRequest bad_version = RawRequest("echo", "FP32", {1}, RawBytes<float>({1}));
  bad_version.set_model_version("latest");
  status = Infer(*stub_, bad_version);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("'latest'"));

  auto rejected = service_.rejected();
  ASSERT_EQ(rejected.size(), 2u);
  EXPECT_EQ(rejected[0].context.request_id, "short");
  EXPECT_EQ(rejected[0].context.protocol, "grpc");
  EXPECT_THAT(rejected[0].context.peer, StartsWith("127.0.0.1:"));
  EXPECT_EQ(rejected[0].model, "echo");
  EXPECT_EQ(rejected[0].version, "1");
  EXPECT_EQ(rejected[0].reason.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(rejected[0].reason.message(), HasSubstr("INPUT0"));
  EXPECT_EQ(rejected[1].version, "latest");
  EXPECT_FALSE(rejected[1].context.request_id.empty());
  EXPECT_TRUE(service_.inferred().empty());

  // Errors from Infer itself are audited by the service, not here.
  service_.infer_error = InternalError("runtime failed");
  EXPECT_EQ(Infer(*stub_, RawRequest("echo", "FP32", {1}, RawBytes<float>({1}))).error_code(),
            ::grpc::StatusCode::INTERNAL);
  EXPECT_EQ(service_.rejected().size(), 2u);
}

TEST_F(FakeServiceGrpcTest, StreamCarriesErrorsOfEveryKind) {
  StartServer();
  ::grpc::ClientContext context;
  auto stream = stub_->ModelStreamInfer(&context);
  ModelInferRequest unimplemented = RawRequest("echo", "FP32", {1}, RawBytes<float>({1}));
  (*unimplemented.mutable_parameters())["sequence_id"].set_int64_param(4);
  ASSERT_TRUE(stream->Write(unimplemented));
  ASSERT_TRUE(stream->Write(RawRequest("echo", "FP32", {1}, RawBytes<float>({7}))));
  inference::ModelStreamInferResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_THAT(response.error_message(), HasSubstr("sequence_id"));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_message(), "");
  EXPECT_EQ(response.infer_response().raw_output_contents(0), RawBytes<float>({7}));
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  EXPECT_TRUE(stream->Finish().ok());
  ASSERT_EQ(service_.rejected().size(), 1u);
  EXPECT_EQ(service_.rejected()[0].reason.code(), StatusCode::kUnimplemented);
}

TEST_F(FakeServiceGrpcTest, ModelControlErrors) {
  StartServer();
  service_.model_control_error = FailedPreconditionError("model control is disabled");
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("echo");
  ::grpc::ClientContext load_context;
  inference::RepositoryModelLoadResponse loaded;
  EXPECT_EQ(stub_->RepositoryModelLoad(&load_context, load, &loaded).error_code(),
            ::grpc::StatusCode::FAILED_PRECONDITION);

  service_.model_control_error = OkStatus();
  ::grpc::ClientContext ok_context;
  EXPECT_TRUE(stub_->RepositoryModelLoad(&ok_context, load, &loaded).ok());

  (*load.mutable_parameters())["config"].set_string_param("{}");
  ::grpc::ClientContext config_context;
  ::grpc::Status status = stub_->RepositoryModelLoad(&config_context, load, &loaded);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("'config'"));

  load.clear_parameters();
  (*load.mutable_parameters())["file:1/model.onnx"].set_bytes_param("x");
  ::grpc::ClientContext file_context;
  EXPECT_EQ(stub_->RepositoryModelLoad(&file_context, load, &loaded).error_code(),
            ::grpc::StatusCode::UNIMPLEMENTED);

  inference::RepositoryModelUnloadRequest unload;
  ::grpc::ClientContext empty_context;
  inference::RepositoryModelUnloadResponse unloaded;
  status = stub_->RepositoryModelUnload(&empty_context, unload, &unloaded);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("model_name is empty"));

  unload.set_model_name("echo");
  unload.set_repository_name("elsewhere");
  ::grpc::ClientContext repository_context;
  EXPECT_EQ(stub_->RepositoryModelUnload(&repository_context, unload, &unloaded).error_code(),
            ::grpc::StatusCode::NOT_FOUND);

  unload.clear_repository_name();
  (*unload.mutable_parameters())["unload_dependents"].set_bool_param(true);
  ::grpc::ClientContext unload_context;
  EXPECT_TRUE(stub_->RepositoryModelUnload(&unload_context, unload, &unloaded).ok());
}

TEST_F(FakeServiceGrpcTest, SharedMemoryDisabled) {
  StartServer();
  inference::SystemSharedMemoryRegisterRequest request;
  request.set_name("r");
  request.set_key("/r");
  request.set_byte_size(4);
  ::grpc::ClientContext register_context;
  inference::SystemSharedMemoryRegisterResponse registered;
  ::grpc::Status status = stub_->SystemSharedMemoryRegister(&register_context, request, &registered);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("shared memory is disabled"));

  ::grpc::ClientContext status_context;
  inference::SystemSharedMemoryStatusResponse regions;
  EXPECT_EQ(stub_->SystemSharedMemoryStatus(&status_context, {}, &regions).error_code(),
            ::grpc::StatusCode::FAILED_PRECONDITION);
  ::grpc::ClientContext unregister_context;
  inference::SystemSharedMemoryUnregisterResponse unregistered;
  EXPECT_EQ(stub_->SystemSharedMemoryUnregister(&unregister_context, {}, &unregistered).error_code(),
            ::grpc::StatusCode::FAILED_PRECONDITION);

  ModelInferRequest infer;
  infer.set_model_name("echo");
  auto& parameters = *testing::AddInput(infer, "INPUT0", "FP32", {1})->mutable_parameters();
  parameters["shared_memory_region"].set_string_param("r");
  parameters["shared_memory_byte_size"].set_int64_param(4);
  EXPECT_EQ(Infer(*stub_, infer).error_code(), ::grpc::StatusCode::FAILED_PRECONDITION);
  ASSERT_EQ(service_.rejected().size(), 1u);
  EXPECT_EQ(service_.rejected()[0].reason.code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Infer(*stub_, RawRequest("echo", "FP32", {1}, RawBytes<float>({1}))).ok());
}

TEST_F(FakeServiceGrpcTest, OversizeMessagesRejected) {
  GrpcServerOptions options;
  options.max_message_bytes = 1024;
  StartServer(options);
  ::grpc::Status status = Infer(*stub_, RawRequest("echo", "UINT8", {4096}, std::string(4096, 'x')));
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(service_.inferred().empty());
  EXPECT_TRUE(Infer(*stub_, RawRequest("echo", "UINT8", {16}, std::string(16, 'x'))).ok());
}

TEST_F(FakeServiceGrpcTest, StartAndStop) {
  StartServer();
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(testing::HealthStatus(server_->port(), ""), 1);
  EXPECT_EQ(server_->Start().code(), StatusCode::kFailedPrecondition);

  GrpcServerOptions same_port;
  same_port.port = server_->port();
  GrpcServer second(service_, shared_memory_, same_port);
  Status started = second.Start();
  EXPECT_EQ(started.code(), StatusCode::kUnavailable) << started.ToString();
  EXPECT_THAT(started.message(), HasSubstr(std::to_string(server_->port())));

  uint16_t port = server_->port();
  server_->Stop();
  server_->Stop();
  ::grpc::StatusCode code = ::grpc::StatusCode::OK;
  EXPECT_EQ(testing::HealthStatus(port, "", &code), std::nullopt);
  EXPECT_EQ(code, ::grpc::StatusCode::UNAVAILABLE);
}

TEST_F(FakeServiceGrpcTest, HostNamesAreNotResolved) {
  GrpcServerOptions options;
  options.address = "localhost";
  options.port = 0;
  GrpcServer server(service_, shared_memory_, options);
  Status started = server.Start();
  EXPECT_EQ(started.code(), StatusCode::kUnavailable);
  EXPECT_THAT(started.message(), HasSubstr("'localhost': it is not an IPv4 or IPv6 address"));
}

TEST_F(FakeServiceGrpcTest, PriorityAndTimeoutReachService) {
  StartServer();
  ModelInferRequest request = RawRequest("echo", "FP32", {1}, RawBytes<float>({1}));
  (*request.mutable_parameters())["priority"].set_int64_param(2);
  (*request.mutable_parameters())["timeout"].set_uint64_param(250000);
  ASSERT_TRUE(Infer(*stub_, request).ok());

  auto inferred = service_.inferred();
  ASSERT_EQ(inferred.size(), 1u);
  const InferenceRequest& seen = inferred[0].first;
  EXPECT_EQ(seen.priority, 2u);
  ASSERT_TRUE(seen.timeout.has_value());
  EXPECT_EQ(*seen.timeout, std::chrono::microseconds(250000));
  ASSERT_NE(seen.cancelled, nullptr);
  EXPECT_FALSE(seen.cancelled->load());
}

TEST_F(FakeServiceGrpcTest, InvalidPriorityRejected) {
  StartServer();
  ModelInferRequest request = RawRequest("echo", "FP32", {1}, RawBytes<float>({1}));
  (*request.mutable_parameters())["priority"].set_int64_param(-1);
  ::grpc::Status status = Infer(*stub_, request);
  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("parameter 'priority' is negative (-1)"));
  EXPECT_TRUE(service_.inferred().empty());
}

TEST_F(FakeServiceGrpcTest, ClientCancelSetsFlag) {
  StartServer();
  service_.block_until_cancelled = true;
  ::grpc::ClientContext context;
  ::grpc::Status status;
  std::thread client([&] {
    ModelInferResponse response;
    status = stub_->ModelInfer(&context, RawRequest("echo", "FP32", {1}, RawBytes<float>({1})), &response);
  });
  ASSERT_EQ(service_.WaitForInferred(1), 1u);
  context.TryCancel();
  client.join();

  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::CANCELLED);
  EXPECT_EQ(service_.WaitForCancellations(1), std::vector<bool>{true});
}

TEST_F(FakeServiceGrpcTest, ExpiredDeadlineSetsFlag) {
  StartServer();
  service_.block_until_cancelled = true;
  ::grpc::ClientContext context;
  // Long enough for the call to reach Infer on a loaded machine; the flag
  // flips once the deadline passes.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  ModelInferResponse response;
  ::grpc::Status status =
      stub_->ModelInfer(&context, RawRequest("echo", "FP32", {1}, RawBytes<float>({1})), &response);

  EXPECT_EQ(status.error_code(), ::grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(service_.WaitForCancellations(1), std::vector<bool>{true});
}

}  // namespace
}  // namespace moat::grpc_server

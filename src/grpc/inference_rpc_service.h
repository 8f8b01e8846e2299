// The handlers of inference.GRPCInferenceService on the synchronous grpc++
// API. Each handler converts its message, calls the core API and converts
// the result; errors carry the code from the shared status mapping table.
#pragma once

#include <memory>
#include <string>

#include "auth/access_control.h"
#include "common/request_id.h"
#include "common/status.h"
#include "core/inference.h"
#include "grpc/call_log.h"
#include "grpc/cancellation_watcher.h"
#include "inference.grpc.pb.h"
#include "shm/shared_memory.h"

namespace moat::grpc_server {

// Thread-safe: grpc++ calls the handlers from many threads at once. Both
// references must outlive the object.
class InferenceRpcService final : public inference::GRPCInferenceService::Service {
 public:
  // `access_control` authenticates and authorizes every call except the
  // health checks; null serves everyone as "anonymous".
  InferenceRpcService(InferenceService& service, shm::SharedMemoryManager& shared_memory,
                      auth::AccessControl* access_control = nullptr)
      : service_(service), shared_memory_(shared_memory), access_control_(access_control) {}

  using Context = ::grpc::ServerContext;

  ::grpc::Status ServerLive(Context* context, const inference::ServerLiveRequest* request,
                            inference::ServerLiveResponse* response) override;
  ::grpc::Status ServerReady(Context* context, const inference::ServerReadyRequest* request,
                             inference::ServerReadyResponse* response) override;
  ::grpc::Status ModelReady(Context* context, const inference::ModelReadyRequest* request,
                            inference::ModelReadyResponse* response) override;
  ::grpc::Status ServerMetadata(Context* context, const inference::ServerMetadataRequest* request,
                                inference::ServerMetadataResponse* response) override;
  ::grpc::Status ModelMetadata(Context* context, const inference::ModelMetadataRequest* request,
                               inference::ModelMetadataResponse* response) override;
  ::grpc::Status ModelInfer(Context* context, const inference::ModelInferRequest* request,
                            inference::ModelInferResponse* response) override;
  ::grpc::Status ModelStreamInfer(Context* context,
                                  ::grpc::ServerReaderWriter<inference::ModelStreamInferResponse,
                                                             inference::ModelInferRequest>* stream) override;
  ::grpc::Status ModelConfig(Context* context, const inference::ModelConfigRequest* request,
                             inference::ModelConfigResponse* response) override;
  ::grpc::Status ModelStatistics(Context* context, const inference::ModelStatisticsRequest* request,
                                 inference::ModelStatisticsResponse* response) override;
  ::grpc::Status RepositoryIndex(Context* context, const inference::RepositoryIndexRequest* request,
                                 inference::RepositoryIndexResponse* response) override;
  ::grpc::Status RepositoryModelLoad(Context* context, const inference::RepositoryModelLoadRequest* request,
                                     inference::RepositoryModelLoadResponse* response) override;
  ::grpc::Status RepositoryModelUnload(Context* context,
                                       const inference::RepositoryModelUnloadRequest* request,
                                       inference::RepositoryModelUnloadResponse* response) override;
  ::grpc::Status SystemSharedMemoryStatus(Context* context,
                                          const inference::SystemSharedMemoryStatusRequest* request,
                                          inference::SystemSharedMemoryStatusResponse* response) override;
  ::grpc::Status SystemSharedMemoryRegister(Context* context,
                                            const inference::SystemSharedMemoryRegisterRequest* request,
                                            inference::SystemSharedMemoryRegisterResponse* response) override;
  ::grpc::Status SystemSharedMemoryUnregister(
      Context* context, const inference::SystemSharedMemoryUnregisterRequest* request,
      inference::SystemSharedMemoryUnregisterResponse* response) override;

 private:
  // The access control outcome of a call that it let through.
  struct Admitted {
    RequestContext context;
    auth::Caller caller;
    auth::Operation operation;
    int64_t now_unix = 0;
  };

  // Starts the log of a call with a generated request id.
  CallLog StartCall(std::string_view method, const Context& context);

  // Authenticates and authorizes `action` on `model` (may be empty) at
  // `version_field` for the call. On refusal audits it and returns the
  // error (a pending approval's id also goes into the trailing metadata
  // moat-approval). `admitted` receives the request context for Infer.
  Status Admit(Context& context, const CallLog& log, policy::Action action, std::string_view model,
               std::string_view version_field, Admitted& admitted);

  // Parses, runs and converts one infer request; `log` gets the request id
  // and model. Audits requests rejected before or after Infer.
  // `cancelled` becomes the request's cancellation flag.
  Status RunInfer(Context& call, std::shared_ptr<const inference::ModelInferRequest> message, CallLog& log,
                  std::shared_ptr<const std::atomic<bool>> cancelled,
                  inference::ModelInferResponse& response);

  InferenceService& service_;
  shm::SharedMemoryManager& shared_memory_;
  auth::AccessControl* const access_control_;
  RequestIdGenerator ids_;
  // Polls the calls waiting in Infer so that a request whose client cancelled
  // or passed its deadline fails with CANCELLED before it runs.
  CancellationWatcher cancellation_watcher_{std::chrono::milliseconds(10)};
};

}  // namespace moat::grpc_server

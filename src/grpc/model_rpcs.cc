// Health, metadata, configuration, statistics and repository RPCs.
#include <optional>
#include <string_view>

#include "grpc/inference_rpc_service.h"
#include "grpc/model_messages.h"
#include "grpc/peer_identity.h"
#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {
namespace {

// Moat serves exactly one repository, which the protocol selects with an
// empty repository_name.
Status CheckRepositoryName(const std::string& repository_name) {
  if (repository_name.empty()) return OkStatus();
  return NotFoundError("model repository " + Quote(repository_name) +
                       " not found; Moat serves one repository, selected by an empty repository_name");
}

Status CheckModelName(const std::string& model_name) {
  if (model_name.empty()) return InvalidArgumentError("model_name is empty");
  return OkStatus();
}

// Load parameters "config" (a JSON configuration) and "file:<path>" (file
// contents) would override the signed bundle, which Moat never allows.
Status CheckLoadParameters(
    const google::protobuf::Map<std::string, inference::ModelRepositoryParameter>& parameters) {
  for (const auto& [name, value] : parameters) {
    if (name == "config" || name.rfind("file:", 0) == 0) {
      return UnimplementedError(
          "load parameter " + Quote(name) +
          " is not supported, because Moat loads only signed bundles from its repository");
    }
  }
  return OkStatus();
}

}  // namespace

CallLog InferenceRpcService::StartCall(std::string_view method, const Context& context) {
  return CallLog(method, ids_.Next(), PeerAddress(context.peer()));
}

Status InferenceRpcService::Admit(Context& context, const CallLog& log, policy::Action action,
                                  std::string_view model, std::string_view version_field, Admitted& admitted) {
  admitted.context = RequestContext(log.request_id(), "grpc", log.peer());
  if (access_control_ == nullptr) return OkStatus();
  auth::Operation& operation = admitted.operation;
  operation.action = action;
  operation.model = std::string(model);
  if (StatusOr<std::optional<int64_t>> version = ParseVersionField(version_field); version.ok()) {
    operation.version = *version;
  }
  std::string authorization = MetadataValue(context, "authorization");
  std::string one_time_code = MetadataValue(context, "moat-otp");
  std::string approval_id = MetadataValue(context, "moat-approval");
  std::optional<tls::PeerCertificate> certificate = PeerCertificateOf(context);
  auth::Credentials credentials;
  credentials.authorization = authorization;
  credentials.certificate = certificate ? &*certificate : nullptr;
  credentials.one_time_code = one_time_code;
  credentials.approval_id = approval_id;
  credentials.peer = log.peer();
  admitted.now_unix = auth::UnixNow();
  auth::Refusal refusal;
  Status status = auth::AdmitRequest(*access_control_, credentials, operation, admitted.now_unix, admitted.context,
                                     admitted.caller, refusal);
  if (status.ok()) return status;
  service_.RecordRejectedRequest(admitted.context, operation.model, std::string(version_field), status);
  if (!refusal.approval_id.empty()) context.AddTrailingMetadata("moat-approval", refusal.approval_id);
  return status;
}

::grpc::Status InferenceRpcService::ServerLive(Context* context, const inference::ServerLiveRequest* request,
                                               inference::ServerLiveResponse* response) {
  CallLog log = StartCall("ServerLive", *context);
  response->set_live(service_.IsLive());
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::ServerReady(Context* context,
                                                const inference::ServerReadyRequest* request,
                                                inference::ServerReadyResponse* response) {
  CallLog log = StartCall("ServerReady", *context);
  response->set_ready(service_.IsReady());
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::ModelReady(Context* context, const inference::ModelReadyRequest* request,
                                               inference::ModelReadyResponse* response) {
  CallLog log = StartCall("ModelReady", *context);
  log.set_model(request->name());
  Admitted admitted;
  Status admission =
      Admit(*context, log, policy::Action::kReadMetadata, request->name(), request->version(), admitted);
  if (!admission.ok()) return log.Finish(admission);
  StatusOr<std::optional<int64_t>> version = ParseVersionField(request->version());
  if (!version.ok()) return log.Finish(version.status());
  StatusOr<bool> ready = service_.IsModelReady(request->name(), *version);
  if (!ready.ok()) return log.Finish(ready.status());
  response->set_ready(*ready);
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::ServerMetadata(Context* context,
                                                   const inference::ServerMetadataRequest* request,
                                                   inference::ServerMetadataResponse* response) {
  CallLog log = StartCall("ServerMetadata", *context);
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kReadMetadata, "", "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  moat::ServerMetadata metadata = service_.GetServerMetadata();
  response->set_name(metadata.name);
  response->set_version(metadata.version);
  for (const std::string& extension : metadata.extensions) {
    // Clients probe this list, so an extension that is turned off is not in it.
    if (extension == "system_shared_memory" && !shared_memory_.enabled()) continue;
    response->add_extensions(extension);
  }
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::ModelMetadata(Context* context,
                                                  const inference::ModelMetadataRequest* request,
                                                  inference::ModelMetadataResponse* response) {
  CallLog log = StartCall("ModelMetadata", *context);
  log.set_model(request->name());
  Admitted admitted;
  Status admission =
      Admit(*context, log, policy::Action::kReadMetadata, request->name(), request->version(), admitted);
  if (!admission.ok()) return log.Finish(admission);
  StatusOr<std::optional<int64_t>> version = ParseVersionField(request->version());
  if (!version.ok()) return log.Finish(version.status());
  StatusOr<moat::ModelMetadata> metadata = service_.GetModelMetadata(request->name(), *version);
  if (!metadata.ok()) return log.Finish(metadata.status());
  FillModelMetadata(*metadata, *response);
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::ModelConfig(Context* context,
                                                const inference::ModelConfigRequest* request,
                                                inference::ModelConfigResponse* response) {
  CallLog log = StartCall("ModelConfig", *context);
  log.set_model(request->name());
  Admitted admitted;
  Status admission =
      Admit(*context, log, policy::Action::kReadMetadata, request->name(), request->version(), admitted);
  if (!admission.ok()) return log.Finish(admission);
  StatusOr<std::optional<int64_t>> version = ParseVersionField(request->version());
  if (!version.ok()) return log.Finish(version.status());
  StatusOr<moat::ModelMetadata> metadata = service_.GetModelMetadata(request->name(), *version);
  if (!metadata.ok()) return log.Finish(metadata.status());
  FillModelConfig(*metadata, *response->mutable_config());
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::ModelStatistics(Context* context,
                                                    const inference::ModelStatisticsRequest* request,
                                                    inference::ModelStatisticsResponse* response) {
  CallLog log = StartCall("ModelStatistics", *context);
  log.set_model(request->name());
  Admitted admitted;
  Status admission =
      Admit(*context, log, policy::Action::kReadStatistics, request->name(), request->version(), admitted);
  if (!admission.ok()) return log.Finish(admission);
  StatusOr<std::optional<int64_t>> version = ParseVersionField(request->version());
  if (!version.ok()) return log.Finish(version.status());
  if (request->name().empty() && version->has_value()) {
    return log.Finish(InvalidArgumentError("model version " + Quote(request->version()) +
                                           " needs a model name; an empty name selects every model"));
  }
  StatusOr<std::vector<moat::ModelStatistics>> statistics =
      service_.GetModelStatistics(request->name(), *version);
  if (!statistics.ok()) return log.Finish(statistics.status());
  FillModelStatistics(*statistics, *response);
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::RepositoryIndex(Context* context,
                                                    const inference::RepositoryIndexRequest* request,
                                                    inference::RepositoryIndexResponse* response) {
  CallLog log = StartCall("RepositoryIndex", *context);
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kReadMetadata, "", "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  Status repository = CheckRepositoryName(request->repository_name());
  if (!repository.ok()) return log.Finish(repository);
  FillRepositoryIndex(service_.RepositoryIndex(request->ready()), *response);
  return log.Finish(OkStatus());
}

::grpc::Status InferenceRpcService::RepositoryModelLoad(Context* context,
                                                        const inference::RepositoryModelLoadRequest* request,
                                                        inference::RepositoryModelLoadResponse* response) {
  CallLog log = StartCall("RepositoryModelLoad", *context);
  log.set_model(request->model_name());
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kLoad, request->model_name(), "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  Status checked = CheckRepositoryName(request->repository_name());
  if (checked.ok()) checked = CheckModelName(request->model_name());
  if (checked.ok()) checked = CheckLoadParameters(request->parameters());
  if (!checked.ok()) return log.Finish(checked);
  return log.Finish(service_.LoadModel(request->model_name(), admitted.context));
}

::grpc::Status InferenceRpcService::RepositoryModelUnload(
    Context* context, const inference::RepositoryModelUnloadRequest* request,
    inference::RepositoryModelUnloadResponse* response) {
  CallLog log = StartCall("RepositoryModelUnload", *context);
  log.set_model(request->model_name());
  Admitted admitted;
  Status admission = Admit(*context, log, policy::Action::kUnload, request->model_name(), "", admitted);
  if (!admission.ok()) return log.Finish(admission);
  // Unload parameters (such as unload_dependents) concern model ensembles,
  // which Moat does not serve, so they are ignored.
  Status checked = CheckRepositoryName(request->repository_name());
  if (checked.ok()) checked = CheckModelName(request->model_name());
  if (!checked.ok()) return log.Finish(checked);
  return log.Finish(service_.UnloadModel(request->model_name(), admitted.context));
}

}  // namespace moat::grpc_server

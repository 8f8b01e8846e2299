// ModelInfer and ModelStreamInfer.
#include <optional>
#include <utility>

#include "common/utf8.h"
#include "grpc/infer_request.h"
#include "grpc/infer_response.h"
#include "grpc/inference_rpc_service.h"
#include "grpc/rpc_helpers.h"

namespace moat::grpc_server {

using inference::ModelInferRequest;
using inference::ModelInferResponse;

Status InferenceRpcService::RunInfer(Context& call, std::shared_ptr<const ModelInferRequest> message, CallLog& log,
                                     std::shared_ptr<const std::atomic<bool>> cancelled,
                                     ModelInferResponse& response) {
  if (!message->id().empty()) log.set_request_id(message->id());
  log.set_model(message->model_name());
  Admitted admitted;
  MOAT_RETURN_IF_ERROR(Admit(call, log, policy::Action::kInfer, message->model_name(), message->model_version(),
                             admitted));
  RequestContext& context = admitted.context;
  // The policy allowed "the latest version" before it was resolved, so the
  // service decides again with the version it resolves.
  std::optional<auth::PolicyVersionCheck> version_check;
  if (access_control_ != nullptr && !admitted.operation.version) {
    version_check.emplace(*access_control_, admitted.caller, admitted.operation, admitted.now_unix);
    context.version_authorizer = &*version_check;
  }
  auto reject = [&](const Status& reason) {
    service_.RecordRejectedRequest(context, message->model_name(), message->model_version(), reason);
    return reason;
  };

  StatusOr<ParsedModelInferRequest> parsed = ParseModelInferRequest(*message, shared_memory_, message);
  if (!parsed.ok()) return reject(parsed.status());
  parsed->request.cancelled = std::move(cancelled);

  // The service audits the outcome of every request that reaches Infer.
  StatusOr<InferenceResponse> result = service_.Infer(parsed->request, context);
  if (!result.ok()) return result.status();

  Status built = BuildModelInferResponse(*result, parsed->shared_memory_outputs, shared_memory_, response);
  if (!built.ok()) {
    // The inference was audited as successful; this second record states
    // that its result did not reach the client.
    response.Clear();
    return reject(built);
  }
  return OkStatus();
}

::grpc::Status InferenceRpcService::ModelInfer(Context* context, const ModelInferRequest* request,
                                               ModelInferResponse* response) {
  CallLog log = StartCall("ModelInfer", *context);
  // Input tensors point into the request's raw_input_contents and need an
  // owner. grpc++ owns `request` until this handler returns and built it
  // outside any protobuf arena, so Swap moves its fields into a shared
  // message by exchanging pointers, without copying tensor bytes.
  auto owned = std::make_shared<ModelInferRequest>();
  owned->Swap(const_cast<ModelInferRequest*>(request));
  auto [cancelled, watch] = cancellation_watcher_.Add([context] { return context->IsCancelled(); });
  return log.Finish(RunInfer(*context, std::move(owned), log, std::move(cancelled), *response));
}

::grpc::Status InferenceRpcService::ModelStreamInfer(
    Context* context,
    ::grpc::ServerReaderWriter<inference::ModelStreamInferResponse, ModelInferRequest>* stream) {
  while (true) {
    auto message = std::make_shared<ModelInferRequest>();
    if (!stream->Read(message.get())) break;

    CallLog log = StartCall("ModelStreamInfer", *context);
    inference::ModelStreamInferResponse reply;
    auto [cancelled, watch] = cancellation_watcher_.Add([context] { return context->IsCancelled(); });
    Status status = RunInfer(*context, message, log, std::move(cancelled), *reply.mutable_infer_response());
    log.Finish(status);
    if (!status.ok()) {
      // The stream stays open, so the error travels in the response. The
      // identifying fields let the client match it to its request.
      reply.set_error_message(ReplaceInvalidUtf8(status.message(), "?"));
      ModelInferResponse& failed = *reply.mutable_infer_response();
      failed.set_id(message->id());
      failed.set_model_name(message->model_name());
      failed.set_model_version(message->model_version());
    }
    if (!stream->Write(reply)) break;
  }
  return ::grpc::Status::OK;
}

}  // namespace moat::grpc_server

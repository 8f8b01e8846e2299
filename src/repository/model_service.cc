#include "repository/model_service.h"

#include <chrono>

#include <spdlog/spdlog.h>

#include "core/model_version.h"
#include "repository/request_validation.h"
#include "runtime/onnx_runtime.h"

namespace moat::repository {

namespace {

int64_t MicrosecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
}

audit::AuditEvent EventFor(const std::string& type, const RequestContext& context, const std::string& model) {
  audit::AuditEvent event;
  event.type = type;
  event.request_id = context.request_id;
  event.protocol = context.protocol;
  event.peer = context.peer;
  event.model = model;
  return event;
}

}  // namespace

ModelService::ModelService(std::unique_ptr<audit::AuditLog> audit) : audit_(std::move(audit)) {}

StatusOr<std::unique_ptr<ModelService>> ModelService::Create(const ModelServiceOptions& options) {
  MOAT_ASSIGN_OR_RETURN(bundle::TrustStore trust, bundle::TrustStore::LoadDirectory(options.trust_dir));
  audit::AuditOptions audit_options;
  audit_options.sync = options.audit_sync;
  MOAT_ASSIGN_OR_RETURN(
      std::unique_ptr<audit::AuditLog> log,
      audit::AuditLog::Open(options.audit_log_path, audit::CollectNodeIdentity(runtime::OnnxRuntimeVersion()),
                            audit_options));
  std::unique_ptr<ModelService> service(new ModelService(std::move(log)));

  audit::AuditEvent start;
  start.type = "server_start";
  MOAT_RETURN_IF_ERROR(service->audit_->Append(start));

  MOAT_ASSIGN_OR_RETURN(RepositoryContents contents, LoadRepository(options.repository_dir, trust));
  for (const RejectedVersion& rejected : contents.rejected) {
    spdlog::error("model {} version {} at {} not served: {}", rejected.model, rejected.version, rejected.path,
                  rejected.reason.ToString());
    audit::AuditEvent event;
    event.type = "model_rejected";
    event.model = rejected.model;
    event.outcome = std::string(StatusCodeName(rejected.reason.code()));
    event.error = rejected.path + ": " + rejected.reason.message();
    MOAT_RETURN_IF_ERROR(service->audit_->Append(event));
  }
  for (auto& version : contents.loaded) {
    spdlog::info("model {} version {} loaded: bundle digest {}, signed by {}", version->name, version->version,
                 version->bundle_digest, fmt::join(version->signer_key_ids, ", "));
    audit::AuditEvent event;
    event.type = "model_loaded";
    event.model = version->name;
    event.version = version->version;
    event.bundle_digest = version->bundle_digest;
    MOAT_RETURN_IF_ERROR(service->audit_->Append(event));
    service->models_[version->name][version->version] = std::move(version);
  }
  return service;
}

ModelService::~ModelService() {
  audit::AuditEvent stop;
  stop.type = "server_stop";
  Audit(stop);
}

ServerMetadata ModelService::GetServerMetadata() const {
  return {"moat", MOAT_VERSION_STRING, {"binary_tensor_data"}};
}

size_t ModelService::loaded_version_count() const {
  std::lock_guard lock(models_mutex_);
  size_t count = 0;
  for (const auto& [name, versions] : models_) count += versions.size();
  return count;
}

StatusOr<std::shared_ptr<const ModelVersion>> ModelService::Find(const std::string& model,
                                                                 std::optional<int64_t> version) const {
  std::lock_guard lock(models_mutex_);
  auto it = models_.find(model);
  if (it == models_.end() || it->second.empty()) return NotFoundError("model '" + model + "' not found");
  if (!version) return it->second.rbegin()->second;
  auto found = it->second.find(*version);
  if (found == it->second.end()) {
    return NotFoundError("model '" + model + "' version " + std::to_string(*version) + " not found");
  }
  return found->second;
}

StatusOr<ModelMetadata> ModelService::GetModelMetadata(const std::string& model,
                                                       std::optional<int64_t> version) const {
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<const ModelVersion> found, Find(model, version));
  ModelMetadata metadata;
  metadata.name = found->name;
  metadata.platform = "onnxruntime_onnx";
  metadata.inputs = found->manifest.inputs;
  metadata.outputs = found->manifest.outputs;
  std::lock_guard lock(models_mutex_);
  // find, not at: the model may have been unloaded since Find released the lock.
  auto versions = models_.find(model);
  if (versions != models_.end()) {
    for (const auto& [number, unused] : versions->second) metadata.versions.push_back(number);
  }
  return metadata;
}

StatusOr<bool> ModelService::IsModelReady(const std::string& model, std::optional<int64_t> version) const {
  MOAT_RETURN_IF_ERROR(Find(model, version).status());
  return true;
}

StatusOr<InferenceResponse> ModelService::Infer(const InferenceRequest& request, const RequestContext& context) {
  auto start = std::chrono::steady_clock::now();
  audit::AuditEvent event = EventFor("inference", context, request.model_name);
  auto found = Find(request.model_name, request.model_version);
  StatusOr<InferenceResponse> response = found.status();
  if (found.ok()) {
    event.version = (*found)->version;
    event.bundle_digest = (*found)->bundle_digest;
    response = Run(**found, request, event);
  }
  event.latency_us = MicrosecondsSince(start);
  if (!response.ok()) {
    event.outcome = std::string(StatusCodeName(response.status().code()));
    event.error = response.status().message();
  }
  Status audited = audit_->Append(event);
  if (!audited.ok()) {
    // Fail closed: a result without its audit record never leaves the server.
    spdlog::error("request {} model {}: audit log write failed: {}", context.request_id, request.model_name,
                  audited.ToString());
    return UnavailableError("the audit log cannot be written; inference results are withheld until it can");
  }
  return response;
}

StatusOr<InferenceResponse> ModelService::Run(const ModelVersion& model, const InferenceRequest& request,
                                              audit::AuditEvent& event) {
  auto validated = ValidateRequest(model.manifest, request);
  if (!validated.ok()) {
    event.type = "rejected";
    return validated.status();
  }
  event.input_digest = audit::DigestTensors(request.inputs);
  MOAT_ASSIGN_OR_RETURN(std::vector<Tensor> outputs,
                        model.instance->Execute(validated->inputs, validated->output_names));
  event.output_digest = audit::DigestTensors(outputs);

  InferenceResponse response;
  response.id = request.id;
  response.model_name = model.name;
  response.model_version = model.version;
  response.outputs = std::move(outputs);
  return response;
}

void ModelService::RecordRejectedRequest(const RequestContext& context, const std::string& model,
                                         const std::string& version, const Status& reason) {
  audit::AuditEvent event = EventFor("rejected", context, model);
  // The version is recorded when it is a number; otherwise the error contains the raw text.
  event.version = ParseVersionNumber(version).value_or(0);
  event.outcome = std::string(StatusCodeName(reason.code()));
  event.error = reason.message();
  Audit(event);
}

void ModelService::Audit(const audit::AuditEvent& event) {
  Status status = audit_->Append(event);
  if (!status.ok()) {
    spdlog::error("audit log write failed for a {} record (request {}, model {}): {}", event.type,
                  event.request_id, event.model, status.ToString());
  }
}

}  // namespace moat::repository

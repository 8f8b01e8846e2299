#include "repository/model_service.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <tuple>
#include <utility>

#include <spdlog/spdlog.h>

#include "audit/record.h"
#include "common/crypto.h"
#include "core/model_version.h"
#include "hardware/gpu.h"
#include "hardware/inventory.h"
#include "hardware/memory_estimate.h"
#include "repository/request_validation.h"
#include "repository/version_scheduler.h"
#include "runtime/onnx_runtime.h"

namespace moat::repository {

namespace {

audit::AuditEvent EventFor(const std::string& type, const RequestContext& context, const std::string& model) {
  audit::AuditEvent event;
  event.type = type;
  event.request_id = context.request_id;
  event.protocol = context.protocol;
  event.peer = context.peer;
  event.principal = context.principal;
  event.action = context.action;
  event.rule = context.rule;
  event.model = model;
  return event;
}

// Returns the inference count of a request: the first dimension of its first
// input, or 1 for a scalar or a request without inputs.
uint64_t InferenceCount(const InferenceRequest& request) {
  if (request.inputs.empty() || request.inputs.front().shape.empty()) return 1;
  int64_t rows = request.inputs.front().shape.front();
  return rows > 0 ? static_cast<uint64_t>(rows) : 0;
}

uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max() : a + b;
}

// Compares what creating the version's session took with the estimate for
// one instance, because the instances share that session.
void LogSessionMemory(const ModelVersion& version) {
  if (!version.session_resident_bytes) return;
  uint64_t measured = *version.session_resident_bytes;
  uint64_t estimate = hardware::EstimateModelMemory(BundleFileBytes(version.manifest));
  if (measured > estimate) {
    spdlog::warn(
        "model {} version {}: creating its session took {} MiB of resident memory, more than the estimate of "
        "{} MiB, so the memory check may admit versions that do not fit",
        version.name, version.version, hardware::ToMiB(measured), hardware::ToMiB(estimate));
    return;
  }
  spdlog::info("model {} version {}: creating its session took {} MiB of resident memory, estimated {} MiB",
               version.name, version.version, hardware::ToMiB(measured), hardware::ToMiB(estimate));
}

}  // namespace

ModelService::ModelService(std::unique_ptr<audit::AuditLog> audit, const ModelServiceOptions& options,
                           bundle::TrustStore trust)
    : audit_(std::move(audit)),
      audit_fail_open_(options.audit_fail_open),
      sign_responses_(options.sign_responses),
      repository_dir_(options.repository_dir),
      allow_model_control_(options.allow_model_control),
      serving_config_(options.serving_config),
      available_memory_(options.available_memory_bytes
                            ? *options.available_memory_bytes
                            : hardware::ReadHardwareInventory().available_memory_bytes),
      clock_(options.clock),
      trust_(std::move(trust)) {}

StatusOr<std::unique_ptr<ModelService>> ModelService::Create(const ModelServiceOptions& options) {
  MOAT_ASSIGN_OR_RETURN(bundle::TrustStore trust, bundle::TrustStore::LoadDirectory(options.trust_dir));
  audit::NodeIdentity node = audit::CollectNodeIdentity(runtime::OnnxRuntimeVersion());
  hardware::GpuInventory gpus = hardware::ListGpus();
  for (const hardware::GpuInfo& gpu : gpus.gpus) {
    node.gpus.push_back(std::to_string(gpu.index) + ": " + gpu.name + " (" +
                        std::to_string(hardware::ToMiB(gpu.total_memory_bytes)) + " MiB)");
  }
  node.gpu_note = gpus.note;
  audit::AuditLogOptions audit_options = options.audit;
  audit_options.host = node.host;
  std::unique_ptr<audit::AuditLog> log;
  if (options.audit_disabled_for_benchmark) {
    spdlog::warn("auditing is OFF: no audit record is written, so nothing served now can be proven later; "
                 "this mode exists only to measure what auditing costs");
  } else {
    MOAT_ASSIGN_OR_RETURN(log, audit::AuditLog::Open(std::move(audit_options)));
  }
  std::unique_ptr<ModelService> service(new ModelService(std::move(log), options, std::move(trust)));

  audit::AuditEvent start;
  start.type = audit::record_type::kServerStart;
  start.details = audit::NodeIdentityJson(node);
  MOAT_RETURN_IF_ERROR(service->AppendRecord(start).status());

  MOAT_ASSIGN_OR_RETURN(RepositoryContents contents, LoadRepository(options.repository_dir, service->trust_,
                                                                    service->MakeSessionPlanner(0)));
  MOAT_ASSIGN_OR_RETURN(service->models_, service->AuditLoaded(contents, RequestContext{}));
  for (RejectedVersion& rejected : contents.rejected) {
    service->rejected_[rejected.model].push_back(std::move(rejected));
  }
  return service;
}

SessionPlanner ModelService::MakeSessionPlanner(uint64_t already_planned) const {
  return [this, already_planned](const bundle::Manifest& manifest,
                                 const std::vector<std::shared_ptr<const ModelVersion>>& loaded)
             -> StatusOr<runtime::SessionOptions> {
    config::ModelSettings settings = serving_config_.For(manifest.name, manifest.version);
    MOAT_RETURN_IF_ERROR(CheckVersionSettings(manifest, settings));
    uint64_t planned = already_planned;
    for (const auto& version : loaded) {
      planned = SaturatingAdd(
          planned,
          EstimateVersionMemory(version->manifest, serving_config_.For(version->name, version->version)));
    }
    MOAT_RETURN_IF_ERROR(hardware::CheckFits(manifest.name, manifest.version,
                                             EstimateVersionMemory(manifest, settings), available_memory_,
                                             planned));
    runtime::SessionOptions session_options;
    session_options.intra_op_threads = static_cast<int>(settings.intra_op_threads);
    return session_options;
  };
}

StatusOr<std::map<std::string, ModelService::VersionMap>> ModelService::AuditLoaded(
    RepositoryContents& contents, const RequestContext& context) {
  std::vector<ServedVersion> accepted;
  for (auto& version : contents.loaded) {
    config::ModelSettings settings = serving_config_.For(version->name, version->version);
    uint64_t estimate = EstimateVersionMemory(version->manifest, settings);
    std::string path = repository_dir_ + "/" + version->name + "/" + std::to_string(version->version);
    auto statistics = std::make_shared<VersionStatistics>();
    auto scheduler = MakeVersionScheduler(version, settings, statistics, clock_);
    if (!scheduler.ok()) {
      contents.rejected.push_back(
          {path, version->name, std::to_string(version->version), scheduler.status()});
      continue;
    }
    accepted.push_back({std::move(version), std::move(statistics), std::move(scheduler).value(), estimate,
                        settings.audit_tensors});
  }
  contents.loaded.clear();
  for (const RejectedVersion& rejected : contents.rejected) {
    spdlog::error("model {} version {} at {} not served: {}", rejected.model, rejected.version, rejected.path,
                  rejected.reason.ToString());
    audit::AuditEvent event = EventFor("model_rejected", context, rejected.model);
    event.outcome = std::string(StatusCodeName(rejected.reason.code()));
    event.error = rejected.path + ": " + rejected.reason.message();
    MOAT_RETURN_IF_ERROR(AppendRecord(event).status());
  }
  std::map<std::string, VersionMap> loaded;
  for (ServedVersion& served : accepted) {
    const ModelVersion* version = served.model.get();
    spdlog::info("model {} version {} loaded: bundle digest {}, signed by {}", version->name,
                 version->version, version->bundle_digest, fmt::join(version->signer_key_ids, ", "));
    LogSessionMemory(*version);
    spdlog::info("model {} version {} runs with {}", version->name, version->version,
                 serving_config_.For(version->name, version->version).Describe());
    audit::AuditEvent event = EventFor("model_loaded", context, version->name);
    event.version = version->version;
    event.bundle_digest = version->bundle_digest;
    MOAT_RETURN_IF_ERROR(AppendRecord(event).status());
    loaded[version->name][version->version] = std::move(served);
  }
  return loaded;
}

Status ModelService::LoadModel(const std::string& model, const RequestContext& context) {
  if (!allow_model_control_) {
    return FailedPreconditionError("model control is disabled; start the server with --allow-model-control");
  }
  std::lock_guard control(control_mutex_);
  uint64_t planned = 0;
  {
    std::lock_guard lock(models_mutex_);
    planned = PlannedMemoryLocked(model);
  }
  MOAT_ASSIGN_OR_RETURN(RepositoryContents contents,
                        LoadRepositoryModel(repository_dir_, model, trust_, MakeSessionPlanner(planned)));
  MOAT_ASSIGN_OR_RETURN(auto loaded, AuditLoaded(contents, context));
  if (!contents.rejected.empty()) {
    // All or nothing: a half-verified model never replaces a served one.
    const RejectedVersion& first = contents.rejected.front();
    return FailedPreconditionError(
        "model '" + model + "' not loaded: " + std::to_string(contents.rejected.size()) +
        " version(s) failed, the first at " + first.path + ": " + first.reason.message());
  }
  if (loaded[model].empty())
    return NotFoundError("model '" + model + "' has no version folders in the repository");
  VersionMap replaced;
  {
    std::lock_guard lock(models_mutex_);
    replaced = std::exchange(models_[model], std::move(loaded[model]));
    rejected_.erase(model);
  }
  // Requests already queued on the replaced versions still run on them.
  Drain(replaced);
  return OkStatus();
}

Status ModelService::UnloadModel(const std::string& model, const RequestContext& context) {
  if (!allow_model_control_) {
    return FailedPreconditionError("model control is disabled; start the server with --allow-model-control");
  }
  std::lock_guard control(control_mutex_);
  VersionMap removed;
  {
    std::lock_guard lock(models_mutex_);
    auto found = models_.find(model);
    if (found == models_.end()) return NotFoundError("model '" + model + "' is not loaded");
    // The index keeps listing the versions, as unavailable, until a load.
    std::vector<RejectedVersion>& listed = rejected_[model];
    for (const auto& [number, served] : found->second) {
      listed.push_back({repository_dir_ + "/" + model + "/" + std::to_string(number), model,
                        std::to_string(number), UnavailableError("unloaded")});
    }
    removed = std::move(found->second);
    models_.erase(found);
  }
  Drain(removed);
  spdlog::info("model {} unloaded", model);
  return AppendRecord(EventFor(audit::record_type::kModelUnloaded, context, model)).status();
}

uint64_t ModelService::PlannedMemoryLocked(const std::string& except) const {
  uint64_t planned = 0;
  for (const auto& [name, versions] : models_) {
    if (name == except) continue;
    for (const auto& [number, served] : versions) planned += served.memory_estimate;
  }
  return planned;
}

void ModelService::Drain(const VersionMap& versions) {
  for (const auto& [number, served] : versions) served.scheduler->Stop(scheduler::StopMode::kDrain);
}

std::vector<ModelIndexEntry> ModelService::RepositoryIndex(bool ready_only) const {
  std::vector<ModelIndexEntry> index;
  std::lock_guard lock(models_mutex_);
  for (const auto& [name, versions] : models_) {
    for (const auto& [number, served] : versions)
      index.push_back({name, std::to_string(number), "READY", ""});
  }
  if (!ready_only) {
    for (const auto& [name, rejected_versions] : rejected_) {
      for (const RejectedVersion& rejected : rejected_versions) {
        index.push_back({name, rejected.version, "UNAVAILABLE", rejected.reason.message()});
      }
    }
  }
  std::sort(index.begin(), index.end(), [](const ModelIndexEntry& a, const ModelIndexEntry& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  return index;
}

StatusOr<std::vector<ModelStatistics>> ModelService::GetModelStatistics(
    const std::string& model, std::optional<int64_t> version) const {
  std::vector<ModelStatistics> result;
  if (!model.empty()) {
    if (version) {
      MOAT_ASSIGN_OR_RETURN(ServedVersion served, Find(model, version));
      result.push_back(served.statistics->Snapshot(model, *version));
      return result;
    }
    MOAT_RETURN_IF_ERROR(Find(model, std::nullopt).status());
  }
  std::lock_guard lock(models_mutex_);
  for (const auto& [name, versions] : models_) {
    if (!model.empty() && name != model) continue;
    for (const auto& [number, served] : versions) result.push_back(served.statistics->Snapshot(name, number));
  }
  return result;
}

ModelService::~ModelService() {
  std::map<std::string, VersionMap> models;
  {
    std::lock_guard lock(models_mutex_);
    models.swap(models_);
  }
  for (const auto& [name, versions] : models) Drain(versions);
  audit::AuditEvent stop;
  stop.type = audit::record_type::kServerStop;
  Audit(stop);
  Status closed = audit_ ? audit_->Close() : OkStatus();
  if (!closed.ok()) spdlog::error("audit log: the final checkpoint failed: {}", closed.ToString());
}

ServerMetadata ModelService::GetServerMetadata() const {
  return {"moat",
          MOAT_VERSION_STRING,
          {"binary_tensor_data", "model_repository", "model_configuration", "statistics",
           "system_shared_memory"}};
}

std::vector<hardware::ThreadRequest> ModelService::ThreadRequests() const {
  std::vector<hardware::ThreadRequest> requests;
  std::lock_guard lock(models_mutex_);
  for (const auto& [name, versions] : models_) {
    for (const auto& [number, served] : versions) {
      config::ModelSettings settings = serving_config_.For(name, number);
      requests.push_back({name, number, settings.instances, settings.intra_op_threads});
    }
  }
  return requests;
}

size_t ModelService::loaded_version_count() const {
  std::lock_guard lock(models_mutex_);
  size_t count = 0;
  for (const auto& [name, versions] : models_) count += versions.size();
  return count;
}

StatusOr<ModelService::ServedVersion> ModelService::Find(const std::string& model,
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
  MOAT_ASSIGN_OR_RETURN(ServedVersion served, Find(model, version));
  const ModelVersion* found = served.model.get();
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

StatusOr<InferenceResponse> ModelService::Infer(const InferenceRequest& request,
                                                const RequestContext& context) {
  auto start = std::chrono::steady_clock::now();
  audit::AuditEvent event = EventFor("inference", context, request.model_name);
  auto found = Find(request.model_name, request.model_version);
  StatusOr<InferenceResponse> response = found.status();
  if (found.ok()) {
    event.version = found->model->version;
    event.bundle_digest = found->model->bundle_digest;
    Status allowed = OkStatus();
    if (context.version_authorizer != nullptr && !request.model_version) {
      // The policy allowed "the latest version" before it was known; a rule
      // about versions may still deny the one that is.
      allowed = context.version_authorizer->AuthorizeVersion(found->model->version, event.rule);
    }
    if (allowed.ok()) {
      response = Run(*found, request, event);
    } else {
      response = allowed;
      found = allowed;  // a denied request counts in no model's statistics
    }
  }
  auto total = std::chrono::steady_clock::now() - start;
  event.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(total).count();
  if (found.ok()) {
    if (response.ok()) {
      found->statistics->RecordSuccess(total, InferenceCount(request));
    } else {
      found->statistics->RecordFailure(total);
    }
  }
  if (!response.ok()) {
    event.outcome = std::string(StatusCodeName(response.status().code()));
    event.error = response.status().message();
  }
  if (found.ok() && found->audit_tensors && response.ok()) {
    event.details = audit::TensorsDetailsJson(request.inputs, response->outputs);
  }
  StatusOr<std::optional<audit::AuditReceipt>> receipt = AppendRecord(event);
  if (!receipt.ok()) {
    LogAuditFailure(event, receipt.status());
    // Fail closed: a result without its audit record never leaves the server.
    if (!audit_fail_open_) {
      return UnavailableError("the audit log cannot be written; inference results are withheld until it can");
    }
    return response;
  }
  if (response.ok() && receipt->has_value()) {
    response->audit_receipt = audit::FormatReceipt(**receipt);
    if (sign_responses_) {
      StatusOr<std::string> signature = audit_->SignResponse(**receipt, event.output_digest);
      if (!signature.ok()) return InternalError("signing the response failed: " + signature.status().message());
      response->response_signature = Base64Encode(AsBytes(*signature));
    }
  }
  return response;
}

StatusOr<InferenceResponse> ModelService::Run(const ServedVersion& served, const InferenceRequest& request,
                                              audit::AuditEvent& event) {
  const ModelVersion& model = *served.model;
  auto validated = ValidateRequest(model.manifest, request);
  if (!validated.ok()) {
    event.type = "rejected";
    return validated.status();
  }
  event.input_digest = audit::DigestTensors(request.inputs);
  scheduler::SchedulerRequest queued;
  queued.inputs = std::move(validated->inputs);
  queued.output_names = std::move(validated->output_names);
  queued.priority = request.priority;
  queued.timeout = request.timeout.value_or(std::chrono::microseconds(0));
  queued.cancelled = request.cancelled;
  queued.executed_on = &event.instance;
  // The scheduler splits a batch's outputs back per request, so the digest
  // below covers this request's rows only.
  auto executed = served.scheduler->SubmitAndWait(std::move(queued));
  MOAT_ASSIGN_OR_RETURN(std::vector<Tensor> outputs, std::move(executed));
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
  StatusOr<std::optional<audit::AuditReceipt>> receipt = AppendRecord(event);
  if (!receipt.ok()) LogAuditFailure(event, receipt.status());
}

StatusOr<std::optional<audit::AuditReceipt>> ModelService::AppendRecord(const audit::AuditEvent& event) {
  if (!audit_) return std::optional<audit::AuditReceipt>();
  MOAT_ASSIGN_OR_RETURN(audit::AuditReceipt receipt, audit_->Append(event));
  return std::optional<audit::AuditReceipt>(receipt);
}

void ModelService::LogAuditFailure(const audit::AuditEvent& event, const Status& status) {
  int64_t now_ms = audit::NowUnixMicros() / 1000;
  int64_t last = last_failure_log_ms_.load();
  if (now_ms - last < 1000 || !last_failure_log_ms_.compare_exchange_strong(last, now_ms)) return;
  spdlog::error("audit log write failed ({} record, request {}, model {}), {}: {} ({} failed appends so far)",
                event.type, event.request_id, event.model,
                audit_fail_open_ ? "serving on without records (fail-open)" : "inference answers 503 until it recovers",
                status.ToString(), audit_stats().failed_appends);
}

std::string ModelService::MetricsText() const {
  audit::AuditLogStats audit = audit_stats();
  std::string text;
  auto metric = [&text](std::string_view name, std::string_view type, std::string_view help, uint64_t value) {
    text += fmt::format("# HELP {} {}\n# TYPE {} {}\n{} {}\n", name, help, name, type, name, value);
  };
  metric("moat_audit_records", "gauge", "Records in the audit log.", audit.records);
  metric("moat_audit_append_failures_total", "counter",
         "Audit records that could not be written since the server started.", audit.failed_appends);
  metric("moat_audit_writable", "gauge", "1 while the audit log can be written, 0 while writes fail.",
         audit.writable ? 1 : 0);
  metric("moat_audit_checkpoints", "gauge", "Signed checkpoints in the audit log.", audit.checkpoints);
  metric("moat_audit_checkpointed_records", "gauge", "Records covered by the latest signed checkpoint.",
         audit.checkpointed_records);

  text += "# HELP moat_inference_requests_total Inference requests per model version and outcome.\n"
          "# TYPE moat_inference_requests_total counter\n";
  std::lock_guard lock(models_mutex_);
  for (const auto& [name, versions] : models_) {
    for (const auto& [number, served] : versions) {
      ModelStatistics snapshot = served.statistics->Snapshot(name, number);
      // Model names come from signed manifests; quotes and backslashes are escaped all the same.
      std::string label;
      for (char c : name) {
        if (c == '"' || c == '\\') label.push_back('\\');
        if (c == '\n') {
          label += "\\n";
          continue;
        }
        label.push_back(c);
      }
      text += fmt::format("moat_inference_requests_total{{model=\"{}\",version=\"{}\",outcome=\"success\"}} {}\n",
                          label, number, snapshot.success.count);
      text += fmt::format("moat_inference_requests_total{{model=\"{}\",version=\"{}\",outcome=\"failure\"}} {}\n",
                          label, number, snapshot.fail.count);
    }
  }
  return text;
}

}  // namespace moat::repository

// ModelService: the InferenceService that front ends call. It owns the
// loaded model versions and the audit log, validates every request against
// the signed manifest, runs it, and audits the outcome.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "core/inference.h"
#include "repository/model_statistics.h"
#include "repository/repository.h"

namespace moat::repository {

struct ModelServiceOptions {
  std::string repository_dir;
  std::string trust_dir;
  std::string audit_log_path;
  bool audit_sync = true;  // fdatasync each audit record before the response leaves
  // Whether clients may load and unload models (the repository extension).
  // Off by default: what is served then changes only with a restart.
  bool allow_model_control = false;
};

class ModelService final : public InferenceService {
 public:
  // Opens the audit log, loads the trust store and every bundle of the
  // repository. Bundles that fail verification or loading are logged,
  // audited and skipped. Errors: the trust store, repository folder or audit
  // log cannot be used (nothing is served then).
  static StatusOr<std::unique_ptr<ModelService>> Create(const ModelServiceOptions& options);

  // Audits the server's stop.
  ~ModelService() override;

  bool IsLive() const override { return true; }
  bool IsReady() const override { return true; }
  ServerMetadata GetServerMetadata() const override;
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& model,
                                           std::optional<int64_t> version) const override;
  StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t> version) const override;
  StatusOr<InferenceResponse> Infer(const InferenceRequest& request, const RequestContext& context) override;
  std::vector<ModelIndexEntry> RepositoryIndex(bool ready_only) const override;
  StatusOr<std::vector<ModelStatistics>> GetModelStatistics(const std::string& model,
                                                            std::optional<int64_t> version) const override;
  Status LoadModel(const std::string& model, const RequestContext& context) override;
  Status UnloadModel(const std::string& model, const RequestContext& context) override;
  void RecordRejectedRequest(const RequestContext& context, const std::string& model,
                             const std::string& version, const Status& reason) override;

  // Number of model versions being served.
  size_t loaded_version_count() const;

 private:
  // A served version and its counters; requests copy both shared_ptrs, so
  // an unload never frees either under them.
  struct ServedVersion {
    std::shared_ptr<const ModelVersion> model;
    std::shared_ptr<VersionStatistics> statistics;
  };
  using VersionMap = std::map<int64_t, ServedVersion>;

  ModelService(std::unique_ptr<audit::AuditLog> audit, const ModelServiceOptions& options,
               bundle::TrustStore trust);

  // NOT_FOUND names the model and, if given, the version.
  StatusOr<ServedVersion> Find(const std::string& model, std::optional<int64_t> version) const;
  // Audits the outcome of a repository scan and returns the versions to
  // serve by model name. Fails only when the audit log cannot be written.
  StatusOr<std::map<std::string, VersionMap>> AuditLoaded(RepositoryContents& contents,
                                                          const RequestContext& context);
  // Sets `compute` to the time spent in the runtime.
  StatusOr<InferenceResponse> Run(const ModelVersion& model, const InferenceRequest& request,
                                  audit::AuditEvent& event, std::chrono::nanoseconds& compute);
  void Audit(const audit::AuditEvent& event);

  std::unique_ptr<audit::AuditLog> audit_;
  const std::string repository_dir_;
  const bool allow_model_control_;
  const bundle::TrustStore trust_;
  std::mutex control_mutex_;         // serialises LoadModel and UnloadModel
  mutable std::mutex models_mutex_;  // guards models_ and rejected_; a request copies what it needs
  std::map<std::string, VersionMap> models_;
  std::map<std::string, std::vector<RejectedVersion>> rejected_;  // by model, from the latest scan
};

}  // namespace moat::repository

// ModelService: the InferenceService that front ends call. It owns the
// loaded model versions and the audit log, validates every request against
// the signed manifest, runs it, and audits the outcome.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "core/inference.h"
#include "repository/repository.h"

namespace moat::repository {

struct ModelServiceOptions {
  std::string repository_dir;
  std::string trust_dir;
  std::string audit_log_path;
  bool audit_sync = true;  // fdatasync each audit record before the response leaves
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
  void RecordRejectedRequest(const RequestContext& context, const std::string& model, const std::string& version,
                             const Status& reason) override;

  // Number of model versions being served.
  size_t loaded_version_count() const;

 private:
  using VersionMap = std::map<int64_t, std::shared_ptr<const ModelVersion>>;

  explicit ModelService(std::unique_ptr<audit::AuditLog> audit);

  // NOT_FOUND names the model and, if given, the version.
  StatusOr<std::shared_ptr<const ModelVersion>> Find(const std::string& model,
                                                     std::optional<int64_t> version) const;
  StatusOr<InferenceResponse> Run(const ModelVersion& model, const InferenceRequest& request,
                                  audit::AuditEvent& event);
  void Audit(const audit::AuditEvent& event);

  std::unique_ptr<audit::AuditLog> audit_;
  mutable std::mutex models_mutex_;  // guards models_; a request copies the shared_ptr it needs
  std::map<std::string, VersionMap> models_;
};

}  // namespace moat::repository

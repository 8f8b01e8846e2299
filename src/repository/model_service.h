// ModelService: the InferenceService that front ends call. It owns the
// loaded model versions and the audit log, validates every request against
// the signed manifest, runs it, and audits the outcome.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "audit/audit_log.h"
#include "config/serving_config.h"
#include "core/inference.h"
#include "hardware/thread_plan.h"
#include "repository/model_statistics.h"
#include "repository/repository.h"
#include "scheduler/scheduler.h"

namespace moat::repository {

struct ModelServiceOptions {
  std::string repository_dir;
  std::string trust_dir;
  // The audit log. ModelService fills in the host name; keys are required.
  audit::AuditLogOptions audit{};
  // Behaviour while the audit log cannot be written. False (fail closed)
  // fails inference with UNAVAILABLE until it can. True serves on without
  // records and counts each failure in the metrics and the server log.
  bool audit_fail_open = false;
  // Sign each inference response's receipt and output digest with the node key.
  bool sign_responses = false;
  // Writes no audit record at all, so that a benchmark can measure what
  // auditing costs. `audit` is ignored. Never for serving.
  bool audit_disabled_for_benchmark = false;
  // Whether clients may load and unload models (the repository extension).
  // Off by default: what is served then changes only with a restart.
  bool allow_model_control = false;
  // How each version runs: instances, batching, queue limits
  // (docs/configuration.md). Read once; defaults when not set.
  config::ServingConfig serving_config{};
  // Memory the loaded versions may take, in bytes; nullopt reads
  // MemAvailable (lowered to the cgroup limit) at start-up.
  std::optional<uint64_t> available_memory_bytes{};
  // The schedulers' time source; null means the steady clock. For tests.
  std::shared_ptr<scheduler::Clock> clock{};
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
  std::string MetricsText() const override;

  // Appends an event that access control reports (approvals, policy
  // reloads, account changes); a failure is logged and counted like any
  // record that no response waits for.
  void RecordAccessEvent(const audit::AuditEvent& event) { Audit(event); }

  // The audit log's counters.
  audit::AuditLogStats audit_stats() const { return audit_ ? audit_->stats() : audit::AuditLogStats{}; }

  // Number of model versions being served.
  size_t loaded_version_count() const;

  // Returns each served version with its instance count and configured
  // intra_op_threads, in name and version order, for hardware::PlanThreads.
  std::vector<hardware::ThreadRequest> ThreadRequests() const;

 private:
  // A served version, its counters and its scheduler; requests copy the
  // shared_ptrs, so an unload never frees any of them under a request.
  struct ServedVersion {
    std::shared_ptr<const ModelVersion> model;
    std::shared_ptr<VersionStatistics> statistics;
    std::shared_ptr<scheduler::Scheduler> scheduler;
    uint64_t memory_estimate = 0;  // bytes, for the memory check of later loads
    bool audit_tensors = false;    // records carry the tensors, not only digests
  };
  using VersionMap = std::map<int64_t, ServedVersion>;

  ModelService(std::unique_ptr<audit::AuditLog> audit, const ModelServiceOptions& options,
               bundle::TrustStore trust);

  // NOT_FOUND names the model and, if given, the version.
  StatusOr<ServedVersion> Find(const std::string& model, std::optional<int64_t> version) const;
  // Returns the planner that rejects a version before its session is created
  // when its settings do not apply to it. It also rejects a version that would
  // not fit in memory beside `already_planned` bytes and the versions loaded
  // before it in the same scan. It sizes the session's own thread pool from
  // intra_op_threads.
  SessionPlanner MakeSessionPlanner(uint64_t already_planned) const;
  // Builds each loaded version's scheduler and moves the versions whose
  // scheduler cannot be built into contents.rejected. Then audits the outcome
  // and returns the versions to serve by model name. Fails only when the
  // audit log cannot be written.
  StatusOr<std::map<std::string, VersionMap>> AuditLoaded(RepositoryContents& contents,
                                                          const RequestContext& context);
  // Sum of the memory estimates of the served versions, except `except`'s.
  uint64_t PlannedMemoryLocked(const std::string& except) const;
  // Drains the schedulers of versions no longer in the map. Call without
  // models_mutex_ held: it waits for their queued requests.
  static void Drain(const VersionMap& versions);
  StatusOr<InferenceResponse> Run(const ServedVersion& served, const InferenceRequest& request,
                                  audit::AuditEvent& event);
  // Appends a record that no response waits for; a failure is logged and counted.
  void Audit(const audit::AuditEvent& event);
  // Appends `event`; an empty receipt when auditing is disabled.
  StatusOr<std::optional<audit::AuditReceipt>> AppendRecord(const audit::AuditEvent& event);
  // Logs a failed append, at most once per second for this service, so that a
  // full disk under load does not flood the server log.
  void LogAuditFailure(const audit::AuditEvent& event, const Status& status);

  std::unique_ptr<audit::AuditLog> audit_;
  const bool audit_fail_open_;
  const bool sign_responses_;
  std::atomic<int64_t> last_failure_log_ms_{0};
  const std::string repository_dir_;
  const bool allow_model_control_;
  const config::ServingConfig serving_config_;
  const uint64_t available_memory_;
  const std::shared_ptr<scheduler::Clock> clock_;
  const bundle::TrustStore trust_;
  std::mutex control_mutex_;         // serialises LoadModel and UnloadModel
  mutable std::mutex models_mutex_;  // guards models_ and rejected_; a request copies what it needs
  std::map<std::string, VersionMap> models_;
  std::map<std::string, std::vector<RejectedVersion>> rejected_;  // by model, from the latest scan
};

}  // namespace moat::repository

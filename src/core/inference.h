// The core API that every front end (HTTP, later gRPC and the C API) calls.
// Front ends parse their wire format into these types and never reach deeper.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "core/tensor.h"

namespace moat {

// Decides again an infer request that the policy allowed before its version
// was resolved, once the service has resolved "the latest" to a version.
class VersionAuthorizer {
 public:
  virtual ~VersionAuthorizer() = default;
  // OK, or PERMISSION_DENIED with the message for the client; either way
  // `rule` receives the deciding policy rule for the audit record.
  virtual Status AuthorizeVersion(int64_t version, std::string& rule) const = 0;
};

// The sender and transport of a request, carried into logs and audit records.
struct RequestContext {
  RequestContext() = default;
  RequestContext(std::string id, std::string transport, std::string from)
      : request_id(std::move(id)), protocol(std::move(transport)), peer(std::move(from)) {}

  std::string request_id;  // the client's "id" if it sent one, else generated
  std::string protocol;    // "http", "grpc", ...
  std::string peer;        // "127.0.0.1:51234"
  // The sender and the policy's decision; see audit::AuditEvent. Without
  // access control: "anonymous" and two empty strings.
  std::string principal = "anonymous";
  std::string action;
  std::string rule;
  // Set when the request named no version and the policy allowed it before
  // the version was known; Infer passes it the version it resolves.
  // Null otherwise. Must outlive the call.
  const VersionAuthorizer* version_authorizer = nullptr;
};

struct InferenceRequest {
  std::string id;  // echoed in the response, may be empty
  std::string model_name;
  std::optional<int64_t> model_version;  // empty: the latest ready version
  std::vector<Tensor> inputs;
  // Outputs to return, in this order; empty means every output of the model.
  std::vector<std::string> requested_outputs;
  // The protocol's "priority" parameter: 0 is the default level, otherwise a
  // lower number runs first.
  uint32_t priority = 0;
  // The protocol's "timeout" parameter: a request still queued after this
  // long fails with DEADLINE_EXCEEDED. Empty: the model's default timeout.
  std::optional<std::chrono::microseconds> timeout;
  // Set by the front end when the client goes away; a request not yet
  // running then fails with CANCELLED and never runs. May be null.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

// Where an inference response carries its audit receipt and signature: the
// response parameters (HTTP JSON and gRPC) and, over HTTP, also the headers.
inline constexpr char kAuditReceiptParameter[] = "audit_receipt";
inline constexpr char kResponseSignatureParameter[] = "response_signature";
inline constexpr char kAuditReceiptHeader[] = "Moat-Audit-Receipt";
inline constexpr char kResponseSignatureHeader[] = "Moat-Response-Signature";

struct InferenceResponse {
  std::string id;
  std::string model_name;
  int64_t model_version = 0;
  std::vector<Tensor> outputs;
  // The audit receipt of the request's record ("moat-receipt-v1:..."), empty
  // when the record could not be written and the server fails open.
  std::string audit_receipt;
  // Base64 Ed25519 signature of the receipt and the output digest, when the
  // server signs each response; else empty.
  std::string response_signature;
};

struct ModelMetadata {
  std::string name;
  std::vector<int64_t> versions;  // the ready versions, ascending
  std::string platform;           // "onnxruntime"
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
};

// One model version in the repository index.
struct ModelIndexEntry {
  std::string name;
  std::string version;  // decimal
  std::string state;    // "READY" or "UNAVAILABLE"
  std::string reason;   // why an UNAVAILABLE version is not served; empty when READY
};

// A cumulative count of events and their total duration.
struct DurationStatistic {
  uint64_t count = 0;
  uint64_t ns = 0;
};

// The successful executions of one batch size: the rows an execution ran,
// summed over the requests that dynamic batching joined. Each count is the
// number of such executions.
struct BatchStatistic {
  uint64_t batch_size = 0;
  DurationStatistic compute_input;
  DurationStatistic compute_infer;
  DurationStatistic compute_output;
};

// Cumulative statistics of one model version since it was loaded.
struct ModelStatistics {
  std::string name;
  int64_t version = 0;
  uint64_t last_inference_ms = 0;  // milliseconds since the Unix epoch, 0 if never
  uint64_t inference_count = 0;    // successful requests, counting every batch row
  uint64_t execution_count = 0;    // successful model runs
  DurationStatistic success;       // whole request, validation to response
  DurationStatistic fail;
  DurationStatistic queue;  // waiting for a free worker or instance
  DurationStatistic compute_input;
  DurationStatistic compute_infer;
  DurationStatistic compute_output;
  std::vector<BatchStatistic> batch_stats;  // one entry per batch size run, ascending
};

struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;
};

// Thread-safe: front ends call it from many threads at once.
class InferenceService {
 public:
  virtual ~InferenceService() = default;

  virtual bool IsLive() const = 0;
  virtual bool IsReady() const = 0;
  virtual ServerMetadata GetServerMetadata() const = 0;

  // NOT_FOUND for an unknown model or version. Without a version: the
  // metadata of the latest ready version.
  virtual StatusOr<ModelMetadata> GetModelMetadata(const std::string& model,
                                                   std::optional<int64_t> version) const = 0;
  // NOT_FOUND for an unknown model or version, else whether it is ready.
  virtual StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t> version) const = 0;

  // Validates the request against the model, runs it and audits the outcome.
  // Errors: NOT_FOUND (model or version), INVALID_ARGUMENT (names, types,
  // shapes, sizes; the message names the tensor), INTERNAL (runtime failure).
  virtual StatusOr<InferenceResponse> Infer(const InferenceRequest& request, const RequestContext& context) = 0;

  // Every model version of the repository with its state, sorted by name
  // then version. With `ready_only`, only versions that are served.
  virtual std::vector<ModelIndexEntry> RepositoryIndex(bool ready_only) const = 0;

  // Statistics of one model (all its versions, or one), or of every model
  // when `model` is empty. NOT_FOUND for an unknown model or version.
  virtual StatusOr<std::vector<ModelStatistics>> GetModelStatistics(const std::string& model,
                                                                   std::optional<int64_t> version) const = 0;

  // Verifies and loads every version of `model` from the repository again,
  // replacing what is served only when all of them verify and load.
  // Unloading stops new requests for the model; running ones finish. Both are
  // audited. FAILED_PRECONDITION when model control is disabled; NOT_FOUND
  // for a model the repository (load) or the server (unload) does not have.
  virtual Status LoadModel(const std::string& model, const RequestContext& context) = 0;
  virtual Status UnloadModel(const std::string& model, const RequestContext& context) = 0;

  // Audits a request that a front end rejected before it reached Infer (for
  // example malformed JSON). `model` and `version` are as sent, possibly empty.
  virtual void RecordRejectedRequest(const RequestContext& context, const std::string& model,
                                     const std::string& version, const Status& reason) = 0;

  // Returns the server's metrics in the Prometheus text exposition format
  // (version 0.0.4), each line ended by '\n'.
  virtual std::string MetricsText() const = 0;
};

}  // namespace moat

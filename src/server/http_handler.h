// The KServe v2 REST endpoints over plain request and reply values: routing,
// content codings, parsing, the call into InferenceService and the response
// body. No sockets, so that the protocol can be tested without a server.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/access_control.h"
#include "common/request_id.h"
#include "common/status.h"
#include "core/inference.h"
#include "server/route.h"
#include "shm/shared_memory.h"
#include "tls/peer_certificate.h"

namespace moat::auth {
class Management;
}  // namespace moat::auth

namespace moat::server {

class ManagementApi;

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/v2/models/m/infer?x=1"
  std::shared_ptr<const std::string> body = std::make_shared<const std::string>();
  std::optional<std::string> inference_header_length;  // the header's value, when sent
  std::string content_encoding;                        // the Content-Encoding header, empty when absent
  std::string accept_encoding;                         // the Accept-Encoding header, empty when absent
  std::string peer;                                    // "127.0.0.1:51234", for logs and audit
  // Set when the connection is TLS and its client sent a certificate, which
  // the handshake verified against the client CA.
  std::optional<tls::PeerCertificate> client_certificate;
  std::string authorization;  // the Authorization header, empty when absent
  std::string one_time_code;  // the Moat-OTP header, empty when absent
  std::string approval_id;    // the Moat-Approval header, empty when absent
  // Set by the connection when its client goes away while the request runs;
  // copied into InferenceRequest::cancelled. May be null.
  std::shared_ptr<const std::atomic<bool>> cancelled;
};

struct HttpReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string content_encoding;                   // "gzip" or "deflate" when `body` is compressed
  std::optional<size_t> inference_header_length;  // set when binary outputs follow the JSON header
  std::string allow;                              // the Allow header of a 405 reply
  std::string audit_receipt;                      // the Moat-Audit-Receipt header, when set
  std::string response_signature;                 // the Moat-Response-Signature header, when set
  std::string www_authenticate;                   // the WWW-Authenticate header of a 401 reply
  std::string approval_id;                        // the Moat-Approval header of a 428 reply

  // For the request's log line.
  std::string request_id;
  std::string model;
  std::string error;  // the reason when status is not 200
};

struct HttpHandlerOptions {
  // The largest request body after decompression; larger ones get 413.
  size_t max_body_bytes = 64u << 20;
  // Reply bodies of at least this many bytes are compressed when the client
  // accepts gzip or deflate. Smaller ones gain too little to be worth it.
  size_t min_compressed_reply_bytes = 1024;
  // Authenticates and authorizes every request except the health checks;
  // null serves everyone as "anonymous". Must outlive the handler.
  auth::AccessControl* access_control = nullptr;
};

// Thread-safe: the server calls Handle from its I/O and worker threads at once.
// `service` and `shared_memory` must outlive the handler.
class HttpHandler {
 public:
  HttpHandler(InferenceService& service, shm::SharedMemoryManager& shared_memory,
              HttpHandlerOptions options = {});
  ~HttpHandler();
  HttpHandler(const HttpHandler&) = delete;
  HttpHandler& operator=(const HttpHandler&) = delete;

  // Handles one request and returns its reply, compressed when the request's
  // Accept-Encoding allows it. Errors become replies with an {"error": ...}
  // body, and a rejected infer request is also passed to RecordRejectedRequest.
  HttpReply Handle(const HttpRequest& request);

  // Builds the reply for a request that the server rejected before it was
  // read whole (for example 413 for a body over the limit), auditing it when
  // its target is an infer endpoint.
  HttpReply Reject(std::string_view method, std::string_view target, std::string_view peer,
                   unsigned http_status, const Status& reason);

  // Whether `request` should run on the worker pool: infer and model
  // load/unload do real work, and so does decompressing a body.
  static bool RunsOnWorkerPool(const HttpRequest& request);

 private:
  // The access control outcome of a request that it let through.
  struct Admitted {
    RequestContext context;
    auth::Caller caller;
    auth::Operation operation;
    int64_t now_unix = 0;
  };

  HttpReply HandleUncompressed(const HttpRequest& request);
  // Authenticates a request to the management API (/moat/v1/...) and runs it.
  HttpReply HandleManagement(const HttpRequest& request, HttpReply reply);
  // Authenticates and authorizes a request to `route`. Returns the reply
  // to send instead (401, 403, 428 or 429, audited) when it may not run.
  std::optional<HttpReply> Admit(const HttpRequest& request, const Route& route, Admitted& admitted,
                                 HttpReply& reply);
  // Replaces the body of `request` by its decompressed form. On error, returns
  // the reply to send instead (audited when `route` is an infer endpoint).
  std::optional<HttpReply> DecodeBody(HttpRequest& request, const Route& route, const RequestContext& context,
                                      HttpReply& reply);
  HttpReply CompressReply(HttpReply reply, std::string_view accept_encoding) const;
  // Records a rejected request in the audit log when `route` is an infer
  // endpoint, and names its model in `reply`.
  void AuditIfInfer(const Route& route, const RequestContext& context, const Status& reason, HttpReply& reply);

  // Decodes the model and version segments of a model endpoint and returns
  // the metadata of that version. Names the model in `reply` as soon as its
  // name is decoded, so that the error reply names it too.
  StatusOr<ModelMetadata> FindModelMetadata(const std::string& model_segment,
                                            const std::optional<std::string>& version_segment,
                                            HttpReply& reply) const;

  HttpReply HandleInfer(const HttpRequest& request, const std::string& model_segment,
                        const std::optional<std::string>& version_segment, Admitted& admitted, HttpReply reply);
  HttpReply HandleModelReady(const std::string& model_segment,
                             const std::optional<std::string>& version_segment, HttpReply reply);
  HttpReply HandleModelMetadata(const std::string& model_segment,
                                const std::optional<std::string>& version_segment, HttpReply reply);
  HttpReply HandleServerMetadata(HttpReply reply);

  // The model repository, configuration and statistics extensions
  // (repository_endpoints.cc).
  HttpReply HandleRepositoryIndex(const HttpRequest& request, HttpReply reply);
  HttpReply HandleModelControl(const HttpRequest& request, const std::string& model_segment, bool load,
                               const RequestContext& context, HttpReply reply);
  HttpReply HandleModelConfig(const std::string& model_segment,
                              const std::optional<std::string>& version_segment, HttpReply reply);
  HttpReply HandleModelStatistics(const std::string& model_segment,
                                  const std::optional<std::string>& version_segment, HttpReply reply);

  // The system shared memory extension (shared_memory_endpoints.cc). An empty
  // `region_segment` means every region.
  HttpReply HandleSharedMemoryStatus(const std::string& region_segment, HttpReply reply);
  HttpReply HandleSharedMemoryRegister(const HttpRequest& request, const std::string& region_segment,
                                       HttpReply reply);
  HttpReply HandleSharedMemoryUnregister(const std::string& region_segment, HttpReply reply);

  InferenceService& service_;
  shm::SharedMemoryManager& shared_memory_;
  const HttpHandlerOptions options_;
  RequestIdGenerator ids_;
  // The management API, present with access control only.
  std::unique_ptr<auth::Management> management_;
  std::unique_ptr<ManagementApi> management_api_;
};

}  // namespace moat::server

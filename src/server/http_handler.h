// The KServe v2 REST endpoints over plain request and reply values: routing,
// parsing, the call into InferenceService and the response body. No sockets,
// so that the protocol can be tested without a server.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "core/inference.h"
#include "server/request_id.h"

namespace moat::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/v2/models/m/infer?x=1"
  std::shared_ptr<const std::string> body = std::make_shared<const std::string>();
  std::optional<std::string> inference_header_length;  // the header's value, when sent
  std::string peer;                                    // "127.0.0.1:51234", for logs and audit
};

struct HttpReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::optional<size_t> inference_header_length;  // set when binary outputs follow the JSON header
  std::string allow;                              // the Allow header of a 405 reply

  // For the request's log line.
  std::string request_id;
  std::string model;
  std::string error;  // the reason when status is not 200
};

// Thread-safe: the server calls Handle from its I/O and worker threads at once.
class HttpHandler {
 public:
  explicit HttpHandler(InferenceService& service) : service_(service) {}

  // Handles one request and returns its reply. Errors become replies with an
  // {"error": ...} body, and a rejected infer request is also passed to
  // RecordRejectedRequest.
  HttpReply Handle(const HttpRequest& request);

  // Builds the reply for a request that the server rejected before it was
  // read whole (for example 413 for a body over the limit), auditing it when
  // its target is an infer endpoint.
  HttpReply Reject(std::string_view method, std::string_view target, std::string_view peer,
                   unsigned http_status, const Status& reason);

  // Whether `target` is an infer endpoint, whose requests run on the worker
  // pool because they call into the model.
  static bool IsInferTarget(std::string_view target);

 private:
  HttpReply HandleInfer(const HttpRequest& request, const std::string& model_segment,
                        const std::optional<std::string>& version_segment, HttpReply reply);
  HttpReply HandleModelReady(const std::string& model_segment,
                             const std::optional<std::string>& version_segment, HttpReply reply);
  HttpReply HandleModelMetadata(const std::string& model_segment,
                                const std::optional<std::string>& version_segment, HttpReply reply);
  HttpReply HandleServerMetadata(HttpReply reply);

  InferenceService& service_;
  RequestIdGenerator ids_;
};

}  // namespace moat::server

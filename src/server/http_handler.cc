#include "server/http_handler.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "auth/management.h"
#include "server/content_coding.h"
#include "server/infer_request_parser.h"
#include "server/management_api.h"
#include "server/reply_builders.h"
#include "server/response_json.h"
#include "server/shared_memory_parameters.h"
#include "server/utf8.h"
#include "server/zlib_codec.h"

namespace moat::server {
namespace {

// The extensions whose endpoints this front end serves itself. The service
// may list them or not; system_shared_memory is listed only while shared
// memory is enabled.
constexpr std::string_view kFrontEndExtensions[] = {"binary_tensor_data", "model_repository",
                                                    "model_configuration", "statistics"};
constexpr std::string_view kSharedMemoryExtension = "system_shared_memory";

std::string VersionSuffix(std::optional<int64_t> version) {
  return version ? " version " + std::to_string(*version) : "";
}

// The model and version that the path of a model endpoint names.
struct ModelTarget {
  std::string model;
  std::optional<int64_t> version;  // std::nullopt selects the latest ready version
};

// Decodes the model and version segments, naming the model in `reply` as soon
// as its name is decoded.
StatusOr<ModelTarget> DecodeModelTarget(const std::string& model_segment,
                                        const std::optional<std::string>& version_segment, HttpReply& reply) {
  MOAT_ASSIGN_OR_RETURN(std::string model, DecodeModelName(model_segment));
  reply.model = model;
  MOAT_ASSIGN_OR_RETURN(std::optional<int64_t> version, ParseModelVersion(version_segment));
  return ModelTarget{std::move(model), version};
}

// The policy action of each endpoint; nullopt for the health checks, which
// load balancers call without credentials and which reveal nothing.
std::optional<policy::Action> ActionFor(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kHealthLive:
    case Endpoint::kHealthReady:
      return std::nullopt;
    case Endpoint::kServerMetadata:
    case Endpoint::kModelMetadata:
    case Endpoint::kModelReady:
    case Endpoint::kModelConfig:
    case Endpoint::kRepositoryIndex:
      return policy::Action::kReadMetadata;
    case Endpoint::kInfer:
      return policy::Action::kInfer;
    case Endpoint::kModelStatistics:
    case Endpoint::kAllModelStatistics:
    case Endpoint::kMetrics:
      return policy::Action::kReadStatistics;
    case Endpoint::kModelLoad:
      return policy::Action::kLoad;
    case Endpoint::kModelUnload:
      return policy::Action::kUnload;
    case Endpoint::kSharedMemoryStatus:
    case Endpoint::kAllSharedMemoryStatus:
    case Endpoint::kSharedMemoryRegister:
    case Endpoint::kSharedMemoryUnregister:
    case Endpoint::kAllSharedMemoryUnregister:
      return policy::Action::kRegisterSharedMemory;
  }
  return std::nullopt;
}

// The credentials that `request` presents; views into it.
auth::Credentials CredentialsOf(const HttpRequest& request) {
  auth::Credentials credentials;
  credentials.authorization = request.authorization;
  credentials.certificate = request.client_certificate ? &*request.client_certificate : nullptr;
  credentials.one_time_code = request.one_time_code;
  credentials.approval_id = request.approval_id;
  credentials.peer = request.peer;
  return credentials;
}

bool IsCompressed(const HttpRequest& request) {
  if (request.body->empty() || request.content_encoding.empty()) return false;
  StatusOr<ContentCoding> coding = ParseContentEncoding(request.content_encoding);
  return coding.ok() && *coding != ContentCoding::kIdentity;
}

}  // namespace

HttpHandler::HttpHandler(InferenceService& service, shm::SharedMemoryManager& shared_memory,
                         HttpHandlerOptions options)
    : service_(service), shared_memory_(shared_memory), options_(options) {
  if (options_.access_control != nullptr) {
    management_ = std::make_unique<auth::Management>(*options_.access_control);
    management_api_ = std::make_unique<ManagementApi>(*management_);
  }
}

HttpHandler::~HttpHandler() = default;

bool HttpHandler::RunsOnWorkerPool(const HttpRequest& request) {
  StatusOr<Route> route = MatchRoute(request.target);
  if (route.ok() && (route->endpoint == Endpoint::kInfer || route->endpoint == Endpoint::kModelLoad ||
                     route->endpoint == Endpoint::kModelUnload)) {
    return true;
  }
  return IsCompressed(request);
}

HttpReply HttpHandler::Handle(const HttpRequest& request) {
  return CompressReply(HandleUncompressed(request), request.accept_encoding);
}

HttpReply HttpHandler::HandleUncompressed(const HttpRequest& request) {
  HttpReply reply;
  reply.request_id = ids_.Next();
  if (ManagementApi::Handles(request.target)) return HandleManagement(request, std::move(reply));
  StatusOr<Route> route = MatchRoute(request.target);
  if (!route.ok()) return ErrorReply(std::move(reply), route.status());

  std::string_view allowed = EndpointMethod(route->endpoint);
  if (request.method != allowed) {
    reply.allow = std::string(allowed);
    std::string path = request.target.substr(0, request.target.find('?'));
    return ErrorReply(std::move(reply), 405,
                      "method " + SanitizeUtf8(request.method) + " is not allowed on '" + SanitizeUtf8(path) +
                          "'; use " + std::string(allowed));
  }

  Admitted admitted{RequestContext(reply.request_id, "http", request.peer), {}, {}, 0};
  if (options_.access_control != nullptr) {
    if (std::optional<HttpReply> refused = Admit(request, *route, admitted, reply)) return std::move(*refused);
  }

  HttpRequest decoded = request;
  if (std::optional<HttpReply> rejected = DecodeBody(decoded, *route, admitted.context, reply)) {
    return std::move(*rejected);
  }

  const std::string& model = route->model_segment;
  const std::optional<std::string>& version = route->version_segment;
  switch (route->endpoint) {
    case Endpoint::kHealthLive:
      if (!service_.IsLive()) return ErrorReply(std::move(reply), 400, "the server is not live");
      return JsonReply(std::move(reply), R"({"live":true})");
    case Endpoint::kHealthReady:
      if (!service_.IsReady()) return ErrorReply(std::move(reply), 400, "the server is not ready");
      return JsonReply(std::move(reply), R"({"ready":true})");
    case Endpoint::kServerMetadata:
      return HandleServerMetadata(std::move(reply));
    case Endpoint::kMetrics:
      reply.body = service_.MetricsText();
      reply.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return reply;
    case Endpoint::kModelMetadata:
      return HandleModelMetadata(model, version, std::move(reply));
    case Endpoint::kModelReady:
      return HandleModelReady(model, version, std::move(reply));
    case Endpoint::kInfer:
      return HandleInfer(decoded, model, version, admitted, std::move(reply));
    case Endpoint::kModelConfig:
      return HandleModelConfig(model, version, std::move(reply));
    case Endpoint::kModelStatistics:
      return HandleModelStatistics(model, version, std::move(reply));
    case Endpoint::kAllModelStatistics:
      return HandleModelStatistics("", std::nullopt, std::move(reply));
    case Endpoint::kRepositoryIndex:
      return HandleRepositoryIndex(decoded, std::move(reply));
    case Endpoint::kModelLoad:
      return HandleModelControl(decoded, model, true, admitted.context, std::move(reply));
    case Endpoint::kModelUnload:
      return HandleModelControl(decoded, model, false, admitted.context, std::move(reply));
    case Endpoint::kSharedMemoryStatus:
      return HandleSharedMemoryStatus(route->region_segment, std::move(reply));
    case Endpoint::kAllSharedMemoryStatus:
      return HandleSharedMemoryStatus("", std::move(reply));
    case Endpoint::kSharedMemoryRegister:
      return HandleSharedMemoryRegister(decoded, route->region_segment, std::move(reply));
    case Endpoint::kSharedMemoryUnregister:
      return HandleSharedMemoryUnregister(route->region_segment, std::move(reply));
    case Endpoint::kAllSharedMemoryUnregister:
      return HandleSharedMemoryUnregister("", std::move(reply));
  }
  return ErrorReply(std::move(reply), InternalError("endpoint without a handler"));
}

HttpReply HttpHandler::HandleManagement(const HttpRequest& request, HttpReply reply) {
  if (management_api_ == nullptr) {
    return ErrorReply(std::move(reply), 404,
                      "the management API needs access control: start moat serve with --policy and --data-dir");
  }
  auth::Credentials credentials = CredentialsOf(request);
  int64_t now = auth::UnixNow();
  StatusOr<auth::Caller> caller = options_.access_control->Authenticate(credentials, now);
  if (!caller.ok()) {
    RequestContext context(reply.request_id, "http", request.peer);
    service_.RecordRejectedRequest(context, "", "", caller.status());
    if (caller.status().code() == StatusCode::kUnauthenticated) reply.www_authenticate = "Bearer realm=\"moat\"";
    return ErrorReply(std::move(reply), caller.status());
  }
  return management_api_->Handle(request, *caller, std::move(reply), now);
}

std::optional<HttpReply> HttpHandler::Admit(const HttpRequest& request, const Route& route, Admitted& admitted,
                                            HttpReply& reply) {
  std::optional<policy::Action> action = ActionFor(route.endpoint);
  if (!action) return std::nullopt;
  auth::Operation& operation = admitted.operation;
  operation.action = *action;
  if (!route.model_segment.empty()) {
    // A name that does not decode is passed on as sent: the policy denies
    // it as an invalid request before the client learns anything else.
    StatusOr<std::string> model = DecodeModelName(route.model_segment);
    operation.model = model.ok() ? std::move(*model) : route.model_segment;
    StatusOr<std::optional<int64_t>> version = ParseModelVersion(route.version_segment);
    if (version.ok()) operation.version = *version;
  }
  auth::Credentials credentials = CredentialsOf(request);
  admitted.now_unix = auth::UnixNow();
  auth::Refusal refusal;
  Status status = auth::AdmitRequest(*options_.access_control, credentials, operation, admitted.now_unix,
                                     admitted.context, admitted.caller, refusal);
  if (status.ok()) return std::nullopt;

  reply.model = operation.model;
  service_.RecordRejectedRequest(admitted.context, operation.model, route.version_segment.value_or(""), status);
  unsigned http_status = HttpStatusFor(status.code());
  if (status.code() == StatusCode::kUnauthenticated) reply.www_authenticate = "Bearer realm=\"moat\"";
  if (status.code() == StatusCode::kFailedPrecondition && !refusal.approval_id.empty()) {
    http_status = 428;  // Precondition Required: the approvals
    reply.approval_id = refusal.approval_id;
  }
  return ErrorReply(std::move(reply), http_status, status.message());
}

std::optional<HttpReply> HttpHandler::DecodeBody(HttpRequest& request, const Route& route,
                                                 const RequestContext& context, HttpReply& reply) {
  if (request.content_encoding.empty()) return std::nullopt;
  StatusOr<ContentCoding> coding = ParseContentEncoding(request.content_encoding);
  Status error;
  unsigned http_status = 415;
  if (!coding.ok()) {
    error = coding.status();
  } else {
    if (*coding == ContentCoding::kIdentity || request.body->empty()) return std::nullopt;
    StatusOr<std::string> decompressed = Decompress(*coding, *request.body, options_.max_body_bytes);
    if (decompressed.ok()) {
      request.body = std::make_shared<const std::string>(std::move(*decompressed));
      return std::nullopt;
    }
    error = decompressed.status();
    // RESOURCE_EXHAUSTED is the decompressed body passing max_body_bytes.
    http_status = error.code() == StatusCode::kResourceExhausted ? 413 : HttpStatusFor(error.code());
  }
  AuditIfInfer(route, context, error, reply);
  return ErrorReply(std::move(reply), http_status, error.message());
}

HttpReply HttpHandler::CompressReply(HttpReply reply, std::string_view accept_encoding) const {
  if (accept_encoding.empty() || reply.body.size() < options_.min_compressed_reply_bytes) return reply;
  ContentCoding coding = NegotiateResponseCoding(accept_encoding);
  if (coding == ContentCoding::kIdentity) return reply;
  StatusOr<std::string> compressed = Compress(coding, reply.body);
  if (!compressed.ok()) {
    // The reply goes uncompressed, as to a client that accepts no coding.
    spdlog::warn("http request {}: sending the reply uncompressed: {}", reply.request_id,
                 compressed.status().message());
    return reply;
  }
  reply.body = std::move(*compressed);
  reply.content_encoding = std::string(ContentCodingName(coding));
  return reply;
}

void HttpHandler::AuditIfInfer(const Route& route, const RequestContext& context, const Status& reason,
                               HttpReply& reply) {
  if (route.endpoint != Endpoint::kInfer) return;
  StatusOr<std::string> model = DecodeModelName(route.model_segment);
  reply.model = model.ok() ? *model : route.model_segment;
  service_.RecordRejectedRequest(context, reply.model, route.version_segment.value_or(""), reason);
}

HttpReply HttpHandler::HandleServerMetadata(HttpReply reply) {
  ServerMetadata metadata = service_.GetServerMetadata();
  auto& extensions = metadata.extensions;
  auto listed = [&](std::string_view name) {
    return std::find(extensions.begin(), extensions.end(), name) != extensions.end();
  };
  for (std::string_view extension : kFrontEndExtensions) {
    if (!listed(extension)) extensions.emplace_back(extension);
  }
  std::erase(extensions, kSharedMemoryExtension);
  if (shared_memory_.enabled()) extensions.emplace_back(kSharedMemoryExtension);
  return JsonReply(std::move(reply), ServerMetadataJson(metadata));
}

StatusOr<ModelMetadata> HttpHandler::FindModelMetadata(const std::string& model_segment,
                                                       const std::optional<std::string>& version_segment,
                                                       HttpReply& reply) const {
  MOAT_ASSIGN_OR_RETURN(ModelTarget target, DecodeModelTarget(model_segment, version_segment, reply));
  return service_.GetModelMetadata(target.model, target.version);
}

HttpReply HttpHandler::HandleModelMetadata(const std::string& model_segment,
                                           const std::optional<std::string>& version_segment,
                                           HttpReply reply) {
  StatusOr<ModelMetadata> metadata = FindModelMetadata(model_segment, version_segment, reply);
  if (!metadata.ok()) return ErrorReply(std::move(reply), metadata.status());
  return JsonReply(std::move(reply), ModelMetadataJson(*metadata));
}

HttpReply HttpHandler::HandleModelReady(const std::string& model_segment,
                                        const std::optional<std::string>& version_segment, HttpReply reply) {
  StatusOr<ModelTarget> target = DecodeModelTarget(model_segment, version_segment, reply);
  if (!target.ok()) return ErrorReply(std::move(reply), target.status());

  StatusOr<bool> ready = service_.IsModelReady(target->model, target->version);
  if (!ready.ok()) return ErrorReply(std::move(reply), ready.status());
  // The protocol reports "not ready" with a 4xx status rather than in a body.
  if (!*ready) {
    return ErrorReply(std::move(reply), 400,
                      "model '" + target->model + "'" + VersionSuffix(target->version) + " is not ready");
  }
  return JsonReply(std::move(reply), R"({"ready":true})");
}

HttpReply HttpHandler::HandleInfer(const HttpRequest& request, const std::string& model_segment,
                                   const std::optional<std::string>& version_segment, Admitted& admitted,
                                   HttpReply reply) {
  RequestContext& context = admitted.context;
  // The policy allowed "the latest version" before it was resolved, so the
  // service decides again with the version it resolves.
  std::optional<auth::PolicyVersionCheck> version_check;
  if (options_.access_control != nullptr && !admitted.operation.version) {
    version_check.emplace(*options_.access_control, admitted.caller, admitted.operation, admitted.now_unix);
    context.version_authorizer = &*version_check;
  }
  auto reject = [&](HttpReply rejected, const Status& reason) {
    // The audit record names the model as sent until its name is decoded.
    const std::string& model = rejected.model.empty() ? model_segment : rejected.model;
    service_.RecordRejectedRequest(context, model, version_segment.value_or(""), reason);
    return ErrorReply(std::move(rejected), reason);
  };

  StatusOr<ModelTarget> target = DecodeModelTarget(model_segment, version_segment, reply);
  if (!target.ok()) return reject(std::move(reply), target.status());

  std::optional<std::string_view> header_length;
  if (request.inference_header_length) header_length = *request.inference_header_length;
  StatusOr<ParsedInferRequest> parsed = ParseInferRequest(request.body, header_length, shared_memory_);
  if (!parsed.ok()) return reject(std::move(reply), parsed.status());
  if (!parsed->request.id.empty()) {
    context.request_id = parsed->request.id;
    reply.request_id = parsed->request.id;
  }
  parsed->request.model_name = target->model;
  parsed->request.model_version = target->version;
  parsed->request.cancelled = request.cancelled;

  // The service audits the outcome of every request that reaches Infer.
  StatusOr<InferenceResponse> response = service_.Infer(parsed->request, context);
  if (!response.ok()) return ErrorReply(std::move(reply), response.status());
  // The inference itself was audited as successful. When its result cannot
  // reach the client (an output larger than its shared memory region, or BYTES
  // output that is not UTF-8, which JSON cannot carry), a second record states
  // that, so the log shows what the client got.
  StatusOr<SharedMemoryWrites> writes =
      WriteSharedMemoryOutputs(shared_memory_, *response, parsed->output_format.shared_memory_by_name);
  if (!writes.ok()) return reject(std::move(reply), writes.status());
  StatusOr<EncodedInferResponse> encoded = EncodeInferResponse(*response, parsed->output_format, *writes);
  if (!encoded.ok()) return reject(std::move(reply), encoded.status());

  reply.status = 200;
  reply.body = std::move(encoded->body);
  reply.inference_header_length = encoded->header_length;
  if (encoded->header_length) reply.content_type = "application/octet-stream";
  reply.audit_receipt = std::move(response->audit_receipt);
  reply.response_signature = std::move(response->response_signature);
  return reply;
}

HttpReply HttpHandler::Reject(std::string_view method, std::string_view target, std::string_view peer,
                              unsigned http_status, const Status& reason) {
  HttpReply reply;
  reply.request_id = ids_.Next();
  StatusOr<Route> route = MatchRoute(target);
  if (route.ok() && method == EndpointMethod(route->endpoint)) {
    AuditIfInfer(*route, RequestContext(reply.request_id, "http", std::string(peer)), reason, reply);
  }
  return ErrorReply(std::move(reply), http_status, reason.message());
}

}  // namespace moat::server

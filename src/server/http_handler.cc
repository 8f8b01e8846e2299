#include "server/http_handler.h"

#include <algorithm>
#include <utility>

#include "server/http_status.h"
#include "server/infer_request_parser.h"
#include "server/json.h"
#include "server/response_json.h"
#include "server/route.h"
#include "server/utf8.h"

namespace moat::server {
namespace {

// The extension this front end implements itself, whatever the service reports.
constexpr std::string_view kBinaryTensorDataExtension = "binary_tensor_data";

HttpReply ErrorReply(HttpReply reply, unsigned http_status, const std::string& message) {
  reply.status = http_status;
  reply.body = ErrorJson(message);
  reply.content_type = "application/json";
  reply.inference_header_length.reset();
  reply.error = message;
  return reply;
}

HttpReply ErrorReply(HttpReply reply, const Status& status) {
  return ErrorReply(std::move(reply), HttpStatusFor(status.code()), status.message());
}

HttpReply JsonReply(HttpReply reply, std::string body) {
  reply.status = 200;
  reply.body = std::move(body);
  return reply;
}

std::string VersionSuffix(std::optional<int64_t> version) {
  return version ? " version " + std::to_string(*version) : "";
}

}  // namespace

bool HttpHandler::IsInferTarget(std::string_view target) {
  StatusOr<Route> route = MatchRoute(target);
  return route.ok() && route->endpoint == Endpoint::kInfer;
}

HttpReply HttpHandler::Handle(const HttpRequest& request) {
  HttpReply reply;
  reply.request_id = ids_.Next();
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

  switch (route->endpoint) {
    case Endpoint::kHealthLive:
      if (!service_.IsLive()) return ErrorReply(std::move(reply), 400, "the server is not live");
      return JsonReply(std::move(reply), R"({"live":true})");
    case Endpoint::kHealthReady:
      if (!service_.IsReady()) return ErrorReply(std::move(reply), 400, "the server is not ready");
      return JsonReply(std::move(reply), R"({"ready":true})");
    case Endpoint::kServerMetadata:
      return HandleServerMetadata(std::move(reply));
    case Endpoint::kModelMetadata:
      return HandleModelMetadata(route->model_segment, route->version_segment, std::move(reply));
    case Endpoint::kModelReady:
      return HandleModelReady(route->model_segment, route->version_segment, std::move(reply));
    case Endpoint::kInfer:
      return HandleInfer(request, route->model_segment, route->version_segment, std::move(reply));
  }
  return ErrorReply(std::move(reply), InternalError("endpoint without a handler"));
}

HttpReply HttpHandler::HandleServerMetadata(HttpReply reply) {
  ServerMetadata metadata = service_.GetServerMetadata();
  auto& extensions = metadata.extensions;
  if (std::find(extensions.begin(), extensions.end(), kBinaryTensorDataExtension) == extensions.end()) {
    extensions.emplace_back(kBinaryTensorDataExtension);
  }
  return JsonReply(std::move(reply), ServerMetadataJson(metadata));
}

HttpReply HttpHandler::HandleModelMetadata(const std::string& model_segment,
                                           const std::optional<std::string>& version_segment,
                                           HttpReply reply) {
  StatusOr<std::string> model = DecodeModelName(model_segment);
  if (!model.ok()) return ErrorReply(std::move(reply), model.status());
  reply.model = *model;
  StatusOr<std::optional<int64_t>> version = ParseModelVersion(version_segment);
  if (!version.ok()) return ErrorReply(std::move(reply), version.status());

  StatusOr<ModelMetadata> metadata = service_.GetModelMetadata(*model, *version);
  if (!metadata.ok()) return ErrorReply(std::move(reply), metadata.status());
  return JsonReply(std::move(reply), ModelMetadataJson(*metadata));
}

HttpReply HttpHandler::HandleModelReady(const std::string& model_segment,
                                        const std::optional<std::string>& version_segment, HttpReply reply) {
  StatusOr<std::string> model = DecodeModelName(model_segment);
  if (!model.ok()) return ErrorReply(std::move(reply), model.status());
  reply.model = *model;
  StatusOr<std::optional<int64_t>> version = ParseModelVersion(version_segment);
  if (!version.ok()) return ErrorReply(std::move(reply), version.status());

  StatusOr<bool> ready = service_.IsModelReady(*model, *version);
  if (!ready.ok()) return ErrorReply(std::move(reply), ready.status());
  // The protocol reports "not ready" with a 4xx status rather than in a body.
  if (!*ready) {
    return ErrorReply(std::move(reply), 400,
                      "model '" + *model + "'" + VersionSuffix(*version) + " is not ready");
  }
  return JsonReply(std::move(reply), R"({"ready":true})");
}

HttpReply HttpHandler::HandleInfer(const HttpRequest& request, const std::string& model_segment,
                                   const std::optional<std::string>& version_segment, HttpReply reply) {
  RequestContext context{reply.request_id, "http", request.peer};
  std::string model_as_sent = model_segment;
  auto reject = [&](HttpReply rejected, const Status& reason) {
    service_.RecordRejectedRequest(context, model_as_sent, version_segment.value_or(""), reason);
    return ErrorReply(std::move(rejected), reason);
  };

  StatusOr<std::string> model = DecodeModelName(model_segment);
  if (!model.ok()) return reject(std::move(reply), model.status());
  model_as_sent = *model;
  reply.model = *model;
  StatusOr<std::optional<int64_t>> version = ParseModelVersion(version_segment);
  if (!version.ok()) return reject(std::move(reply), version.status());

  std::optional<std::string_view> header_length;
  if (request.inference_header_length) header_length = *request.inference_header_length;
  StatusOr<ParsedInferRequest> parsed = ParseInferRequest(request.body, header_length);
  if (!parsed.ok()) return reject(std::move(reply), parsed.status());
  if (!parsed->request.id.empty()) {
    context.request_id = parsed->request.id;
    reply.request_id = parsed->request.id;
  }
  parsed->request.model_name = *model;
  parsed->request.model_version = *version;

  // The service audits the outcome of every request that reaches Infer.
  StatusOr<InferenceResponse> response = service_.Infer(parsed->request, context);
  if (!response.ok()) return ErrorReply(std::move(reply), response.status());
  StatusOr<EncodedInferResponse> encoded = EncodeInferResponse(*response, parsed->output_format);
  // The inference itself was audited as successful. A second record states
  // that its result did not reach the client (for example BYTES output that
  // is not UTF-8, which JSON cannot carry), so the log shows what the client got.
  if (!encoded.ok()) return reject(std::move(reply), encoded.status());

  reply.status = 200;
  reply.body = std::move(encoded->body);
  reply.inference_header_length = encoded->header_length;
  if (encoded->header_length) reply.content_type = "application/octet-stream";
  return reply;
}

HttpReply HttpHandler::Reject(std::string_view method, std::string_view target, std::string_view peer,
                              unsigned http_status, const Status& reason) {
  HttpReply reply;
  reply.request_id = ids_.Next();
  StatusOr<Route> route = MatchRoute(target);
  if (route.ok() && route->endpoint == Endpoint::kInfer && method == EndpointMethod(Endpoint::kInfer)) {
    StatusOr<std::string> model = DecodeModelName(route->model_segment);
    reply.model = model.ok() ? *model : route->model_segment;
    RequestContext context{reply.request_id, "http", std::string(peer)};
    service_.RecordRejectedRequest(context, reply.model, route->version_segment.value_or(""), reason);
  }
  return ErrorReply(std::move(reply), http_status, reason.message());
}

}  // namespace moat::server

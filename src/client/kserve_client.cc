#include "client/kserve_client.h"

#include <cctype>
#include <utility>

namespace moat::client {

namespace {

constexpr char kJsonType[] = "application/json";
constexpr char kBinaryType[] = "application/octet-stream";

StatusCode CodeForHttpStatus(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 408:
    case 504:
      return StatusCode::kDeadlineExceeded;
    case 409:
      return StatusCode::kAborted;
    case 413:
    case 429:
      return StatusCode::kResourceExhausted;
    case 501:
      return StatusCode::kUnimplemented;
    case 503:
      return StatusCode::kUnavailable;
    default:
      break;
  }
  if (status >= 400 && status < 500) return StatusCode::kFailedPrecondition;
  if (status >= 500 && status < 600) return StatusCode::kInternal;
  return StatusCode::kUnknown;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

HttpRequest Get(std::string target) {
  HttpRequest request;
  request.target = std::move(target);
  return request;
}

}  // namespace

std::string ModelPath(std::string_view model, std::optional<int64_t> version) {
  std::string path = "/v2/models/" + PercentEncode(model);
  if (version.has_value()) path += "/versions/" + std::to_string(*version);
  return path;
}

StatusOr<KServeClient> KServeClient::Create(std::string_view url, HttpOptions options) {
  MOAT_ASSIGN_OR_RETURN(ServerAddress address, ParseServerUrl(url));
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<HttpConnection> connection,
                        HttpConnection::Create(std::move(address), std::move(options)));
  return KServeClient(std::move(connection));
}

StatusOr<HttpResponse> KServeClient::Send(HttpRequest request) const {
  return connection_->Send(std::move(request));
}

StatusOr<HttpResponse> KServeClient::SendExpectingOk(HttpRequest request) const {
  const std::string request_line = request.method + " " + request.target;
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(std::move(request)));
  if (response.status != 200) {
    return Status(CodeForHttpStatus(response.status), request_line + ": server returned HTTP " +
                                                          std::to_string(response.status) + ": " +
                                                          ErrorMessageFromBody(response.body));
  }
  return response;
}

StatusOr<bool> KServeClient::IsServerLive() const {
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(Get("/v2/health/live")));
  return response.status == 200;
}

StatusOr<bool> KServeClient::IsServerReady() const {
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(Get("/v2/health/ready")));
  return response.status == 200;
}

StatusOr<bool> KServeClient::IsModelReady(const std::string& model, std::optional<int64_t> version) const {
  const std::string target = ModelPath(model, version) + "/ready";
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, Send(Get(target)));
  if (response.status == 404) {
    return NotFoundError("GET " + target +
                         ": server returned HTTP 404: " + ErrorMessageFromBody(response.body));
  }
  return response.status == 200;
}

StatusOr<ModelMetadata> KServeClient::GetModelMetadata(const std::string& model,
                                                       std::optional<int64_t> version) const {
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, SendExpectingOk(Get(ModelPath(model, version))));
  return DecodeModelMetadata(response.body);
}

StatusOr<InferResult> KServeClient::Infer(const InferenceRequest& request,
                                          const InferOptions& options) const {
  MOAT_ASSIGN_OR_RETURN(EncodedRequest encoded, EncodeInferRequest(request, options));
  HttpRequest http_request;
  http_request.method = "POST";
  http_request.target = ModelPath(request.model_name, request.model_version) + "/infer";
  http_request.content_type = encoded.json_length.has_value() ? kBinaryType : kJsonType;
  http_request.inference_header_length = encoded.json_length;
  http_request.body = std::move(encoded.body);
  const std::string request_line = "POST " + http_request.target;

  MOAT_ASSIGN_OR_RETURN(HttpResponse response, SendExpectingOk(std::move(http_request)));
  StatusOr<InferResult> decoded =
      DecodeInferResponse(std::move(response.body), response.inference_header_length);
  if (!decoded.ok()) return Status(decoded.status().code(), request_line + ": " + decoded.status().message());
  const Status resolved = ResolveSharedMemoryOutputs(options, *decoded);
  if (!resolved.ok()) return Status(resolved.code(), request_line + ": " + resolved.message());
  return decoded;
}

StatusOr<std::string> KServeClient::InferJson(const std::string& model, std::optional<int64_t> version,
                                              std::string json) const {
  HttpRequest request;
  request.method = "POST";
  request.target = ModelPath(model, version) + "/infer";
  request.content_type = kJsonType;
  request.body = std::move(json);
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, SendExpectingOk(std::move(request)));
  return std::move(response.body);
}

Status KServeClient::RegisterSystemSharedMemory(const std::string& name, const std::string& key,
                                                uint64_t offset, uint64_t byte_size) const {
  HttpRequest request;
  request.method = "POST";
  request.target = "/v2/systemsharedmemory/region/" + PercentEncode(name) + "/register";
  request.content_type = kJsonType;
  request.body = EncodeSharedMemoryRegister(key, offset, byte_size);
  return SendExpectingOk(std::move(request)).status();
}

Status KServeClient::UnregisterSystemSharedMemory(const std::string& name) const {
  HttpRequest request;
  request.method = "POST";
  request.target = name.empty() ? "/v2/systemsharedmemory/unregister"
                                : "/v2/systemsharedmemory/region/" + PercentEncode(name) + "/unregister";
  return SendExpectingOk(std::move(request)).status();
}

StatusOr<std::vector<SharedMemoryRegionStatus>> KServeClient::GetSystemSharedMemoryStatus(
    const std::string& name) const {
  const std::string target = name.empty()
                                 ? "/v2/systemsharedmemory/status"
                                 : "/v2/systemsharedmemory/region/" + PercentEncode(name) + "/status";
  MOAT_ASSIGN_OR_RETURN(HttpResponse response, SendExpectingOk(Get(target)));
  StatusOr<std::vector<SharedMemoryRegionStatus>> regions = DecodeSharedMemoryStatus(response.body);
  if (!regions.ok())
    return Status(regions.status().code(), "GET " + target + ": " + regions.status().message());
  return regions;
}

}  // namespace moat::client

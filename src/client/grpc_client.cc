#include "client/grpc_client.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <climits>
#include <utility>

#include "client/grpc_messages.h"
#include "inference.grpc.pb.h"

namespace moat::client {

namespace {

using Stub = inference::GRPCInferenceService::Stub;

constexpr int kMaxReconnectBackoffMs = 1000;

std::string VersionText(std::optional<int64_t> version) {
  return version.has_value() ? std::to_string(*version) : std::string();
}

// gRPC's target syntax for an IP literal, which bypasses name resolution.
std::string ChannelTarget(const ServerAddress& address) {
  const bool ipv6 = address.host.find(':') != std::string::npos;
  return (ipv6 ? "ipv6:" : "ipv4:") + address.HostHeader();
}

StatusOr<std::shared_ptr<grpc::ChannelCredentials>> CredentialsFor(const ServerAddress& address,
                                                                   const GrpcOptions& options) {
  if (!address.tls) {
    if (!options.tls.empty()) {
      return InvalidArgumentError("TLS files were given for gRPC target " + address.HostHeader() +
                                  ", which is plaintext; use a grpcs:// target");
    }
    return grpc::InsecureChannelCredentials();
  }
  StatusOr<tls::TlsClientFiles> files = tls::LoadTlsClientFiles(options.tls);
  if (!files.ok()) {
    return InvalidArgumentError("grpcs://" + address.HostHeader() + ": " + files.status().message());
  }
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = files->ca_pem;
  ssl.pem_cert_chain = files->certificate_chain_pem;
  ssl.pem_private_key = files->private_key_pem;
  return grpc::SslCredentials(ssl);
}

StatusCode CodeOf(const grpc::Status& status) {
  const int code = static_cast<int>(status.error_code());
  if (code < 0 || code > static_cast<int>(StatusCode::kUnauthenticated)) return StatusCode::kUnknown;
  return static_cast<StatusCode>(code);
}

}  // namespace

class GrpcClient::Channel {
 public:
  Channel(ServerAddress address, GrpcOptions options, std::shared_ptr<grpc::Channel> channel)
      : address_(std::move(address)),
        options_(options),
        channel_(std::move(channel)),
        stub_(inference::GRPCInferenceService::NewStub(channel_)) {}

  const ServerAddress& address() const { return address_; }

  bool WaitForConnected(std::chrono::milliseconds timeout) const {
    return channel_->WaitForConnected(std::chrono::system_clock::now() + timeout);
  }

  // Makes one call of `method` with the configured deadline.
  template <typename Request, typename Response>
  Status Call(const char* rpc, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
              const Request& request, Response& response) const {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + options_.timeout);
    if (!options_.bearer_token.empty()) {
      context.AddMetadata("authorization", "Bearer " + options_.bearer_token);
    }
    const grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (status.ok()) return OkStatus();
    const StatusCode code = CodeOf(status);
    return Status(code, std::string(rpc) + " on " + address_.HostHeader() + ": gRPC status " +
                            std::string(StatusCodeName(code)) + ": " + status.error_message());
  }

 private:
  ServerAddress address_;
  GrpcOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;  // thread-safe, as every generated stub
};

StatusOr<std::shared_ptr<grpc::Channel>> CreateGrpcChannel(const ServerAddress& address,
                                                           const GrpcOptions& options) {
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> credentials,
                        CredentialsFor(address, options));
  grpc::ChannelArguments arguments;
  const int max_message = static_cast<int>(std::min<size_t>(options.max_message_bytes, INT_MAX));
  arguments.SetMaxReceiveMessageSize(max_message);
  arguments.SetMaxSendMessageSize(max_message);
  // The channel must never reach anything but the given address, whatever
  // the http_proxy and grpc_proxy environment variables contain.
  arguments.SetInt(GRPC_ARG_ENABLE_HTTP_PROXY, 0);
  // gRPC's default reconnect backoff grows to 120 s, so a client polling a
  // server that is still starting could miss it for minutes.
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, kMaxReconnectBackoffMs);
  if (options.own_connection) arguments.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel(ChannelTarget(address), credentials, arguments);
  if (channel == nullptr) {
    return InternalError("creating a gRPC channel to " + address.HostHeader() + " failed");
  }
  return channel;
}

StatusOr<GrpcClient> GrpcClient::Create(std::string_view target, GrpcOptions options) {
  MOAT_ASSIGN_OR_RETURN(ServerAddress address, ParseGrpcTarget(target));
  MOAT_ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, CreateGrpcChannel(address, options));
  return GrpcClient(std::make_shared<const Channel>(std::move(address), options, std::move(channel)));
}

const ServerAddress& GrpcClient::address() const { return channel_->address(); }

Status GrpcClient::WaitForConnection(std::chrono::milliseconds timeout) const {
  if (channel_->WaitForConnected(timeout)) return OkStatus();
  return Status(StatusCode::kDeadlineExceeded, "no gRPC connection to " + address().HostHeader() + " after " +
                                                   std::to_string(timeout.count()) + " ms");
}

StatusOr<bool> GrpcClient::IsServerLive() const {
  inference::ServerLiveResponse response;
  MOAT_RETURN_IF_ERROR(
      channel_->Call("ServerLive", &Stub::ServerLive, inference::ServerLiveRequest(), response));
  return response.live();
}

StatusOr<bool> GrpcClient::IsServerReady() const {
  inference::ServerReadyResponse response;
  MOAT_RETURN_IF_ERROR(
      channel_->Call("ServerReady", &Stub::ServerReady, inference::ServerReadyRequest(), response));
  return response.ready();
}

StatusOr<bool> GrpcClient::IsModelReady(const std::string& model, std::optional<int64_t> version) const {
  inference::ModelReadyRequest request;
  request.set_name(model);
  request.set_version(VersionText(version));
  inference::ModelReadyResponse response;
  MOAT_RETURN_IF_ERROR(channel_->Call("ModelReady", &Stub::ModelReady, request, response));
  return response.ready();
}

StatusOr<ModelMetadata> GrpcClient::GetModelMetadata(const std::string& model,
                                                     std::optional<int64_t> version) const {
  inference::ModelMetadataRequest request;
  request.set_name(model);
  request.set_version(VersionText(version));
  inference::ModelMetadataResponse response;
  MOAT_RETURN_IF_ERROR(channel_->Call("ModelMetadata", &Stub::ModelMetadata, request, response));
  StatusOr<ModelMetadata> metadata = DecodeModelMetadataResponse(response);
  if (!metadata.ok())
    return Status(metadata.status().code(), "ModelMetadata: " + metadata.status().message());
  return metadata;
}

StatusOr<InferResult> GrpcClient::Infer(const InferenceRequest& request, const InferOptions& options) const {
  MOAT_ASSIGN_OR_RETURN(inference::ModelInferRequest message, EncodeModelInferRequest(request, options));
  auto response = std::make_shared<inference::ModelInferResponse>();
  MOAT_RETURN_IF_ERROR(channel_->Call("ModelInfer", &Stub::ModelInfer, message, *response));
  StatusOr<InferResult> result = DecodeModelInferResponse(std::move(response));
  if (!result.ok()) return Status(result.status().code(), "ModelInfer: " + result.status().message());
  const Status resolved = ResolveSharedMemoryOutputs(options, *result);
  if (!resolved.ok()) return Status(resolved.code(), "ModelInfer: " + resolved.message());
  return result;
}

Status GrpcClient::RegisterSystemSharedMemory(const std::string& name, const std::string& key,
                                              uint64_t offset, uint64_t byte_size) const {
  inference::SystemSharedMemoryRegisterRequest request;
  request.set_name(name);
  request.set_key(key);
  request.set_offset(offset);
  request.set_byte_size(byte_size);
  inference::SystemSharedMemoryRegisterResponse response;
  return channel_->Call("SystemSharedMemoryRegister", &Stub::SystemSharedMemoryRegister, request, response);
}

Status GrpcClient::UnregisterSystemSharedMemory(const std::string& name) const {
  inference::SystemSharedMemoryUnregisterRequest request;
  request.set_name(name);
  inference::SystemSharedMemoryUnregisterResponse response;
  return channel_->Call("SystemSharedMemoryUnregister", &Stub::SystemSharedMemoryUnregister, request,
                        response);
}

StatusOr<std::vector<SharedMemoryRegionStatus>> GrpcClient::GetSystemSharedMemoryStatus(
    const std::string& name) const {
  inference::SystemSharedMemoryStatusRequest request;
  request.set_name(name);
  inference::SystemSharedMemoryStatusResponse response;
  MOAT_RETURN_IF_ERROR(
      channel_->Call("SystemSharedMemoryStatus", &Stub::SystemSharedMemoryStatus, request, response));
  std::vector<SharedMemoryRegionStatus> regions;
  for (const auto& [region_name, region] : response.regions()) {
    regions.push_back({region.name().empty() ? region_name : region.name(), region.key(), region.offset(),
                       region.byte_size()});
  }
  // A protobuf map has no order.
  std::sort(
      regions.begin(), regions.end(),
      [](const SharedMemoryRegionStatus& a, const SharedMemoryRegionStatus& b) { return a.name < b.name; });
  return regions;
}

}  // namespace moat::client

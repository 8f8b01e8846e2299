// A synchronous client for the KServe v2 gRPC protocol
// (inference.GRPCInferenceService) over HTTP/2, plaintext or TLS, the gRPC
// counterpart of KServeClient.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "client/client_types.h"
#include "client/server_url.h"
#include "common/status.h"
#include "core/inference.h"
#include "tls/tls_context.h"

namespace grpc {
class Channel;
}  // namespace grpc

namespace moat::client {

struct GrpcOptions {
  // Deadline of each call, from sending the request to the whole response.
  std::chrono::milliseconds timeout{60'000};
  // Maximum size of a request or response message.
  size_t max_message_bytes = size_t{1} << 30;
  // Give the channel its own TCP connection. By default gRPC shares one
  // connection between channels to the same address with the same settings.
  bool own_connection = false;
  // For grpcs:// targets: the CA that the server's certificate must chain to
  // (required) and an optional client certificate. Must stay empty for
  // plaintext targets.
  tls::TlsClientOptions tls;
  // Sent as metadata "authorization: Bearer TOKEN" with every call when not
  // empty.
  std::string bearer_token;
};

// Every call goes over one channel, which Create makes and copies of the
// object share. The channel connects on first use and reconnects by itself.
// Thread-safe. Server errors become a Status with the gRPC code (Moat's codes
// use the same numbers) and a message with the RPC name and the server's
// message.
// Creates a channel to `address` with the credentials, message limits and
// connection settings of `options` (timeout and token apply per call, so
// they are not used here). The channel never goes through a proxy.
StatusOr<std::shared_ptr<grpc::Channel>> CreateGrpcChannel(const ServerAddress& address,
                                                           const GrpcOptions& options);

class GrpcClient {
 public:
  // Parses `target` (see ParseGrpcTarget) and creates the channel without
  // connecting. The channel dials only that IP address: no name resolution
  // and no proxy. For grpcs:// it reads and checks options.tls (see
  // tls::LoadTlsClientFiles), and the server's certificate must then chain to
  // the CA and name the target's IP address. INVALID_ARGUMENT for unusable
  // TLS files, or TLS files given for a plaintext target.
  static StatusOr<GrpcClient> Create(std::string_view target, GrpcOptions options = {});

  const ServerAddress& address() const;

  // Waits until the channel is connected, or `timeout` passes (then
  // DEADLINE_EXCEEDED), driving connection attempts meanwhile. A channel
  // connects while a call or this function waits on it. Calls fail at once
  // with UNAVAILABLE while the last attempt failed, so a client that polls a
  // starting server waits here between polls.
  Status WaitForConnection(std::chrono::milliseconds timeout) const;

  // ServerLive, ServerReady: whether the server reports itself live or ready.
  // Errors only when the call fails.
  StatusOr<bool> IsServerLive() const;
  StatusOr<bool> IsServerReady() const;

  // ModelReady. NOT_FOUND for an unknown model or version.
  StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t> version = std::nullopt) const;

  // ModelMetadata. NOT_FOUND for an unknown model or version.
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& model,
                                           std::optional<int64_t> version = std::nullopt) const;

  // ModelInfer with request.model_name and request.model_version, tensors in
  // raw_input_contents and raw_output_contents (options.binary_inputs and
  // binary_outputs do not apply). Returned tensors point into the response
  // message, which their owner keeps alive. With shared memory options, also
  // checks what the server reports about the outputs it wrote there (see
  // ResolveSharedMemoryOutputs).
  StatusOr<InferResult> Infer(const InferenceRequest& request, const InferOptions& options = {}) const;

  // SystemSharedMemoryRegister: registers bytes [offset, offset + byte_size)
  // of the POSIX shared memory object `key` under `name`.
  Status RegisterSystemSharedMemory(const std::string& name, const std::string& key, uint64_t offset,
                                    uint64_t byte_size) const;

  // SystemSharedMemoryUnregister: the region `name`, or every region when
  // `name` is empty.
  Status UnregisterSystemSharedMemory(const std::string& name) const;

  // SystemSharedMemoryStatus: the region `name`, or every region when `name`
  // is empty, sorted by name.
  StatusOr<std::vector<SharedMemoryRegionStatus>> GetSystemSharedMemoryStatus(
      const std::string& name = "") const;

 private:
  class Channel;

  explicit GrpcClient(std::shared_ptr<const Channel> channel) : channel_(std::move(channel)) {}

  std::shared_ptr<const Channel> channel_;  // never null
};

}  // namespace moat::client

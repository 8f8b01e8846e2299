// Transports that send to a server over the network: HTTP (KServeClient) or
// gRPC (GrpcClient), optionally with tensors in system shared memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/inference.h"
#include "loadgen/transport.h"
#include "tls/tls_context.h"

namespace moat::loadgen {

struct RemoteTarget {
  std::string protocol = "http";  // "http" or "grpc"
  // "http://HOST:PORT" for HTTP, "HOST:PORT" for gRPC; IP literals or localhost.
  std::string address;
  std::string model;
  std::optional<int64_t> version;
  bool http_json = false;  // HTTP only: tensors as JSON "data" instead of binary
  // Each transport creates its own POSIX shared memory object and registers
  // it as a region; inputs and outputs then travel through it.
  bool shared_memory = false;
  std::chrono::milliseconds timeout{60'000};  // of each request
  tls::TlsClientOptions tls;  // for https:// and grpcs:// addresses
  std::string bearer_token;   // sent with every request when not empty
};

// Fetches the model's metadata, which also checks that the server is
// reachable. Errors: INVALID_ARGUMENT for a bad address or protocol, and
// UNAVAILABLE naming the address when the server cannot be reached. Other
// errors come from the server, such as NOT_FOUND for an unknown model.
StatusOr<ModelMetadata> FetchModelMetadata(const RemoteTarget& target);

// Makes transports that each open their own client, with its own TCP
// connection, and send `inputs` as one request. With shared memory, Create
// first sends one request over the socket to learn the output sizes, then
// sizes the transport's region to the inputs and those outputs. Errors from
// Create: those of the client, of SharedMemoryObject and of registration.
StatusOr<std::unique_ptr<TransportFactory>> MakeRemoteTransportFactory(const RemoteTarget& target,
                                                                       std::vector<Tensor> inputs);

}  // namespace moat::loadgen

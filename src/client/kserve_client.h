// A small synchronous client for the KServe v2 REST protocol (Open Inference
// Protocol) over HTTP/1.1, plain or TLS.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "client/client_types.h"
#include "client/http_exchange.h"
#include "client/kserve_messages.h"
#include "client/server_url.h"
#include "common/status.h"
#include "core/inference.h"

namespace moat::client {

// Calls share one keep-alive connection (see HttpConnection), which copies
// of the object share too. Calls from several threads are safe and take
// turns on the connection. Server errors become a Status whose code follows
// the HTTP status (404 is NOT_FOUND, 400 INVALID_ARGUMENT, 503 UNAVAILABLE,
// ...) and whose message has the method, the path, the HTTP status and the
// server's "error" text.
class KServeClient {
 public:
  // Parses `url` (see ParseServerUrl) and, for https://, checks the TLS
  // files of `options` (see HttpConnection::Create), without connecting.
  static StatusOr<KServeClient> Create(std::string_view url, HttpOptions options = {});

  const ServerAddress& address() const { return connection_->address(); }

  // The number of TCP connections opened so far by this client and its copies.
  uint64_t connections_opened() const { return connection_->connections_opened(); }

  // GET /v2/health/live and /v2/health/ready: true for HTTP 200, false for
  // any other status. Errors only when no response arrives.
  StatusOr<bool> IsServerLive() const;
  StatusOr<bool> IsServerReady() const;

  // GET /v2/models/NAME[/versions/N]/ready: true for HTTP 200, NOT_FOUND for
  // 404, false for any other status.
  StatusOr<bool> IsModelReady(const std::string& model, std::optional<int64_t> version = std::nullopt) const;

  // GET /v2/models/NAME[/versions/N].
  StatusOr<ModelMetadata> GetModelMetadata(const std::string& model,
                                           std::optional<int64_t> version = std::nullopt) const;

  // POST /v2/models/NAME[/versions/N]/infer with request.model_name and
  // request.model_version. Returned tensors own their bytes. With shared
  // memory options, also checks what the server reports about the outputs it
  // wrote there (see ResolveSharedMemoryOutputs).
  StatusOr<InferResult> Infer(const InferenceRequest& request, const InferOptions& options = {}) const;

  // Posts `json` unchanged to the infer path and returns the response body.
  // For requests written by hand, such as a file of KServe JSON.
  StatusOr<std::string> InferJson(const std::string& model, std::optional<int64_t> version,
                                  std::string json) const;

  // POST /v2/systemsharedmemory/region/NAME/register: registers bytes
  // [offset, offset + byte_size) of the POSIX shared memory object `key`.
  Status RegisterSystemSharedMemory(const std::string& name, const std::string& key, uint64_t offset,
                                    uint64_t byte_size) const;

  // POST /v2/systemsharedmemory/region/NAME/unregister, or
  // /v2/systemsharedmemory/unregister for every region when `name` is empty.
  Status UnregisterSystemSharedMemory(const std::string& name) const;

  // GET /v2/systemsharedmemory[/region/NAME]/status: the region `name`, or
  // every region when `name` is empty.
  StatusOr<std::vector<SharedMemoryRegionStatus>> GetSystemSharedMemoryStatus(
      const std::string& name = "") const;

 private:
  explicit KServeClient(std::shared_ptr<HttpConnection> connection) : connection_(std::move(connection)) {}

  StatusOr<HttpResponse> Send(HttpRequest request) const;
  StatusOr<HttpResponse> SendExpectingOk(HttpRequest request) const;

  std::shared_ptr<HttpConnection> connection_;  // never null
};

// Returns the path of a model, "/v2/models/NAME" or
// "/v2/models/NAME/versions/N", with NAME percent-encoded.
std::string ModelPath(std::string_view model, std::optional<int64_t> version);

}  // namespace moat::client
